"""Derived tables kept on disk: used while what they derive from is unchanged, derived again otherwise."""

import pickle

from pipeline.derived import kept_on_disk


def _counting_table(data_file):
    calls = []

    @kept_on_disk(lambda: [data_file])
    def table():
        calls.append(1)
        return {"rows": data_file.read_text(encoding="utf-8").split()}

    return table, calls


def test_a_table_is_derived_once_then_read_back_until_its_data_file_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "words.txt"
    data.write_text("网贷 逾期", encoding="utf-8")
    table, calls = _counting_table(data)
    assert table() == table() == {"rows": ["网贷", "逾期"]} and len(calls) == 1

    data.write_text("网贷 逾期 催收", encoding="utf-8")
    assert table() == {"rows": ["网贷", "逾期", "催收"]} and len(calls) == 2


def test_a_damaged_or_unwritable_cache_only_means_deriving_again(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "words.txt"
    data.write_text("征信", encoding="utf-8")
    table, calls = _counting_table(data)
    table()
    [cached] = (tmp_path / "cache").iterdir()
    cached.write_bytes(pickle.dumps({"rows": ["x"]})[:5])  # cut short, as by a crash while writing
    assert table() == {"rows": ["征信"]} and len(calls) == 2

    (tmp_path / "blocked").write_text("a file where the folder should be", encoding="utf-8")
    monkeypatch.setenv("PIPELINE_CACHE_DIR", str(tmp_path / "blocked"))
    assert table() == {"rows": ["征信"]} and len(calls) == 3


def test_a_table_derived_from_arguments_is_kept_per_argument(tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_CACHE_DIR", str(tmp_path / "cache"))
    calls = []

    @kept_on_disk()
    def rows_of(threshold):
        calls.append(threshold)
        return {"bands": int(1 / threshold)}

    assert [rows_of(0.3), rows_of(0.5), rows_of(0.3), rows_of(0.5)] == [{"bands": 3}, {"bands": 2}] * 2
    assert calls == [0.3, 0.5]
    assert len(list((tmp_path / "cache").iterdir())) == 2
