"""Cross-document template evidence, CCNet style: short lines that recur across many pages of a batch.

Lines are keyed by a stable 64-bit hash of their folded form (digits, punctuation and case folded),
so counting a million pages takes arrays of integers, not a dictionary of strings. Only lines short
enough to be chrome are counted: prose never recurs, and skipping it keeps the counts small.
"""

from __future__ import annotations

import hashlib

import numpy as np

from pipeline.textnorm import fold_matching_forms, lines_for_matching

TEMPLATE_LINE_MAX_CHARS = 40  # the cleaner only treats lines shorter than a paragraph as template lines
_COMPACT_EVERY = 4_000_000


def hash_key(folded: str) -> int:
    """The stable 64-bit key of a folded line (0 for an empty one)."""
    if not folded:
        return 0
    return int.from_bytes(hashlib.blake2b(folded.encode("utf-8"), digest_size=8).digest(), "little", signed=True)


def page_line_keys(text: str) -> np.ndarray:
    """The distinct keys of a page's short lines."""
    short = [norm for norm in lines_for_matching(text) if len(norm) <= TEMPLATE_LINE_MAX_CHARS]
    keys = set(map(hash_key, fold_matching_forms(short)))
    keys.discard(0)
    return np.fromiter(keys, np.int64, len(keys))


class TemplateCounter:
    """Counts, per line key, the pages it occurs in; memory stays proportional to distinct keys."""

    def __init__(self) -> None:
        self._keys = np.zeros(0, np.int64)
        self._counts = np.zeros(0, np.int64)
        self._pending: list[np.ndarray] = []
        self._pending_size = 0

    def add(self, keys: np.ndarray) -> None:
        self._pending.append(keys)
        self._pending_size += len(keys)
        if self._pending_size >= _COMPACT_EVERY:
            self._compact()

    def _compact(self) -> None:
        if not self._pending:
            return
        new_keys, new_counts = np.unique(np.concatenate(self._pending), return_counts=True)
        keys = np.concatenate([self._keys, new_keys])
        counts = np.concatenate([self._counts, new_counts])
        self._keys, inverse = np.unique(keys, return_inverse=True)
        self._counts = np.bincount(inverse, weights=counts).astype(np.int64)
        self._pending, self._pending_size = [], 0

    def template_keys(self, min_pages: int) -> frozenset[int]:
        self._compact()
        return frozenset(int(k) for k in self._keys[self._counts >= min_pages])


def learn_template_keys(texts, min_pages: int = 3) -> frozenset[int]:
    """The template line keys of a collection of page texts held in one process."""
    counter = TemplateCounter()
    for text in texts:
        counter.add(page_line_keys(text))
    return counter.template_keys(min_pages)
