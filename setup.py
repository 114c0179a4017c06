"""The one compiled part of clearance; everything else is in pyproject.toml.

The prompt guard's feature lookup (src/clearance/guardrails/_terms.c: words, word pairs and harm
concepts) is optional: where it cannot be compiled, the install goes on and the guard uses its Python
path, which gives the same verdicts (tests/guardrails/test_guard_native.py), only slower.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("clearance.guardrails._terms", ["src/clearance/guardrails/_terms.c"],
                             extra_compile_args=["-O2", "-ffp-contract=off"], optional=True)])
