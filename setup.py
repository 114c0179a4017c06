"""The one compiled part of clearance; everything else is in pyproject.toml.

The prompt guard's hot loops (src/clearance/guardrails/_terms.c: words, word pairs, harm concepts and
their weights; the encoded-run, leetspeak and replaced-character scans) are optional: where they cannot be
compiled, the install goes on and the guard uses its Python paths, which give the same verdicts
(tests/guardrails/test_guard_native.py), only slower. Contraction is off so that no fused multiply-add
changes a sum's bits.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("clearance.guardrails._terms", ["src/clearance/guardrails/_terms.c"],
                             extra_compile_args=["-O2", "-ffp-contract=off"], optional=True)])
