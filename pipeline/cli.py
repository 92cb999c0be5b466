"""Command line: thin wrappers that load the config and call the stages."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from pipeline.config import Config, ConfigError, load_config
from pipeline.dedup.store import SettingsMismatch

EXIT_CODES = "Exit codes: 0 ok, 1 finished with per-file errors, 2 usage or config error, 3 another run holds the lock."


def _config(config_file, **overrides) -> Config:
    try:
        return load_config(Path(config_file) if config_file else _default_config(), **overrides)
    except ConfigError as err:
        raise click.UsageError(str(err)) from None


def _default_config() -> Path | None:
    path = Path("pipeline.toml")
    return path if path.is_file() else None


@click.group(epilog=EXIT_CODES)
@click.version_option(package_name="pipeline")
def main() -> None:
    """Clean Chinese content-farm page dumps into clean, tagged Q&A records."""


@main.command(epilog=EXIT_CODES)
@click.argument("input_dir", required=False, type=click.Path(file_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Output folder (default output/).")
@click.option("--state", "state_path", type=click.Path(dir_okay=False), help="State store (default OUT/state.sqlite).")
@click.option("--no-dedup", is_flag=True, help="Keep every record (for debugging the cleaner).")
@click.option("--workers", type=click.IntRange(0), help="Worker processes (default: every core).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="TOML config (default ./pipeline.toml).")
@click.option("--full", is_flag=True, help="Reprocess every input, not only new or changed ones.")
@click.option("--jsonl", is_flag=True, default=None, help="Also write records.jsonl.")
@click.option("--executor", type=click.Choice(["local", "dask"]), help="Where the stages run (default local).")
@click.option("--scheduler", help="Dask scheduler address for --executor dask, e.g. tcp://10.0.0.5:8786.")
def run(input_dir, out_dir, state_path, no_dedup, workers, config_file, full, jsonl, executor, scheduler) -> None:
    """Process INPUT_DIR (default raw/) into OUT (default output/)."""
    from pipeline.executors.dask import DaskError
    from pipeline.run import EXIT_LOCKED, LockHeld, Run

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", stream=sys.stderr)
    config = _config(config_file, input_dir=input_dir, out_dir=out_dir, state_path=state_path,
                     workers=workers, dedup_enabled=False if no_dedup else None, jsonl=jsonl,
                     executor=executor, scheduler=scheduler)
    try:
        summary = Run(config, full=full).execute()
    except ConfigError as err:
        raise click.UsageError(str(err)) from None
    except (SettingsMismatch, DaskError) as err:
        raise click.UsageError(str(err)) from None
    except LockHeld as err:
        click.echo(f"pipeline: {err}", err=True)
        sys.exit(EXIT_LOCKED)
    click.echo(
        f"run {summary.run_id}: {summary.inputs_processed} input(s) processed, {summary.inputs_unchanged} unchanged, "
        f"{summary.records_new} new record(s), {summary.duplicates_new} duplicate(s) folded, "
        f"{len(summary.errors)} error(s); {summary.records_total} record(s) in {config.out_dir}/records.csv",
        err=True,
    )
    for path in summary.no_article:
        click.echo(f"pipeline: {path}: no article found", err=True)
    sys.exit(summary.exit_code)


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--explain", is_flag=True, help="Show every input line with keep/drop and the deciding rule.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="TOML config with site rules.")
def clean(file, explain, config_file) -> None:
    """Print the cleaned article(s) of one dump."""
    from pipeline.clean import clean_page, load_rules
    from pipeline.model import PageError
    from pipeline.readers import read_source

    config = _config(config_file)
    rules = load_rules(list(config.rules))
    path = Path(file)
    failed = False
    for item in read_source(path, path.name):
        if isinstance(item, PageError):
            click.echo(f"pipeline: {item.source_path}: {item.reason}", err=True)
            failed = True
            continue
        cleaned = clean_page(item, rules)
        if explain:
            width = max((len(r.name) for r in rules.all_rules()), default=10)
            for d in cleaned.decisions:
                if not d.text.strip():
                    continue
                mark = "KEEP" if d.keep or d.rule == "title" else "drop"
                click.echo(f"{d.line_no:5d} {mark} {d.rule:<{width}} | {d.text.rstrip()}")
            continue
        if not cleaned.articles:
            click.echo(f"pipeline: {item.source_path}: no article found", err=True)
        for article in cleaned.articles:
            if len(cleaned.articles) > 1:
                click.echo(f"--- part {article.part}")
            click.echo(f"# {article.title}\n" if article.title else "", nl=False)
            click.echo(article.body)
    sys.exit(1 if failed else 0)


@main.command()
def rules() -> None:
    """List every rule of the cleaner with its reason."""
    from pipeline.clean import load_rules

    config = _config(None)
    for rule in load_rules(list(config.rules)).all_rules():
        kind = "line" if rule.pattern else "shape"
        click.echo(f"{rule.name:<20} {kind:<5} {rule.reason}")


@main.command(name="eval")
@click.argument("gold_dir", type=click.Path(exists=True, file_okay=False))
@click.option("--baseline", is_flag=True, help="Also score the keep-everything baseline (and trafilatura on HTML).")
@click.option("--quiet", is_flag=True, help="Print only the mean scores.")
def evaluate(gold_dir, baseline, quiet) -> None:
    """Score the cleaner against gold bodies: GOLD_DIR holds dumps/ (or pages/) and gold/."""
    from pipeline.evaluate import evaluate_dir, format_report

    try:
        report = evaluate_dir(Path(gold_dir), baseline=baseline)
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    click.echo(format_report(report, quiet=quiet))


@main.command()
@click.option("--docs", type=click.IntRange(100), default=10_000, show_default=True, help="Documents to generate.")
@click.option("--html-share", type=click.FloatRange(0, 1), default=0.1, show_default=True, help="Share of HTML pages.")
@click.option("--workers", type=click.IntRange(1), help="Worker processes (default: every core).")
@click.option("--baseline-docs", type=click.IntRange(10), default=300, show_default=True,
              help="Documents the naive baseline processes (it is slow).")
@click.option("--dir", "work_dir", type=click.Path(file_okay=False),
              help="Keep the corpus and outputs here (default: a temporary folder, removed afterwards).")
def bench(docs, html_share, workers, baseline_docs, work_dir) -> None:
    """Generate a synthetic crawl, run the pipeline on it and print docs/s, memory and the naive baseline."""
    import os
    import tempfile

    from pipeline.bench.harness import bench as run_bench

    workers = workers or os.cpu_count() or 1
    if work_dir:
        Path(work_dir).mkdir(parents=True, exist_ok=True)
        run_bench(Path(work_dir), docs, html_share, workers, baseline_docs, echo=click.echo)
        return
    with tempfile.TemporaryDirectory(prefix="pipeline-bench-") as tmp:
        run_bench(Path(tmp), docs, html_share, workers, baseline_docs, echo=click.echo)


@main.group(name="config")
def config_group() -> None:
    """Inspect the configuration."""


@config_group.command(name="show")
@click.option("--config", "config_file", type=click.Path(dir_okay=False))
def config_show(config_file) -> None:
    """Print the effective configuration as TOML."""
    click.echo(_config(config_file).to_toml(), nl=False)
