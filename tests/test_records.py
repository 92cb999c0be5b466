"""Record fields on the five samples, and the CSV/Parquet contracts."""

import errno
import os
import pickle
import shutil
import threading
from collections import Counter

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from pipeline.clean import clean_page, load_rules
from pipeline.model import Page
from pipeline.records import extract
from pipeline.records.build import RecordBuilder
from pipeline.records.question import question_type, questions_from_title
from pipeline.writers import csv_rows, tables
from pipeline.writers.tables import write_csv
from tests.conftest import DATA, RESIDUE, read_records


@pytest.fixture(scope="module")
def records(sample_run):
    out, _ = sample_run
    frame = read_records(out)
    return {row["source_path"][:3]: row for _, row in frame.iterrows()}


def test_questions_and_types(records):
    assert records["000"]["question"] == "网贷上门催收合法吗？"
    assert records["001"]["question"] == "乐平市网贷逾期一天就上门？这是威胁还是合法催收？"
    assert records["003"]["question"] == "网贷逾期家访合法吗？"
    for key in ("000", "001", "002", "003"):
        assert records[key]["question_type"] == "legality"


def test_metadata_kept_from_chrome(records):
    assert records["001"]["category"] == "金融债务"
    assert records["001"]["source_url"] == "https://www.hefeilaws.com/hf/1211377.html"
    assert records["001"]["author"] == "合飞律师"
    assert records["004"]["published_at"] == "2025-01-17T01:39:06"


def test_laws_entities_and_flags(records):
    laws = records["001"]["laws"].split(";")
    for citation in ("《中华人民共和国民法典》第1032条", "《中华人民共和国刑法》第293条",
                     "《网络借贷信息中介机构业务活动管理暂行办法》第二十四条"):
        assert citation in laws
    entities = records["001"]["entities"].split(";")
    assert "乐平市" in entities and "12368" in entities and "江西" in entities
    assert "ai_prompt_residue" in records["004"]["flags"].split(";")
    assert "mixed_language" in records["003"]["flags"].split(";")
    assert "中国互联网金融协会" in records["002"]["entities"].split(";")


def test_no_residue_in_any_field(records):
    for row in records.values():
        for column, value in row.items():
            for word in RESIDUE:
                assert word not in value, (row["source_path"], column, word)


def test_summary_and_keywords(records):
    assert records["000"]["summary"].startswith("综上所述")
    assert all(len(row["summary"]) <= 200 for row in records.values())
    assert "催收" in records["000"]["keywords"].split(";")
    assert "催收" in records["000"]["tags"].split(";")


def test_two_questions_in_a_title():
    question, alternatives = questions_from_title("网贷频繁发消息说起诉是威胁吗?网贷起诉是威胁吗?_某某法律网")
    assert question == "网贷频繁发消息说起诉是威胁吗？" and alternatives == ["网贷起诉是威胁吗？"]
    assert questions_from_title("【独家】信用卡逾期怎么办-财经问答")[0] == "信用卡逾期怎么办？"
    assert question_type("信用卡分期手续费是多少") == "cost"
    assert question_type("什么是征信修复") == "what-is"


def test_csv_and_parquet_round_trip_keep_every_field(sample_run):
    out, _ = sample_run
    csv = read_records(out)
    parquet = pd.read_parquet(out / "records.parquet")
    assert list(csv.columns) == list(parquet.columns)
    for column in csv.columns:
        for a, b in zip(csv[column], parquet[column]):
            if isinstance(b, float):
                assert float(a) == b, column
                continue
            expected = ";".join(b) if hasattr(b, "__len__") and not isinstance(b, str) else str(b)
            assert a == expected, column
    assert parquet["char_count"].dtype.kind == "i" and parquet["removed_ratio"].dtype.kind == "f"


def test_formula_like_cells_are_neutralized(tmp_path):
    cells = ["=HYPERLINK(\"x\")", "- 列表项", "+86 12368", "@admin", "\t缩进", "普通文本", "a=b"]
    schema = pa.schema([("text", pa.string()), ("tags", pa.list_(pa.string()))])
    write_csv(tmp_path / "t.csv", [{"text": c, "tags": [c, "x"]} for c in cells], schema)
    read = pd.read_csv(tmp_path / "t.csv", encoding="utf-8-sig", keep_default_na=False, dtype=str)
    assert list(read["text"]) == ["'" + c for c in cells[:5]] + cells[5:]
    assert read["tags"][0] == "'=HYPERLINK(\"x\");x" and read["tags"][6] == "a=b;x"


def _batches_of_rows():
    schema = pa.schema([("n", pa.int64()), ("text", pa.string())])
    return schema, [[{"n": b * 100 + i, "text": f"第{b}批，第{i}行：" + "答" * (i % 40)} for i in range(100)]
                    for b in range(60)]


def test_a_csv_handed_to_the_disk_while_written_is_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "SYNC_AHEAD_BYTES", 4096)  # a sync under way at almost every batch
    synced, fdatasync = [], os.fdatasync
    monkeypatch.setattr(os, "fdatasync", lambda fd: synced.append(fdatasync(fd)))
    schema, batches = _batches_of_rows()
    with tables.CsvSink(tmp_path / "t.csv", schema) as sink:
        for rows in batches:
            sink.write(rows)
        sink.sync()
    read = pd.read_csv(tmp_path / "t.csv", encoding="utf-8-sig", keep_default_na=False)
    assert read.to_dict("records") == [row for rows in batches for row in rows]
    assert synced


def test_a_disk_error_in_a_sync_made_ahead_fails_the_csv(tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "SYNC_AHEAD_BYTES", 4096)

    def failing(fd):
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fdatasync", failing)  # the error is reported to this sync only, as Linux does
    schema, batches = _batches_of_rows()
    with pytest.raises(OSError, match="Input/output"):
        with tables.CsvSink(tmp_path / "t.csv", schema) as sink:
            for rows in batches:
                sink.write(rows)
    assert not list(tmp_path.iterdir())  # neither the file nor its temporary


def test_a_disk_error_in_the_last_sync_made_ahead_fails_the_csv_when_it_closes(tmp_path, monkeypatch):
    monkeypatch.setattr(tables, "SYNC_AHEAD_BYTES", 4096)
    started = threading.Event()

    def failing_late(fd):
        started.wait()
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fdatasync", failing_late)
    schema, batches = _batches_of_rows()
    with pytest.raises(OSError, match="Input/output"):
        with tables.CsvSink(tmp_path / "t.csv", schema) as sink:
            for rows in batches:
                sink.write(rows)  # the one sync under way has not failed yet: every write goes on
            started.set()
    assert not list(tmp_path.iterdir())


_COPY_SCHEMA = pa.schema([("id", pa.string()), ("n", pa.int64()), ("score", pa.float64()), ("text", pa.string()),
                          ("tags", pa.list_(pa.string()))])


def _copy_rows(marker: str = "") -> list[dict]:
    """Rows with what CSV quoting must get right: quotes, commas, newlines, nulls, lists, formula-like cells."""
    texts = ['他说"不行"', "逗号，与,英文逗号", "换行\n之后", None, "=SUM(A1)", "", "普通" * 30]
    return [{"id": f"r{i}", "n": i * 7 - 20, "score": None if i % 5 == 4 else i / 3,
             "text": None if texts[i % 7] is None else texts[i % 7] + marker,
             "tags": [] if i % 3 else ["甲", f'"{i}"']} for i in range(40)]


def _indexed_csv(folder, rows):
    """A CSV published with its index, and the Parquet file of its rows it is indexed with."""
    csv, companion = folder / "earlier.csv", folder / "earlier.parquet"
    tables.write_parquet(companion, rows, _COPY_SCHEMA)
    with tables.CsvSink(csv, _COPY_SCHEMA, index_with=companion) as sink:
        sink.write(rows)
    return csv, companion


def _encoded(path, rows, schema=_COPY_SCHEMA) -> bytes:
    with tables.CsvSink(path, schema) as sink:
        sink.write(rows)
    return path.read_bytes()


def test_rows_said_to_be_unchanged_are_copied_from_the_earlier_csv_and_the_rest_encoded(tmp_path):
    earlier, companion = _indexed_csv(tmp_path, _copy_rows())
    # The rows the new file keeps unchanged are given with a marker they do not have in the earlier file, so
    # only rows copied from it come out without it; row 5 is changed, row 9 gone, two rows are new.
    marked = _copy_rows(marker="·新")
    kept = [i for i in range(40) if i != 9]
    earlier_rows = np.array([-1 if i == 5 else i for i in kept])
    expected = [_copy_rows()[i] if i != 5 else marked[i] for i in kept] + marked[:2]
    first = pa.Table.from_pylist([marked[i] for i in kept], schema=_COPY_SCHEMA)
    tables.write_parquet(tmp_path / "new.parquet", expected, _COPY_SCHEMA)
    with tables.CsvSink(tmp_path / "new.csv", _COPY_SCHEMA, index_with=tmp_path / "new.parquet") as sink:
        assert sink.open_earlier(earlier, companion)
        sink.write(first.slice(0, 20), earlier_rows[:20])  # written in two batches, as runs write
        sink.write(first.slice(20), earlier_rows[20:])
        sink.write(marked[:2])
    assert (tmp_path / "new.csv").read_bytes() == _encoded(tmp_path / "expected.csv", expected)
    # the new file's index is right too: copying its rows again gives the same file
    with tables.CsvSink(tmp_path / "again.csv", _COPY_SCHEMA) as sink:
        assert sink.open_earlier(tmp_path / "new.csv", tmp_path / "new.parquet")
        sink.write(pa.Table.from_pylist(marked[:len(expected)], schema=_COPY_SCHEMA), np.arange(len(expected)))
    assert (tmp_path / "again.csv").read_bytes() == (tmp_path / "new.csv").read_bytes()


@pytest.mark.parametrize("change", ["edited", "edited at an end, its time put back", "its rows' file changed",
                                    "other columns", "no index", "damaged index", "index of another file"])
def test_an_earlier_csv_whose_index_does_not_fit_it_is_not_copied_from(tmp_path, change):
    earlier, companion = _indexed_csv(tmp_path, _copy_rows())
    index, schema = csv_rows.index_path(earlier), _COPY_SCHEMA
    if change.startswith("edited"):  # one cell changed in place, to the same size
        written = earlier.stat()
        earlier.write_bytes(earlier.read_bytes().replace("不行".encode(), "可以".encode(), 1))
        if change.endswith("put back"):
            os.utime(earlier, ns=(written.st_atime_ns, written.st_mtime_ns))
    elif change == "its rows' file changed":  # the same number of rows, one answer edited
        tables.write_parquet(companion, _copy_rows(marker="!"), _COPY_SCHEMA)
    elif change == "other columns":
        schema = pa.schema([*_COPY_SCHEMA, ("extra", pa.string())])
    elif change == "no index":
        index.unlink()
    elif change == "damaged index":
        index.write_bytes(index.read_bytes()[:100])
    else:
        (tmp_path / "other").mkdir()
        shutil.copy(csv_rows.index_path(_indexed_csv(tmp_path / "other", _copy_rows()[:39])[0]), index)
    marked = pa.Table.from_pylist(_copy_rows(marker="·新"), schema=schema)
    with tables.CsvSink(tmp_path / "new.csv", schema) as sink:
        assert not sink.open_earlier(earlier, companion)
        sink.write(marked, np.arange(40))
    assert (tmp_path / "new.csv").read_bytes() == _encoded(tmp_path / "expected.csv", marked, schema)


def test_a_csv_that_fails_leaves_the_published_one_and_its_index_as_they_were(tmp_path):
    earlier, companion = _indexed_csv(tmp_path, _copy_rows())
    csv_before, index_before = earlier.read_bytes(), csv_rows.index_path(earlier).read_bytes()
    with pytest.raises(OSError, match="disk full"):
        with tables.CsvSink(earlier, _COPY_SCHEMA, index_with=companion) as sink:
            sink.write(_copy_rows(marker="·新")[:30])
            raise OSError("disk full")
    assert earlier.read_bytes() == csv_before and csv_rows.index_path(earlier).read_bytes() == index_before
    with tables.CsvSink(tmp_path / "new.csv", _COPY_SCHEMA) as sink:
        assert sink.open_earlier(earlier, companion)


@pytest.fixture(scope="module")
def dev_articles():
    rules = load_rules()
    paths = sorted((DATA / "devset" / "dumps").glob("*.txt")) + sorted((DATA / "holdout" / "dumps").glob("*.txt"))
    pages = [clean_page(Page(path.name, path.read_text(encoding="utf-8")), rules) for path in paths]
    return [article for page in pages for article in page.articles]


def test_keywords_are_the_top_of_a_full_tfidf_ranking(dev_articles):
    idf, median, _ = extract.idf_table()
    for article in dev_articles:
        words = extract.word_counts(article.body)
        ranking = sorted((-count * idf.get(word, median), word) for word, count in words.items()
                         if extract._is_term(word))
        assert extract.keywords(words, 8) == [word for _, word in ranking[:8]], article.source_path


def test_tags_count_every_occurrence_of_a_term(dev_articles):
    taxonomy = extract.load_taxonomy()
    tagger = extract.Tagger(taxonomy)
    for article in dev_articles:
        expected = [name for name, terms in taxonomy.items() if any(term in article.title for term in terms)
                    or sum(article.body.count(term) for term in terms) >= 2]
        assert tagger.tags(article.title, article.body) == expected, article.source_path


def test_record_builder_survives_pickling_for_worker_processes():
    builder = pickle.loads(pickle.dumps(RecordBuilder(extract.load_taxonomy({"车贷": ["车贷", "汽车贷款"]}))))
    assert builder.tagger.tags("车贷逾期了怎么办", "汽车贷款逾期") == ["逾期", "车贷"]


def test_phone_numbers_stand_alone():
    text = ("维权热线12368，电话0791-12345678，手机13912345678，客服400-123-4567，报警110。"
            "版本v1.12368、编号212368和13912345678901都不是电话。")
    assert extract.entities(text, Counter()) == ["12368", "0791-12345678", "13912345678", "400-123-4567", "110"]
