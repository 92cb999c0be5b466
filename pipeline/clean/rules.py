"""The rule registry: every rule has a name and a one-line reason, shown by --explain.

Line rules are data (pipeline/data/rules.toml plus the user's config); structural rules look at
the shape of the page and are implemented in the cleaner, but are registered here by name so
that every decision names a rule from one list.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources


@dataclass(frozen=True)
class Rule:
    name: str
    reason: str
    pattern: str | None = None  # None: a structural rule implemented by the cleaner
    max_chars: int = 200
    action: str = "drop"  # drop | cut (opens a related-links section)
    flag: str | None = None  # record flag raised when the rule fires
    paths: tuple[str, ...] = ()  # globs on source_path; empty: every page

    def applies_to(self, source_path: str) -> bool:
        return not self.paths or any(fnmatch.fnmatch(source_path, glob) for glob in self.paths)


STRUCTURAL_RULES = (
    Rule("title", "the article's title; becomes the record's title and question"),
    Rule("header_chrome", "page furniture above the title"),
    Rule("title_repeat", "the title repeated inside the body (image alt text, print headers)"),
    Rule("related_list", "item of a related-links list: short titles, teasers cut with …, dates, categories"),
    Rule("link_list", "a run of titles with teasers or dates after the body: a related-links list without a heading"),
    Rule("off_topic_block", "a long run of titles whose vocabulary does not overlap the article's"),
    Rule("tail_furniture", "short non-sentence lines after the last paragraph (user names, counters)"),
    Rule("template_line", "a non-sentence line that recurs across many pages of the batch (site template)"),
    Rule("reply_section", "a second dated byline after the article: replies or comments follow"),
    Rule("article_separator", "a rule line between two articles of one page"),
    Rule("no_article", "the page part holds no paragraph of article text"),
    Rule("page_container", "inside a nav, footer, aside or page-level header element: site furniture (HTML)"),
    Rule("link_dense_list", "a run of lines that are mostly link text: a link list without a heading (HTML)"),
    Rule("body", "article text (kept)"),
)


@dataclass(frozen=True)
class RuleSet:
    """Line rules in priority order, compiled once into a single alternation per page scope."""

    line_rules: tuple[Rule, ...]
    structural: tuple[Rule, ...] = STRUCTURAL_RULES
    _cache: dict = field(default_factory=dict, compare=False, repr=False)

    @cached_property
    def by_name(self) -> dict[str, Rule]:
        return {rule.name: rule for rule in (*self.line_rules, *self.structural)}

    def all_rules(self) -> list[Rule]:
        return [*self.line_rules, *self.structural]

    def matcher(self, source_path: str) -> "LineMatcher":
        active = tuple(r for r in self.line_rules if r.applies_to(source_path))
        key = tuple(r.name for r in active)
        if key not in self._cache:
            self._cache[key] = LineMatcher(active)
        return self._cache[key]


def _alternatives(pattern: str) -> list[str]:
    """Top-level alternatives of a regular expression (split at | outside groups and classes)."""
    parts, depth, in_class, escaped, start = [], 0, False, False, 0
    for i, ch in enumerate(pattern):
        if escaped:
            escaped = False
        elif ch == "\\":
            escaped = True
        elif in_class:
            in_class = ch != "]"
        elif ch == "[":
            in_class = True
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            parts.append(pattern[start:i])
            start = i + 1
    parts.append(pattern[start:])
    return parts


class LineMatcher:
    """Finds the first line rule (in priority order) that matches a normalized line.

    Alternatives anchored at the line start are combined into one pattern tried only at position 0;
    the others into one searched through the line. That keeps matching cheap on long lines.
    """

    def __init__(self, rules: tuple[Rule, ...]):
        self.rules = rules
        anchored, floating = [], []
        for i, rule in enumerate(rules):
            for k, alternative in enumerate(_alternatives(rule.pattern)):
                if alternative.startswith("^"):
                    anchored.append(f"(?P<r{i}_{k}>{alternative[1:]})")
                else:
                    floating.append(f"(?P<r{i}_{k}>{alternative})")
        self._anchored = re.compile("|".join(anchored), re.IGNORECASE) if anchored else None
        self._floating = re.compile("|".join(floating), re.IGNORECASE) if floating else None
        self._single = [re.compile(rule.pattern, re.IGNORECASE) for rule in rules]

    def match(self, line: str) -> Rule | None:
        hits = []
        if self._anchored is not None and (found := self._anchored.match(line)):
            hits.append(int(found.lastgroup[1:].split("_")[0]))
        if self._floating is not None and (found := self._floating.search(line)):
            hits.append(int(found.lastgroup[1:].split("_")[0]))
        if not hits:
            return None
        first = min(hits)
        # a rule earlier in priority may match at a later position than the first hit: confirm in order
        for index in range(first, len(self.rules)):
            rule = self.rules[index]
            if len(line) <= rule.max_chars and self._single[index].search(line):
                return rule
        return None


def _rule_from_table(table: dict) -> Rule:
    try:
        rule = Rule(
            name=str(table["name"]),
            reason=str(table["reason"]),
            pattern=str(table["pattern"]),
            max_chars=int(table.get("max_chars", 200)),
            action=str(table.get("action", "drop")),
            flag=table.get("flag"),
            paths=tuple(table.get("paths", ())),
        )
        re.compile(rule.pattern)
    except KeyError as missing:
        raise ValueError(f"rule {table.get('name', '?')!r} lacks the field {missing}") from None
    except re.error as err:
        raise ValueError(f"rule {table.get('name', '?')!r} has a bad pattern: {err}") from None
    if rule.action not in ("drop", "cut"):
        raise ValueError(f"rule {rule.name!r}: action must be 'drop' or 'cut', not {rule.action!r}")
    return rule


def default_rule_tables() -> list[dict]:
    text = resources.files("pipeline.data").joinpath("rules.toml").read_text(encoding="utf-8")
    return tomllib.loads(text)["rule"]


def load_rules(extra: list[dict] | None = None) -> RuleSet:
    """The default rules followed by the user's site rules; a user rule with a default's name replaces it."""
    tables = {t["name"]: t for t in default_rule_tables()}
    user = [_rule_from_table(t) for t in (extra or [])]
    rules = [_rule_from_table(t) for name, t in tables.items() if name not in {u.name for u in user}]
    # Site rules come first so that a site's own pattern wins over a general one.
    return RuleSet(tuple(user + rules))
