"""Command line: thin wrappers that load the config and call the stages."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click

from pipeline.config import Config, ConfigError, load_config
from pipeline.dedup.store import SettingsMismatch
from pipeline.log import LOG_FORMATS, NOTICE, configure_logging, progress_bar, show_progress

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


_STATE_OPTION = click.option("--state", "state_path", type=click.Path(dir_okay=False),
                             help="State store (default OUT/state.sqlite).")
# What overrides the configuration file, for `run` and for `config show`, which prints what a run would use.
_CONFIG_OPTIONS = (
    click.argument("input_dir", required=False, type=click.Path(file_okay=False)),
    click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Output folder (default output/)."),
    _STATE_OPTION,
    click.option("--no-dedup", is_flag=True, help="Keep every record (for debugging the cleaner)."),
    click.option("--workers", type=click.IntRange(0), help="Worker processes (default: every core)."),
    click.option("--config", "config_file", type=click.Path(dir_okay=False), help="TOML config (default ./pipeline.toml)."),
    click.option("--jsonl", is_flag=True, default=None, help="Also write records.jsonl."),
    click.option("--executor", type=click.Choice(["local", "dask"]), help="Where the stages run (default local)."),
    click.option("--scheduler", help="Dask scheduler address for --executor dask, e.g. tcp://10.0.0.5:8786."),
)


def _config_options(command):
    for option in reversed(_CONFIG_OPTIONS):
        command = option(command)
    return command


def _overridden_config(config_file, input_dir, out_dir, state_path, no_dedup, workers, jsonl, executor,
                       scheduler) -> Config:
    return _config(config_file, input_dir=input_dir, out_dir=out_dir, state_path=state_path, workers=workers,
                   dedup_enabled=False if no_dedup else None, jsonl=jsonl, executor=executor, scheduler=scheduler)


def _writable_locations(config: Config) -> None:
    """Makes the output folder and the state store's folder and checks that they take files: a wrong
    --out or --state is then a usage error before the run starts, not a traceback inside it."""
    if config.state_file.is_dir():
        raise click.UsageError(f"the state store {config.state_file} is a folder; --state wants a file")
    for folder, what in ((Path(config.out_dir), "output folder"), (config.state_file.parent, "state store's folder")):
        try:
            folder.mkdir(parents=True, exist_ok=True)
            tempfile.TemporaryFile(dir=folder).close()
        except OSError as err:
            raise click.UsageError(f"cannot use {folder} as the {what}: {err.strerror or err}") from None


@main.command(epilog=EXIT_CODES)
@_config_options
@click.option("--full", is_flag=True, help="Reprocess every input, not only new or changed ones.")
@click.option("--log-format", type=click.Choice(LOG_FORMATS), default="text", show_default=True,
              help="Log lines on stderr: readable text, or one JSON object per line.")
@click.option("-v", "--verbose", is_flag=True, help="Also log progress steps (default: warnings and the summary).")
def run(full, log_format, verbose, **options) -> None:
    """Process INPUT_DIR (default raw/) into OUT (default output/)."""
    from pipeline.executors.dask import DaskError
    from pipeline.run import EXIT_LOCKED, LockHeld, Run

    log = configure_logging(log_format, verbose)
    config = _overridden_config(**options)
    try:
        with progress_bar(show_progress(log_format)) as progress:
            pipeline_run = Run(config, full=full, progress=progress)  # a missing input folder: no output folder made
            _writable_locations(config)
            summary = pipeline_run.execute()
    except (ConfigError, SettingsMismatch, DaskError) as err:
        raise click.UsageError(str(err)) from None
    except LockHeld as err:
        log.error("%s", err)
        sys.exit(EXIT_LOCKED)
    for path in summary.no_article:
        log.warning("%s: no article found", path)
    out = Path(config.out_dir)
    figures = {"run_id": summary.run_id, "inputs_processed": summary.inputs_processed,
               "inputs_unchanged": summary.inputs_unchanged, "records_new": summary.records_new,
               "duplicates_new": summary.duplicates_new, "errors": len(summary.errors),
               "records_total": summary.records_total, "records_csv": str(out / "records.csv"),
               "report": str(out / "runs" / summary.run_id / "report.html"), "exit_code": summary.exit_code}
    log.log(NOTICE, "run %(run_id)s: %(inputs_processed)d input(s) processed, %(inputs_unchanged)d unchanged, "
            "%(records_new)d new record(s), %(duplicates_new)d duplicate(s) folded, %(errors)d error(s); "
            "%(records_total)d record(s) in %(records_csv)s; report %(report)s", figures, extra=figures)
    sys.exit(summary.exit_code)


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--explain", is_flag=True, help="Show every input line with keep/drop and the deciding rule.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="TOML config with site rules.")
def clean(file, explain, config_file) -> None:
    """Print the cleaned article(s) of one dump."""
    from pipeline.clean import clean_page, load_rules
    from pipeline.clean.explain import explain_lines
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
            for line in explain_lines(cleaned.decisions, _rule_width(rules)):
                click.echo(line)
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
@click.argument("run_id", metavar="[RUN]", required=False)
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Output folder (default from config: output/).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="TOML config (default ./pipeline.toml).")
def report(run_id, out_dir, config_file) -> None:
    """Render OUT/runs/RUN/report.html again from the run's files (RUN: a run id or folder; default the latest)."""
    from pipeline.report import ReportError, find_run_dir, write_report

    config = _config(config_file, out_dir=out_dir)
    try:
        click.echo(write_report(find_run_dir(Path(config.out_dir), run_id)))
    except ReportError as err:
        raise click.UsageError(str(err)) from None


@main.command()
@click.argument("target", metavar="RECORD_ID|FILE")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Output folder holding the record (default output/).")
@_STATE_OPTION
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="TOML config with site rules.")
def show(target, out_dir, state_path, config_file) -> None:
    """Print a dump line by line, every line marked KEEP or drop with the rule that decided.

    A record id is looked up in OUT and its source read from the input folder of the run that last
    read it (the state store tells which); the lines that run removed are taken from its removed.csv.
    A FILE is cleaned on its own.
    """
    from pipeline.clean import clean_page, load_rules
    from pipeline.clean.explain import explain_lines
    from pipeline.show import ShowError, find_record, read_page, record_decisions

    config = _config(config_file, out_dir=out_dir, state_path=state_path)
    rules = load_rules(list(config.rules))
    path = Path(target)
    try:
        if path.is_file():
            header = f"# {path}: cleaned on its own"
            decisions = clean_page(read_page(path, path.name), rules).decisions
        else:
            source = find_record(Path(config.out_dir), target, config.state_file)
            header = (f"# record {source.record_id}: {source.source_path} part {source.part}, run {source.run_id}, "
                      f"input {source.input_dir}")
            decisions = record_decisions(Path(config.out_dir), source, rules)
    except ShowError as err:
        raise click.UsageError(str(err)) from None
    click.echo(header)
    for line in explain_lines(decisions, _rule_width(rules)):
        click.echo(line)


@main.command()
@click.argument("input_dir", required=False, type=click.Path(file_okay=False))
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Output folder (default output/).")
@click.option("--config", "config_file", type=click.Path(dir_okay=False), help="TOML config (default ./pipeline.toml).")
@click.option("--cron", is_flag=True, help="Print a crontab line (with flock).")
@click.option("--systemd", is_flag=True, help="Print a systemd service and timer.")
@click.option("--at", "at", default="02:30", show_default=True, help="Time of day, HH:MM.")
@click.option("--name", default="pipeline", show_default=True, help="systemd unit name.")
def schedule(input_dir, out_dir, config_file, cron, systemd, at, name) -> None:
    """Print a nightly schedule for `pipeline run` with the current paths: --cron or --systemd."""
    from pipeline.schedule import cron_line, make_job, systemd_units

    if cron == systemd:
        raise click.UsageError("say --cron or --systemd, one of them")
    config_path = Path(config_file) if config_file else _default_config()
    config = _config(config_file, input_dir=input_dir, out_dir=out_dir)
    try:
        job = make_job(config.input_dir, config.out_dir, config_path, at)
    except ValueError as err:
        raise click.UsageError(str(err)) from None
    if cron:
        click.echo(f"# add with `crontab -e`; the run logs to {job.out_dir / 'cron.log'}")
        click.echo(cron_line(job))
        return
    units = systemd_units(job, name)
    for file_name, text in units.items():
        click.echo(f"# ---- /etc/systemd/system/{file_name}")
        click.echo(text)
    click.echo(f"# then: systemctl daemon-reload && systemctl enable --now {name}.timer")


def _rule_width(rules) -> int:
    return max((len(r.name) for r in rules.all_rules()), default=10)


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
@click.option("--length", type=click.FloatRange(0.1, 20), default=1.0, show_default=True,
              help="Article length multiplier: 1 gives dumps of about 3 KB, 2.5 about the size of real samples.")
@click.option("--dir", "work_dir", type=click.Path(file_okay=False),
              help="Keep the corpus and outputs here (default: a temporary folder, removed afterwards).")
def bench(docs, html_share, workers, baseline_docs, length, work_dir) -> None:
    """Generate a synthetic crawl, run the pipeline on it and print docs/s, memory and the naive baseline."""
    import os
    import tempfile

    from pipeline.bench.harness import bench as run_bench

    workers = workers or os.cpu_count() or 1
    if work_dir:
        Path(work_dir).mkdir(parents=True, exist_ok=True)
        run_bench(Path(work_dir), docs, html_share, workers, baseline_docs, length, echo=click.echo)
        return
    with tempfile.TemporaryDirectory(prefix="pipeline-bench-") as tmp:
        run_bench(Path(tmp), docs, html_share, workers, baseline_docs, length, echo=click.echo)


@main.group(name="config")
def config_group() -> None:
    """Inspect the configuration."""


@config_group.command(name="show")
@_config_options
def config_show(**options) -> None:
    """Print the effective configuration as TOML: the config file with the given options applied, as `run` would."""
    click.echo(_overridden_config(**options).to_toml(), nl=False)
