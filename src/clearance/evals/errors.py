"""The errors of the evaluation package, each naming where the problem is.

::

    ClearanceError
    └── EvalError            anything an evaluation cannot go on with
        ├── DataError        a prompt or answer file is missing or malformed (``file:line: problem``)
        ├── SuiteError       a suite file is invalid (every problem, ``file:line: field: problem``)
        └── TargetError      the model endpoint is unreachable, refuses the key, or keeps failing
"""

from __future__ import annotations

from ..core.errors import ClearanceError


class EvalError(ClearanceError):
    """An evaluation cannot go on; the message says what and where."""


class DataError(EvalError):
    """A data file is missing or malformed; ``problems`` are ``file:line: problem`` strings."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


class SuiteError(EvalError):
    """A suite file is invalid; ``problems`` are ``file:line: field: problem`` strings."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("suite rejected:\n" + "\n".join(problems))


class TargetError(EvalError):
    """The target endpoint cannot be used: unreachable, wrong key, or failing after every retry.

    ``fatal`` errors (a wrong key, an unknown model) stop the run at once; the others
    stop it after the retries are spent. Either way the run is kept and can be resumed.
    """

    def __init__(self, message: str, status: int | None = None, fatal: bool = False) -> None:
        self.status = status
        self.fatal = fatal
        super().__init__(message)
