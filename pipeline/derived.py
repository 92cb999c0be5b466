"""Tables derived from data files and the Unicode database, kept on disk between processes.

Every worker of every run needs a few tables that take a good part of a second each to derive
(jieba's IDF table parsed, the place words of its dictionary, per-character normalization maps).
They come out the same for the same code, data files and Python, so each is derived once and
pickled in the cache folder — `$PIPELINE_CACHE_DIR`, else `$XDG_CACHE_HOME/pipeline`, else
`~/.cache/pipeline` — under a name that hashes all of these. A cache that cannot be read or
written only means deriving the table again.
"""

from __future__ import annotations

import functools
import hashlib
import os
import pickle
import sys
import unicodedata
from contextlib import suppress
from pathlib import Path
from typing import Callable, Iterable, TypeVar

T = TypeVar("T")


def cache_dir() -> Path:
    if os.environ.get("PIPELINE_CACHE_DIR"):
        return Path(os.environ["PIPELINE_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pipeline"


def kept_on_disk(data_files: Callable[[], Iterable[Path]] = tuple) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Decorates a function deriving a picklable table from arguments with a stable repr (none, or plain
    values and dataclasses). The cached copy for the same arguments is used as long as the function's
    module, the data_files() it reads (by size and time) and the Python version are unchanged."""
    def decorate(derive: Callable[..., T]) -> Callable[..., T]:
        @functools.wraps(derive)
        def cached(*args) -> T:
            fingerprint = _fingerprint(derive, data_files(), repr(args) if args else "")
            path = cache_dir() / f"{derive.__module__}.{derive.__qualname__}-{fingerprint}.pickle"
            try:
                with open(path, "rb") as handle:
                    return pickle.load(handle)
            except Exception:  # noqa: BLE001 - missing, partly written or unreadable: derive it again
                pass
            table = derive(*args)
            _store(path, table)
            return table

        return cached

    return decorate


def _fingerprint(derive: Callable, data_files: Iterable[Path], arguments: str) -> str:
    digest = hashlib.sha1(f"{sys.version}\0{unicodedata.unidata_version}\0{arguments}".encode())
    digest.update(Path(sys.modules[derive.__module__].__file__).read_bytes())
    for path in data_files:
        stat = path.stat()
        digest.update(f"\0{path}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def _store(path: Path, table) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")  # workers may derive it at the same time
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(temporary, "wb") as handle:
            pickle.dump(table, handle, protocol=pickle.HIGHEST_PROTOCOL)
        temporary.replace(path)
    except OSError:
        with suppress(OSError):
            temporary.unlink(missing_ok=True)
