"""Vectorized MinHash signatures over character n-grams of the normalized clean body.

Shingles are hashed with numpy (a polynomial rolling hash finished by splitmix64) and permuted
with multiply-shift hashing, all as array operations: no per-shingle Python loop. The values are
those datasketch's MinHash would hold as `hashvalues` for the same hash functions.
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
HASH_SCHEME = "poly-splitmix64+multiply-shift/v1"
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


def _splitmix64(x: np.ndarray) -> np.ndarray:
    x = x + np.uint64(0x9E3779B97F4A7C15)
    x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@dataclass(frozen=True)
class Signer:
    ngram: int = 3
    num_perm: int = 64
    seed: int = 1

    def __post_init__(self):
        rng = np.random.default_rng(self.seed)
        object.__setattr__(self, "_a", rng.integers(1, 2**63, self.num_perm, dtype=np.uint64) | np.uint64(1))
        object.__setattr__(self, "_b", rng.integers(0, 2**63, self.num_perm, dtype=np.uint64))

    def shingle_hashes(self, normalized: str) -> np.ndarray:
        codes = np.frombuffer(normalized.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
        n = min(self.ngram, len(codes))
        if n == 0:
            return np.zeros(1, dtype=np.uint64)
        count = len(codes) - n + 1
        h = np.zeros(count, dtype=np.uint64)
        with np.errstate(over="ignore"):
            for k in range(n):
                h = h * _POLY + codes[k:k + count]
            return _splitmix64(h)  # a repeated shingle changes no minimum: no need to make them unique

    def signature(self, normalized: str) -> np.ndarray:
        """num_perm 32-bit minimum hash values."""
        # In place, and the shift after the minimum (it keeps order): a page's products are a few hundred
        # KB, which every new array would take from the system afresh. Array arithmetic wraps silently.
        permuted = np.multiply.outer(self._a, self.shingle_hashes(normalized))
        permuted += self._b[:, None]
        return (permuted.min(axis=1) >> np.uint64(32)).astype(np.uint32)

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
