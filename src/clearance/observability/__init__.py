"""Operating clearance: Prometheus metrics, structured logs, optional traces, and readiness.

Nothing here decides anything: the enforcer, the gateway and the audit writer report to
these modules, and the admin listener exposes what they gathered.
"""
