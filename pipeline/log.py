"""Logging set-up for the command line: readable lines or JSON lines on stderr, a progress bar on a terminal.

Quiet by default so that cron mails only what matters: warnings, and the one summary line per run,
which is logged at NOTICE (between INFO and WARNING). `--verbose` adds the INFO lines.
"""

from __future__ import annotations

import json
import logging
import sys
from contextlib import contextmanager
from datetime import datetime, timezone

NOTICE = 25
logging.addLevelName(NOTICE, "NOTICE")
LOG_FORMATS = ("text", "json")
_STANDARD_ATTRIBUTES = set(vars(logging.LogRecord("", 0, "", 0, "", (), None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and any `extra=` fields of the call."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRIBUTES})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """`pipeline: message`, with the level named for warnings and errors."""

    def format(self, record: logging.LogRecord) -> str:
        level = f"{record.levelname.lower()}: " if record.levelno >= logging.WARNING else ""
        text = f"pipeline: {level}{record.getMessage()}"
        return text + "\n" + self.formatException(record.exc_info) if record.exc_info else text


def configure_logging(log_format: str = "text", verbose: bool = False) -> logging.Logger:
    """Sends the `pipeline` logger to stderr in the chosen format; returns that logger."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter())
    logger = logging.getLogger("pipeline")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO if verbose else NOTICE)
    logger.propagate = False
    return logger


def show_progress(log_format: str) -> bool:
    """A bar only for a person at a terminal: never under cron, in a pipe or with JSON logs."""
    return log_format == "text" and sys.stderr.isatty()


@contextmanager
def progress_bar(enabled: bool, unit: str = "page"):
    """Yields a callback taking a count of finished items; log lines print above the bar, not through it."""
    if not enabled:
        yield None
        return
    from tqdm import tqdm
    from tqdm.contrib.logging import logging_redirect_tqdm

    with tqdm(unit=unit, file=sys.stderr) as bar, \
            logging_redirect_tqdm(loggers=[logging.getLogger("pipeline")]):
        yield bar.update
