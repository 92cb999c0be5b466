"""Fold near-duplicate records: candidates from LSH bands, verified, clustered by union-find, and each
cluster's members folded into a canonical that they verifiably copy.

Signatures travel as columns (`Signatures`: one row per record, numpy arrays), so a million records
cost a few hundred megabytes, not a million Python objects. Candidate buckets come from grouping
the records by band key, band by band; that grouping is the only step that needs every record at
once, and an executor may run it as a distributed shuffle (`band_buckets` is the local version).

A copy whose article already has a canonical record from an earlier run is folded into it; that
record keeps its id. Within a run the canonical is the most complete body, then the smallest
source path.
"""

from __future__ import annotations

import shutil
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.derived import kept_on_disk
from pipeline.dedup.signature import Signer, exact_key, normalize_body, splitmix64
from pipeline.dedup.store import Canonical, SettingsMismatch, StateStore

# Beyond this many members a bucket is checked against its first members only: a bucket that large
# is a pile of near-identical pages, and each member needs one match to join the cluster.
BUCKET_ALL_PAIRS_MAX = 64
ROWS_PER_PRIOR_LOOKUP = 10_000  # new rows matched against the store at once (their candidate pairs: tens per row)
PAIRS_PER_CHECK = 50_000  # candidate pairs verified at once: two gathers of 64 values each, 13 MB apiece


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
class Signatures:
    """Columns of signed records: ids, where they came from, exact key, MinHash signature, band keys."""

    record_ids: list[str] = field(default_factory=list)
    source_paths: list[str] = field(default_factory=list)
    parts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int32))
    char_counts: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    exact: np.ndarray = field(default_factory=lambda: np.zeros(0, np.uint64))
    matrix: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.uint32))
    bands: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int32))

    def __len__(self) -> int:
        return len(self.record_ids)

    @staticmethod
    def concat(parts: list["Signatures"]) -> "Signatures":
        parts = [p for p in parts if len(p)]
        if not parts:
            return Signatures()
        return Signatures(
            [r for p in parts for r in p.record_ids], [s for p in parts for s in p.source_paths],
            np.concatenate([p.parts for p in parts]), np.concatenate([p.char_counts for p in parts]),
            np.concatenate([p.exact for p in parts]), np.vstack([p.matrix for p in parts]),
            np.vstack([p.bands for p in parts]),
        )

    def exact_hex(self, i: int) -> str:
        return f"{int(self.exact[i]):016x}"


class SignatureSpool:
    """Collects a run's signatures batch by batch. The wide columns (MinHash values and band keys, 340
    bytes per record) go to files in `folder` as they come and are read back in one piece for the
    fold, so the run never holds every batch's arrays and their concatenation at once."""

    def __init__(self, folder: Path):
        folder.mkdir(parents=True, exist_ok=True)
        self._folder = folder
        self._matrix, self._bands = open(folder / "minhash.bin", "wb"), open(folder / "bands.bin", "wb")
        self._columns: list[Signatures] = []  # the narrow columns; their wide ones emptied
        self._widths = (0, 0)

    def append(self, part: Signatures) -> None:
        if not len(part):
            return
        self._widths = (part.matrix.shape[1], part.bands.shape[1])
        part.matrix.tofile(self._matrix)
        part.bands.tofile(self._bands)
        self._columns.append(Signatures(part.record_ids, part.source_paths, part.parts, part.char_counts, part.exact))

    def collect(self) -> Signatures:
        """Every batch's signatures; the files are gone afterwards."""
        self._matrix.close()
        self._bands.close()
        narrow, self._columns = Signatures.concat(self._columns), []
        if len(narrow):
            permutations, bands = self._widths
            narrow.matrix = np.fromfile(self._matrix.name, np.uint32).reshape(-1, permutations)
            narrow.bands = np.fromfile(self._bands.name, np.int32).reshape(-1, bands)
        shutil.rmtree(self._folder, ignore_errors=True)
        return narrow


@dataclass
class FoldResult:
    """Per row: the canonical it folds into (None: it is canonical), and the similarity to it."""

    canonical_record_id: list[str | None]
    canonical_source_path: list[str | None]
    canonical_part: list[int | None]
    similarity: np.ndarray
    new_canonicals: list[int]

    @staticmethod
    def all_canonical(n: int) -> "FoldResult":
        return FoldResult([None] * n, [None] * n, [None] * n, np.ones(n), [])


@lru_cache(maxsize=8)
@kept_on_disk()
def band_layout(settings: DedupSettings) -> tuple[int, int]:
    """(bands, rows) minimizing false positives and negatives at the threshold, as datasketch chooses them.

    Kept on disk: the search integrates numerically with SciPy, and importing datasketch and SciPy
    alone takes most of a second of every run. Computed where the run starts and handed to the
    workers, which so never load them (70 MB each)."""
    from datasketch.lsh import _optimal_param

    return _optimal_param(settings.threshold, settings.num_perm, 0.5, 0.5)


def band_key_matrix(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    """The band keys of each signature (a row each): a band's rows of values hashed with the band's
    number, by splitmix64 steps. 32-bit keys keep the persisted index small; a rare collision only adds
    a candidate to verify."""
    values = signatures[:, :bands * rows].reshape(len(signatures), bands, rows).astype(np.uint64)
    keys = np.arange(1, bands + 1, dtype=np.uint64)[None, :] * np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        for row in range(rows):
            keys = splitmix64(keys ^ values[:, :, row])
    return (keys >> np.uint64(32)).astype(np.uint32).view(np.int32)


def sign(items: list[Item], settings: DedupSettings, layout: tuple[int, int]) -> Signatures:
    """Signatures and band keys of the items; layout is band_layout(settings)."""
    normalized = [normalize_body(item.answer, settings.simplified) for item in items]
    matrix = Signer(settings.ngram, settings.num_perm, settings.seed).signatures(normalized)
    return Signatures(
        [i.record_id for i in items], [i.source_path for i in items],
        np.array([i.part for i in items], np.int32), np.array([i.char_count for i in items], np.int64),
        np.array([int(exact_key(text), 16) for text in normalized], np.uint64), matrix,
        band_key_matrix(matrix, *layout),
    )


def sign_again(store: StateStore, records: Path, settings: DedupSettings) -> int:
    """Signs the store's canonicals again, from their records' answers in records (the cumulative
    records.parquet), after a change of hash scheme: the store keeps what earlier runs saw through an
    upgrade. Returns how many were signed; stops the run, the store unchanged, if a record is missing."""
    ids = store.canonical_ids()
    signer, layout = Signer(settings.ngram, settings.num_perm, settings.seed), band_layout(settings)

    def signed() -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
        left = dict(ids)
        with pq.ParquetFile(records) if records.exists() else nullcontext() as parquet:
            batches = parquet.iter_batches(4096, columns=["record_id", "source_path", "answer"]) if parquet is not None else ()
            for batch in batches:
                keys = zip(batch.column("record_id").to_pylist(), batch.column("source_path").to_pylist())
                found = [(left.pop(key), answer) for key, answer in zip(keys, batch.column("answer").to_pylist())
                         if key in left]
                if found:
                    matrix = signer.signatures([normalize_body(answer, settings.simplified) for _, answer in found])
                    yield np.array([cid for cid, _ in found], np.int64), matrix, band_key_matrix(matrix, *layout)
        if left:
            raise SettingsMismatch(
                f"the state store {store.path} was signed by an earlier version of this tool, and {len(left):,} of its "
                f"{len(ids):,} canonical records are not in {records} to be signed again; delete the store to start over")

    return store.replace_signatures(signed(), {"hash_scheme": signer.settings()["hash_scheme"]})


Buckets = tuple[np.ndarray, np.ndarray]  # (members of every bucket one after the other, bucket sizes)


def shared_bands(keys: np.ndarray, rows: np.ndarray) -> Buckets:
    """The rows (ascending) of every key held by two or more rows."""
    order = np.lexsort((rows, keys))
    keys, rows = keys[order], rows[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    sizes = np.diff(np.r_[starts, len(keys)])
    shared = sizes > 1
    return rows[np.repeat(shared, sizes)], sizes[shared]


def band_buckets(keys: np.ndarray, rows: np.ndarray) -> Iterator[Buckets]:
    """The local grouping: the buckets of candidate rows, a band (a column of keys) at a time, so only
    one key per record is sorted at once and no band's buckets are held after they are checked. A
    bucket that recurs in another band costs little: its rows are already joined."""
    for column in keys.T:
        yield shared_bands(column, rows)


def _pairs(members: np.ndarray, sizes: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The candidate pairs of buckets whose members are in rank order, PAIRS_PER_CHECK at a time or so:
    each of a bucket's first BUCKET_ALL_PAIRS_MAX members with every member after it. Made with array
    operations, not a Python step per pair."""
    heads = np.minimum(sizes, BUCKET_ALL_PAIRS_MAX)
    pairs_before = np.r_[0, np.cumsum(heads * (sizes - 1) - heads * (heads - 1) // 2)]
    ends = np.cumsum(sizes)
    first = 0
    while first < len(sizes):
        # whole buckets up to about PAIRS_PER_CHECK pairs (at least one bucket)
        last = max(first + 1, int(np.searchsorted(pairs_before, pairs_before[first] + PAIRS_PER_CHECK, "right")) - 1)
        lo, hi = ends[first] - sizes[first], ends[last - 1]
        bucket_sizes = sizes[first:last]
        position = np.arange(lo, hi)
        bucket_end = np.repeat(ends[first:last], bucket_sizes)
        offset = position - np.repeat(ends[first:last] - bucket_sizes, bucket_sizes)
        partners = np.where(offset < BUCKET_ALL_PAIRS_MAX, bucket_end - 1 - position, 0)
        a = np.repeat(position, partners)
        run_starts = np.cumsum(partners) - partners
        b = a + 1 + np.arange(len(a)) - np.repeat(run_starts, partners)
        yield members[a], members[b]
        first = last


class _Components:
    """Union-find over ranks in an array: parent[x] < x for every rank x that is not its component's
    root, so a root is the smallest rank of its component. Roots are found and joined for many ranks
    at once (pointer jumping, then hooking the larger root under the smaller one)."""

    def __init__(self, parent: np.ndarray):
        self.parent = parent

    def roots(self, ranks: np.ndarray) -> np.ndarray:
        found = self.parent[ranks]
        while True:
            above = self.parent[found]
            if np.array_equal(above, found):
                return found
            found = above

    def join(self, a: np.ndarray, b: np.ndarray) -> None:
        if not len(a):
            return
        while len(a):
            root_a, root_b = self.roots(a), self.roots(b)
            apart = root_a != root_b
            a, b, root_a, root_b = a[apart], b[apart], root_a[apart], root_b[apart]
            # several pairs may hook the same root in one round: one of them does, the others go round again
            self.parent[np.maximum(root_a, root_b)] = np.minimum(root_a, root_b)
        while True:  # every rank pointed at its root, so the next roots() takes one step
            above = self.parent[self.parent]
            if np.array_equal(above, self.parent):
                return
            self.parent = above


def _path_order(signed: Signatures) -> np.ndarray:
    """Rows by (source_path, part), sorted by Arrow: Python's sort would hold a key tuple per row."""
    table = pa.table({"path": pa.array(signed.source_paths, pa.string()), "part": signed.parts})
    return pc.sort_indices(table, sort_keys=[("path", "ascending"), ("part", "ascending")]).to_numpy()


def _clusters(components: _Components, order: np.ndarray):
    """Yields each cluster's rows in rank order, clusters in the order of their first rank."""
    n = len(order)
    if not n:
        return
    roots = components.roots(np.arange(n))
    by_root = np.lexsort((np.arange(n), roots))
    sorted_roots = roots[by_root]
    starts = np.flatnonzero(np.r_[True, sorted_roots[1:] != sorted_roots[:-1]])
    for start, end in zip(starts.tolist(), np.r_[starts[1:], n].tolist()):
        yield order[by_root[start:end]].tolist()


def fold(signed: Signatures, settings: DedupSettings, store: StateStore | None, group=band_buckets) -> FoldResult:
    """Decides canonical/copy for every row. `group` turns the band table into candidate buckets.

    Per row it keeps a few numbers in arrays, not Python objects: a million rows fold in a few
    hundred megabytes."""
    n = len(signed)
    order = _path_order(signed) if n else np.zeros(0, np.int64)
    rank = np.empty(n, np.int64)
    rank[order] = np.arange(n)
    # Exact copies join their first occurrence (in rank order); only that one goes to LSH. Rows with one
    # record id are exact copies too: the id folds traditional to simplified, the signature need not.
    same_exact = _first_equal(signed.exact[order])
    components = _Components(same_exact)
    same_id = _first_equal(pa.array(signed.record_ids, pa.string()).take(order).dictionary_encode().indices.to_numpy())
    repeated = np.flatnonzero(same_id != np.arange(n))
    components.join(repeated, same_id[repeated])
    id_codes = np.empty(n, np.int64)
    id_codes[order] = same_id  # per row: one number per record id
    representatives = np.sort(order[np.flatnonzero(same_exact == np.arange(n))])
    matrix = signed.matrix
    threshold = min_equal_values(settings, matrix.shape[1]) if n else 0

    for members, sizes in group(signed.bands[representatives], representatives):
        # each bucket's members in rank order
        ranks = rank[members]
        ranks = ranks[np.lexsort((ranks, np.repeat(np.arange(len(sizes)), sizes)))]
        for a, b in _pairs(ranks, sizes):
            for start in range(0, len(a), PAIRS_PER_CHECK):  # a pile of copies makes one bucket of many pairs
                part_a, part_b = a[start:start + PAIRS_PER_CHECK], b[start:start + PAIRS_PER_CHECK]
                apart = components.roots(part_a) != components.roots(part_b)
                part_a, part_b = part_a[apart], part_b[apart]
                verified = np.count_nonzero(matrix[order[part_a]] == matrix[order[part_b]], axis=1) >= threshold
                components.join(part_a[verified], part_b[verified])

    result = FoldResult.all_canonical(n)
    prior = _prior_matches(signed, settings, store) if store is not None and n else {}
    for members in _clusters(components, order):
        if len(members) == 1 and members[0] not in prior:
            result.new_canonicals.append(members[0])
        else:
            _fold_cluster(members, prior, signed, threshold, id_codes, result)
    result.new_canonicals.sort(key=lambda i: rank[i])
    return result


def min_equal_values(settings: DedupSettings, width: int) -> int:
    """The fewest equal MinHash values (of width) at which two signatures count as copies."""
    return next(same for same in range(width + 1) if same / width >= settings.threshold)


def _fold_cluster(members: list[int], prior: dict[int, list[Canonical]], signed: Signatures, threshold: int,
                  id_codes: np.ndarray, result: FoldResult) -> None:
    """Folds a cluster's members into canonicals, each member only into one it verifiably copies (at least
    threshold equal values, or the same record id): candidates chained A~B~C need not make C a copy of A
    (at a million records, chance pairs had joined whole clusters). Round by round, the canonical is the
    earlier run's canonical that a member left matches, else the most complete member left."""
    left = np.array(sorted(members, key=lambda i: (-signed.char_counts[i], signed.source_paths[i], signed.parts[i])))
    matched = [i for i in members if i in prior]
    while len(left):
        earlier = _best_prior([prior[i] for i in matched]) if matched else None
        if earlier is not None:
            head = None
            record_id, source_path, part, signature = earlier.record_id, earlier.source_path, earlier.part, earlier.signature
            same_id = np.array([signed.record_ids[i] == record_id for i in left.tolist()], bool)
        else:
            head = int(left[0])
            result.new_canonicals.append(head)
            record_id, source_path, part = signed.record_ids[head], signed.source_paths[head], int(signed.parts[head])
            signature = signed.matrix[head]
            same_id = id_codes[left] == id_codes[head]
        same = np.count_nonzero(signed.matrix[left] == signature, axis=1)
        copies = same_id | (same >= threshold)
        if not copies.any():  # never: a prior match passed the same check; but the loop must end
            matched = []
            continue
        for i, values, exact in zip(left[copies].tolist(), same[copies].tolist(), same_id[copies].tolist()):
            if i != head:
                result.canonical_record_id[i], result.canonical_source_path[i] = record_id, source_path
                result.canonical_part[i] = part
                result.similarity[i] = 1.0 if exact else values / len(signature)
        left = left[~copies]
        if matched:
            remaining = set(left.tolist())
            matched = [i for i in matched if i in remaining]


def _first_equal(values: np.ndarray) -> np.ndarray:
    """Per rank, the first rank whose value is equal (values in rank order)."""
    _, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    return first[inverse.reshape(-1)]


def _prior_matches(signed: Signatures, settings: DedupSettings, store: StateStore) -> dict[int, list[Canonical]]:
    """For each row, earlier runs' canonicals that it verifiably duplicates.

    A row shares bands with many earlier canonicals (articles on one topic share short runs of text):
    their signatures are checked as arrays, a chunk of pairs at a time, and only the canonicals that
    pass are read whole."""
    if store.count() == 0:
        return {}
    matches: dict[int, dict[int, Canonical]] = {}
    exact_keys = [signed.exact_hex(i) for i in range(len(signed))]
    exact, same_id = store.by_exact_key(sorted(set(exact_keys))), store.by_record_id(sorted(set(signed.record_ids)))
    for i, (key, record_id) in enumerate(zip(exact_keys, signed.record_ids)):
        for hit in (exact.get(key), same_id.get(record_id)):
            if hit is not None:
                matches.setdefault(i, {})[hit.id] = hit
    threshold = min_equal_values(settings, signed.matrix.shape[1])
    for first in range(0, len(signed), ROWS_PER_PRIOR_LOOKUP):  # a block at a time: pairs grow with the store
        bands = signed.bands[first:first + ROWS_PER_PRIOR_LOOKUP]
        rows, candidates = _sharing(bands, *store.band_rows(np.unique(bands)))
        rows += first
        known, signatures = store.signatures(np.unique(candidates))
        passed = np.zeros(len(rows), bool)
        for start in range(0, len(rows), PAIRS_PER_CHECK):
            part = slice(start, start + PAIRS_PER_CHECK)
            at = np.minimum(np.searchsorted(known, candidates[part]), max(len(known) - 1, 0))
            same = np.count_nonzero(signed.matrix[rows[part]] == signatures[at], axis=1)
            passed[part] = (known[at] == candidates[part]) & (same >= threshold)
        rows, candidates = rows[passed].tolist(), candidates[passed].tolist()
        found = store.canonicals(sorted(set(candidates)))
        for i, cid in zip(rows, candidates):
            matches.setdefault(i, {}).setdefault(cid, found[cid])
    return {i: list(canonicals.values()) for i, canonicals in matches.items()}


def _sharing(bands: np.ndarray, keys: np.ndarray, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, canonical id) of every stored band row (keys ascending, with their ids) that holds one of a
    row's band keys; each pair once, by row."""
    flat = bands.astype(np.int64).ravel()
    first, last = np.searchsorted(keys, flat, "left"), np.searchsorted(keys, flat, "right")
    counts = last - first
    rows = np.repeat(np.repeat(np.arange(len(bands), dtype=np.int64), bands.shape[1]), counts)
    within = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    pairs = np.unique((rows << 32) | ids[np.repeat(first, counts) + within])
    return pairs >> 32, pairs & 0xFFFFFFFF


def _best_prior(match_lists: list[list[Canonical]]) -> Canonical | None:
    """Earliest seen across runs, then the most complete body, then the smallest source path."""
    matches = [canonical for found in match_lists for canonical in found]
    if not matches:
        return None
    return min(matches, key=lambda c: (c.first_seen_run, -c.char_count, c.source_path, c.part))
