"""`pipeline show`: find where a record came from and replay the cleaner's decisions on its page."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq

from pipeline.clean import RuleSet, clean_page
from pipeline.clean.explain import with_recorded_removals
from pipeline.dedup.store import last_run_of
from pipeline.model import LineDecision, Page, PageError
from pipeline.readers import input_of, read_source
from pipeline.writers.tables import read_csv_rows


class ShowError(LookupError):
    """A record or source that cannot be found (exit code 2)."""


@dataclass
class RecordSource:
    record_id: str
    source_path: str  # relative to the input folder; `file#N` inside an archive
    part: int
    run_id: str  # the run that last read the record's input
    input_dir: Path


def find_record(out_dir: Path, record_id: str, state_file: Path) -> RecordSource:
    """Looks the id up among the kept records, then among the folded copies, of OUT."""
    for table, run_column in (("records.parquet", "first_seen_run"), ("duplicates.parquet", "run_id")):
        path = out_dir / table
        if not path.exists():
            continue
        rows = pq.read_table(path, columns=["record_id", "source_path", "part", run_column],
                             filters=[("record_id", "==", record_id)]).to_pylist()
        if rows:
            row = rows[0]
            # A record that came out the same from a changed input keeps its first_seen_run, but the line
            # numbers of removed.csv are those of the input as the run that last read it saw it.
            try:
                run_id = last_run_of(state_file, input_of(row["source_path"])) or row[run_column]
            except sqlite3.Error as err:
                raise ShowError(f"cannot read the state store {state_file}: {err}") from None
            return RecordSource(record_id, row["source_path"], row["part"], run_id, _input_dir(out_dir, run_id))
    if not (out_dir / "records.parquet").exists():
        raise ShowError(f"{record_id} is neither a file nor a record: {out_dir} holds no records.parquet")
    raise ShowError(f"{record_id} is neither a file nor a record id in {out_dir}/records.parquet "
                    "or duplicates.parquet")


def _input_dir(out_dir: Path, run_id: str) -> Path:
    for run_dir in (out_dir / "runs" / run_id, out_dir / "runs" / _latest(out_dir)):
        try:
            return Path(json.loads((run_dir / "run.json").read_text(encoding="utf-8"))["input_dir"])
        except (OSError, ValueError, KeyError):
            continue
    raise ShowError(f"cannot tell the input folder of run {run_id}: no readable run.json in {out_dir}/runs")


def _latest(out_dir: Path) -> str:
    latest = out_dir / "latest_run"
    return latest.read_text(encoding="utf-8").strip() if latest.is_file() else ""


def read_page(file: Path, source_path: str, input_dir: Path | None = None) -> Page:
    """The page called source_path inside file (an archive holds several)."""
    base = input_of(source_path)
    for item in read_source(file, base, input_dir):
        if item.source_path != source_path:
            continue
        if isinstance(item, PageError):
            raise ShowError(f"{source_path}: {item.reason}")
        return item
    raise ShowError(f"{file} holds no page {source_path}")


def record_decisions(out_dir: Path, source: RecordSource, rules: RuleSet) -> list[LineDecision]:
    """The record's page cleaned again, settled by what the run that last read its input recorded in removed.csv."""
    file = source.input_dir / input_of(source.source_path)
    if not file.is_file():
        raise ShowError(f"the source of {source.record_id}, {file}, is gone (moved or deleted since run {source.run_id})")
    decisions = clean_page(read_page(file, source.source_path, source.input_dir), rules).decisions
    recorded = out_dir / "runs" / source.run_id / "removed.csv"
    if not recorded.exists():
        return decisions
    removed = {int(row["line_no"]): row["rule"] for row in read_csv_rows(recorded)
               if row["source_path"] == source.source_path}
    return with_recorded_removals(decisions, removed)
