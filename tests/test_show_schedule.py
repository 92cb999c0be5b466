"""`pipeline show` replays a record's page line by line; `pipeline schedule` prints jobs that really run."""

import csv
import fcntl
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import RAW, latest_summary, read_records, run_cli

SAMPLE = "001_386c8cc45b7cb5d6.txt"


@pytest.fixture(scope="module")
def copied_run(tmp_path_factory):
    """raw/ plus a spun copy of a sample (characters dropped, as content farms do), run into a fresh folder."""
    root = tmp_path_factory.mktemp("show")
    inputs = root / "in"
    shutil.copytree(RAW, inputs)
    text = (RAW / SAMPLE).read_text(encoding="utf-8")
    (inputs / "zz_copy.txt").write_text(text.replace("互联网金融", "互联金融").replace("短期资金", "短资金"),
                                        encoding="utf-8")
    out = root / "out"
    assert run_cli("run", inputs, "--out", out, "--workers", "1").returncode == 0
    return inputs, out


def _explained(stdout: str) -> list[str]:
    return [line for line in stdout.splitlines() if not line.startswith("#")]


def test_show_record_marks_every_removed_line_with_the_rule_of_its_run(copied_run):
    inputs, out = copied_run
    records = read_records(out)
    record_id = records.loc[records["source_path"] == SAMPLE, "record_id"].item()
    result = run_cli("show", record_id, "--out", out)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"# record {record_id}: {SAMPLE} part 0")
    shown = _shown_with_the_rules_of(result.stdout, out / "runs" / (out / "latest_run").read_text().strip())
    kept = [line for line in shown.values() if " KEEP body " in line]
    assert any("合法催收可以理解,违法催收必须抵制。" in line for line in kept)
    assert not any(line.split("|", 1)[1].strip().startswith("当前位置") for line in kept)


def _shown_with_the_rules_of(stdout: str, run_dir: Path) -> dict[int, str]:
    """The lines `pipeline show` printed for SAMPLE by number, checked against the run's removed.csv."""
    shown = {int(line[:5]): line for line in _explained(stdout)}
    with open(run_dir / "removed.csv", encoding="utf-8-sig") as handle:
        removed = {int(row["line_no"]): row["rule"] for row in csv.DictReader(handle) if row["source_path"] == SAMPLE}
    assert removed
    for line_no, line in shown.items():
        rule = removed.get(line_no, "body|title")
        assert re.match(rf"\s*\d+ (drop|KEEP) ({rule})\s+\| ", line), (line, rule)
    return shown


def test_show_takes_the_removed_lines_of_the_run_that_last_read_a_changed_dump(tmp_path):
    inputs, out = tmp_path / "in", tmp_path / "out"
    shutil.copytree(RAW, inputs)
    run_cli("run", inputs, "--out", out, "--workers", "1")
    first_run = (out / "latest_run").read_text().strip()
    record_id = read_records(out).set_index("source_path").loc[SAMPLE, "record_id"]
    dump = inputs / SAMPLE
    lines = dump.read_text(encoding="utf-8").split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith("版权声明"))
    # two more footer lines: every later line moves down by two, the record stays the same
    dump.write_text("\n".join(lines[:at] + ["返回顶部", "扫描二维码关注公众号"] + lines[at:]), encoding="utf-8")
    run_cli("run", inputs, "--out", out, "--workers", "1")
    changed_run = (out / "latest_run").read_text().strip()
    records = read_records(out).set_index("record_id")
    assert changed_run != first_run and records.loc[record_id, "first_seen_run"] == first_run
    result = run_cli("show", record_id, "--out", out)
    assert result.returncode == 0 and f"run {changed_run}," in result.stdout.splitlines()[0]
    shown = _shown_with_the_rules_of(result.stdout, out / "runs" / changed_run)
    assert " drop " in shown[at + 1] and " drop " in shown[at + 2]  # the new lines (numbered from 1)
    # Touched but not changed: the next run reads nothing, and the lines are still those the changed run removed.
    stat = dump.stat()
    os.utime(dump, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    run_cli("run", inputs, "--out", out, "--workers", "1")
    assert latest_summary(out)["inputs_processed"] == 0
    assert run_cli("show", record_id, "--out", out).stdout == result.stdout


def test_show_finds_a_folded_copy_and_a_file(copied_run):
    inputs, out = copied_run
    with open(out / "duplicates.csv", encoding="utf-8-sig") as handle:
        copy = next(csv.DictReader(handle))
    assert copy["source_path"] == "zz_copy.txt"
    result = run_cli("show", copy["record_id"], "--out", out)
    assert result.returncode == 0 and "zz_copy.txt" in result.stdout.splitlines()[0]
    by_file = run_cli("show", inputs / SAMPLE)
    explain = run_cli("clean", inputs / SAMPLE, "--explain")
    assert _explained(by_file.stdout) == explain.stdout.splitlines()  # one formatter for both


def test_show_unknown_id_or_missing_source_exits_2(copied_run, tmp_path):
    inputs, out = copied_run
    unknown = run_cli("show", "0123456789abcdef", "--out", out, check=False)
    assert unknown.returncode == 2 and "0123456789abcdef" in unknown.stderr and "Traceback" not in unknown.stderr
    moved_out = tmp_path / "out"
    shutil.copytree(out, moved_out)
    moved_in = tmp_path / "in"
    shutil.copytree(inputs, moved_in)
    (moved_in / SAMPLE).unlink()
    # run.json names the input folder; point it at the copy without the sample
    for run_json in moved_out.glob("runs/*/run.json"):
        run_json.write_text(run_json.read_text().replace(str(inputs), str(moved_in)))
    record_id = read_records(moved_out).set_index("source_path").loc[SAMPLE, "record_id"]
    gone = run_cli("show", record_id, "--out", moved_out, check=False)
    assert gone.returncode == 2 and "is gone" in gone.stderr and "Traceback" not in gone.stderr


def test_cron_line_runs_the_pipeline_under_flock(tmp_path):
    inputs = tmp_path / "in put"  # a space to check the quoting
    shutil.copytree(RAW, inputs)
    out = tmp_path / "out 50%"  # cron reads an unescaped % as a newline
    result = run_cli("schedule", "--cron", "--at", "3:05", inputs, "--out", out, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    line = [l for l in result.stdout.splitlines() if not l.startswith("#")][0]
    fields = line.split(" ", 5)
    assert fields[:5] == ["5", "3", "*", "*", "*"]
    command = fields[5]
    assert "flock -n" in command and r"50\%" in command and "%" not in command.replace(r"\%", "")
    assert str(Path(sys.executable).parent / "pipeline") in command
    shell_command = command.replace(r"\%", "%")  # as cron hands it to the shell
    ran = subprocess.run(["/bin/sh", "-c", shell_command], capture_output=True, text=True, timeout=600)
    assert ran.returncode == 0, (ran.stderr, (out / "cron.log").read_text())
    assert len(read_records(out)) == 5
    assert "5 new record(s)" in (out / "cron.log").read_text()
    with open(out / ".cron.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        held = subprocess.run(["/bin/sh", "-c", shell_command], capture_output=True, text=True, timeout=60)
    assert held.returncode == 3  # the night is skipped while the previous run still holds the lock


def test_systemd_units_verify(tmp_path):
    config = tmp_path / "pipeline.toml"
    config.write_text("[run]\nworkers = 1\n")
    result = run_cli("schedule", "--systemd", "--at", "23:45", "in", "--out", "out", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    units = dict(re.findall(r"# ---- /etc/systemd/system/(\S+)\n(.*?)(?=\n# ---- |\n# then)", result.stdout, re.S))
    assert set(units) == {"pipeline.service", "pipeline.timer"}
    service, timer = units["pipeline.service"], units["pipeline.timer"]
    assert "Type=oneshot" in service and f"WorkingDirectory={tmp_path}" in service
    exec_start = re.search(r"^ExecStart=(.*)$", service, re.M).group(1).split()
    assert exec_start[0] == str(Path(sys.executable).parent / "pipeline")
    assert exec_start[1:] == ["run", str(tmp_path / "in"), "--out", str(tmp_path / "out"), "--config", str(config)]
    assert "OnCalendar=*-*-* 23:45:00" in timer and "Persistent=true" in timer and "WantedBy=timers.target" in timer
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        return
    for name, text in units.items():
        (tmp_path / name).write_text(text)
    verify = subprocess.run([analyze, "verify", tmp_path / "pipeline.service", tmp_path / "pipeline.timer"],
                            capture_output=True, text=True, timeout=60)
    assert verify.returncode == 0, verify.stderr


def test_schedule_usage_errors_exit_2(tmp_path):
    for args in (["--at", "3:05"], ["--cron", "--at", "24:00"], ["--systemd", "--at", "noon"], ["--cron", "--systemd"]):
        result = run_cli("schedule", *args, cwd=tmp_path, check=False)
        assert result.returncode == 2 and "Traceback" not in result.stderr, args
    both = run_cli("schedule", "--cron", "--systemd", cwd=tmp_path, check=False)
    assert "one of them" in both.stderr and both.stdout == ""
