"""Restricted-party screening: list import, name matching, findings in the registry, reviews.

Modules: ``normalize`` (names to tokens), ``lists`` (entries, snapshots, diffs),
``importers`` (CSL and OFAC legacy files), ``index`` (candidate generation),
``match`` (scoring and explanations), ``service`` (snapshots, registry findings,
reviews, audit).
"""
