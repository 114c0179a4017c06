"""The answer guard: is this answer (or the part streamed so far) harmful compliance?

Harmful compliance needs two things: something harmful was asked or is being said, and
the answer goes along with it rather than refusing. So the score is

    P(answer complies) x max(P(prompt is harmful or prohibited), P(answer text reads harmful))

(the answer's own text counts only when the prompt's score is at least ``ANSWER_GATE``),

where the compliance probability is the trained refusal judge's (``evals/judges``), the
prompt's is the prompt guard's (cached per prompt, since a stream is checked window after
window against the same prompt), and the answer text is read by the prompt guard as a
content signal that counts only when it crosses the guard's own thresholds. A refusal that quotes the request scores low
because the judge reads it as a refusal.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from ..evals.judges.trained import TrainedJudge
from .features import read
from .model import TrainedPromptGuard
from .verdict import AnswerVerdict, PromptVerdict

THRESHOLD = 0.5
ANSWER_GATE = 0.3
PROMPT_CACHE = 256


class HarmfulComplianceGuard:
    """:class:`~clearance.guardrails.verdict.AnswerGuard` from the prompt guard and the refusal judge."""

    name = "harmful-compliance"

    def __init__(self, prompts: TrainedPromptGuard, judge: TrainedJudge, threshold: float = THRESHOLD) -> None:
        self.prompts = prompts
        self.judge = judge
        self.threshold = threshold
        self.version = f"{prompts.version}+{judge.version}"
        self._seen: OrderedDict[str, PromptVerdict] = OrderedDict()
        self._lock = threading.Lock()

    def _prompt(self, prompt: str) -> PromptVerdict:
        with self._lock:  # the gateway may check streams from several threads
            found = self._seen.get(prompt)
        if found is None:
            found = self.prompts.check_prompt(prompt)
            with self._lock:
                self._seen[prompt] = found
                if len(self._seen) > PROMPT_CACHE:
                    self._seen.popitem(last=False)
        return found

    def check_answer(self, prompt: str, answer: str, asked: PromptVerdict | None = None) -> AnswerVerdict:
        # The prompt's verdict from the gateway's own check, when there was one: a contextual plan's answer
        # is then weighed by the prompt read in context, at no second encoder pass.
        asked = asked if asked is not None else self._prompt(prompt)
        scores = dict(asked.scores)
        asked_bad = max(scores.get("harmful", 0.0), scores.get("prohibited-domain", 0.0))
        said_label, said_bad = "clean", 0.0
        if asked_bad >= ANSWER_GATE:
            # Answers are not what the heads were trained on, and safe answers to scary-looking
            # questions read harmful to them: the answer's text counts only for a prompt that
            # is at least in doubt, and only where it crosses the prompt guard's own thresholds.
            said = self.prompts.probabilities(read(answer).text)
            said_label, score_said, _, _ = self.prompts.label_of(said)
            if said_label in ("harmful", "prohibited-domain"):
                said_bad = score_said
        judged = self.judge.one(answer)
        complies = 1.0 - judged.score
        score = round(complies * max(asked_bad, said_bad), 6)
        reasons = [f"answer complies (refusal judge {judged.label}, p(refusal)={judged.score:.2f})"
                   if complies >= 0.5 else f"answer refuses (refusal judge {judged.label})"]
        reasons.append(f"prompt {asked.label} ({asked_bad:.2f})")
        if said_bad:
            reasons.append(f"answer text reads {said_label} ({said_bad:.2f})")
        return AnswerVerdict(score >= self.threshold, score, tuple(reasons))
