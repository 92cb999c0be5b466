"""Throughput benchmarks: opt-in (`make bench`), they print figures and ratios, they do not time tests."""

import os
import time

import numpy as np
import pytest
from datasketch import MinHash

from pipeline.clean import clean_page, load_rules
from pipeline.dedup.fold import DedupSettings, band_keys, band_layout
from pipeline.dedup.signature import Signer, normalize_body
from pipeline.dedup.store import StateStore
from pipeline.model import Page
from tests.conftest import RAW
from pipeline.bench.spun import generate

pytestmark = pytest.mark.slow


def _rate(fn, items, repeat=1) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        for item in items:
            fn(item)
    return repeat * len(items) / (time.perf_counter() - started)


def test_cleaner_throughput_on_sample_sized_dumps():
    rules = load_rules()
    pages = [Page(p.name, p.read_text(encoding="utf-8")) for p in sorted(RAW.glob("*.txt"))]
    pages += [Page(d.name, d.text) for d in generate(seed=0)[:200]]
    clean_page(pages[0], rules)
    rate = _rate(lambda page: clean_page(page, rules), pages, repeat=3)
    print(f"\ncleaner: {rate:,.0f} dumps/s on one core ({len(pages)} sample-sized dumps)")


def test_signature_speed_and_index_size(tmp_path):
    settings = DedupSettings()
    signer = Signer(settings.ngram, settings.num_perm, settings.seed)
    docs = [normalize_body(d.body) for d in generate(seed=0)]
    fast = _rate(signer.signature, docs, repeat=3)

    def per_shingle(text):
        m = MinHash(num_perm=settings.num_perm, seed=settings.seed)
        for i in range(len(text) - settings.ngram + 1):
            m.update(text[i:i + settings.ngram].encode("utf-8"))

    slow = _rate(per_shingle, docs[:60])
    print(f"\nsignatures: {fast:,.0f}/s vectorized vs {slow:,.0f}/s per-shingle MinHash.update: {fast / slow:.1f}x")

    store = StateStore(tmp_path / "state.sqlite")
    bands, rows = band_layout(settings)
    count = 20_000
    rng = np.random.default_rng(0)
    batch = []
    for i in range(count):
        signature = rng.integers(0, 2**32, settings.num_perm, dtype=np.uint64).astype(np.uint32)
        batch.append((f"{i:016x}", f"dump_{i:07d}.txt", 0, "run", 1000, f"{i:016x}", signature,
                      band_keys(signature, bands, rows)))
    store.add_canonicals(batch)
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.db.execute("VACUUM")
    store.close()
    size = os.path.getsize(tmp_path / "state.sqlite")
    print(f"persisted index: {size / count:,.0f} bytes per document ({bands} bands x {rows} rows, "
          f"{settings.num_perm} permutations)")
