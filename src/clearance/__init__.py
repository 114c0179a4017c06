"""clearance: who may use a controlled AI model, for what, from where and when.

The public Python API. Everything else is internal and may move.

>>> from clearance import load_policy, parse_request, decide
>>> policy = load_policy()              # the shipped example bundle
>>> decision = decide(policy, parse_request({...}))
"""

from .core.decide import decide, decide_json
from .core.decision import Code, Decision, Outcome, Reason
from .core.errors import ClearanceError, PolicyError, Problem, RequestError
from .core.index import CompiledPolicy
from .core.request import PersonRef, Request, parse_request
from .policy.snapshot import default_bundle_path, load_policy, read_policy, snapshot

__all__ = [
    "ClearanceError",
    "Code",
    "CompiledPolicy",
    "Decision",
    "Outcome",
    "PersonRef",
    "PolicyError",
    "Problem",
    "Reason",
    "Request",
    "RequestError",
    "decide",
    "decide_json",
    "default_bundle_path",
    "load_policy",
    "parse_request",
    "read_policy",
    "snapshot",
]
