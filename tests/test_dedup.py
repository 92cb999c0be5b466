"""Near-duplicate folding on the spun dev set, on the samples, and across two runs."""

import shutil

import pandas as pd

from pipeline.dedup.fold import DedupSettings
from tests.conftest import RAW, read_records, run_cli
from pipeline.bench.spun import generate, write_corpus
from tests.spun.measure import measure


def test_spun_dev_set_precision_and_recall():
    docs = generate(seed=0)
    precision, recall = measure(DedupSettings(), docs=docs)
    print(f"spun dev set ({len(docs)} docs): precision {precision:.3f} recall {recall:.3f}")
    assert precision >= 0.99 and recall >= 0.97


def test_same_topic_samples_are_never_folded(sample_run):
    out, _ = sample_run
    duplicates = pd.read_csv(out / "duplicates.csv", encoding="utf-8-sig")
    assert duplicates.empty
    assert len(read_records(out)) == 5


def test_copies_in_a_second_run_fold_into_the_first_runs_records(tmp_path):
    corpus = tmp_path / "corpus"
    truth = write_corpus(corpus, seed=3)
    originals = tmp_path / "in"
    originals.mkdir()
    for name in truth:
        if name.endswith("_c00.txt"):
            shutil.copy(corpus / name, originals / name)
    out = tmp_path / "out"
    run_cli("run", originals, "--out", out, "--workers", "1")
    first = read_records(out)
    first_ids = dict(zip(first["source_path"], first["record_id"]))
    assert len(first) == len(first_ids) == sum(1 for n in truth if n.endswith("_c00.txt"))

    for name in truth:
        if not name.endswith("_c00.txt"):
            shutil.copy(corpus / name, originals / name)
    result = run_cli("run", originals, "--out", out, "--workers", "1")
    assert "0 new record(s)" in result.stderr, result.stderr
    second = read_records(out)
    assert dict(zip(second["source_path"], second["record_id"])) == first_ids
    duplicates = pd.read_csv(out / "duplicates.csv", encoding="utf-8-sig", keep_default_na=False)
    copies = [n for n in truth if not n.endswith("_c00.txt")]
    assert sorted(duplicates["source_path"]) == sorted(copies)
    for _, row in duplicates.iterrows():
        canonical = row["canonical_source_path"]
        assert truth[canonical] == truth[row["source_path"]]
        assert canonical.endswith("_c00.txt") and row["canonical_record_id"] == first_ids[canonical]
    assert second["dup_count"].astype(int).sum() == len(copies)
    # the first run's records, written again, now name the copies folded into them
    named = duplicates.groupby("canonical_record_id")["source_path"].apply(lambda paths: ";".join(sorted(paths)))
    assert dict(zip(second["record_id"], second["duplicate_sources"])) == {
        record_id: named.get(record_id, "") for record_id in second["record_id"]}


def test_other_dedup_settings_stop_with_a_clear_message(tmp_path, sample_run):
    out = tmp_path / "out"
    run_cli("run", RAW, "--out", out, "--workers", "1")
    config = tmp_path / "other.toml"
    config.write_text("[dedup]\nngram = 5\n")
    result = run_cli("run", RAW, "--out", out, "--config", config, "--full", check=False)
    assert result.returncode == 2
    assert "other dedup settings" in result.stderr and "ngram" in result.stderr


def test_signatures_and_band_keys_are_pinned():
    """State stores persist signatures and band keys: a faster implementation must give the same values."""
    from pipeline.dedup.fold import band_keys, band_layout
    from pipeline.dedup.signature import Signer, exact_key, normalize_body

    settings = DedupSettings()
    normalized = normalize_body("网贷逾期后，催收人员上门是否合法？\n《民法典》第1032条规定……　自然人享有隐私权。ＡＰＰ催收１２次。")
    assert normalized == "网贷逾期后催收人员上门是否合法民法典第0000条规定自然人享有隐私权app催收00次"
    assert exact_key(normalized) == "5da5076474c3294c"
    signature = Signer(settings.ngram, settings.num_perm, settings.seed).signature(normalized)
    assert signature[:8].tolist() == [45799341, 52628770, 20069836, 157755721, 170735518, 24160514, 119747289, 373579798]
    assert band_keys(signature, *band_layout(settings))[:6] == [1858257765, 191794349, -1486991074, -1347194410,
                                                                832755184, -655952975]


def test_fold_joins_exactly_the_verified_candidate_pairs():
    """The fold's array version against the plain one: a bucket's first BUCKET_ALL_PAIRS_MAX members (in path
    order) paired with every later member, a pair joined when enough MinHash values agree, exact copies
    joined first; then each cluster folds around its most complete member the members that agree with it,
    and the others around a canonical of their own. Piles of copies make buckets beyond that limit."""
    import numpy as np

    from pipeline.dedup.fold import BUCKET_ALL_PAIRS_MAX, Signatures, band_keys, band_layout, fold

    settings = DedupSettings()
    bands, rows = band_layout(settings)
    rng = np.random.default_rng(8)
    n = 2500
    articles = rng.integers(0, 2**32, (250, settings.num_perm), dtype=np.uint32)
    source = rng.integers(0, len(articles), n)
    source[:600] = rng.integers(0, 3, 600)  # three piles of about 200 copies
    matrix = articles[source]
    changed = rng.random(matrix.shape) < rng.uniform(0.1, 0.9, (n, 1))
    matrix[changed] = rng.integers(0, 2**32, changed.sum(), dtype=np.uint32)
    exact = rng.integers(0, 2**62, n).astype(np.uint64)
    copied = rng.integers(0, n, 150)  # exact copies: same text, so same signature and exact key
    matrix[copied[:75]], exact[copied[:75]] = matrix[copied[75:]], exact[copied[75:]]
    keys = np.array([band_keys(signature, bands, rows) for signature in matrix], np.int32)
    paths = [f"site/{i:05d}.txt" for i in rng.permutation(n)]
    signed = Signatures([f"r{i}" for i in range(n)], paths, np.zeros(n, np.int32), rng.integers(50, 900, n),
                        exact, matrix, keys)

    parent = list(range(n))

    def root(x):
        while parent[x] != x:
            x = parent[x]
        return x

    def join(a, b):
        parent[max(root(a), root(b))] = min(root(a), root(b))

    rank = {row: position for position, row in enumerate(sorted(range(n), key=paths.__getitem__))}
    first_of = {}
    for row in sorted(range(n), key=rank.__getitem__):
        join(row, first_of.setdefault(int(exact[row]), row))
    representatives = sorted(set(first_of.values()))
    for band in range(bands):
        buckets = {}
        for row in representatives:
            buckets.setdefault(int(keys[row, band]), []).append(row)
        for members in buckets.values():
            members.sort(key=rank.__getitem__)
            for position, a in enumerate(members[:BUCKET_ALL_PAIRS_MAX]):
                for b in members[position + 1:]:
                    if np.count_nonzero(matrix[a] == matrix[b]) >= settings.threshold * settings.num_perm:
                        join(a, b)
    clusters = {}
    for row in range(n):
        clusters.setdefault(root(row), []).append(row)
    expected = {}
    for members in clusters.values():
        while members:
            head = min(members, key=lambda row: (-signed.char_counts[row], paths[row]))
            agree = [row for row in members
                     if np.count_nonzero(matrix[row] == matrix[head]) >= settings.threshold * settings.num_perm]
            expected[head] = set(agree)
            members = [row for row in members if row not in expected[head]]
    assert len(expected) > len(clusters)  # some chains are cut

    folded = fold(signed, settings, None)
    found = {}
    for row in range(n):
        found.setdefault(folded.canonical_record_id[row] or signed.record_ids[row], set()).add(row)
    assert max(map(len, expected.values())) > BUCKET_ALL_PAIRS_MAX
    assert sorted(map(sorted, found.values())) == sorted(map(sorted, expected.values()))


def test_each_copy_folds_only_into_a_canonical_it_copies_also_against_an_earlier_run(tmp_path):
    """An earlier run's canonical E; a new row A copies E; B copies A but not E; C has E's record id (the
    same answer in the other script) and another signature. A and C fold into E, B around a canonical of
    its own, although the candidate pairs chain all of them."""
    import numpy as np

    from pipeline.dedup.fold import Signatures, band_keys, band_layout, fold, min_equal_values
    from pipeline.dedup.store import StateStore

    settings = DedupSettings()
    bands, rows = band_layout(settings)
    rng = np.random.default_rng(3)
    e = rng.integers(0, 2**32, settings.num_perm, dtype=np.uint32)
    a, b, c = e.copy(), e.copy(), rng.integers(0, 2**32, settings.num_perm, dtype=np.uint32)
    a[40:] = rng.integers(0, 2**32, 24, dtype=np.uint32)  # A agrees with E on 40 values
    b[40:], b[10:40] = a[40:], rng.integers(0, 2**32, 30, dtype=np.uint32)  # B: 34 with A, 10 with E
    need = min_equal_values(settings, settings.num_perm)
    assert np.count_nonzero(b == e) < need <= min(np.count_nonzero(a == e), np.count_nonzero(b == a))

    store = StateStore(tmp_path / "state.sqlite")
    ids = store.add_canonicals([("e-id", "old.txt", 0, "run-1", 500, "00000000000000ee", e)])
    store.add_bands(ids, np.array([band_keys(e, bands, rows)], np.int32))
    matrix = np.array([a, b, c])
    signed = Signatures(["a-id", "b-id", "e-id"], ["a.txt", "b.txt", "c.txt"], np.zeros(3, np.int32),
                        np.array([400, 900, 300]), np.array([1, 2, 3], np.uint64), matrix,
                        np.array([band_keys(s, bands, rows) for s in matrix], np.int32))

    folded = fold(signed, settings, store)
    assert folded.canonical_record_id == ["e-id", None, "e-id"]
    assert folded.new_canonicals == [1]
    assert folded.similarity.tolist() == [40 / 64, 1.0, 1.0]
