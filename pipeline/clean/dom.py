"""What HTML markup adds to the cleaner: DOM evidence per line (absent for text dumps).

The reader (pipeline/readers/html.py) records for every line the share of link text, the heading
level, list membership and the page-furniture element (nav, header, footer, aside) around it. The
cleaner asks the questions below; a text dump has no evidence and is cleaned by its text alone.
When that finds no article in an HTML page, trafilatura's extraction of the page is the fallback.
"""

from __future__ import annotations

from collections.abc import Iterator

from trafilatura import extract

from pipeline.model import BlockEvidence

LINK_LIST_MIN_DENSITY = 0.6  # share of a line's characters inside <a>
LINK_LIST_MIN_LINES = 2
# added to a title candidate's score when it is a heading that shares the body's vocabulary
HEADING_TITLE_BONUS = {1: 1.0, 2: 0.3, 3: 0.3}
HEADING_MIN_OVERLAP = 0.2


def is_furniture(evidence: BlockEvidence) -> bool:
    """A line inside nav, footer, aside or the page header; a heading in the page header may be the title."""
    return bool(evidence.container) and not (evidence.container == "header" and evidence.heading)


def title_bonus(evidence: BlockEvidence | None, overlap: float) -> float:
    """An <h1>–<h3> near the top is the title candidate, unless it names something else (a logo, a
    box heading) or is an item of a list (related-article lists mark their titles up as headings)."""
    if evidence is None or evidence.in_list or overlap < HEADING_MIN_OVERLAP:
        return 0.0
    return HEADING_TITLE_BONUS.get(evidence.heading, 0.0)


def is_link_line(evidence: BlockEvidence | None) -> bool:
    return evidence is not None and evidence.link_density >= LINK_LIST_MIN_DENSITY


def link_dense_runs(lines) -> Iterator[list]:
    """Runs of kept lines that are mostly link text; blank and dropped lines do not break a run.

    `lines` are the cleaner's lines in order (with .decision and .evidence).
    """
    run: list = []
    for line in lines:
        if line.decision != "body":
            continue
        if is_link_line(line.evidence):
            run.append(line)
            continue
        if len(run) >= LINK_LIST_MIN_LINES:
            yield run
        run = []
    if len(run) >= LINK_LIST_MIN_LINES:
        yield run


def trafilatura_body(html: str) -> str:
    """The article text trafilatura extracts from a page, paragraphs one per line ("" when it finds none)."""
    return extract(html, include_comments=False, include_tables=True) or ""
