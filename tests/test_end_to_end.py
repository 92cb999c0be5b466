"""The real CLI on the real samples: what a new user gets from `make run`."""

import json
import tomllib

import pandas as pd

from tests.conftest import RAW, RESIDUE, SAMPLE_LAST_SENTENCES, latest_summary, read_records, run_cli


def test_five_samples_give_five_clean_records(sample_run):
    out, result = sample_run
    assert result.returncode == 0, result.stderr
    records = read_records(out)
    assert len(records) == 5
    assert set(records["source_path"]) == set(SAMPLE_LAST_SENTENCES)
    for _, row in records.iterrows():
        for word in RESIDUE:
            assert word not in row["answer"], (row["source_path"], word)
        assert SAMPLE_LAST_SENTENCES[row["source_path"]] in row["answer"]
        assert row["question"] and row["title"]
        assert row["record_id"] and row["dup_count"] == "0"


def test_csv_is_utf8_with_bom_and_has_the_contract_columns(sample_run):
    out, _ = sample_run
    assert (out / "records.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    columns = read_records(out).columns
    for column in ["record_id", "source_path", "part", "title", "question", "answer", "tags", "dup_count"]:
        assert column in columns
    duplicates = pd.read_csv(out / "duplicates.csv", encoding="utf-8-sig")
    assert list(duplicates.columns)[:5] == ["source_path", "part", "record_id", "canonical_record_id",
                                            "canonical_source_path"]
    removed = pd.read_csv(out / "removed.csv", encoding="utf-8-sig", keep_default_na=False)
    assert {"source_path", "line_no", "rule", "text"} <= set(removed.columns)
    assert "related_heading" in set(removed["rule"])
    # every removed line names a registered rule
    listed = run_cli("rules").stdout
    for rule in set(removed["rule"]):
        assert rule in listed


def test_run_json_and_parquet(sample_run):
    out, _ = sample_run
    latest = (out / "latest_run").read_text().strip()
    summary = json.loads((out / "runs" / latest / "run.json").read_text())
    assert summary["records_new"] == 5 and summary["exit_code"] == 0
    frame = pd.read_parquet(out / "records.parquet")
    assert len(frame) == 5 and list(frame["tags"].iloc[0]) == read_records(out)["tags"].iloc[0].split(";")


def test_no_dedup_and_workers_give_the_same_records(tmp_path, sample_run):
    out, _ = sample_run
    run_cli("run", RAW, "--out", tmp_path / "two", "--workers", "2", "--no-dedup")
    assert read_records(tmp_path / "two")["record_id"].tolist() == read_records(out)["record_id"].tolist()


def test_clean_explain_names_the_rule_of_every_line():
    result = run_cli("clean", RAW / "001_386c8cc45b7cb5d6.txt", "--explain")
    lines = [line for line in result.stdout.splitlines() if line.strip()]
    assert any("drop breadcrumb" in line and "当前位置" in line for line in lines)
    assert any("KEEP title" in line for line in lines)
    assert any("drop source_url" in line for line in lines)
    plain = run_cli("clean", RAW / "001_386c8cc45b7cb5d6.txt").stdout
    assert plain.startswith("# 乐平市网贷逾期一天就上门") and "版权声明" not in plain


# config → what the error message must say
BAD_CONFIGS = {
    '[[cleaner.rules]]\nname = "ad"\npattern = "x"\n': "rule 'ad' lacks the field(s) reason",
    '[[cleaner.rules]]\nreason = "an ad"\npattern = "x"\n': "lacks the field(s) name",
    '[[cleaner.rules]]\nname = "ad"\nreason = "an ad"\npattern = "(unclosed"\n': "rule 'ad' has a bad pattern",
    '[[cleaner.rules]]\nname = "ad"\nreason = "an ad"\npattern = "x"\npaths = "a/*"\n': "paths must be an array",
    '[cleaner]\nrules = "x"\n': "[cleaner] rules must be an array of tables",
    "[records]\ntaxonomy = 3\n": "[records] taxonomy must be a table",
    '[records.taxonomy]\n"车贷" = "车贷"\n': "车贷 must be an array of strings",
    "[dedup]\nngram = 0\n": "[dedup] ngram must be 1 or more",
    "[dedup]\nnum_perm = 0\n": "[dedup] num_perm must be 1 or more",
    "[dedup]\nthreshold = 5.0\n": "[dedup] threshold must be within (0, 1]",
    "[dedup]\nthreshold = 0\n": "[dedup] threshold must be within (0, 1]",
    "[run]\nworkers = -3\n": "[run] workers must be 0 or more",
    "[records]\nkeyword_count = -1\n": "[records] keyword_count must be 0 or more",
    "[cleaner]\ntemplate_min_pages = 0\n": "[cleaner] template_min_pages must be 1 or more",
}


def test_usage_errors_exit_2_without_traceback(tmp_path):
    result = run_cli("run", tmp_path / "missing", "--out", tmp_path / "o", check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    bad = tmp_path / "bad.toml"
    bad.write_text("[dedup]\nngram = 'three'\nbogus = 1\n")
    result = run_cli("run", RAW, "--out", tmp_path / "o", "--config", bad, check=False)
    assert result.returncode == 2 and "bogus" in result.stderr and "Traceback" not in result.stderr
    for text, message in BAD_CONFIGS.items():
        bad.write_text(text, encoding="utf-8")
        for command in (["run", RAW, "--out", tmp_path / "o"], ["config", "show"]):
            result = run_cli(*command, "--config", bad, check=False)
            assert result.returncode == 2 and message in result.stderr, (text, command, result.stderr)
            assert "Traceback" not in result.stderr
    assert not (tmp_path / "o").exists()  # refused before anything was written
    (tmp_path / "afile").write_text("")
    folder_state = tmp_path / "folder_state.toml"
    folder_state.write_text('[run]\nstate_path = "."\n')
    # an output or state location that cannot be a folder: a file in the way, or one the system refuses
    for options, message in ((["--out", tmp_path / "afile" / "sub"], "as the output folder: Not a directory"),
                             (["--state", tmp_path / "afile" / "s.sqlite"], "as the state store's folder"),
                             (["--out", "/sys/pipeline-out"], "cannot use /sys/pipeline-out as the output folder"),
                             (["--config", folder_state], "the state store . is a folder")):
        result = run_cli("run", RAW, "--out", tmp_path / "o", *options, check=False)
        assert result.returncode == 2 and message in result.stderr, (options, result.stderr)
        assert "Traceback" not in result.stderr


def test_config_show_prints_the_file_with_the_options_applied(tmp_path):
    (tmp_path / "pipeline.toml").write_text(
        '[run]\nout_dir = "file-out"\nworkers = 2\njsonl = false\n\n[dedup]\nthreshold = 1\n\n'
        '[[cleaner.rules]]\nname = "site_ad"\nreason = "the site\'s app banner"\npattern = \'^下载\\s*APP\'\n'
        'paths = ["example.com/*"]\n\n[records.taxonomy]\n"车贷" = ["车贷", "汽车贷款"]\n', encoding="utf-8")
    shown = run_cli("config", "show", cwd=tmp_path)  # ./pipeline.toml is the default config file
    assert shown.returncode == 0, shown.stderr
    config = tomllib.loads(shown.stdout)
    assert config["run"]["out_dir"] == "file-out" and config["run"]["workers"] == 2 and config["run"]["input_dir"] == "raw"
    assert config["dedup"]["threshold"] == 1.0 and config["dedup"]["ngram"] == 3  # an integer serves as a number
    assert config["cleaner"]["rules"] == [{"name": "site_ad", "reason": "the site's app banner",
                                           "pattern": r"^下载\s*APP", "paths": ["example.com/*"]}]
    assert config["records"]["taxonomy"] == {"车贷": ["车贷", "汽车贷款"]}
    (tmp_path / "shown.toml").write_text(shown.stdout, encoding="utf-8")
    assert run_cli("config", "show", "--config", tmp_path / "shown.toml", cwd=tmp_path).stdout == shown.stdout

    overridden = run_cli("config", "show", "cli-in", "--out", "cli-out", "--state", "cli.sqlite", "--workers", "4",
                         "--no-dedup", "--jsonl", "--executor", "dask", "--scheduler", "tcp://10.0.0.5:8786", cwd=tmp_path)
    assert overridden.returncode == 0, overridden.stderr
    run = tomllib.loads(overridden.stdout)["run"]
    assert run == {"input_dir": "cli-in", "out_dir": "cli-out", "state_path": "cli.sqlite", "workers": 4,
                   "executor": "dask", "scheduler": "tcp://10.0.0.5:8786", "dedup_enabled": False, "jsonl": True}
    assert tomllib.loads(overridden.stdout)["dedup"]["threshold"] == 1.0  # what no option overrides stays


def test_full_rerun_keeps_every_record(tmp_path):
    out = tmp_path / "out"
    run_cli("run", RAW, "--out", out, "--workers", "1")
    first = read_records(out)
    result = run_cli("run", RAW, "--out", out, "--workers", "1", "--full")
    again = read_records(out)
    assert len(first) == 5 and sorted(again["record_id"]) == sorted(first["record_id"])
    assert "5 record(s) in" in result.stderr
    assert latest_summary(out)["inputs_processed"] == 5
    assert again.equals(first)  # first_seen_run included: reprocessed records that come out the same are not new
