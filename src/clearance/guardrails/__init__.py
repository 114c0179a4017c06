"""Guardrails: the technical-safeguard layer that reads what a caller actually asks and answers."""
