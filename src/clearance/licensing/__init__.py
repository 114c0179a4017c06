"""Licensing: published criteria, self-checks, applications on a visible clock, impact analysis.

Everything here is derived from the policy model and decided by the core's own
``decide``; no text about any particular regime is written in this package.
"""
