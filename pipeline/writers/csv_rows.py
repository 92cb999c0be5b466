"""Where each row of a CSV written here starts, kept in a file beside it: the next run copies the rows it
leaves unchanged byte for byte instead of encoding them again (for the 75,000 earlier records of a 100k
crawl, 180 MB, encoding took 0.8 CPU-seconds and copying 0.07; putting the new file's pages in memory
costs the same both ways)."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipeline.writers.atomic import atomic_path

# Raised whenever the way a table is rendered as CSV changes: rows written before are then encoded again.
CSV_FORMAT = 1
_COPY_CHUNK = 1 << 24
_ENDS_BYTES = 1 << 16


def row_bytes(table: pa.Table) -> np.ndarray:
    """The bytes each row of a CSV-ready table (text and numbers) takes in Arrow's CSV with quoting "needed":
    every text is quoted and its quotes doubled, a number is written as its cast to text, a null is empty;
    commas between the cells and a newline after them."""
    sizes = np.full(table.num_rows, table.num_columns, np.int64)
    for column in table.columns:
        if not table.num_rows:
            break
        if pa.types.is_string(column.type):
            sizes += np.concatenate([_quoted_bytes(chunk) for chunk in column.chunks])
        else:
            sizes += pc.fill_null(pc.binary_length(column.cast(pa.string())), 0).to_numpy()
    return sizes


def _quoted_bytes(texts: pa.StringArray) -> np.ndarray:
    """Each text's bytes, its quotes doubled and two around it (none for a null), read off the array's
    buffers: Arrow's count_substring went through 140 MB of answers five times slower."""
    if not len(texts):
        return np.zeros(0, np.int64)
    offsets = np.frombuffer(texts.buffers()[1], np.int32, len(texts) + 1, texts.offset * 4)
    sizes = np.diff(offsets) + (texts.is_valid().to_numpy(zero_copy_only=False) * 2 if texts.null_count else 2)
    if offsets[-1] > offsets[0]:
        data = np.frombuffer(texts.buffers()[2], np.uint8, offsets[-1] - offsets[0], offsets[0])
        quotes = np.flatnonzero(data == ord('"')) + offsets[0]
        sizes += np.bincount(np.searchsorted(offsets, quotes, "right") - 1, minlength=len(texts))
    return sizes


def index_path(csv: Path) -> Path:
    return csv.with_name(f".{csv.name}.rows.npz")


def _identity(csv: Path) -> np.ndarray:
    """What tells that a file is still the one an index was written for: its size, modification time and
    both ends (a copy keeping times, as a backup restored, is the same file; an edit is not)."""
    with open(csv, "rb") as handle:
        size = os.fstat(handle.fileno()).st_size
        mtime = os.fstat(handle.fileno()).st_mtime_ns
        ends = handle.read(_ENDS_BYTES) + os.pread(handle.fileno(), _ENDS_BYTES, max(0, size - _ENDS_BYTES))
    digest = np.frombuffer(hashlib.blake2b(ends, digest_size=16).digest(), np.int64)
    return np.array([size, mtime, CSV_FORMAT, *digest], np.int64)


def save_index(csv: Path, starts: np.ndarray) -> None:
    """Keeps starts (of each row, then the end of the last) beside csv, which is published and not written
    again: an index whose file changed since is never used."""
    with atomic_path(index_path(csv)) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, identity=_identity(csv), starts=starts, arrow=np.array(pa.__version__))


@dataclass
class CsvRows:
    """An earlier CSV written here, open, with where each of its rows starts (starts[-1]: the end of the last)."""

    descriptor: int
    starts: np.ndarray

    @classmethod
    def open(cls, csv: Path, rows: int, header: bytes) -> "CsvRows | None":
        """csv, if its index was written for it as it is now, by this version of Arrow (whose number
        formatting could change), for rows rows under header; else None, and the rows are encoded again."""
        try:
            with np.load(index_path(csv)) as index:
                identity, starts, arrow = index["identity"], index["starts"], str(index["arrow"])
            if arrow != pa.__version__ or len(starts) != rows + 1 or starts[0] != len(header):
                return None
            earlier = cls(os.open(csv, os.O_RDONLY), starts)
        except (OSError, ValueError, KeyError):
            return None
        try:
            if np.array_equal(identity, _identity(csv)) and os.pread(earlier.descriptor, len(header), 0) == header:
                return earlier
        except OSError:
            pass
        earlier.close()
        return None

    def copy_to(self, descriptor: int, position: int, first: int, stop: int) -> None:
        """Copies rows first..stop-1 to descriptor at position."""
        offset, size = int(self.starts[first]), int(self.starts[stop] - self.starts[first])
        copied = 0
        while copied < size:
            copied += _copy_range(self.descriptor, descriptor, size - copied, offset + copied, position + copied)

    def close(self) -> None:
        os.close(self.descriptor)


def _copy_range(source: int, target: int, size: int, source_offset: int, target_offset: int) -> int:
    """Copies up to size bytes inside the kernel where the system can (Linux), else through a buffer."""
    if hasattr(os, "copy_file_range"):
        try:
            copied = os.copy_file_range(source, target, size, source_offset, target_offset)
            if copied:
                return copied
        except OSError:  # a file system without it: copied through a buffer below
            pass
    data = os.pread(source, min(size, _COPY_CHUNK), source_offset)
    if not data:
        raise OSError(f"the earlier CSV ended {size} bytes early")
    return os.pwrite(target, data, target_offset)
