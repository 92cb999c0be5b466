"""Fold near-duplicate records: candidates from LSH bands, verified, clustered by union-find.

A copy whose article already has a canonical record from an earlier run is folded into it; that
record keeps its id. Within a run the canonical is the most complete body, then the smallest
source path.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

import numpy as np
from datasketch.lsh import _optimal_param

from pipeline.dedup.signature import Signer, exact_key, normalize_body, similarity
from pipeline.dedup.store import Canonical, StateStore


@dataclass(frozen=True)
class DedupSettings:
    ngram: int = 3
    num_perm: int = 64
    threshold: float = 0.3
    seed: int = 1
    simplified: bool = False  # fold traditional characters to simplified before hashing


@dataclass
class Item:
    """What dedup needs of one record."""

    record_id: str
    source_path: str
    part: int
    char_count: int
    answer: str


@dataclass
class Fold:
    """The decision for one record: canonical itself (canonical_record_id is None) or a copy."""

    item: Item
    exact: str
    signature: np.ndarray
    bands: list[int]
    canonical_record_id: str | None = None
    canonical_source_path: str | None = None
    similarity: float = 1.0
    copies: list["Fold"] = field(default_factory=list)


def band_layout(settings: DedupSettings) -> tuple[int, int]:
    """(bands, rows) minimizing false positives and negatives at the threshold, as datasketch chooses them."""
    return _optimal_param(settings.threshold, settings.num_perm, 0.5, 0.5)


def band_keys(signature: np.ndarray, bands: int, rows: int) -> list[int]:
    keys = []
    for band in range(bands):
        chunk = signature[band * rows:(band + 1) * rows].tobytes()
        # 32-bit keys keep the persisted index small; a rare collision only adds a candidate to verify.
        digest = hashlib.blake2b(chunk, digest_size=4, key=band.to_bytes(2, "little")).digest()
        keys.append(int.from_bytes(digest, "little", signed=True))
    return keys


class _UnionFind:
    def __init__(self, n: int):
        self.parent = list(range(n))

    def find(self, x: int) -> int:
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def sign(items: list[Item], settings: DedupSettings) -> list[Fold]:
    signer = Signer(settings.ngram, settings.num_perm, settings.seed)
    bands, rows = band_layout(settings)
    folds = []
    for item in items:
        normalized = normalize_body(item.answer, settings.simplified)
        signature = signer.signature(normalized)
        folds.append(Fold(item, exact_key(normalized), signature, band_keys(signature, bands, rows)))
    return folds


def fold(folds: list[Fold], settings: DedupSettings, store: StateStore | None, run_id: str) -> list[Fold]:
    """Decides canonical/copy for every fold (in place) and returns the new canonical ones."""
    folds = sorted(folds, key=lambda f: (f.item.source_path, f.item.part))
    uf = _UnionFind(len(folds))
    seen_exact: dict[str, int] = {}
    buckets: dict[int, list[int]] = {}
    for i, f in enumerate(folds):
        if f.exact in seen_exact:
            uf.union(seen_exact[f.exact], i)
        else:
            seen_exact[f.exact] = i
        for key in f.bands:
            buckets.setdefault(key, []).append(i)
    for members in buckets.values():
        for j in members[1:]:
            if uf.find(members[0]) != uf.find(j) and similarity(folds[members[0]].signature, folds[j].signature) >= settings.threshold:
                uf.union(members[0], j)
        # members that failed against the first may still match each other
        for a_pos, a in enumerate(members[1:], start=1):
            for b in members[a_pos + 1:]:
                if uf.find(a) != uf.find(b) and similarity(folds[a].signature, folds[b].signature) >= settings.threshold:
                    uf.union(a, b)
    clusters: dict[int, list[int]] = {}
    for i in range(len(folds)):
        clusters.setdefault(uf.find(i), []).append(i)

    prior = _prior_matches(folds, settings, store) if store is not None else {}
    new_canonicals: list[Fold] = []
    for members in clusters.values():
        cluster = [folds[i] for i in members]
        earlier = _best_prior([prior.get(i, []) for i in members])
        if earlier is not None:
            canonical_id, canonical_path = earlier.record_id, earlier.source_path
            for f in cluster:
                f.canonical_record_id, f.canonical_source_path = canonical_id, canonical_path
                f.similarity = 1.0 if f.item.record_id == canonical_id else similarity(f.signature, earlier.signature)
            continue
        head = min(cluster, key=lambda f: (-f.item.char_count, f.item.source_path, f.item.part))
        new_canonicals.append(head)
        for f in cluster:
            if f is head:
                continue
            f.canonical_record_id, f.canonical_source_path = head.item.record_id, head.item.source_path
            f.similarity = 1.0 if f.exact == head.exact else similarity(f.signature, head.signature)
            head.copies.append(f)
    return new_canonicals


def _prior_matches(folds: list[Fold], settings: DedupSettings, store: StateStore) -> dict[int, list[tuple[float, Canonical]]]:
    """For each fold (by position), earlier runs' canonicals that it verifiably duplicates."""
    exact = store.by_exact_key(sorted({f.exact for f in folds}))
    band_hits = store.by_band_keys(sorted({key for f in folds for key in f.bands}))
    candidates = store.canonicals(sorted({c for ids in band_hits.values() for c in ids}))
    matches: dict[int, list[tuple[float, Canonical]]] = {}
    for i, f in enumerate(folds):
        found: dict[int, tuple[float, Canonical]] = {}
        if f.exact in exact:
            found[exact[f.exact].id] = (1.0, exact[f.exact])
        for key in f.bands:
            for cid in band_hits.get(key, ()):
                if cid not in found:
                    score = similarity(f.signature, candidates[cid].signature)
                    if score >= settings.threshold:
                        found[cid] = (score, candidates[cid])
        if found:
            matches[i] = list(found.values())
    return matches


def _best_prior(match_lists: list[list[tuple[float, Canonical]]]) -> Canonical | None:
    """Earliest seen across runs, then the most complete body, then the smallest source path."""
    matches = [canonical for found in match_lists for _, canonical in found]
    if not matches:
        return None
    return min(matches, key=lambda c: (c.first_seen_run, -c.char_count, c.source_path, c.part))
