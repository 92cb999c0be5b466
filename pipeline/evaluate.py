"""Cleaning quality against gold bodies: character-bigram precision/recall/F1 per document.

The metric is the brief's: all whitespace removed from output and gold, character bigrams counted
as multisets, per-document scores, then the mean over documents.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.clean import clean_page, load_rules
from pipeline.clean.dom import trafilatura_body
from pipeline.clean.templates import learn_template_keys
from pipeline.model import Page
from pipeline.readers.discover import read_source
from pipeline.textnorm import char_bigrams


@dataclass
class Score:
    precision: float
    recall: float
    f1: float


@dataclass
class DocScore:
    name: str
    scores: dict[str, Score] = field(default_factory=dict)  # system name → score


def score(output: str, gold: str) -> Score:
    out, ref = Counter(char_bigrams(output)), Counter(char_bigrams(gold))
    if not out and not ref:
        return Score(1.0, 1.0, 1.0)
    common = sum((out & ref).values())
    precision = common / sum(out.values()) if out else (1.0 if not ref else 0.0)
    recall = common / sum(ref.values()) if ref else (1.0 if not out else 0.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return Score(precision, recall, f1)


def _input_dir(gold_dir: Path) -> Path:
    for name in ("dumps", "pages"):
        if (gold_dir / name).is_dir():
            return gold_dir / name
    raise ValueError(f"{gold_dir} has no dumps/ or pages/ folder beside gold/")


def evaluate_dir(gold_dir: Path, baseline: bool = False, rules=None) -> list[DocScore]:
    inputs, golds = _input_dir(gold_dir), gold_dir / "gold"
    if not golds.is_dir():
        raise ValueError(f"{gold_dir} has no gold/ folder")
    rules = rules or load_rules()
    pages: list[tuple[str, Page]] = []
    for path in sorted(inputs.iterdir()):
        gold_path = golds / (path.stem + ".txt")
        if not gold_path.exists():
            continue
        for item in read_source(path, path.name):
            if isinstance(item, Page):
                pages.append((path.stem, item))
                break
    template_keys = learn_template_keys(page.text for _, page in pages)
    report = []
    for name, page in pages:
        gold = (golds / (name + ".txt")).read_text(encoding="utf-8")
        cleaned = clean_page(page, rules, template_keys)
        doc = DocScore(name, {"pipeline": score("\n".join(a.body for a in cleaned.articles), gold)})
        if baseline:
            doc.scores["keep-all"] = score(page.text, gold)
            if page.html is not None:
                doc.scores["trafilatura"] = score(trafilatura_body(page.html), gold)
        report.append(doc)
    return report


def mean(report: list[DocScore], system: str) -> Score:
    rows = [d.scores[system] for d in report if system in d.scores]
    if not rows:
        return Score(0.0, 0.0, 0.0)
    return Score(*(sum(getattr(r, k) for r in rows) / len(rows) for k in ("precision", "recall", "f1")))


def format_report(report: list[DocScore], quiet: bool = False) -> str:
    systems = list(dict.fromkeys(s for d in report for s in d.scores))
    lines = []
    if not quiet:
        # a system's precision column is as wide as its heading (`trafilatura P`), with a space before it
        widths = {s: max(11, len(s) + 2) for s in systems}
        header = f"{'document':<40}" + "".join(f" {s + ' P':>{widths[s]}}{'R':>7}{'F1':>7}" for s in systems)
        lines.append(header)
        for d in report:
            cells = "".join(f" {d.scores[s].precision:>{widths[s]}.3f}{d.scores[s].recall:>7.3f}{d.scores[s].f1:>7.3f}"
                            for s in systems)
            lines.append(f"{d.name[:40]:<40}{cells}")
    for s in systems:
        m = mean(report, s)
        lines.append(f"mean {s} ({len(report)} documents): precision {m.precision:.3f} recall {m.recall:.3f} F1 {m.f1:.3f}")
    return "\n".join(lines)
