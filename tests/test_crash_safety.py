"""A run killed with SIGKILL at any point, then run again, ends with the outputs of an uninterrupted run.

The real CLI runs in a subprocess and is killed at points spread over its life, each reached when
something visible happens: the state store is opened, pool workers are busy, a temporary output file
appears (an atomic write is under way), records.parquet or latest_run is replaced, or a share of the
uninterrupted run's duration has passed. Then it runs again, and every output, the state store
included, is compared with an uninterrupted run's after replacing run ids (timestamps) by their
order and dropping timings. The killed run's pool workers must exit too.
"""

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.conftest import DATA, RAW, ROOT, run_cli

pytestmark = pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="watches the run through /proc")

TIMING_KEYS = {"started_at", "finished_at", "stage_seconds", "slowest"}
STORE_QUERIES = {
    "settings": "SELECT key, value FROM settings ORDER BY key",
    "canonical": "SELECT record_id, source_path, part, first_seen_run, char_count, exact_key, hex(signature)"
                 " FROM canonical ORDER BY record_id",
    "band": "SELECT b.key, c.record_id FROM band b JOIN canonical c ON c.id = b.canonical ORDER BY 1, 2",
    "inputs": "SELECT * FROM inputs ORDER BY source_path",
    "runs": "SELECT run_id, config_hash, status FROM runs ORDER BY run_id",
    "copies": "SELECT * FROM copies ORDER BY 1, 2",
}


def committed_runs(out: Path) -> list[str]:
    if not (out / "state.sqlite").exists():
        return []
    with closing(sqlite3.connect(out / "state.sqlite")) as db:
        if db.execute("SELECT name FROM sqlite_master WHERE name = 'runs'").fetchone() is None:
            return []  # killed while creating the store
        return [row[0] for row in db.execute("SELECT run_id FROM runs WHERE status = 'ok' ORDER BY run_id")]


def snapshot(out: Path) -> dict[str, str]:
    """Every file under out, comparable across two output folders: run ids become run1, run2…"""
    names = {run_id: f"run{n}" for n, run_id in enumerate(committed_runs(out), start=1)}

    def normalize(text: str) -> str:
        for run_id, name in names.items():
            text = text.replace(run_id, name)
        return text.replace(str(out), "OUT")

    contents = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file() and p.name != ".pipeline.lock"):
        if path.name == "state.sqlite":
            with closing(sqlite3.connect(path)) as db:
                content = json.dumps({table: db.execute(query).fetchall() for table, query in STORE_QUERIES.items()})
        elif path.suffix == ".parquet":
            content = json.dumps(pq.read_table(path).to_pylist(), ensure_ascii=False)
        elif path.name == "report.html":  # rendered from run.json and the run's files, timings included
            content = "present"
        elif path.name == "run.json":
            summary = json.loads(path.read_text(encoding="utf-8"))
            content = json.dumps({k: v for k, v in summary.items() if k not in TIMING_KEYS}, ensure_ascii=False)
        elif path.suffix in (".csv", "") and path.name[0] != ".":
            content = path.read_text(encoding="utf-8")
        else:  # nothing else belongs here (a stale temporary file, say): its presence is the difference
            content = f"{path.stat().st_size} bytes"
        contents[normalize(path.relative_to(out).as_posix())] = normalize(content)
    return contents


def start_run(inputs: Path, out: Path, workers: int) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "pipeline", "run", inputs, "--out", out, "--workers", str(workers)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_to_end(inputs: Path, out: Path, workers: int) -> float:
    started = time.monotonic()
    result = run_cli("run", inputs, "--out", out, "--workers", workers)
    assert result.returncode == 0, result.stderr
    return time.monotonic() - started


def file_state(path: Path):
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns


def worker_pids(pid: int) -> list[int]:
    found = []
    try:
        for task in Path(f"/proc/{pid}/task").glob("*"):
            found += [int(p) for p in (task / "children").read_text().split()]
    except FileNotFoundError:  # the run (or one of its threads) ended meanwhile
        pass
    return found


def exits_within(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
                return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def changes(probe):
    """A kill point: true once probe() differs from its value when the run started."""
    def build(process):
        before = probe()
        return lambda: probe() != before
    return build


def after_share(share: float, duration: float):
    def build(process):
        deadline = time.monotonic() + share * duration
        return lambda: time.monotonic() >= deadline
    return build


def workers_busy(process):
    first_seen = []

    def reached():
        if not first_seen and worker_pids(process.pid):
            first_seen.append(time.monotonic())
        return bool(first_seen) and time.monotonic() - first_seen[0] > 0.3
    return reached


def kill_points(out: Path, duration: float) -> dict:
    """name → a predicate builder, called when the run starts, whose predicate is true once the run got there."""
    return {
        "state store opened": changes(lambda: (out / "state.sqlite-wal").exists()),
        "pool workers busy": workers_busy,
        "pages kept for the second pass": changes(lambda: any(out.glob(".spool-*/*.pages.pickle"))),
        "articles kept for their records": changes(lambda: any(out.glob(".spool-*/*.articles.pickle"))),
        "a temporary output file appears": changes(lambda: any(out.glob(".*.tmp")) or any(out.glob("runs/*/.*.tmp"))),
        "records.parquet replaced": changes(lambda: file_state(out / "records.parquet")),
        "latest_run replaced": changes(lambda: file_state(out / "latest_run")),
        "half of the run": after_share(0.5, duration),
    }


def kill_at(inputs: Path, out: Path, point, workers: int) -> tuple[bool, list[int]]:
    """Starts a run, SIGKILLs it once the point is reached; returns (killed before it ended, its worker pids)."""
    process = start_run(inputs, out, workers)
    reached = point(process)
    workers_seen: set[int] = set()
    while not reached() and process.poll() is None:
        workers_seen.update(worker_pids(process.pid))
        time.sleep(0.001)
    process.send_signal(signal.SIGKILL)
    process.wait()
    return process.returncode == -signal.SIGKILL, sorted(workers_seen)


def assert_kills_then_reruns_match(inputs: Path, prepare_out, baseline: dict, duration: float, tmp_path: Path,
                                   workers: int, names: list[str]) -> None:
    """For every kill point: a fresh output folder from prepare_out, a killed run, a rerun, equal outputs."""
    killed_before_commit = []
    points = kill_points(tmp_path / "killed", duration)
    for name in names:
        point = points[name]
        out = tmp_path / "killed"
        shutil.rmtree(out, ignore_errors=True)
        prepare_out(out)
        runs_before = committed_runs(out)
        killed, workers_seen = kill_at(inputs, out, point, workers)
        lingering = [pid for pid in workers_seen if not exits_within(pid, seconds=10)]
        for pid in lingering:
            os.kill(pid, signal.SIGKILL)
        assert not lingering, f"killed at {name!r}: pool workers {lingering} outlived the run"
        finished = len(committed_runs(out)) > len(runs_before)
        if not finished:
            killed_before_commit.append(name)
            run_to_end(inputs, out, workers)
        assert snapshot(out) == baseline, f"killed at {name!r} (the run had {'' if finished else 'not '}committed)"
        assert killed or finished, name
    print(f"killed before the commit at {killed_before_commit} (run of {duration:.1f} s)")
    assert len(killed_before_commit) >= len(names) - 1  # "latest_run replaced" may come after the commit


def copy_inputs(names: list[Path], folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for path in names:
        shutil.copy2(path, folder / path.name)


HTML_PAGES = sorted((DATA / "html_devset" / "pages").glob("*.html")) + [DATA / "html_devset" / "archive" / "crawl.warc.gz"]
DEV_DUMPS = sorted((DATA / "devset" / "dumps").glob("synthetic_*.txt"))


def test_a_killed_first_run_then_a_rerun_gives_the_uninterrupted_outputs(tmp_path):
    inputs = tmp_path / "in"
    copy_inputs(sorted(RAW.glob("*.txt")) + HTML_PAGES + DEV_DUMPS, inputs)  # enough files for a process pool
    duration = run_to_end(inputs, tmp_path / "baseline", workers=2)
    baseline = snapshot(tmp_path / "baseline")
    assert len(baseline) > 10 and "records.parquet" in baseline

    assert_kills_then_reruns_match(inputs, lambda out: None, baseline, duration, tmp_path, workers=2,
                                   names=["state store opened", "pool workers busy", "pages kept for the second pass",
                                          "a temporary output file appears", "latest_run replaced"])


def test_a_killed_incremental_run_then_a_rerun_gives_the_uninterrupted_outputs(tmp_path):
    inputs = tmp_path / "in"
    copy_inputs(sorted(RAW.glob("*.txt")) + HTML_PAGES[::2] + DEV_DUMPS[:2], inputs)
    repost = (RAW / "001_386c8cc45b7cb5d6.txt").read_text(encoding="utf-8").replace("合法", "合规")
    (inputs / "repost_of_001.txt").write_text(repost, encoding="utf-8")  # a spun copy, folded into 001
    first = tmp_path / "first"
    run_to_end(inputs, first, workers=1)
    # the night: new pages; 001 edited (its copy is folded again), a dev dump changed
    copy_inputs(HTML_PAGES[1::2] + DEV_DUMPS[2:4], inputs)
    for changed, old, new in [(inputs / "001_386c8cc45b7cb5d6.txt", "威胁", "恐吓"), (inputs / DEV_DUMPS[0].name, "。", "。\n")]:
        changed.write_text(changed.read_text(encoding="utf-8").replace(old, new, 3), encoding="utf-8")

    baseline_out = tmp_path / "baseline"
    shutil.copytree(first, baseline_out)
    duration = run_to_end(inputs, baseline_out, workers=1)
    baseline = snapshot(baseline_out)
    assert len(committed_runs(baseline_out)) == 2
    assert '"repost_of_001.txt"' in baseline["state.sqlite"]

    assert_kills_then_reruns_match(inputs, lambda out: shutil.copytree(first, out), baseline, duration, tmp_path,
                                   workers=1, names=["a temporary output file appears", "records.parquet replaced",
                                                     "half of the run"])


def test_inputs_deleted_between_a_killed_run_and_its_rerun_leave_the_outputs_of_a_run_without_them(tmp_path):
    inputs = tmp_path / "in"
    copy_inputs(sorted(RAW.glob("*.txt")) + DEV_DUMPS[:2], inputs)
    first = tmp_path / "first"
    run_to_end(inputs, first, workers=1)
    changed = inputs / DEV_DUMPS[0].name
    original = changed.read_bytes()
    changed.unlink()  # deleted inputs keep their records
    copy_inputs(DEV_DUMPS[2:3], inputs)  # new, and still there when the run is taken over
    baseline_out = tmp_path / "baseline"
    shutil.copytree(first, baseline_out)
    run_to_end(inputs, baseline_out, workers=1)

    # The killed night also saw a new dump, a spun copy of 001 and a change to a dump; all three are gone
    # before the rerun.
    changed.write_bytes(original.replace("。".encode(), "。\n".encode(), 3))
    gone = [changed, inputs / DEV_DUMPS[3].name, inputs / "repost_of_001.txt"]
    shutil.copy2(DEV_DUMPS[3], gone[1])
    gone[2].write_text((RAW / "001_386c8cc45b7cb5d6.txt").read_text(encoding="utf-8").replace("合法", "合规"),
                       encoding="utf-8")
    out = tmp_path / "killed"
    shutil.copytree(first, out)
    killed, _ = kill_at(inputs, out, changes(lambda: file_state(out / "duplicates.parquet")), workers=1)
    assert killed and committed_runs(out) == committed_runs(first), "the run was to be killed before its commit"
    written = pq.read_table(out / "records.parquet").column("source_path").to_pylist()
    copies = pq.read_table(out / "duplicates.parquet").column("source_path").to_pylist()
    assert gone[1].name in written and "repost_of_001.txt" in copies
    for path in gone:
        path.unlink()
    run_to_end(inputs, out, workers=1)
    assert snapshot(out) == snapshot(baseline_out)
