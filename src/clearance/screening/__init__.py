"""Restricted-party screening: list import, name matching, findings in the registry, reviews.

Modules: ``normalize`` (names to tokens), ``lists`` (entries, snapshots, diffs),
``importers`` (CSL and OFAC legacy files), ``index`` (candidate generation),
``names`` (how far two names agree, word by word), ``evidence`` (country, kind,
date of birth, nationality, identifiers), ``match`` (outcomes and explanations),
``service`` (snapshots, registry findings, reviews, audit).
"""
