"""Plain records passed between stages. Every stage is a function of these."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BlockEvidence:
    """What the markup says about one line of an HTML page's text."""

    link_density: float = 0.0  # share of the line's characters inside <a>
    heading: int = 0  # 1-6 for a line from <h1>…<h6>, else 0
    in_list: bool = False  # the line is a list item (<li>, <dt>, <dd>)
    container: str = ""  # nav, header, footer or aside: the page-furniture element the line sits in


@dataclass
class Page:
    """One page read from the input folder, decoded to text."""

    source_path: str  # relative to the input folder; `file#N` for a record inside an archive
    text: str
    encoding: str = "utf-8"
    input_format: str = "text"  # text | html | warc | jsonl
    url: str | None = None  # where it was fetched (WARC-Target-URI, the url of a JSON line)
    html: str | None = None  # kept for the HTML path; None for text dumps
    evidence: list[BlockEvidence] | None = None  # one per line of text; HTML pages only
    meta: dict[str, str] = field(default_factory=dict)  # title, published_at, author, site, source_url from markup


@dataclass
class PageError:
    """A file (or archive record) that could not be read; the run goes on without it."""

    source_path: str
    reason: str


@dataclass
class LineDecision:
    """What the cleaner decided for one input line."""

    line_no: int  # 1-based, as an editor shows it
    text: str
    keep: bool
    rule: str  # the named rule that decided; "body" for kept content
    role: str = "body"  # title | heading | list_item | body | blank | chrome
    part: int = 0


@dataclass
class Article:
    """One article cut out of a page: a title, content lines, metadata found in the chrome."""

    source_path: str
    part: int
    title: str
    lines: list[str]
    meta: dict[str, str] = field(default_factory=dict)
    flags: list[str] = field(default_factory=list)

    @property
    def body(self) -> str:
        return "\n".join(self.lines)


@dataclass
class CleanedPage:
    """The cleaner's result for one page: its articles and every line's decision."""

    page: Page
    articles: list[Article]
    decisions: list[LineDecision]
    # set when the decisions go on past the page's own lines, with those of trafilatura's extraction
    page_lines: int | None = None

    @property
    def removed(self) -> list[LineDecision]:
        return [d for d in self.decisions if not d.keep and d.text.strip()]
