"""One configuration dataclass, loaded from TOML and overridden from the command line."""

from __future__ import annotations

import hashlib
import json
import os
import tomllib
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from pipeline.clean import load_rules
from pipeline.dedup.fold import DedupSettings


class ConfigError(ValueError):
    """A configuration the user must fix (exit code 2)."""


@dataclass(frozen=True)
class Config:
    input_dir: str = "raw"
    out_dir: str = "output"
    state_path: str = ""  # empty: <out_dir>/state.sqlite
    workers: int = 0  # 0: every core
    executor: str = "local"  # local (this machine) or dask (an existing cluster at `scheduler`)
    scheduler: str = ""
    dedup_enabled: bool = True
    jsonl: bool = False
    template_min_pages: int = 3
    keyword_count: int = 8
    dedup: DedupSettings = field(default_factory=DedupSettings)
    rules: tuple[dict, ...] = ()  # site rules, same fields as pipeline/data/rules.toml
    taxonomy: dict = field(default_factory=dict)  # extra tags: name → terms

    @property
    def state_file(self) -> Path:
        return Path(self.state_path) if self.state_path else Path(self.out_dir) / "state.sqlite"

    @property
    def worker_count(self) -> int:
        return self.workers if self.workers > 0 else (os.cpu_count() or 1)

    def content_hash(self) -> str:
        """Hash of the settings that change what a page becomes (not paths or worker counts)."""
        relevant = {k: v for k, v in asdict(self).items() if k not in _PLACEMENT}
        return hashlib.sha1(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[:12]

    def to_toml(self) -> str:
        lines = ["[run]"]
        for name in sorted(_SECTIONS["run"], key=list(asdict(self)).index):
            lines.append(f"{name} = {_toml_value(getattr(self, name))}")
        lines += ["", "[cleaner]", f"template_min_pages = {self.template_min_pages}"]
        for rule in self.rules:
            lines += ["", "[[cleaner.rules]]"] + [f"{k} = {_toml_value(v)}" for k, v in rule.items()]
        lines += ["", "[dedup]"] + [f"{k} = {_toml_value(v)}" for k, v in asdict(self.dedup).items()]
        lines += ["", "[records]", f"keyword_count = {self.keyword_count}"]
        if self.taxonomy:
            lines += ["", "[records.taxonomy]"] + [f"{json.dumps(k, ensure_ascii=False)} = {_toml_value(v)}"
                                                   for k, v in self.taxonomy.items()]
        return "\n".join(lines) + "\n"


# Where and how a run executes, not what a page becomes: changing these never reprocesses inputs.
EXECUTORS = ("local", "dask")
_PLACEMENT = ("input_dir", "out_dir", "state_path", "workers", "executor", "scheduler")


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


_SECTIONS = {
    "run": {"input_dir", "out_dir", "state_path", "workers", "executor", "scheduler", "dedup_enabled", "jsonl"},
    "cleaner": {"template_min_pages", "rules"},
    "dedup": {f.name for f in fields(DedupSettings)},
    "records": {"keyword_count", "taxonomy"},
}


# The allowed values of the keys that have limits: a test, and the range as an error message says it.
_RANGES = {
    "workers": (lambda n: n >= 0, "0 or more (0: every core)"),
    "template_min_pages": (lambda n: n >= 1, "1 or more"),
    "keyword_count": (lambda n: n >= 0, "0 or more"),
    "ngram": (lambda n: n >= 1, "1 or more"),
    "num_perm": (lambda n: n >= 1, "1 or more"),
    "threshold": (lambda x: 0 < x <= 1, "within (0, 1]"),
}
_TYPE_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string",
               tuple: "an array of tables", dict: "a table"}


def load_config(path: Path | None, **overrides) -> Config:
    """Reads a TOML file (if given), applies the non-None overrides and checks the result."""
    config = Config()
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as err:
            raise ConfigError(f"cannot read config {path}: {err.strerror or err}") from None
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"config {path} is not valid TOML: {err}") from None
        config = _apply(config, data, path)
    values = {k: v for k, v in overrides.items() if v is not None}
    config = replace(config, **values)
    _check(config, f"{path}: " if path is not None else "")
    return config


def _apply(config: Config, data: dict, path: Path) -> Config:
    unknown = set(data) - set(_SECTIONS)
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {sorted(unknown)}; known: {sorted(_SECTIONS)}")
    values: dict = {}
    for section, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [{section}] must be a table")
        bad = set(table) - _SECTIONS[section]
        if bad:
            raise ConfigError(f"{path}: unknown key(s) {sorted(bad)} in [{section}]; known: {sorted(_SECTIONS[section])}")
        defaults = config.dedup if section == "dedup" else config
        typed = {name: _typed(f"{path}: [{section}] {name}", value, getattr(defaults, name))
                 for name, value in table.items()}
        if section == "dedup":
            values["dedup"] = replace(config.dedup, **typed)
        else:
            values.update(typed)
    return replace(config, **values)


def _typed(key: str, value, default):
    """value, of the type of the key's default; an integer serves where a number is wanted."""
    expected = type(default)
    if expected is float and type(value) is int:
        return float(value)
    if expected is tuple and type(value) is list:
        return tuple(value)
    if type(value) is not expected:
        raise ConfigError(f"{key} must be {_TYPE_NAMES[expected]}, not {value!r}")
    return value


def _check(config: Config, where: str) -> None:
    """The checks a key's type cannot make: ranges, the executor, site rules and the taxonomy.
    A run finds a bad value only after it has started, and `pipeline config show` never would."""
    sections = {name: section for section, names in _SECTIONS.items() for name in names}
    for name, (allowed, says) in _RANGES.items():
        value = getattr(config.dedup if sections[name] == "dedup" else config, name)
        if not allowed(value):
            raise ConfigError(f"{where}[{sections[name]}] {name} must be {says}, not {value!r}")
    if config.executor not in EXECUTORS:
        raise ConfigError(f"executor must be one of {', '.join(EXECUTORS)}, not {config.executor!r}")
    try:
        load_rules(list(config.rules))
    except ValueError as err:
        raise ConfigError(f"{where}[[cleaner.rules]] {err}") from None
    for tag, terms in config.taxonomy.items():
        if type(terms) is not list or not all(type(term) is str for term in terms):
            raise ConfigError(f"{where}[records.taxonomy] {tag} must be an array of strings (its terms), not {terms!r}")
