"""`pipeline schedule`: a crontab line or a systemd service and timer that run the pipeline nightly.

Everything is spelled with absolute paths, so the job runs the same from cron's or systemd's
bare environment as from the shell it was generated in.
"""

from __future__ import annotations

import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

_TIME_RE = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Job:
    command: tuple[str, ...]  # the pipeline executable with its run arguments, absolute paths
    workdir: Path
    out_dir: Path
    hour: int
    minute: int


def parse_time(text: str) -> tuple[int, int]:
    match = _TIME_RE.match(text)
    if not match:
        raise ValueError(f"--at wants HH:MM on a 24-hour clock, not {text!r}")
    return int(match.group(1)), int(match.group(2))


def pipeline_command() -> tuple[str, ...]:
    """The current environment's `pipeline` executable, or this interpreter with `-m pipeline`."""
    script = Path(sys.executable).parent / "pipeline"
    return (str(script),) if script.is_file() else (sys.executable, "-m", "pipeline")


def make_job(input_dir: str, out_dir: str, config_file: Path | None, at: str) -> Job:
    hour, minute = parse_time(at)
    out = Path(out_dir).absolute()
    command = (*pipeline_command(), "run", str(Path(input_dir).absolute()), "--out", str(out))
    if config_file is not None:
        command += ("--config", str(config_file.absolute()))
    return Job(command, Path.cwd(), out, hour, minute)


def cron_line(job: Job) -> str:
    """One crontab line; flock -n skips a night whose previous run still holds the lock (exit 3)."""
    flock = shutil.which("flock") or "flock"
    lock = job.out_dir / ".cron.lock"
    log = job.out_dir / "cron.log"
    words = [flock, "-n", "-E", "3", str(lock), *job.command]
    # the lock and the log live in OUT, which the first run has not created yet
    command = (f"cd {shlex.quote(str(job.workdir))} && mkdir -p {shlex.quote(str(job.out_dir))} && "
               f"{shlex.join(words)} >> {shlex.quote(str(log))} 2>&1")
    # cron turns an unescaped % into a newline
    return f"{job.minute} {job.hour} * * * " + command.replace("%", r"\%")


def systemd_units(job: Job, name: str) -> dict[str, str]:
    """The .service and .timer files by file name."""
    service = "\n".join([
        "[Unit]",
        f"Description=pipeline: clean scraped page dumps into {_specifier_safe(str(job.out_dir))}",
        "",
        "[Service]",
        "Type=oneshot",
        f"WorkingDirectory={_specifier_safe(str(job.workdir))}",
        "ExecStart=" + " ".join(_systemd_word(word) for word in job.command),
        "# exit 1: finished, some inputs could not be read (listed in errors.csv)",
        "SuccessExitStatus=1",
        "Nice=10",
        "",
    ])
    timer = "\n".join([
        "[Unit]",
        f"Description=Run {name}.service every day at {job.hour:02d}:{job.minute:02d}",
        "",
        "[Timer]",
        f"OnCalendar=*-*-* {job.hour:02d}:{job.minute:02d}:00",
        "# a night missed while the machine was off runs at the next boot",
        "Persistent=true",
        f"Unit={name}.service",
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ])
    return {f"{name}.service": service, f"{name}.timer": timer}


def _specifier_safe(text: str) -> str:
    return text.replace("%", "%%")


def _systemd_word(word: str) -> str:
    """Quotes one ExecStart argument the way systemd splits its command line."""
    word = _specifier_safe(word).replace("$", "$$")
    if re.search(r"[\s\"'\\;]", word):
        return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return word
