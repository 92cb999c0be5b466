"""The rule registry: every rule has a name and a one-line reason, shown by --explain.

Line rules are data (pipeline/data/rules.toml plus the user's config); structural rules look at
the shape of the page and are implemented in the cleaner, but are registered here by name so
that every decision names a rule from one list.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from importlib import resources

from pipeline.textnorm import char_class

try:  # the regular-expression parser, used to find the literal strings a rule needs
    from re import _constants as _sre, _parser as _sre_parser
except ImportError:  # Python 3.10
    import sre_constants as _sre
    import sre_parse as _sre_parser

_REPEATS = tuple(getattr(_sre, name) for name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT") if hasattr(_sre, name))


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
    Rule("trafilatura_body", "article text of an HTML page in which the cleaner found no article, as "
         "trafilatura extracted it and the cleaner then kept it (kept)", flag="trafilatura_body"),
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

    @cached_property
    def _site_scoped(self) -> bool:
        return any(rule.paths for rule in self.line_rules)

    def __getstate__(self) -> dict:
        """Rules travel to workers without the matchers built here: those hold compiled patterns and
        caches, and each process builds its own on first use."""
        return {"line_rules": self.line_rules, "structural": self.structural, "_cache": {}}

    def matcher(self, source_path: str) -> "LineMatcher":
        active = tuple(r for r in self.line_rules if r.applies_to(source_path)) if self._site_scoped else self.line_rules
        key = tuple(r.name for r in active)
        if key not in self._cache:
            self._cache[key] = _line_matcher(active)
        return self._cache[key]


@lru_cache(maxsize=16)
def _line_matcher(rules: tuple[Rule, ...]) -> "LineMatcher":
    """One matcher per process and set of rules: a worker gets a new copy of the rule set with every
    pass of a run, and building a matcher anew each time (and forgetting its remembered lines) cost a
    third of a small batch."""
    return LineMatcher(rules)


def required_literals(pattern: str) -> frozenset[str] | None:
    """Strings at least one of which every match of pattern contains (case aside); None when the
    pattern has no such strings (a bare date, a row of short words)."""
    try:
        return _Requirement.of(_sre_parser.parse(pattern, re.IGNORECASE)).required
    except Exception:  # noqa: BLE001 - CPython's own parser; should it change, the rule just runs on every line
        return None


@dataclass(frozen=True)
class _Requirement:
    """What a parsed piece of a pattern tells about the text it matches.

    exact: every string the piece can match, when they are few (a literal, a group of literals);
    required: strings at least one of which every match contains.
    """

    exact: frozenset[str] | None
    required: frozenset[str] | None

    MAX_EXACT = 64

    @classmethod
    def of(cls, items) -> "_Requirement":
        """A sequence: adjacent exact pieces multiply into longer strings; the most selective set wins."""
        best, chain, whole = None, frozenset([""]), frozenset([""])
        for op, av in items:
            piece = cls._piece(op, av)
            if whole is not None:
                whole = _product(whole, piece.exact) if piece.exact is not None else None
            if piece.exact is not None and (product := _product(chain, piece.exact)) is not None:
                chain = product
                continue
            best = _more_selective(best, _more_selective(_nonempty(chain), piece.required))
            chain = piece.exact if piece.exact is not None else frozenset([""])
        best = _more_selective(best, _nonempty(chain))
        return cls(whole, best)

    @classmethod
    def _piece(cls, op, av) -> "_Requirement":
        if op is _sre.LITERAL:
            return cls(frozenset(chr(av)), frozenset(chr(av)))
        if op is _sre.IN and (chars := _class_chars(av)) is not None:
            return cls(chars, chars)
        if op is _sre.SUBPATTERN:
            return cls.of(av[-1])
        if op is _sre.ATOMIC_GROUP:
            return cls.of(av)
        if op is _sre.BRANCH:
            branches = [cls.of(branch) for branch in av[1]]
            exact = None
            if all(b.exact is not None for b in branches):
                exact = frozenset().union(*(b.exact for b in branches))
            needed = [b.required or _nonempty(b.exact) for b in branches]
            required = frozenset().union(*needed) if all(needed) else None
            return cls(exact if exact is not None and len(exact) <= cls.MAX_EXACT else None, required)
        if op in _REPEATS:
            low, high, inner = av
            inner = cls.of(inner)
            if low == 0 and high == 1 and inner.exact is not None:
                return cls(inner.exact | {""}, None)
            return cls(None, inner.required or _nonempty(inner.exact) if low >= 1 else None)
        if op is _sre.AT:
            return cls(frozenset([""]), None)
        return cls(None, None)


def _class_chars(items) -> frozenset[str] | None:
    """The characters of a small character class (literals and whitespace), else None."""
    chars = set()
    for kind, value in items:
        if kind is _sre.LITERAL:
            chars.add(chr(value))
        elif kind is _sre.CATEGORY and value in (_sre.CATEGORY_SPACE, _sre.CATEGORY_UNI_SPACE):
            chars |= _whitespace()
        else:
            return None
    return frozenset(chars) if len(chars) <= 40 else None


@lru_cache(maxsize=1)
def _whitespace() -> frozenset[str]:
    """What \\s matches in a str pattern: the characters str.isspace() accepts (none above the BMP)."""
    return frozenset(ch for ch in map(chr, range(0x10000)) if ch.isspace())


def _product(left: frozenset[str], right: frozenset[str]) -> frozenset[str] | None:
    if len(left) * len(right) > _Requirement.MAX_EXACT:
        return None
    return frozenset(a + b for a in left for b in right)


def _nonempty(strings: frozenset[str] | None) -> frozenset[str] | None:
    return strings if strings and "" not in strings else None


def _more_selective(a: frozenset[str] | None, b: frozenset[str] | None) -> frozenset[str] | None:
    """Longer strings are rarer in prose; fewer of them, too."""
    if a is None or b is None:
        return a or b
    return b if (min(map(len, b)), -len(b)) > (min(map(len, a)), -len(a)) else a


REMEMBERED_MAX_CHARS = 80  # longer lines are prose, which does not recur
REMEMBERED_LINES = 1 << 16


class LineMatcher:
    """Finds the first line rule, in priority order, that matches a normalized line.

    Most lines are prose that no rule can match. Each rule's pattern is analysed for literal
    strings one of which every match contains (`required_literals`); one search for all of them
    (those of the rules whose max_chars the line fits) names the rules worth trying, and only
    their patterns run, with those of the rules that need no particular string.

    Short lines are mostly site chrome, which recurs page after page: their answers are
    remembered (a bounded cache per matcher, that is per rule set and page scope).
    """

    def __init__(self, rules: tuple[Rule, ...]):
        self.rules = rules
        self._remembered = lru_cache(maxsize=REMEMBERED_LINES)(self._search)
        self._finders = [line_finder(rule.pattern) for rule in rules]
        self._unscreened = 0  # bit i: rule i runs on every line it fits
        needed_by: dict[str, int] = {}  # literal without case → bit i: rule i needs it
        cased: dict[int, list[str]] = {}
        for index, rule in enumerate(rules):
            strings = required_literals(rule.pattern)
            if not strings:
                self._unscreened |= 1 << index
            for string in strings or ():
                if _has_case(string):
                    cased.setdefault(index, []).append(string)
                else:
                    needed_by[string] = needed_by.get(string, 0) | 1 << index
        self._reported = _overlap_closure(needed_by)
        # a screen per line length: the literals of the rules whose max_chars the length fits
        self._longest = max((rule.max_chars for rule in rules), default=-1)
        screens = {limit: _trie_pattern([string for string, bits in needed_by.items()
                                         if any(bits >> i & 1 and rule.max_chars >= limit for i, rule in enumerate(rules))])
                   for limit in {rule.max_chars for rule in rules}}
        self._screen_by_length = [screens[min(limit for limit in screens if limit >= length)]
                                  for length in range(self._longest + 1)]
        # cased strings are searched without case, by rule, and only in lines holding one of their letters
        self._cased = [(1 << index, _alternation(strings)) for index, strings in cased.items()]
        letters = {next(ch for ch in s if _has_case(ch)) for strings in cased.values() for s in strings}
        self._cased_letter = _caseless_class(letters) if letters else None

    def match(self, line: str) -> Rule | None:
        if len(line) <= REMEMBERED_MAX_CHARS:
            return self._remembered(line)
        return self._search(line)

    def _search(self, line: str) -> Rule | None:
        if len(line) > self._longest:
            return None
        candidates = self._unscreened
        screen = self._screen_by_length[len(line)]
        if screen is not None:
            for literal in screen.findall(line):
                candidates |= self._reported[literal]
        if self._cased_letter is not None and self._cased_letter.search(line):
            for bit, pattern in self._cased:
                if pattern.search(line):
                    candidates |= bit
        while candidates:
            lowest = candidates & -candidates
            candidates ^= lowest
            index = lowest.bit_length() - 1
            if len(line) <= self.rules[index].max_chars and self._finders[index](line):
                return self.rules[index]
        return None


def line_finder(pattern: str) -> Callable[[str], object]:
    """Whether pattern matches somewhere in a line (case aside), as a function.

    A pattern whose alternatives are partly anchored at the line start and partly free (`^a|b`)
    is tried at every position with all its alternatives. Split, the anchored ones are tried once,
    at the start, and the engine scans for the first characters of the free ones, which is several
    times faster. Patterns with inline flags or back-references are left whole: splitting would
    change what they mean.
    """
    whole = re.compile(pattern, re.IGNORECASE)
    alternatives = _top_level_alternatives(pattern)
    anchored = [alt[1:] for alt in alternatives if alt.startswith("^")]
    free = [alt for alt in alternatives if not alt.startswith("^")]
    if not anchored or not free or _CANNOT_SPLIT_RE.search(pattern):
        return whole.search
    at_start = re.compile("|".join(f"(?:{alt})" for alt in anchored), re.IGNORECASE).match
    anywhere = re.compile("|".join(f"(?:{alt})" for alt in free), re.IGNORECASE).search
    return lambda line: at_start(line) or anywhere(line)


_CANNOT_SPLIT_RE = re.compile(r"\\[1-9]|\(\?[aiLmsux-]|\(\?P=")  # back-references, inline flags


def _top_level_alternatives(pattern: str) -> list[str]:
    """pattern split at the | outside groups and character classes."""
    alternatives, start, depth, index = [], 0, 0, 0
    while index < len(pattern):
        ch = pattern[index]
        if ch == "\\":
            index += 1
        elif ch == "[":
            index = _class_end(pattern, index)
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "|" and depth == 0:
            alternatives.append(pattern[start:index])
            start = index + 1
        index += 1
    return [*alternatives, pattern[start:]]


def _class_end(pattern: str, start: int) -> int:
    """The index of the ] that closes the character class opened at start (a ] first in it is a literal)."""
    index = start + 1
    if pattern.startswith("^", index):
        index += 1
    if pattern.startswith("]", index):
        index += 1
    while index < len(pattern) and pattern[index] != "]":
        index += 2 if pattern[index] == "\\" else 1
    return index


def _overlap_closure(needed_by: dict[str, int]) -> dict[str, int]:
    """The rules to try when the screen reports a literal.

    The screen reports the longest literal at a position and goes on after it, so a reported
    literal also stands for the literals inside it and for those that begin inside it and run on.
    """
    starting_with: dict[str, int] = {}
    for string, bits in needed_by.items():
        for end in range(1, len(string) + 1):
            starting_with[string[:end]] = starting_with.get(string[:end], 0) | bits
    reported = {}
    for string in needed_by:
        bits = 0
        for start in range(len(string)):
            bits |= starting_with.get(string[start:], 0)  # literals running on from here
            for end in range(start + 1, len(string) + 1):
                bits |= needed_by.get(string[start:end], 0)  # literals inside
        reported[string] = bits
    return reported


def _caseless_class(letters) -> re.Pattern:
    """A class of every character that matches one of letters case-insensitively, as plain characters:
    the engine lower-cases each character it tests against a case-insensitive class."""
    caseless = re.compile(f"[{re.escape(''.join(letters))}]", re.IGNORECASE)
    return re.compile(char_class(caseless.findall(_all_bmp_characters())))


@lru_cache(maxsize=1)
def _all_bmp_characters() -> str:
    return "".join(chr(cp) for cp in range(0x10000) if not 0xD800 <= cp < 0xE000)


def _has_case(text: str) -> bool:
    return text.lower() != text.upper()


def _alternation(strings: list[str]) -> re.Pattern:
    return re.compile("|".join(map(re.escape, sorted(strings, key=len, reverse=True))), re.IGNORECASE)


def _trie_pattern(strings: list[str]) -> re.Pattern | None:
    """One regex for many literals, as a trie: it finds the longest literal at a position, and the
    engine's first-character scan stays fast where a flat alternation tries every string."""
    if not strings:
        return None
    trie: dict = {}
    for string in strings:
        node = trie
        for ch in string:
            node = node.setdefault(ch, {})
        node[""] = {}

    def pattern(node: dict) -> str:
        branches = [re.escape(ch) + pattern(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return re.compile(pattern(trie))


# The fields of a rule table and their types; name, reason and pattern are required.
RULE_FIELDS = {"name": str, "reason": str, "pattern": str, "max_chars": int, "action": str, "flag": str, "paths": list}


def _rule_from_table(table: object) -> Rule:
    if not isinstance(table, dict):
        raise ValueError(f"a rule must be a table with the fields {', '.join(RULE_FIELDS)}, not {table!r}")
    name = table.get("name", "?")
    missing = [key for key in ("name", "reason", "pattern") if key not in table]
    if missing:
        raise ValueError(f"rule {name!r} lacks the field(s) {', '.join(missing)}")
    unknown = sorted(set(table) - set(RULE_FIELDS))
    if unknown:
        raise ValueError(f"rule {name!r} has unknown field(s) {', '.join(unknown)}; known: {', '.join(RULE_FIELDS)}")
    for key, value in table.items():
        if type(value) is not RULE_FIELDS[key] or key == "paths" and not all(type(glob) is str for glob in value):
            kind = {str: "a string", int: "an integer", list: "an array of strings"}[RULE_FIELDS[key]]
            raise ValueError(f"rule {name!r}: {key} must be {kind}, not {value!r}")
    try:
        re.compile(table["pattern"])
    except re.error as err:
        raise ValueError(f"rule {name!r} has a bad pattern: {err}") from None
    rule = Rule(name=table["name"], reason=table["reason"], pattern=table["pattern"],
                max_chars=table.get("max_chars", 200), action=table.get("action", "drop"), flag=table.get("flag"),
                paths=tuple(table.get("paths", ())))
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
