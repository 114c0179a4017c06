"""Safety evaluations: prompt sets, suites, judges, runs, metrics, and evidence for the tier.

The prompt data itself is never shipped: suites name sets that are read from a data
directory (``CLEARANCE_EVAL_DATA``, default ``../shared/data/prompts``) at run time.
"""
