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


def _identity(path: Path) -> np.ndarray:
    """What tells that a file is still the one an index was written for: its size, modification time and
    both ends. A copy keeping times (a backup restored) is the same file; an edit is another, unless it
    keeps the size, the time and both ends, which no editor or spreadsheet does."""
    with open(path, "rb") as handle:
        stat = os.fstat(handle.fileno())
        ends = handle.read(_ENDS_BYTES) + os.pread(handle.fileno(), _ENDS_BYTES, max(0, stat.st_size - _ENDS_BYTES))
    digest = np.frombuffer(hashlib.blake2b(ends, digest_size=16).digest(), np.int64)
    return np.array([stat.st_size, stat.st_mtime_ns, *digest], np.int64)


def save_index(csv: Path, starts: np.ndarray, companion: Path, rendering: str) -> None:
    """Keeps starts (of each row, then the end of the last) beside csv, which is published and never written
    again, for the rows of companion (the file csv was rendered from, published before it), as rendering
    renders them: an index whose files or rendering changed since is never used."""
    with atomic_path(index_path(csv)) as tmp, open(tmp, "wb") as handle:
        np.savez(handle, csv=_identity(csv), companion=_identity(companion), starts=starts,
                 rendering=np.array(rendering))


@dataclass
class CsvRows:
    """An earlier CSV written here, open, with where each of its rows starts (starts[-1]: the end of the last)."""

    descriptor: int
    starts: np.ndarray

    @classmethod
    def open(cls, csv: Path, companion: Path, header: bytes, rendering: str) -> "CsvRows | None":
        """csv, if its index was written for it and companion as they are now, rendered as rendering renders
        and under header; else None (a missing or damaged index too), and its rows are encoded again."""
        try:
            with np.load(index_path(csv)) as index:
                starts = index["starts"]
                fits = (str(index["rendering"]) == rendering and len(starts) and starts[0] == len(header)
                        and np.all(np.diff(starts) > 0) and np.array_equal(index["companion"], _identity(companion))
                        and np.array_equal(index["csv"], _identity(csv)) and starts[-1] == index["csv"][0])
            if not fits:
                return None
            earlier = cls(os.open(csv, os.O_RDONLY), starts)
        except Exception:  # noqa: BLE001 - an index is only a shortcut: whatever is wrong with it, encode
            return None
        try:
            if os.pread(earlier.descriptor, len(header), 0) == header:
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
