"""The line-by-line view of the cleaner's decisions, shared by `pipeline clean --explain` and `pipeline show`."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pipeline.model import LineDecision


def explain_lines(decisions: Iterable[LineDecision], rule_width: int = 20) -> Iterator[str]:
    """One line per non-blank input line: number, KEEP or drop, the deciding rule, the text."""
    for d in decisions:
        if not d.text.strip():
            continue
        mark = "KEEP" if d.keep or d.rule == "title" else "drop"
        yield f"{d.line_no:5d} {mark} {d.rule:<{rule_width}} | {d.text.rstrip()}"


def with_recorded_removals(decisions: list[LineDecision], removed: dict[int, str]) -> list[LineDecision]:
    """The decisions as a run recorded them: lines in `removed` (line_no → rule) dropped, every other kept.

    A run's removed.csv lists every line it removed, so it settles lines that depend on the whole
    batch (site template lines), which cleaning one page alone cannot see.
    """
    settled = []
    for d in decisions:
        if d.line_no in removed:
            settled.append(LineDecision(d.line_no, d.text, False, removed[d.line_no], "chrome", d.part))
        elif not d.keep and d.text.strip():
            settled.append(LineDecision(d.line_no, d.text, True, "body", "body", d.part))
        else:
            settled.append(d)
    return settled
