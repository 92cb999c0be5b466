"""Reads what a run left in its folder (`OUT/runs/<run_id>/`) into plain rows."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from pipeline.outputs import RECORD_SCHEMA
from pipeline.writers.tables import read_csv_rows


LIST_COLUMNS = {f.name for f in RECORD_SCHEMA if pa.types.is_list(f.type)}


class ReportError(ValueError):
    """A run folder that cannot be reported on (missing or unreadable run.json)."""


@dataclass
class RunFiles:
    run_dir: Path
    summary: dict  # run.json
    records: list[dict]  # the records this run added
    duplicates: list[dict]  # the copies this run folded
    removed: list[dict]  # every line this run removed
    errors: list[dict]  # unreadable inputs and pages without an article


def load_run(run_dir: Path) -> RunFiles:
    summary_path = run_dir / "run.json"
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{run_dir} is not a run folder (no run.json)") from None
    except (OSError, ValueError) as err:
        raise ReportError(f"cannot read {summary_path}: {err}") from None
    return RunFiles(
        run_dir=run_dir,
        summary=summary,
        records=read_csv_rows(run_dir / "records.csv", LIST_COLUMNS),
        duplicates=read_csv_rows(run_dir / "duplicates.csv"),
        removed=read_csv_rows(run_dir / "removed.csv"),
        errors=read_csv_rows(run_dir / "errors.csv"),
    )


def find_run_dir(out_dir: Path, run: str | None) -> Path:
    """RUN may be a run id under OUT/runs, a run folder, or nothing for the latest run."""
    if run and (Path(run) / "run.json").is_file():
        return Path(run)
    if not run:
        latest = out_dir / "latest_run"
        if not latest.is_file():
            raise ReportError(f"no finished run in {out_dir} (no latest_run file); run `pipeline run` first")
        run = latest.read_text(encoding="utf-8").strip()
    run_dir = out_dir / "runs" / run
    if not (run_dir / "run.json").is_file():
        known = sorted(p.parent.name for p in (out_dir / "runs").glob("*/run.json"))
        hint = f"; runs in {out_dir}: {', '.join(known[-5:])}" if known else ""
        raise ReportError(f"no run {run!r} in {out_dir / 'runs'}{hint}")
    return run_dir
