"""The state store: an embedded SQLite file holding the dedup index and what earlier runs saw.

Per canonical record it keeps a compact row (integer key, 32-bit signature values as a blob) and
one row per LSH band in a WITHOUT ROWID table, so the persisted index stays well under 1 KB per
record, unlike an in-memory MinHashLSH.
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from array import array
from contextlib import closing
from dataclasses import dataclass, field
from typing import Callable, Iterable
from pathlib import Path

import numpy as np

from pipeline.readers import input_of

SCHEMA = """
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS canonical (
    id INTEGER PRIMARY KEY,
    record_id TEXT NOT NULL UNIQUE,
    source_path TEXT NOT NULL,
    part INTEGER NOT NULL,
    first_seen_run TEXT NOT NULL,
    char_count INTEGER NOT NULL,
    exact_key TEXT NOT NULL,
    signature BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS canonical_exact ON canonical (exact_key);
CREATE TABLE IF NOT EXISTS band (key INTEGER NOT NULL, canonical INTEGER NOT NULL, PRIMARY KEY (key, canonical))
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inputs (
    source_path TEXT PRIMARY KEY, size INTEGER, mtime_ns INTEGER, content_hash TEXT, run_id TEXT
);
CREATE TABLE IF NOT EXISTS runs (run_id TEXT PRIMARY KEY, started_at TEXT, config_hash TEXT, status TEXT);
CREATE TABLE IF NOT EXISTS copies (source_path TEXT NOT NULL, canonical_source_path TEXT NOT NULL,
    PRIMARY KEY (canonical_source_path, source_path)) WITHOUT ROWID;
"""


BAND_ROWS_PER_INSERT = 250_000
# Values looked up go to SQLite as a JSON array, unpacked by SQLite in C: a statement per 500 bound values
# cost more than the lookups themselves.
KEYS_PER_LOOKUP = 250_000
_HIGH_HALF = np.int64(-(1 << 32))


@dataclass
class InputFingerprints:
    """What a run will remember of the inputs it processes (size, mtime_ns, content hash), in processing
    order: arrays, not a tuple per input, since a first run over a million inputs holds them all until
    it commits (40 MB instead of 300 MB). The content hash comes from the worker that reads the file.
    Inputs touched but not changed are few; they keep the run that read them (`touched`)."""

    sizes: array = field(default_factory=lambda: array("q"))
    mtimes: array = field(default_factory=lambda: array("q"))
    digests: bytearray = field(default_factory=bytearray)  # 20 bytes (SHA-1) per input; zeros: not read
    touched: dict[str, tuple[int, int, str, str]] = field(default_factory=dict)  # name → size, mtime, hash, run

    def add(self, size: int, mtime_ns: int) -> None:
        self.sizes.append(size)
        self.mtimes.append(mtime_ns)
        self.digests.extend(bytes(20))

    def set_digest(self, position: int, digest: str) -> None:
        self.digests[position * 20:(position + 1) * 20] = bytes.fromhex(digest)

    def rows(self, names: Iterable[str], run_id: str):
        """(name, size, mtime_ns, content_hash, run_id) of every input read, names in processing order."""
        for position, name in enumerate(names):
            digest = self.digests[position * 20:(position + 1) * 20]
            if any(digest):
                yield name, self.sizes[position], self.mtimes[position], digest.hex(), run_id
        for name, (size, mtime_ns, digest, run) in self.touched.items():
            yield name, size, mtime_ns, digest, run


class SettingsMismatch(RuntimeError):
    """The store was built with other dedup settings; mixing signatures would be wrong."""


@dataclass
class Canonical:
    id: int
    record_id: str
    source_path: str
    part: int
    first_seen_run: str
    char_count: int
    signature: np.ndarray


class StateStore:
    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        # A run may hand the store to a thread of its own (one at a time): see Run._finish.
        self.db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def check_settings(self, settings: dict[str, str], sign_again: Callable[[], None] | None = None) -> None:
        """Stores the settings in a new store; in one built with others, stops the run, unless only the hash
        scheme differs (this version signs documents otherwise): then sign_again signs the canonicals again."""
        stored = dict(self.db.execute("SELECT key, value FROM settings"))
        if not stored:
            with self.transaction():  # all or none: a run killed between two rows left a store no run accepted
                self.db.executemany("INSERT INTO settings VALUES (?, ?)", sorted(settings.items()))
            return
        differing = {k: (stored.get(k), v) for k, v in settings.items() if stored.get(k) != v}
        if set(differing) == {"hash_scheme"} and sign_again is not None:
            sign_again()
            return
        if differing:
            detail = ", ".join(f"{k}: stored {old!r}, now {new!r}" for k, (old, new) in sorted(differing.items()))
            raise SettingsMismatch(
                f"the state store {self.path} was built with other dedup settings ({detail}); "
                "use the same settings, another --out/--state, or delete the store to start over"
            )

    def canonical_ids(self) -> dict[tuple[str, str], int]:
        """Every canonical's id, by record id and source path."""
        return {(record_id, path): cid for cid, record_id, path in self.db.execute("SELECT id, record_id, source_path FROM canonical")}

    def replace_signatures(self, signed: Iterable[tuple[np.ndarray, np.ndarray, np.ndarray]],
                           settings: dict[str, str]) -> int:
        """Every canonical signed again: (ids, signatures, band keys) a batch at a time, then the settings they
        were made with, in one transaction (an error from signed leaves the store as it was)."""
        count = 0
        with self.transaction():
            self.db.execute("DELETE FROM band")
            for ids, matrix, keys in signed:
                blobs = (signature.astype("<u4").tobytes() for signature in matrix)
                self.db.executemany("UPDATE canonical SET signature = ? WHERE id = ?", zip(blobs, ids.tolist()))
                self.add_bands(ids, keys)
                count += len(ids)
            self.db.executemany("INSERT OR REPLACE INTO settings VALUES (?, ?)", sorted(settings.items()))
        return count

    def by_exact_key(self, keys: list[str]) -> dict[str, Canonical]:
        return self._canonicals_by("exact_key", keys)

    def by_record_id(self, record_ids: list[str]) -> dict[str, Canonical]:
        return self._canonicals_by("record_id", record_ids)

    def _canonicals_by(self, column: str, values: list) -> dict:
        """The canonicals holding one of values in column (one per value: the first found)."""
        found: dict[str, Canonical] = {}
        for row in self._rows_for(f"SELECT *, {column} FROM canonical WHERE {column} IN (SELECT value FROM json_each(?))",
                                  values):
            found.setdefault(row[-1], _canonical(row))
        return found

    def band_rows(self, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The band rows holding one of keys, as arrays of key and canonical id, in key order."""
        found = self._rows_for("SELECT key, canonical FROM band WHERE key IN (SELECT value FROM json_each(?))",
                               keys.tolist())
        table = np.array(found, np.int64).reshape(-1, 2)
        table = table[np.argsort(table[:, 0], kind="stable")]
        return table[:, 0], table[:, 1]

    def signatures(self, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The signatures of the canonicals ids: (ids found, ascending; a signature per row)."""
        found = sorted(self._rows_for("SELECT id, signature FROM canonical WHERE id IN (SELECT value FROM json_each(?))",
                                      ids.tolist()))
        signatures = np.frombuffer(b"".join(signature for _, signature in found), "<u4")
        return np.array([cid for cid, _ in found], np.int64), signatures.reshape(len(found), -1 if found else 0)

    def _rows_for(self, query: str, values: list) -> list[tuple]:
        """The rows of a query whose one parameter is a JSON array of values, for all the values."""
        rows: list[tuple] = []
        for start in range(0, len(values), KEYS_PER_LOOKUP):
            rows.extend(self.db.execute(query, (json.dumps(values[start:start + KEYS_PER_LOOKUP]),)))
        return rows

    def canonicals(self, ids: list[int]) -> dict[int, Canonical]:
        return self._canonicals_by("id", ids)

    def add_canonicals(self, rows: Iterable[tuple[str, str, int, str, int, str, np.ndarray]]) -> np.ndarray:
        """rows: (record_id, source_path, part, run_id, char_count, exact_key, signature); returns the id each
        row got, -1 for a record already there. Their band keys go in with add_bands."""
        ids = array("q")
        with self.transaction():
            for record_id, source_path, part, run_id, chars, exact, signature in rows:
                cursor = self.db.execute(
                    "INSERT OR IGNORE INTO canonical (record_id, source_path, part, first_seen_run, char_count,"
                    " exact_key, signature) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (record_id, source_path, int(part), run_id, int(chars), exact, signature.astype("<u4").tobytes()),
                )
                ids.append(cursor.lastrowid if cursor.rowcount else -1)
        return np.frombuffer(ids, np.int64)

    def add_bands(self, ids: np.ndarray, bands: np.ndarray) -> None:
        """The band keys of the canonicals add_canonicals gave ids (a row of keys per id; -1: not added)."""
        inserted = ids >= 0
        # In key order the band B-tree grows at its end instead of splitting pages all over. One array
        # of key·2³² + position, sorted in place: at a million records, separate key, id and order
        # arrays took 500 MB for a moment.
        width = bands.shape[1]
        ordered = (bands if inserted.all() else bands[inserted]).astype(np.int64).ravel()
        ordered <<= 32
        ordered |= np.arange(len(ordered), dtype=np.int64)
        ordered.sort()
        inserted_ids = ids[inserted]
        with self.transaction():
            for start in range(0, len(ordered), BAND_ROWS_PER_INSERT):
                chunk = ordered[start:start + BAND_ROWS_PER_INSERT]
                rows = (chunk & _HIGH_HALF) | inserted_ids[(chunk & 0xFFFFFFFF) // width]  # key·2³² + canonical id
                # One statement per chunk, the rows unpacked from a JSON array by SQLite itself: a tuple per
                # row through executemany took half as long again, all of it holding the interpreter.
                self.db.execute("INSERT OR IGNORE INTO band SELECT value >> 32, value & 4294967295 FROM json_each(?)",
                                (json.dumps(rows.tolist()),))

    def forget_sources(self, paths: list[str], keys_of: Callable[[np.ndarray], np.ndarray]) -> None:
        """Drops the canonicals and copy links of inputs being reprocessed (archives by member); keys_of gives
        the band keys of signatures (a row each), so band rows go by primary key without a second index on
        the table."""
        wanted = set(paths)
        doomed = [(cid, signature) for cid, source, signature in
                  self.db.execute("SELECT id, source_path, signature FROM canonical")
                  if input_of(source) in wanted]
        with self.transaction():
            if doomed:
                ids = [cid for cid, _ in doomed]
                signatures = np.frombuffer(b"".join(signature for _, signature in doomed), "<u4")
                keys = keys_of(signatures.reshape(len(doomed), -1))
                self.db.executemany("DELETE FROM band WHERE key = ? AND canonical = ?",
                                    [(key, cid) for cid, row in zip(ids, keys.tolist()) for key in row])
            self.db.executemany("DELETE FROM canonical WHERE id = ?", [(cid,) for cid, _ in doomed])
            self.db.executemany("DELETE FROM copies WHERE source_path = ?", [(path,) for path in sorted(wanted)])

    def add_copies(self, links: set[tuple[str, str]]) -> None:
        """links: (input with a folded copy, input holding its canonical record)."""
        with self.transaction():
            self.db.executemany("INSERT OR IGNORE INTO copies VALUES (?, ?)", sorted(links))

    def copies_of(self, paths: set[str]) -> set[str]:
        """The inputs with a copy folded into a canonical record of one of paths."""
        query = "SELECT source_path FROM copies WHERE canonical_source_path IN (SELECT value FROM json_each(?))"
        return {row[0] for row in self._rows_for(query, sorted(paths))}

    def known_inputs(self, discovered: Iterable[tuple], name_of: Callable[[str], str]):
        """Yields (found, names, {name: (size, mtime_ns)}) for chunks of discovered inputs found (path, rel, …),
        the store's fingerprints of those it knows: a crawl of millions of files is never held as one dict."""
        for chunk in _chunks(discovered):
            names = [name_of(found[1]) for found in chunk]
            marks = ",".join("?" * len(names))
            yield chunk, names, {row[0]: row[1:] for row in self.db.execute(
                f"SELECT source_path, size, mtime_ns FROM inputs WHERE source_path IN ({marks})", names)}

    def last_read(self, name: str) -> tuple[str, str]:
        """(content_hash, run_id) of the last read of an input the store knows: asked for the few inputs
        whose size or time changed, not for every input."""
        return self.db.execute("SELECT content_hash, run_id FROM inputs WHERE source_path = ?", (name,)).fetchone()

    def transaction(self):
        return _Transaction(self.db)

    def unfinished_run(self) -> str | None:
        """The id of a run that started but never committed (it was killed); a rerun takes it over."""
        row = self.db.execute("SELECT run_id FROM runs WHERE status = 'started' ORDER BY run_id LIMIT 1").fetchone()
        return row[0] if row else None

    def start_run(self, run_id: str, started_at: str, config_hash: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO runs VALUES (?, ?, ?, 'started')", (run_id, started_at, config_hash))

    def finish_run(self, run_id: str) -> None:
        self.db.execute("UPDATE runs SET status = 'ok' WHERE run_id = ?", (run_id,))

    def count(self) -> int:
        return self.db.execute("SELECT COUNT(*) FROM canonical").fetchone()[0]


def last_run_of(path: Path, source_path: str) -> str | None:
    """The run that last read an input, from the state store at path opened read-only; None if there is
    no store or it does not know the input."""
    if not path.is_file():
        return None
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as db:
        row = db.execute("SELECT run_id FROM inputs WHERE source_path = ?", (source_path,)).fetchone()
    return row[0] if row else None


class _Transaction:
    """BEGIN … COMMIT; inside an open transaction it joins it, so a run can make all its changes one commit."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db
        self.outermost = False

    def __enter__(self):
        self.outermost = not self.db.in_transaction
        if self.outermost:
            self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind, value, traceback):
        if self.outermost:
            self.db.execute("COMMIT" if kind is None else "ROLLBACK")


def _canonical(row) -> Canonical:
    return Canonical(row[0], row[1], row[2], row[3], row[4], row[5], np.frombuffer(row[7], dtype="<u4"))


def _chunks(items: Iterable, size: int = 500):
    iterator = iter(items)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk
