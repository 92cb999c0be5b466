"""Throughput benchmarks: opt-in (`make bench`), they print figures and ratios, they do not time tests."""

import os
import time

import numpy as np
import pytest
from datasketch import MinHash

from pipeline.clean import clean_page, load_rules
from pipeline.dedup.fold import DedupSettings, band_key_matrix, band_layout
from pipeline.dedup.signature import Signer, normalize_body
from pipeline.dedup.store import StateStore
from pipeline.model import Page
from pipeline.bench.spun import generate
from pipeline.textnorm import lines_for_matching
from pipeline.readers.discover import read_bytes
from tests.conftest import DATA, RAW

pytestmark = pytest.mark.slow


def _rate(fn, items, repeat=1, clock=time.perf_counter) -> float:
    """Items per second of `clock`; time.process_time counts this process only (the machine is shared)."""
    started = clock()
    for _ in range(repeat):
        for item in items:
            fn(item)
    return repeat * len(items) / (clock() - started)


def _cleaning_rate(pages: list[Page]) -> float:
    """Pages per CPU second through a fresh rule set, whose matcher has not seen any line yet."""
    rules = load_rules()
    rules.matcher(pages[0].source_path)
    return _rate(lambda page: clean_page(page, rules), pages, clock=time.process_time)


def test_cleaner_throughput_on_sample_sized_dumps():
    pages = [Page(p.name, p.read_text(encoding="utf-8")) for p in sorted(RAW.glob("*.txt"))]
    pages += [Page(d.name, d.text) for d in generate(seed=0)[:200]]
    rate = max(_cleaning_rate(pages) for _ in range(3))
    floor = max(_rate(lambda page: lines_for_matching(page.text), pages, clock=time.process_time) for _ in range(3))
    print(f"\ncleaner: {rate:,.0f} dumps per CPU second on one core ({len(pages)} sample-sized dumps, best of 3); "
          f"normalizing the lines alone: {floor:,.0f}/s, so cleaning costs {floor / rate:.1f}x reading the page")


def test_signature_speed_and_index_size(tmp_path):
    settings = DedupSettings()
    signer = Signer(settings.ngram, settings.num_perm, settings.seed)
    docs = [normalize_body(d.body) for d in generate(seed=0)]
    fast = _rate(signer.signatures, [docs], repeat=3) * len(docs)  # a batch at a time, as the pipeline signs

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
    matrix = rng.integers(0, 2**32, (count, settings.num_perm), dtype=np.uint64).astype(np.uint32)
    batch = [(f"{i:016x}", f"dump_{i:07d}.txt", 0, "run", 1000, f"{i:016x}", signature) for i, signature in enumerate(matrix)]
    store.add_bands(store.add_canonicals(batch), band_key_matrix(matrix, bands, rows))
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.db.execute("VACUUM")
    store.close()
    size = os.path.getsize(tmp_path / "state.sqlite")
    print(f"persisted index: {size / count:,.0f} bytes per document ({bands} bands x {rows} rows, "
          f"{settings.num_perm} permutations)")


def test_html_path_against_trafilatura():
    import trafilatura
    from trafilatura.metadata import extract_metadata

    rules = load_rules()
    pages = [(p.name, p.read_bytes()) for p in sorted((DATA / "html_devset" / "pages").glob("*.html"))]

    def html_path(item):  # decode, DOM → lines with evidence, markup metadata, clean
        name, data = item
        for page in read_bytes(data, name, name):
            clean_page(page, rules)

    def trafilatura_extract(item):
        trafilatura.extract(item[1], include_comments=False, include_tables=True)

    def trafilatura_metadata(item):
        extract_metadata(item[1])

    systems = {"HTML path": html_path, "trafilatura.extract": trafilatura_extract,
               "trafilatura.extract_metadata": trafilatura_metadata}
    for fn in systems.values():
        fn(pages[0])
    # interleaved rounds, best of each: load from other processes only ever slows a round down
    rates = {name: 0.0 for name in systems}
    for _ in range(3):
        for name, fn in systems.items():
            rates[name] = max(rates[name], _rate(fn, pages, repeat=4, clock=time.process_time))
    print(f"\nHTML pages per CPU second ({len(pages)} dev-set pages, 4 passes, best of 3 rounds):")
    for name, rate in rates.items():
        print(f"  {name:<30} {rate:7,.0f}/s")
    print(f"  HTML path / trafilatura.extract: {rates['HTML path'] / rates['trafilatura.extract']:.2f}x")
