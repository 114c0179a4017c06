"""The dense reading of a prompt: the mean of its tokens' distilled encoder vectors.

Words and word pairs only match wording seen in training; an encoder's token vectors place
"synthesize", "manufacture" and "cook up" near one another, so a request phrased in new
words still lands near the harmful ones. The table comes from :mod:`.distill`; here each
word the guard already reads (:func:`.features.words` of the normalized window) is split
into the encoder's WordPiece tokens (greedy longest match, ``##`` continuations, as BERT's
uncased tokenizer does once text is lowercased and split into words), the rows are summed
and the sum scaled to unit length. A word's pieces are cached, so a call costs one dict
lookup per word and one numpy gather. Punctuation, which the encoder's tokenizer keeps as
tokens, is not read; a word with no WordPiece reading counts as unknown (a zero row).
"""

from __future__ import annotations

import hashlib
import unicodedata
from collections.abc import Sequence
from functools import lru_cache
from importlib.resources import files
from itertools import chain
from pathlib import Path

import numpy as np

from .distill import TABLE, VOCAB, read_vocab

MAX_WORD = 100  # BERT's limit: a longer "word" is one unknown token
CACHE = 1 << 16


class TokenTable:
    """WordPiece vocabulary and distilled rows (float16 on disk, float32 in memory)."""

    def __init__(self, vocab: list[str], raw: bytes) -> None:
        self.ids = {t: i for i, t in enumerate(vocab)}
        self.digest = hashlib.sha256(raw).hexdigest()  # the artifact names the table it was trained with
        table = np.frombuffer(raw, dtype="<f2")
        if not vocab or table.size % len(vocab):
            raise ValueError(f"{TABLE} holds {table.size} numbers, not a row per each of {len(vocab)} tokens")
        self.rows = table.astype(np.float32).reshape(len(vocab), -1)
        self.dims = self.rows.shape[1]
        self.unknown = self.ids.get("[UNK]", 0)
        self.cache: dict[str, tuple[int, ...]] = {}

    @classmethod
    def load(cls, where: Path) -> TokenTable:
        return cls(read_vocab(where / VOCAB), (where / TABLE).read_bytes())

    def _pieces(self, word: str) -> tuple[int, ...]:
        if not word.isascii():  # BERT uncased strips accents
            word = "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")
        out: list[int] = []
        for part in word.split("'"):
            if not part:
                continue
            if len(part) > MAX_WORD:
                out.append(self.unknown)
                continue
            found: list[int] = []
            start = 0
            while start < len(part):
                end = len(part)
                while end > start:
                    piece = part[start:end] if start == 0 else "##" + part[start:end]
                    if piece in self.ids:
                        found.append(self.ids[piece])
                        break
                    end -= 1
                if end == start:  # no piece matches: the whole word is unknown
                    found = [self.unknown]
                    break
                start = end
            out.extend(found)
        return tuple(out)

    def pieces(self, word: str) -> tuple[int, ...]:
        found = self.cache.get(word)
        if found is None:
            if len(self.cache) >= CACHE:  # bounded: a flood of novel words cannot grow it without end
                self.cache.clear()
            found = self.cache[word] = self._pieces(word)
        return found

    def tokens(self, words: Sequence[str]) -> list[int]:
        return list(chain.from_iterable(self._found(words)))

    def _found(self, words: Sequence[str]) -> list[tuple[int, ...]]:
        # A plain dict probed at C speed (map); only a word not seen before goes through WordPiece.
        found = list(map(self.cache.get, words))
        if None in found:
            found = [f if f is not None else self.pieces(w) for f, w in zip(found, words, strict=True)]
        return found

    def vector(self, words: Sequence[str]) -> np.ndarray:
        """Unit-length sum of the words' token rows (zeros when no word has a reading)."""
        ids = np.fromiter(chain.from_iterable(self._found(words)), dtype=np.intp)
        if not ids.size:
            return np.zeros(self.dims, dtype=np.float32)
        v = self.rows.take(ids, axis=0).sum(axis=0)
        norm = float(np.sqrt(v @ v))
        return v / norm if norm > 0 else v


def packaged() -> Path:
    return Path(str(files("clearance.guardrails")))


@lru_cache(maxsize=2)
def load_table(where: str | None = None) -> TokenTable:
    return TokenTable.load(Path(where) if where else packaged())
