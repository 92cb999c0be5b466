"""Near-duplicate folding on the spun dev set, on the samples, and across two runs."""

import shutil
import sqlite3
from contextlib import closing

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

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


def _first_run_of_the_originals(tmp_path):
    """A spun corpus whose originals (one per article) a first run has processed: (truth, its folder of
    originals, the run's output folder, the first run's record id by source path)."""
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
    return truth, originals, out, first_ids


def _add_the_copies(truth, originals) -> list[str]:
    copies = [name for name in truth if not name.endswith("_c00.txt")]
    for name in copies:
        shutil.copy(originals.parent / "corpus" / name, originals / name)
    return copies


def test_copies_in_a_second_run_fold_into_the_first_runs_records(tmp_path):
    truth, originals, out, first_ids = _first_run_of_the_originals(tmp_path)
    copies = _add_the_copies(truth, originals)
    run_cli("run", originals, "--out", out, "--workers", "1")
    second = read_records(out)
    assert dict(zip(second["source_path"], second["record_id"])).items() >= first_ids.items()
    duplicates = pd.read_csv(out / "duplicates.csv", encoding="utf-8-sig", keep_default_na=False)
    _assert_copies_fold_into_their_first_records(copies, duplicates, second, truth, first_ids)
    assert second["dup_count"].astype(int).sum() == len(duplicates)
    # the first run's records, written again, now name the copies folded into them
    named = duplicates.groupby("canonical_record_id")["source_path"].apply(lambda paths: ";".join(sorted(paths)))
    assert dict(zip(second["record_id"], second["duplicate_sources"])) == {
        record_id: named.get(record_id, "") for record_id in second["record_id"]}


def _assert_copies_fold_into_their_first_records(copies, duplicates, records, truth, first_ids) -> None:
    """Every copy folds into its article's record of the first run, but for one whose signature agrees
    with that record's in too few values to be checked a copy: 64 values estimate a 3-gram Jaccard of 0.4
    within about ±0.12, so now and then a spun copy passes by (recall 0.99-1.00 on the spun corpora)."""
    from pipeline.dedup.fold import min_equal_values
    from pipeline.dedup.signature import Signer, normalize_body

    for copy, canonical, record_id in zip(duplicates["source_path"], duplicates["canonical_source_path"],
                                          duplicates["canonical_record_id"]):
        assert canonical.endswith("_c00.txt") and truth[canonical] == truth[copy] and first_ids[canonical] == record_id
    missed = sorted(set(copies) - set(duplicates["source_path"]))
    assert len(missed) <= 1, missed
    answers, settings = dict(zip(records["source_path"], records["answer"])), DedupSettings()
    for copy in missed:
        own, first = Signer().signatures([normalize_body(answers[copy]), normalize_body(answers[copy[:-7] + "c00.txt"])])
        assert np.count_nonzero(own == first) < min_equal_values(settings, settings.num_perm)


def _as_signed_by_an_earlier_version(state) -> None:
    """A store as an earlier hash scheme left it: another scheme's name, other signatures and band rows."""
    with closing(sqlite3.connect(state)) as db, db:
        db.execute("UPDATE settings SET value = 'poly-splitmix64+multiply-shift/v1' WHERE key = 'hash_scheme'")
        db.execute("UPDATE canonical SET signature = randomblob(length(signature))")
        db.execute("DELETE FROM band")
        db.execute("INSERT INTO band SELECT abs(random()) % 1000, id FROM canonical")


def _signed_state(state) -> tuple[dict, set, dict]:
    with closing(sqlite3.connect(state)) as db:
        return (dict(db.execute("SELECT record_id, signature FROM canonical")),
                set(db.execute("SELECT key, record_id FROM band JOIN canonical ON canonical = id")),
                dict(db.execute("SELECT key, value FROM settings")))


def test_a_store_signed_by_an_earlier_hash_scheme_is_signed_again_from_the_records_and_still_folds_copies(tmp_path):
    truth, originals, out, first_ids = _first_run_of_the_originals(tmp_path)
    signed = _signed_state(out / "state.sqlite")

    _as_signed_by_an_earlier_version(out / "state.sqlite")
    earlier = _signed_state(out / "state.sqlite")
    (out / "records.parquet").rename(tmp_path / "records.parquet")
    pq.write_table(pq.read_table(tmp_path / "records.parquet").slice(1), out / "records.parquet")  # one record lost
    result = run_cli("run", originals, "--out", out, "--workers", "1", check=False)
    assert result.returncode == 2 and "1 of its 40 canonical records" in result.stderr and "delete the store" in result.stderr
    assert _signed_state(out / "state.sqlite") == earlier  # left as it was, though the others were signed first
    # a run killed after its commit leaves its start's snapshot behind: the store matches the records now
    (out / ".run-start").mkdir()
    (out / "records.parquet").replace(out / ".run-start" / "records.parquet")
    (tmp_path / "records.parquet").replace(out / "records.parquet")

    copies = _add_the_copies(truth, originals)
    result = run_cli("run", originals, "--out", out, "--workers", "1")
    assert f"signed again by this version's hash scheme: {len(first_ids)} canonical record(s)" in result.stderr
    duplicates = pd.read_csv(out / "duplicates.csv", encoding="utf-8-sig", keep_default_na=False)
    _assert_copies_fold_into_their_first_records(copies, duplicates, read_records(out), truth, first_ids)
    # the first run's canonicals have the signatures and band rows a store of this version gave them
    signatures, band_rows, settings = _signed_state(out / "state.sqlite")
    assert {record_id: signatures[record_id] for record_id in signed[0]} == signed[0]
    assert {row for row in band_rows if row[1] in signed[0]} == signed[1] and settings == signed[2]


def test_other_dedup_settings_stop_with_a_clear_message(tmp_path, sample_run):
    out = tmp_path / "out"
    run_cli("run", RAW, "--out", out, "--workers", "1")
    config = tmp_path / "other.toml"
    config.write_text("[dedup]\nngram = 5\n")
    result = run_cli("run", RAW, "--out", out, "--config", config, "--full", check=False)
    assert result.returncode == 2
    assert "other dedup settings" in result.stderr and "ngram" in result.stderr


def test_signatures_and_band_keys_are_pinned():
    """State stores persist signatures and band keys: a faster implementation must give the same values
    (or a new HASH_SCHEME, whose stores are signed again from the records)."""
    from pipeline.dedup.fold import band_key_matrix, band_layout
    from pipeline.dedup.signature import HASH_SCHEME, Signer, exact_key, normalize_body

    settings = DedupSettings()
    normalized = normalize_body("网贷逾期后，催收人员上门是否合法？\n《民法典》第1032条规定……　自然人享有隐私权。ＡＰＰ催收１２次。")
    assert normalized == "网贷逾期后催收人员上门是否合法民法典第0000条规定自然人享有隐私权app催收00次"
    assert exact_key(normalized) == "5da5076474c3294c"
    signature = Signer(settings.ngram, settings.num_perm, settings.seed).signature(normalized)
    assert HASH_SCHEME == "poly-splitmix64-32+multiply-add-32/v2"
    assert signature[:8].tolist() == [95824827, 11223487, 132898419, 122792630, 9899410, 332643853, 152671014, 68003209]
    keys = band_key_matrix(signature[None, :], *band_layout(settings))[0]
    assert keys[:6].tolist() == [-2003175749, -1066959155, -1683194669, 640445434, 1525817806, 1347585902]


def test_batched_signatures_are_the_minimum_of_each_permutation_over_each_texts_own_shingles(monkeypatch):
    """The array version against the definition, shingle by shingle in Python integers, for texts of every
    length signed together: no shingle may span two texts, and a text shorter than an n-gram is one shingle."""
    from pipeline.dedup import signature
    from pipeline.dedup.signature import CHARACTERS_PER_GROUP, SHINGLES_PER_STEP, Signer

    def splitmix64(x: int) -> int:
        mask = 2**64 - 1
        x = (x + 0x9E3779B97F4A7C15) & mask
        x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & mask
        x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & mask
        return x ^ (x >> 31)

    def definition(signer: Signer, text: str) -> list[int]:
        text = text.ljust(signer.ngram, "\0")
        hashes = []
        for start in range(len(text) - signer.ngram + 1):
            value = 0
            for ch in text[start:start + signer.ngram]:
                value = (value * 0x100000001B3 + ord(ch)) % 2**64
            hashes.append(splitmix64(value) >> 32)
        return [min((int(a) * x + int(b)) % 2**32 for x in hashes) for a, b in zip(signer._a.ravel(), signer._b.ravel())]

    texts = ["", "a", "网贷", "网贷逾", "自然人享有隐私权app催收00次", "网贷逾期" * 40, "𠀀𠀁中文" * 3]
    for step, group in ((SHINGLES_PER_STEP, CHARACTERS_PER_GROUP), (1, 1), (5, 40), (7, 100), (64, 64)):
        monkeypatch.setattr(signature, "SHINGLES_PER_STEP", step)
        monkeypatch.setattr(signature, "CHARACTERS_PER_GROUP", group)
        for signer in (Signer(), Signer(ngram=2, num_perm=16, seed=7), Signer(ngram=1, num_perm=8, seed=2)):
            together = signer.signatures(texts + texts[::-1])
            assert together.shape == (2 * len(texts), signer.num_perm) and together.dtype == np.uint32
            assert [row.tolist() for row in together] == [definition(signer, text) for text in texts + texts[::-1]]
    assert Signer().signatures([]).shape == (0, 64)


def test_fold_joins_exactly_the_verified_candidate_pairs():
    """The fold's array version against the plain one: a bucket's first BUCKET_ALL_PAIRS_MAX members (in path
    order) paired with every later member, a pair joined when enough MinHash values agree, exact copies
    joined first; then each cluster folds around its most complete member the members that agree with it,
    and the others around a canonical of their own. Piles of copies make buckets beyond that limit."""
    import numpy as np

    from pipeline.dedup.fold import BUCKET_ALL_PAIRS_MAX, Signatures, band_key_matrix, band_layout, fold

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
    keys = band_key_matrix(matrix, bands, rows)
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

    from pipeline.dedup.fold import Signatures, band_key_matrix, band_layout, fold, min_equal_values
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
    store.add_bands(ids, band_key_matrix(e[None, :], bands, rows))
    matrix = np.array([a, b, c])
    signed = Signatures(["a-id", "b-id", "e-id"], ["a.txt", "b.txt", "c.txt"], np.zeros(3, np.int32),
                        np.array([400, 900, 300]), np.array([1, 2, 3], np.uint64), matrix,
                        band_key_matrix(matrix, bands, rows))

    folded = fold(signed, settings, store)
    assert folded.canonical_record_id == ["e-id", None, "e-id"]
    assert folded.new_canonicals == [1]
    assert folded.similarity.tolist() == [40 / 64, 1.0, 1.0]
