"""Renders a run folder into `report.html`: counts, charts, tables. No script, no network.

Every string that comes from a page (titles, sites, tags, paths, removed lines, error reasons) passes
through `escape` before it reaches the page; the Content-Security-Policy blocks scripts and remote
loads as a second line of defence.
"""

from __future__ import annotations

from collections import Counter
from html import escape
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

from pipeline.clean import load_rules
from pipeline.report.charts import bar_chart, histogram
from pipeline.report.run_files import RunFiles, load_run
from pipeline.writers.atomic import write_text
from pipeline.writers.tables import LIST_SEPARATOR

TOP_TAGS = 20
TOP_RULES = 30
TOP_CLUSTERS = 10
RECORD_ROWS = 100
EXAMPLE_CHARS = 90

_COUNTS = [
    ("inputs_seen", "inputs seen"), ("inputs_processed", "inputs processed"), ("inputs_unchanged", "inputs unchanged"),
    ("pages", "pages cleaned"), ("records_new", "new records"), ("duplicates_new", "duplicates folded"),
    ("records_total", "records in total"), ("removed_lines", "lines removed"),
]

_STYLE = """
body { font-family: system-ui, "Noto Sans CJK SC", "WenQuanYi Micro Hei", "PingFang SC", "Microsoft YaHei", sans-serif;
       margin: 2rem auto; max-width: 1100px; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; margin-bottom: .2rem; } h2 { font-size: 1.15rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
.meta { color: #555; font-size: .9rem; } .note { color: #666; font-size: .85rem; }
.counts { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: .6rem; }
.count { background: #f3f6fa; border-radius: 6px; padding: .6rem .8rem; }
.count b { display: block; font-size: 1.4rem; } .count.bad b { color: #b3261e; }
table { border-collapse: collapse; font-size: .85rem; margin: .5rem 0; }
th, td { border-bottom: 1px solid #e4e4e4; padding: .25rem .6rem; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; } th { background: #fafafa; }
td.text { max-width: 38rem; overflow-wrap: break-word; }
svg.chart { max-width: 100%; height: auto; font-size: 12px; } svg.chart text { fill: #333; }
svg.chart .tick { font-size: 11px; } svg.chart .axis { font-size: 12px; fill: #555; }
"""


def write_report(run_dir: Path) -> Path:
    """Renders the run folder's files into run_dir/report.html and returns its path."""
    target = run_dir / "report.html"
    write_text(target, render_report(load_run(run_dir)))
    return target


def render_report(run: RunFiles) -> str:
    summary = run.summary
    run_id = str(summary.get("run_id", run.run_dir.name))
    sections = [
        _header(summary, run_id),
        _counts(run),
        _removal_reasons(run),
        _removed_share(run),
        _duplicate_clusters(run),
        _top_tags(run),
        _sites(run),
        _records(run),
        _errors(run),
        _timings(summary),
    ]
    return (
        "<!DOCTYPE html>\n<html lang=\"zh\"><head><meta charset=\"utf-8\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
        f"<title>pipeline run {escape(run_id)}</title><style>{_STYLE}</style></head>\n<body>\n"
        + "\n".join(sections) + "\n</body></html>\n"
    )


def _header(summary: dict, run_id: str) -> str:
    facts = [("started", summary.get("started_at")), ("finished", summary.get("finished_at")),
             ("input", summary.get("input_dir")), ("output", summary.get("out_dir")),
             ("config", summary.get("config_hash")), ("exit code", summary.get("exit_code"))]
    line = " · ".join(f"{escape(name)} {escape(str(value))}" for name, value in facts if value not in (None, ""))
    return f"<h1>Run {escape(run_id)}</h1><p class=\"meta\">{line}</p>"


def _counts(run: RunFiles) -> str:
    summary = run.summary
    cards = [(label, summary.get(key, 0), False) for key, label in _COUNTS]
    unreadable = len(summary.get("errors", []))
    no_article = len(summary.get("no_article", []))
    cards += [("unreadable inputs", unreadable, unreadable > 0), ("pages without article", no_article, no_article > 0)]
    body = "".join(f"<div class=\"count{' bad' if bad else ''}\"><b>{escape(f'{value:,}')}</b>{escape(label)}</div>"
                   for label, value, bad in cards)
    return f"<h2>Counts</h2><div class=\"counts\">{body}</div>"


def _removal_reasons(run: RunFiles) -> str:
    if not run.removed_by_rule:
        return _section("Removal reasons", "<p>No line was removed.</p>")
    reasons = {rule.name: rule.reason for rule in load_rules().all_rules()}
    top = run.removed_by_rule.most_common(TOP_RULES)
    chart = bar_chart([(rule, count) for rule, count in top], "removed lines by rule")
    table = _table(["rule", "lines", "why", "example"],
                   [[rule, count, reasons.get(rule, "site rule from the configuration"),
                     _clip(run.removal_examples.get(rule, ""))] for rule, count in top])
    return _section("Removal reasons", chart + table, "Lines removed by each rule (all pages of this run).")


def _removed_share(run: RunFiles) -> str:
    counts = run.summary.get("removed_share_histogram") or []
    if not sum(counts):
        return _section("Share of each page removed", "<p>No page was cleaned in this run.</p>")
    width = 100 // len(counts)
    bins = [(f"{k * width}–{(k + 1) * width}%", count) for k, count in enumerate(counts)]
    note = f"{sum(counts):,} pages, by the share of their non-blank lines that the cleaner removed."
    return _section("Share of each page removed", histogram(bins, "pages by share removed", "lines removed"), note)


def _duplicate_clusters(run: RunFiles) -> str:
    if run.duplicates.empty:
        return _section("Duplicate clusters", "<p>No copy was folded in this run.</p>")
    clusters = run.duplicates.groupby("canonical_record_id", sort=False).agg(
        kept_from=("canonical_source_path", "first"), copies=("similarity", "size"), lowest=("similarity", "min"))
    sizes = Counter((clusters["copies"] + 1).tolist())
    chart = bar_chart([(f"{size} pages", count) for size, count in sorted(sizes.items())], "clusters by size")
    largest = clusters.reset_index().sort_values(["copies", "canonical_record_id"], ascending=[False, True])
    table = _table(["kept record", "kept from", "copies folded", "lowest similarity"],
                   [[record_id, kept_from, int(copies), float(lowest)]
                    for record_id, kept_from, copies, lowest in largest.head(TOP_CLUSTERS).itertuples(index=False)])
    return _section("Duplicate clusters", chart + table,
                    "Cluster size: the kept record plus the copies this run folded into it.")


def _top_tags(run: RunFiles) -> str:
    cells = pa.array(run.records["tags"], pa.string())
    counted = pc.value_counts(pc.list_flatten(pc.split_pattern(cells.filter(pc.not_equal(cells, "")), LIST_SEPARATOR)))
    tags = Counter(dict(zip(counted.field("values").to_pylist(), counted.field("counts").to_pylist())))
    if not tags:
        return _section("Top tags", "<p>No new record carries a tag.</p>")
    return _section("Top tags", bar_chart(tags.most_common(TOP_TAGS), "new records by tag"),
                    f"The {min(TOP_TAGS, len(tags))} most frequent tags of the new records.")


def _sites(run: RunFiles) -> str:
    if run.records.empty:
        return _section("Sites", "<p>No new record.</p>")
    records = run.records.assign(site=run.records["site"].replace("", "(unknown)"), flagged=run.records["flags"] != "")
    sites = records.groupby("site").agg(records=("site", "size"), chars=("char_count", "median"),
                                        removed=("removed_ratio", "mean"), flagged=("flagged", "sum"))
    sites = sites.reset_index().sort_values(["records", "site"], ascending=[False, True])
    rows = [[site, int(count), int(chars), f"{removed:.0%}", int(flagged)]
            for site, count, chars, removed, flagged in sites.itertuples(index=False)]
    return _section("Sites", _table(["site", "new records", "median answer chars", "mean share removed",
                                     "flagged records"], rows))


def _records(run: RunFiles) -> str:
    if run.records.empty:
        return _section("New records", "<p>No new record.</p>")
    first = run.records.head(RECORD_ROWS)
    rows = [[title, site, source, int(chars), flags.replace(LIST_SEPARATOR, ", ")] for title, site, source, chars, flags
            in first[["title", "site", "source_path", "char_count", "flags"]].itertuples(index=False)]
    note = f"The first {len(rows)} of {len(run.records):,}." if len(run.records) > len(rows) else ""
    return _section("New records", _table(["title", "site", "source", "answer chars", "flags"], rows), note)


def _errors(run: RunFiles) -> str:
    if not run.errors:
        return _section("Errors", "<p>No error.</p>")
    return _section("Errors", _table(["input", "problem"], [[e["source_path"], e["reason"]] for e in run.errors]))


def _timings(summary: dict) -> str:
    slowest = _table(["input", "seconds"], [[s["source_path"], s["seconds"]] for s in summary.get("slowest", [])])
    stages = _table(["stage", "seconds"], [[name, seconds] for name, seconds in summary.get("stage_seconds", {}).items()])
    return _section("Slowest files", slowest) + _section("Time per stage", stages)


def _section(title: str, body: str, note: str = "") -> str:
    note_html = f"<p class=\"note\">{escape(note)}</p>" if note else ""
    anchor = title.lower().replace(" ", "-")
    return f"<section id=\"{escape(anchor)}\"><h2>{escape(title)}</h2>{note_html}{body}</section>"


def _table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(value) for value in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _cell(value) -> str:
    if isinstance(value, (int, float)):
        return f"<td class=\"num\">{escape(f'{value:,}')}</td>"
    return f"<td class=\"text\">{escape(str(value))}</td>"


def _clip(text: str) -> str:
    return text if len(text) <= EXAMPLE_CHARS else text[:EXAMPLE_CHARS - 1] + "…"
