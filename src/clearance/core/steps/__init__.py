"""The steps of the evaluation order, one module each, run by ``decide()`` in order.

Each step takes the :class:`~clearance.core.evaluation.Evaluation` and returns a
:class:`~clearance.core.decision.Verdict` when the request's fate is settled
there, or ``None`` to go on to the next step.
"""
