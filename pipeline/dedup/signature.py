"""Vectorized MinHash signatures over character n-grams of the normalized clean body.

Shingles are hashed with numpy (a polynomial rolling hash finished by splitmix64, cut to 32 bits) and
permuted with multiply-add hashing modulo 2^32, all as array operations over a batch of texts at once:
no per-shingle Python loop, and no per-text round of small array operations either.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from pipeline.derived import kept_on_disk
from pipeline.textnorm import char_class, to_simplified

NORMALIZER_VERSION = 1
HASH_SCHEME = "poly-splitmix64-32+multiply-add-32/v2"
_DROP_RE = re.compile(r"[\W_]+", re.UNICODE)
_DIGIT_RE = re.compile(r"\d")
_POLY = np.uint64(0x100000001B3)


def normalize_body(text: str, simplified: bool = False) -> str:
    """NFKC, lower case, digits folded to 0, whitespace and punctuation removed; optionally t2s."""
    text = unicodedata.normalize("NFKC", _drop_punctuation_early(text)).lower()
    if simplified:
        text = to_simplified(text)
    return _DIGIT_RE.sub("0", _DROP_RE.sub("", text))


def _drop_punctuation_early(text: str) -> str:
    """Punctuation dropped before NFKC, where that gives what dropping it after gives. Then most
    Chinese text is already normalized, and NFKC merely checks it (a single full-width comma would
    make it rebuild the whole text). Only text without a character that can join the one before it
    qualifies: with the punctuation gone, `e，\u0301` would compose to é, which NFKC first keeps apart."""
    punctuation, joiner = _early_drop_classes()
    return text if joiner.search(text) else punctuation.sub("", text)


@lru_cache(maxsize=1)
@kept_on_disk()
def _early_drop_classes() -> tuple[re.Pattern, re.Pattern]:
    """(punctuation: characters that are punctuation or space before and after NFKC, with no
    combining part; joiner: characters whose NFKC form can join the character before it)."""
    bmp = [chr(code) for code in range(0x10000) if not 0xD800 <= code < 0xE000]
    images = {ch: unicodedata.normalize("NFKD", ch) for ch in bmp}
    seconds = {decomposition.split()[1] for decomposition in map(unicodedata.decomposition, bmp)
               if decomposition and not decomposition.startswith("<") and len(decomposition.split()) == 2}
    joins = {ch for ch in bmp if unicodedata.combining(ch) or f"{ord(ch):04X}" in seconds} | set(map(chr, range(0x1160, 0x1200)))
    punctuation = [ch for ch in bmp if images[ch] and _DROP_RE.fullmatch(images[ch]) and not set(images[ch]) & joins]
    joiner = [ch for ch in bmp if set(images[ch]) & joins]
    return re.compile(char_class(punctuation) + "+"), re.compile(char_class(joiner)[:-1] + "\U00010000-\U0010FFFF]")


def exact_key(normalized: str) -> str:
    return hashlib.sha1(normalized.encode("utf-8")).hexdigest()[:16]


def splitmix64(x: np.ndarray) -> np.ndarray:
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


# Shingles permuted per step: (at the default 64 permutations) 2 MB, which the processor's cache holds
# while they are added to and reduced.
SHINGLES_PER_STEP = 8192
# Characters hashed at once: the hashing's arrays take about 40 bytes per character, and arrays of a
# few MB are reused where larger ones would take fresh pages from the system at every call.
CHARACTERS_PER_GROUP = 1 << 18


@dataclass(frozen=True)
class Signer:
    ngram: int = 3
    num_perm: int = 64
    seed: int = 1

    def __post_init__(self):
        rng = np.random.default_rng(self.seed)
        object.__setattr__(self, "_a", (rng.integers(0, 2**32, (self.num_perm, 1), dtype=np.uint64) | np.uint64(1)).astype(np.uint32))
        object.__setattr__(self, "_b", rng.integers(0, 2**32, (self.num_perm, 1), dtype=np.uint64).astype(np.uint32))

    def shingle_hashes(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """The 32-bit hashes of every text's shingles one after the other, and where each text's shingles begin.

        A text shorter than the n-gram (or empty) is padded with NULs, which no normalized text holds,
        to one shingle."""
        n = self.ngram
        padded = [text if len(text) >= n else text + "\0" * (n - len(text)) for text in texts]
        lengths = np.fromiter(map(len, padded), np.int64, len(padded))
        codes = np.frombuffer("".join(padded).encode("utf-32-le"), np.uint32).astype(np.uint64)
        windows = len(codes) - n + 1  # also those across two texts, dropped below
        hashes = np.zeros(windows, np.uint64)
        with np.errstate(over="ignore"):
            for k in range(n):
                hashes = hashes * _POLY + codes[k:k + windows]
        counts = lengths - (n - 1)
        firsts = np.cumsum(counts) - counts
        # a text's shingles start where its codes do: skip the n - 1 windows across each boundary
        kept = np.arange(counts.sum()) + np.repeat(np.cumsum(lengths) - lengths - firsts, counts)
        return (splitmix64(hashes[kept]) >> np.uint64(32)).astype(np.uint32), firsts

    def signatures(self, texts: list[str]) -> np.ndarray:
        """num_perm 32-bit minimum hash values per text, one row each."""
        if not texts:
            return np.zeros((0, self.num_perm), np.uint32)
        ends = np.cumsum(np.fromiter(map(len, texts), np.int64, len(texts)))
        groups, start = [], 0
        while start < len(texts):  # texts of at most CHARACTERS_PER_GROUP characters together, or one longer
            done = ends[start - 1] if start else 0
            stop = max(start + 1, int(np.searchsorted(ends, done + CHARACTERS_PER_GROUP, side="right")))
            groups.append(self._group_signatures(texts[start:stop]))
            start = stop
        return np.concatenate(groups) if len(groups) > 1 else groups[0]

    def _group_signatures(self, texts: list[str]) -> np.ndarray:
        hashes, firsts = self.shingle_hashes(texts)
        ends = np.append(firsts[1:], len(hashes))
        found = np.empty((self.num_perm, len(texts)), np.uint32)
        # one buffer for every step: a new array would take its pages from the system afresh
        permuted = np.empty(self.num_perm * max(SHINGLES_PER_STEP, int(np.max(ends - firsts, initial=0))), np.uint32)
        start = 0
        while start < len(texts):
            stop = max(start + 1, int(np.searchsorted(ends, firsts[start] + SHINGLES_PER_STEP, side="right")))
            low, high = firsts[start], ends[stop - 1]
            step = permuted[:self.num_perm * (high - low)].reshape(self.num_perm, high - low)
            np.multiply(self._a, hashes[low:high], out=step)  # arithmetic modulo 2^32: it wraps, silently
            step += self._b
            found[:, start:stop] = np.minimum.reduceat(step, firsts[start:stop] - low, axis=1)
            start = stop
        return np.ascontiguousarray(found.T)

    def signature(self, normalized: str) -> np.ndarray:
        """The signature of one text."""
        return self.signatures([normalized])[0]

    def settings(self) -> dict[str, str]:
        return {
            "hash_scheme": HASH_SCHEME,
            "seed": str(self.seed),
            "ngram": str(self.ngram),
            "num_perm": str(self.num_perm),
            "normalizer_version": str(NORMALIZER_VERSION),
        }


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Estimated Jaccard similarity of two signatures."""
    return float(np.count_nonzero(a == b)) / len(a)
