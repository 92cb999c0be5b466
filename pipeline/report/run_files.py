"""Reads what a run left in its folder (`OUT/runs/<run_id>/`) into plain rows."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from pipeline.writers.tables import FORMULA_RE, read_csv_rows, restore

# The record columns the report shows or counts: never the answers, which hold most of the bytes.
RECORD_COLUMNS = {"title": str, "site": str, "source_path": str, "char_count": int, "removed_ratio": float,
                  "flags": str, "tags": str}


class ReportError(ValueError):
    """A run folder that cannot be reported on (missing or unreadable run.json)."""


@dataclass
class RunFiles:
    run_dir: Path
    summary: dict  # run.json
    records: pd.DataFrame  # the records this run added, RECORD_COLUMNS only; lists still joined with `;`
    duplicates: pd.DataFrame  # the copies this run folded: canonical_record_id, canonical_source_path, similarity
    removed_by_rule: Counter  # lines this run removed, by rule
    removal_examples: dict[str, str]  # the first line each rule removed
    errors: list[dict]  # unreadable inputs and pages without an article


def load_run(run_dir: Path) -> RunFiles:
    summary_path = run_dir / "run.json"
    try:
        summary = json.loads(summary_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ReportError(f"{run_dir} is not a run folder (no run.json)") from None
    except (OSError, ValueError) as err:
        raise ReportError(f"cannot read {summary_path}: {err}") from None
    if "removal_examples" in summary:
        by_rule, examples = Counter(summary["removed_by_rule"]), summary["removal_examples"]
    else:  # a run folder from before run.json kept them
        by_rule, examples = _removals(run_dir / "removed.csv")
    return RunFiles(
        run_dir=run_dir,
        summary=summary,
        records=_records(run_dir / "records.csv"),
        duplicates=_duplicates(run_dir / "duplicates.csv"),
        removed_by_rule=by_rule,
        removal_examples=examples,
        errors=read_csv_rows(run_dir / "errors.csv"),
    )


def _records(path: Path) -> pd.DataFrame:
    return _csv_columns(path, RECORD_COLUMNS)


def _duplicates(path: Path) -> pd.DataFrame:
    """The columns the report groups copies by: a large run folds hundreds of thousands."""
    return _csv_columns(path, {"canonical_record_id": str, "canonical_source_path": str, "similarity": float})


def _csv_columns(path: Path, columns: dict[str, type]) -> pd.DataFrame:
    """Some columns of a CSV written here, of the given types, the text restored; none if it is missing."""
    if not path.exists():
        return pd.DataFrame({name: pd.Series(dtype=kind) for name, kind in columns.items()})
    # Arrow's reader converts only these columns (pandas' parses every answer into a string first): at a
    # million records, seconds instead of a quarter of a minute.
    table = pa_csv.read_csv(
        path, parse_options=pa_csv.ParseOptions(newlines_in_values=True),
        convert_options=pa_csv.ConvertOptions(include_columns=list(columns), strings_can_be_null=False,
                                              column_types=dict.fromkeys(columns, pa.string())),
    )
    frame = pa.table([_restored(table.column(name)) if kind is str else table.column(name)
                      for name, kind in columns.items()], names=list(columns)).to_pandas()
    for name, kind in columns.items():
        if kind is not str:
            frame[name] = frame[name].astype(kind)
    return frame


def _restored(cells: pa.ChunkedArray) -> pa.ChunkedArray:
    """The cells without the apostrophe that neutralized formula-like text for Excel (in Arrow: pandas'
    replace calls Python per cell)."""
    return pc.replace_substring_regex(cells, f"^'({FORMULA_RE[1:]})", r"\1")


def _removals(path: Path) -> tuple[Counter, dict[str, str]]:
    """Lines removed per rule and each rule's first line, read in column batches: a large run removes
    millions of lines, more than it is worth holding as rows."""
    by_rule: Counter = Counter()
    examples: dict[str, str] = {}
    if not path.exists():
        return by_rule, examples
    options = pa_csv.ConvertOptions(include_columns=["rule", "text"], strings_can_be_null=False,
                                    column_types={"rule": pa.string(), "text": pa.string()})
    for batch in pa_csv.open_csv(path, convert_options=options):
        rules = batch.column(0)
        counts = pc.value_counts(rules)
        for rule, count in zip(counts.field("values").to_pylist(), counts.field("counts").to_pylist()):
            by_rule[rule] += count
            if rule not in examples:
                examples[rule] = restore(batch.column(1)[pc.index(rules, rule).as_py()].as_py())
    return by_rule, examples


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
