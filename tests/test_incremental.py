"""Nightly runs: only new or changed inputs are processed, one run at a time (--full: test_end_to_end)."""

import os
import shutil

import pandas as pd
import pyarrow as pa
import pytest
from filelock import FileLock

from pipeline.config import Config
from pipeline.outputs import RECORD_SCHEMA
from pipeline.run import Run
from pipeline.textnorm import t2s_table
from pipeline.writers.csv_rows import CsvRows
from pipeline.writers.tables import CsvSink
from tests.conftest import DATA, RAW, latest_summary, read_records, run_cli

DEVSET = DATA / "devset" / "dumps"
FIRST_BATCH = ["synthetic_lawblog_01.txt", "synthetic_wechat_01.txt", "synthetic_newsportal_01.txt"]


@pytest.fixture(scope="module")
def first_run_template(tmp_path_factory):
    base = tmp_path_factory.mktemp("first_run")
    inputs, out = base / "in", base / "out"
    shutil.copytree(RAW, inputs)
    for name in FIRST_BATCH:
        shutil.copy(DEVSET / name, inputs / name)
    result = run_cli("run", inputs, "--out", out, "--workers", "1")
    assert result.returncode == 0, result.stderr
    return inputs, out


@pytest.fixture
def first_run(first_run_template, tmp_path):
    """An input folder (the five samples and three dev-set dumps) after one finished run; a fresh copy per test
    (copytree keeps modification times, so the copied inputs are unchanged for the copied state store)."""
    inputs, out = tmp_path / "in", tmp_path / "out"
    shutil.copytree(first_run_template[0], inputs)
    shutil.copytree(first_run_template[1], out)
    return inputs, out


def test_a_second_run_with_nothing_new_processes_nothing_and_keeps_the_records(first_run):
    inputs, out = first_run
    first = latest_summary(out)
    records_before = read_records(out)
    assert first["inputs_processed"] == 8 and first["records_new"] == 8
    written = {name: (out / name).stat().st_mtime_ns for name in ("records.parquet", "records.csv")}

    result = run_cli("run", inputs, "--out", out, "--workers", "1")
    assert result.returncode == 0, result.stderr
    assert {name: (out / name).stat().st_mtime_ns for name in written} == written, "nothing to rewrite"
    second = latest_summary(out)
    assert second["run_id"] != first["run_id"]
    assert (second["inputs_processed"], second["inputs_unchanged"], second["pages"]) == (0, 8, 0)
    assert second["records_new"] == 0 and second["records_total"] == 8
    assert second["stage_seconds"]["clean_sign"] < first["stage_seconds"]["clean_sign"]
    assert read_records(out).equals(records_before)
    assert read_records(out / "runs" / second["run_id"]).empty


def test_each_run_keeps_its_own_removed_lines_and_records_when_the_latest_replace_the_cumulative_files(first_run):
    inputs, out = first_run
    first = out / "runs" / latest_summary(out)["run_id"]
    first_removed, first_records = (first / "removed.csv").read_bytes(), (first / "records.csv").read_bytes()
    assert (out / "removed.csv").read_bytes() == first_removed and first_removed.count(b"\n") > 20
    assert (out / "records.csv").read_bytes() == first_records  # a first run's records are all the records
    shutil.copy(DEVSET / "synthetic_baike_01.txt", inputs / "synthetic_baike_01.txt")
    run_cli("run", inputs, "--out", out, "--workers", "1")
    second = out / "runs" / latest_summary(out)["run_id"]
    assert (out / "removed.csv").read_bytes() == (second / "removed.csv").read_bytes() != first_removed
    assert list(read_records(second)["source_path"]) == ["synthetic_baike_01.txt"]
    assert len(read_records(out)) == len(read_records(first)) + 1
    assert (first / "removed.csv").read_bytes() == first_removed and (first / "records.csv").read_bytes() == first_records


def test_a_records_file_deleted_by_hand_is_written_again_on_a_night_with_nothing_new(first_run):
    inputs, out = first_run
    records_before = read_records(out)
    (out / "records.csv").unlink()
    run_cli("run", inputs, "--out", out, "--workers", "1")
    assert latest_summary(out)["inputs_processed"] == 0
    assert read_records(out).equals(records_before)


def test_a_touched_but_unchanged_input_is_not_processed_and_keeps_its_record(first_run):
    inputs, out = first_run
    records_before = read_records(out)
    touched = inputs / "001_386c8cc45b7cb5d6.txt"
    stat = touched.stat()
    os.utime(touched, ns=(stat.st_atime_ns, stat.st_mtime_ns + 5_000_000_000))

    run_cli("run", inputs, "--out", out, "--workers", "1")
    summary = latest_summary(out)
    assert summary["inputs_processed"] == 0 and summary["inputs_unchanged"] == 8
    assert read_records(out).equals(records_before)
    run_cli("run", inputs, "--out", out, "--workers", "1")  # the new mtime is remembered
    assert latest_summary(out)["inputs_unchanged"] == 8


def test_one_new_and_one_changed_dump_are_exactly_what_the_next_run_processes(first_run):
    inputs, out = first_run
    first = latest_summary(out)
    before = read_records(out).set_index("source_path")
    changed = inputs / "synthetic_lawblog_01.txt"
    text = changed.read_text(encoding="utf-8")
    assert "砍头息" in text
    changed.write_text(text.replace("砍头息", "预扣利息"), encoding="utf-8")
    shutil.copy(DEVSET / "synthetic_baike_01.txt", inputs / "synthetic_baike_01.txt")

    result = run_cli("run", inputs, "--out", out, "--workers", "1")
    assert result.returncode == 0, result.stderr
    second = latest_summary(out)
    assert (second["inputs_processed"], second["inputs_unchanged"]) == (2, 7)
    assert second["records_new"] == 2 and second["records_total"] == 9
    new_rows = read_records(out / "runs" / second["run_id"])
    assert sorted(new_rows["source_path"]) == ["synthetic_baike_01.txt", "synthetic_lawblog_01.txt"]

    after = read_records(out).set_index("source_path")
    assert len(after) == 9 and after.index.is_unique
    old_id = before.loc["synthetic_lawblog_01.txt", "record_id"]
    assert old_id not in set(after["record_id"])
    assert "预扣利息" in after.loc["synthetic_lawblog_01.txt", "answer"]
    for path in ["synthetic_lawblog_01.txt", "synthetic_baike_01.txt"]:
        assert after.loc[path, "first_seen_run"] == second["run_id"]
    untouched = before.drop(index="synthetic_lawblog_01.txt")
    assert after.loc[untouched.index].equals(untouched)
    assert set(untouched["first_seen_run"]) == {first["run_id"]}


def test_the_records_csv_of_a_night_copying_its_unchanged_rows_is_the_csv_of_its_records(first_run, tmp_path,
                                                                                          monkeypatch):
    inputs, out = first_run
    changed = inputs / "synthetic_lawblog_01.txt"
    changed.write_text(changed.read_text(encoding="utf-8").replace("砍头息", "预扣利息"), encoding="utf-8")
    repost = (inputs / "001_386c8cc45b7cb5d6.txt").read_text(encoding="utf-8").replace("合法", "合规")
    (inputs / "repost_of_001.txt").write_text(repost, encoding="utf-8")  # its record's dup_count changes
    shutil.copy(DEVSET / "synthetic_baike_01.txt", inputs / "synthetic_baike_01.txt")
    copied = []  # (first, stop) of each stretch of rows copied
    copy_to = CsvRows.copy_to
    monkeypatch.setattr(CsvRows, "copy_to", lambda self, *args: copied.append(args[2:]) or copy_to(self, *args))
    summary = Run(Config(input_dir=str(inputs), out_dir=str(out), workers=1)).execute()  # in this process: spied on
    assert summary.exit_code == 0 and summary.inputs_processed == 3
    records = pd.read_parquet(out / "records.parquet")
    assert records.loc[records["source_path"] == "001_386c8cc45b7cb5d6.txt", "dup_count"].tolist() == [1]
    assert len(records) == 9 and not (out / ".run-start").exists()
    # of the 8 earlier rows, the changed dump's is gone and 001's encoded again: 6 copied, in stretches
    assert sum(stop - first for first, stop in copied) == 6 and len(copied) >= 2
    with CsvSink(tmp_path / "encoded.csv", RECORD_SCHEMA) as sink:
        sink.write(pa.Table.from_pandas(records, schema=RECORD_SCHEMA, preserve_index=False))
    assert (out / "records.csv").read_bytes() == (tmp_path / "encoded.csv").read_bytes()


def test_a_second_run_while_one_holds_the_lock_exits_3_and_touches_nothing(first_run):
    inputs, out = first_run
    shutil.copy(DEVSET / "synthetic_baike_01.txt", inputs / "synthetic_baike_01.txt")
    runs_before = sorted(p.name for p in (out / "runs").iterdir())
    records_before = (out / "records.csv").read_bytes()
    with FileLock(str(out / ".pipeline.lock")):
        result = run_cli("run", inputs, "--out", out, "--workers", "1", check=False)
    assert result.returncode == 3
    assert "another run holds" in result.stderr and ".pipeline.lock" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in (out / "runs").iterdir()) == runs_before
    assert (out / "records.csv").read_bytes() == records_before

    result = run_cli("run", inputs, "--out", out, "--workers", "1")
    assert result.returncode == 0 and latest_summary(out)["inputs_processed"] == 1


def test_a_changed_input_with_a_hash_sign_in_its_name_replaces_its_record(tmp_path):
    """Only a trailing #N names an archive member: `问答#精选.txt` is a file of its own."""
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    changed = inputs / "问答#精选.txt"
    shutil.copy(DEVSET / "synthetic_lawblog_01.txt", changed)
    run_cli("run", inputs, "--out", out, "--workers", "1")
    changed.write_text(changed.read_text(encoding="utf-8").replace("砍头息", "预扣利息"), encoding="utf-8")
    run_cli("run", inputs, "--out", out, "--workers", "1")
    records = read_records(out)
    assert list(records["source_path"]) == ["问答#精选.txt"] and "预扣利息" in records["answer"][0]


def test_copies_of_a_changed_dump_are_folded_again_and_never_point_at_a_gone_record(tmp_path):
    inputs, out = tmp_path / "in", tmp_path / "out"
    shutil.copytree(RAW, inputs)
    original = inputs / "001_386c8cc45b7cb5d6.txt"
    repost = original.read_text(encoding="utf-8").replace("合法", "合规")  # a spun re-post on another site
    (inputs / "repost_of_001.txt").write_text(repost, encoding="utf-8")
    run_cli("run", inputs, "--out", out, "--workers", "1")
    duplicates = pd.read_csv(out / "duplicates.csv", encoding="utf-8-sig", keep_default_na=False)
    assert list(duplicates["source_path"]) == ["repost_of_001.txt"]
    old_id = duplicates["canonical_record_id"][0]

    original.write_text(original.read_text(encoding="utf-8").replace("威胁", "恐吓"), encoding="utf-8")
    run_cli("run", inputs, "--out", out, "--workers", "1")
    summary = latest_summary(out)
    assert summary["inputs_processed"] == 2  # the changed dump and the copy folded into its old record
    records = read_records(out)
    duplicates = pd.read_csv(out / "duplicates.csv", encoding="utf-8-sig", keep_default_na=False)
    assert old_id not in set(records["record_id"])
    assert set(duplicates["canonical_record_id"]) <= set(records["record_id"])
    assert "repost_of_001.txt" in set(records["source_path"]) | set(duplicates["source_path"])
    counts = dict(zip(records["record_id"], records["dup_count"].astype(int)))
    assert sum(counts.values()) == len(duplicates)


def test_a_changed_dump_whose_article_is_unchanged_keeps_its_record_and_first_seen_run(first_run):
    inputs, out = first_run
    before = read_records(out).set_index("source_path")
    first_run_id = latest_summary(out)["run_id"]
    dump = inputs / "synthetic_lawblog_01.txt"
    dump.write_text(dump.read_text(encoding="utf-8") + "\n版权所有 © 2025 本站 保留所有权利\n", encoding="utf-8")
    result = run_cli("run", inputs, "--out", out, "--workers", "1")
    assert result.returncode == 0, result.stderr
    assert latest_summary(out)["inputs_processed"] == 1 and latest_summary(out)["run_id"] != first_run_id
    after = read_records(out).set_index("source_path")
    assert after.loc["synthetic_lawblog_01.txt", "record_id"] == before.loc["synthetic_lawblog_01.txt", "record_id"]
    assert set(after["first_seen_run"]) == {first_run_id}
    assert len(after) == len(before)


def _in_traditional_script(text: str) -> str:
    """The text with every simplified character that has a traditional form written in that form."""
    to_traditional: dict[str, str] = {}
    for traditional, simplified in sorted(t2s_table().items()):
        to_traditional.setdefault(simplified, chr(traditional))
    return "".join(to_traditional.get(ch, ch) for ch in text)


@pytest.mark.parametrize("runs", [1, 2])
def test_an_answer_repeated_in_the_other_script_is_an_exact_copy(tmp_path, runs):
    """The record id folds traditional to simplified, the dedup signature (by default) does not: the
    traditional re-post of a dump has the record id of the first post, so it folds into that record as an
    exact copy, in the same run or a later one, and is listed with the duplicates."""
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    simplified = (RAW / "000_d4cb2d620e5ba3d0.txt").read_text(encoding="utf-8")
    (inputs / "a_simplified.txt").write_text(simplified, encoding="utf-8")
    if runs == 2:
        run_cli("run", inputs, "--out", out, "--workers", "1")
    (inputs / "b_traditional.txt").write_text(_in_traditional_script(simplified), encoding="utf-8")
    run_cli("run", inputs, "--out", out, "--workers", "1")
    records = read_records(out)
    duplicates = pd.read_csv(out / "duplicates.csv", encoding="utf-8-sig", keep_default_na=False)
    assert list(records["source_path"]) == ["a_simplified.txt"] and latest_summary(out)["records_total"] == 1
    assert list(records["duplicate_sources"]) == ["b_traditional.txt"] and list(records["dup_count"]) == ["1"]
    copy = duplicates.set_index("source_path").loc["b_traditional.txt"]
    assert (copy["record_id"], copy["canonical_record_id"]) == (records.loc[0, "record_id"],) * 2
    assert (copy["canonical_source_path"], copy["similarity"]) == ("a_simplified.txt", 1.0)


def test_a_page_holding_one_article_twice_has_one_record_and_lists_the_other_part_as_its_copy(tmp_path):
    """Two parts of one page with one answer: one record id, one source path, so the copy is told from its
    canonical by the part."""
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    article = (RAW / "000_d4cb2d620e5ba3d0.txt").read_text(encoding="utf-8")
    (inputs / "synthetic_two_copies.txt").write_text(f"{article}\n\n--------------------\n\n{article}", encoding="utf-8")
    run_cli("run", inputs, "--out", out, "--workers", "1")
    records = read_records(out)
    duplicates = pd.read_csv(out / "duplicates.csv", encoding="utf-8-sig", keep_default_na=False)
    assert list(zip(records["source_path"], records["part"])) == [("synthetic_two_copies.txt", "0")]
    assert list(zip(duplicates["source_path"], duplicates["part"], duplicates["canonical_record_id"])) == [
        ("synthetic_two_copies.txt", 1, records.loc[0, "record_id"])]


def test_without_dedup_each_input_keeps_its_records_first_run_through_a_full_rerun(tmp_path):
    """Without dedup two inputs may hold records with one id: each keeps the run that first saw it."""
    inputs, out = tmp_path / "in", tmp_path / "out"
    inputs.mkdir()
    shutil.copy(RAW / "000_d4cb2d620e5ba3d0.txt", inputs / "a.txt")
    run_cli("run", inputs, "--out", out, "--workers", "1", "--no-dedup")
    first_run = latest_summary(out)["run_id"]
    shutil.copy(RAW / "000_d4cb2d620e5ba3d0.txt", inputs / "b.txt")
    run_cli("run", inputs, "--out", out, "--workers", "1", "--no-dedup")
    second_run = latest_summary(out)["run_id"]
    run_cli("run", inputs, "--out", out, "--workers", "1", "--no-dedup", "--full")
    records = read_records(out).set_index("source_path")
    assert records.loc["a.txt", "record_id"] == records.loc["b.txt", "record_id"]
    assert dict(records["first_seen_run"]) == {"a.txt": first_run, "b.txt": second_run}
