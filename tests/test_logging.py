"""Logging of `pipeline run`: one summary line by default, JSON lines on request, a progress bar on a terminal only."""

import fcntl
import json
import os
import pty
import re
import shutil
import struct
import subprocess
import sys
import termios

from tests.conftest import RAW, ROOT, run_cli

BAR_RE = re.compile(r"\d+page \[\d\d:\d\d")


def _inputs_with_an_empty_file(tmp_path):
    inputs = tmp_path / "in"
    shutil.copytree(RAW, inputs)
    (inputs / "empty.txt").write_bytes(b"")
    return inputs


def test_default_output_is_quiet_enough_for_cron(sample_run):
    _, result = sample_run
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("pipeline: run ") and "5 new record(s)" in lines[0]
    assert not BAR_RE.search(result.stderr)  # stderr is a pipe here: no progress bar


def test_json_log_lines_parse_one_by_one(tmp_path):
    out = tmp_path / "out"
    result = run_cli("run", _inputs_with_an_empty_file(tmp_path), "--out", out, "--workers", "1",
                     "--log-format", "json", "--verbose")
    assert result.returncode == 1 and result.stdout == ""
    entries = [json.loads(line) for line in result.stderr.splitlines()]
    assert {"time", "level", "logger", "message"} <= set(entries[0])
    assert any(e["level"] == "warning" and "empty.txt" in e["message"] for e in entries)
    assert any(e["level"] == "info" for e in entries)  # --verbose
    summary = entries[-1]
    assert summary["level"] == "notice" and summary["run_id"] == (out / "latest_run").read_text().strip()
    assert summary["records_new"] == 5 and summary["errors"] == 1 and summary["exit_code"] == 1


def test_progress_bar_only_on_a_terminal(tmp_path):
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    process = subprocess.Popen([sys.executable, "-m", "pipeline", "run", _inputs_with_an_empty_file(tmp_path),
                                "--out", tmp_path / "out", "--workers", "1"],
                               cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=terminal)
    os.close(terminal)
    seen = b""
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed with the process
            break
        if not chunk:
            break
        seen += chunk
    os.close(controller)
    assert process.wait(timeout=120) == 1
    text = seen.decode("utf-8", "replace")
    assert BAR_RE.search(text), text
    # the bar is wiped (carriage return) before a warning, which gets a line of its own
    assert re.search(r"\rpipeline: warning: empty.txt: empty file\r?\n", text), text
