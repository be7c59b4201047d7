"""Suricata rule parser: header fields and the ordered option list, with file:line.

Stdlib only and built for speed (the full Emerging Threats set is ~35,000 rules). It parses
exactly what Network Firewall and the validator need: it keeps every option in order, as
written (name and raw value), and leaves the meaning of option values to the validator.

Lines are read the way Suricata reads rule files: a trailing ``\\`` joins the next physical
line; ``#`` lines are comments, except that a commented line that is itself a well-formed
rule (``# alert http ... (...)``) is kept as a *disabled* rule, because rulesets ship many
rules commented out and users turn them on.
"""

from __future__ import annotations

import functools
import gc
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

# Words a rule line may start with. Network Firewall accepts only four of them (see
# ``limits.SUPPORTED_ACTIONS``); the others are parsed so they are rejected with a reason
# instead of vanishing as comments.
RULE_ACTIONS = frozenset(
    {
        "alert",
        "pass",
        "drop",
        "reject",
        "rejectsrc",
        "rejectdst",
        "rejectboth",
        "sdrop",
        "log",
        "activate",
        "dynamic",
        "config",
    }
)

_HEADER_FIELDS = 7  # action proto src sport direction dst dport
_DIRECTIONS = frozenset({"->", "<>"})  # Suricata has no "<-"
_UNSET: object = object()  # a lazily computed field not computed yet
_CONTINUATION = re.compile(r"\\[ \t]*$", re.MULTILINE)  # a line ending in '\'
_intern = sys.intern  # option names repeat ~470k times in a large ruleset

Header = tuple[str, str, str, str, str, str, str]


class ParsedRule:
    """One Suricata rule as written. ``options`` keeps every option in its original order.

    Header fields and an enabled rule's option names and sid are parsed at once (deploy
    checks need them). Option values are split out on first use, and so are all options of
    a *disabled* rule: a ruleset ships thousands of commented-out rules that a deploy never
    reads, and values are most of the parse cost. (A disabled rule whose options turn out
    malformed reads as having no options; it is never deployed.) ``rev``, ``gid`` and
    ``msg`` are read from the options when first asked for; the last occurrence wins.
    """

    __slots__ = (
        "_gid",
        "_msg",
        "_names",
        "_options",
        "_rev",
        "_sid",
        "_values",
        "action",
        "direction",
        "dst",
        "dst_port",
        "enabled",
        "file",
        "header",
        "line",
        "protocol",
        "src",
        "src_port",
        "text",
    )

    def __init__(
        self,
        header: Header,
        text: str,
        enabled: bool,
        file: str,
        line: int,
        names: tuple[str, ...] | None,
        values: tuple[str | None, ...] | None,
        sid: int | object | None,
    ) -> None:
        # The whole header as one tuple, shared by every rule written with the same header:
        # checks that depend on the header alone key their caches on it.
        self.header = header
        (
            self.action,
            self.protocol,
            self.src,
            self.src_port,
            self.direction,
            self.dst,
            self.dst_port,
        ) = header
        self.text = text
        self.enabled = enabled
        self.file = file
        self.line = line
        # Names and values are kept apart (two flat tuples, not one pair per option): a
        # large ruleset has ~350,000 options, and fewer objects parse and collect faster.
        self._names = names
        self._values = values
        self._options: tuple[tuple[str, str | None], ...] | None = None
        self._sid = sid  # _UNSET: read from the options on first use
        self._msg: str | object = _UNSET

    def _set_meta(self, options: tuple[tuple[str, str | None], ...]) -> None:
        # Last occurrence wins, as in Suricata's own option handling.
        named = dict(options)
        msg = named.get("msg") or ""
        if len(msg) > 1 and msg[0] == msg[-1] == '"':
            msg = msg[1:-1]
        gid = _int_or_none(named.get("gid"))
        self._msg = msg
        self._sid = _int_or_none(named.get("sid"))
        self._rev = _int_or_none(named.get("rev"))
        self._gid = 1 if gid is None else gid

    def _load(self) -> tuple[tuple[str, ...], tuple[str | None, ...]]:
        try:
            names, values = _parse_options(self.text[self.text.find("(") + 1 : -1])
        except _Malformed:
            names, values = (), ()
        if self._names is None:
            self._names = names
        # else: the names parsed with the rule are equal; keep that (shared) tuple.
        self._values = values
        return self._names, values

    def _meta(self) -> None:
        if self._msg is _UNSET:
            self._set_meta(self.options)

    @property
    def option_names(self) -> tuple[str, ...]:
        """Option names in order (cheaper than ``options`` when only names matter)."""
        names = self._names
        return self._load()[0] if names is None else names

    @property
    def options(self) -> tuple[tuple[str, str | None], ...]:
        options = self._options
        if options is None:
            values = self._values
            names, values = self._load() if values is None else (self._names, values)
            options = self._options = tuple(zip(names, values, strict=True))  # type: ignore[arg-type]
        return options

    @property
    def sid(self) -> int | None:
        sid = self._sid
        if sid is _UNSET:
            names = self.option_names
            sid = None
            if "sid" in names:  # the last one wins
                last = len(names) - 1 - names[::-1].index("sid")
                sid = _int_or_none(self.options[last][1])
            self._sid = sid  # _UNSET: read from the options on first use
        return sid  # type: ignore[return-value]

    @property
    def rev(self) -> int | None:
        self._meta()
        return self._rev

    @property
    def gid(self) -> int:
        self._meta()
        return self._gid

    @property
    def msg(self) -> str:
        self._meta()
        return self._msg  # type: ignore[return-value]

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    @property
    def category(self) -> str:
        """The rule's category for grouping: its file's stem, e.g. ``emerging-dns``."""
        return category_of(self.file)

    def option_values(self, name: str) -> list[str | None]:
        return [value for key, value in self.options if key == name]

    def has_option(self, name: str) -> bool:
        return name in self.option_names

    def __repr__(self) -> str:
        state = "" if self.enabled else "disabled "
        return f"<{state}rule sid={self.sid} {self.action} {self.protocol} at {self.where}>"


@dataclass(frozen=True, slots=True)
class ParseFailure:
    """A line that should be a rule but is not well formed."""

    file: str
    line: int
    text: str
    problem: str

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


class _Malformed(ValueError):
    pass


@functools.lru_cache(maxsize=4096)
def category_of(filename: str) -> str:
    name = filename.replace("\\", "/").rsplit("/", 1)[-1]
    return name[:-6] if name.endswith(".rules") else name


def _split_header(header: str) -> list[str]:
    """Split a header on whitespace, keeping ``[a, b]`` lists (possibly nested) whole."""
    tokens = header.split()
    if "[" not in header:
        return tokens
    merged: list[str] = []
    depth = 0
    for token in tokens:
        if depth > 0:
            merged[-1] += " " + token
        else:
            merged.append(token)
        depth += token.count("[") - token.count("]")
        if depth < 0:
            raise _Malformed("unbalanced ']' in rule header")
    if depth != 0:
        raise _Malformed("unbalanced '[' in rule header")
    return merged


def _join_escaped(pieces: list[str]) -> list[str]:
    """Re-join pieces split at a ';' that was escaped by an odd number of backslashes."""
    joined: list[str] = []
    for piece in pieces:
        if joined:
            previous = joined[-1]
            if (len(previous) - len(previous.rstrip("\\"))) % 2:
                joined[-1] = previous + ";" + piece
                continue
        joined.append(piece)
    return joined


def _option_pieces(body: str) -> list[str]:
    """The options text split at each unescaped ';' (the text after the last one dropped)."""
    # str.split in C is ~8x faster than a per-option regex over the ET set; escaped ';'
    # (rare outside pcre) are re-joined afterwards.
    pieces = body.split(";")
    tail = pieces.pop()
    if tail and not tail.isspace():
        raise _Malformed(f"option not terminated by ';': {tail.strip()[:60]!r}")
    if "\\;" in body:
        pieces = _join_escaped(pieces)
    return pieces


def _check_option_names(names: tuple[str, ...]) -> None:
    """Raise for option lists no Suricata reads: a stray ';', or a second rule on the line.

    Network Firewall reads one rule per line; ``(...sid:1;) alert ... (...)`` makes the
    rule group fail to load, so it is a malformed line here, not two rules.
    """
    if "" in names:
        raise _Malformed("empty option (a stray ';')")
    for name in names:
        if name.startswith(")"):
            rest = name[1:].split()
            if rest and rest[0] in RULE_ACTIONS:
                raise _Malformed(
                    "two rules on one line: a second rule starts after ')'; "
                    "Network Firewall reads one rule per line"
                )
            raise _Malformed(f"text after the rule's closing ')': {name[:60]!r}")


def _parse_options(body: str) -> tuple[tuple[str, ...], tuple[str | None, ...]]:
    """(names, values) of the options in order; a flag option's value is None."""
    parts = [piece.partition(":") for piece in _option_pieces(body)]
    names = tuple([_intern(name.strip()) for name, _, _ in parts])
    _check_option_names(names)
    values = tuple([value.strip() if colon else None for _, colon, value in parts])
    return names, values


class _OptionNames(dict[str, str]):
    """Text before an option's ':' -> the option name, stripped and interned.

    Filled on first sight of each distinct text (ET Open uses 91), so naming ~350,000
    options is one C-level dict lookup each instead of a strip and an intern.
    """

    def __missing__(self, raw: str) -> str:
        name = self[raw] = _intern(raw.strip())
        return name


class _ParseCaches:
    """What one parse call learns once and reuses: headers, option names, name lists."""

    __slots__ = ("headers", "name_lists", "names")

    def __init__(self) -> None:
        self.headers: dict[str, Header] = {}
        self.names = _OptionNames()
        # ~35,000 rules share ~6,000 distinct option-name lists; sharing the tuples saves
        # memory and the garbage collector's time.
        self.name_lists: dict[tuple[str, ...], tuple[str, ...]] = {}


def _names_and_sid(body: str, caches: _ParseCaches) -> tuple[tuple[str, ...], int | None]:
    """An enabled rule's option names and sid; values are left for later (``_load``)."""
    pieces = _option_pieces(body)
    names = tuple(map(caches.names.__getitem__, [piece.partition(":")[0] for piece in pieces]))
    shared = caches.name_lists.get(names)
    if shared is None:  # a name list seen for the first time (~6,000 in ET Open): check it
        _check_option_names(names)
        caches.name_lists[names] = names
    else:
        names = shared
    sid = None
    if "sid" in names:  # the last one wins
        _, colon, value = pieces[len(names) - 1 - names[::-1].index("sid")].partition(":")
        if colon:
            sid = _int_or_none(value.strip())
    return names, sid


def _int_or_none(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _parse_header(header: str) -> Header:
    # Header fields repeat across a ruleset ("alert", "$HOME_NET", "any"): share them.
    fields = tuple(map(_intern, _split_header(header)))
    if len(fields) != _HEADER_FIELDS:
        raise _Malformed(
            f"header has {len(fields)} fields, expected 7 "
            "(action protocol source port direction destination port)"
        )
    if fields[4] not in _DIRECTIONS:
        raise _Malformed(f"direction must be '->' or '<>', got {fields[4]!r}")
    return fields  # type: ignore[return-value]  # seven fields, checked above


def parse_rule(
    text: str, *, enabled: bool = True, filename: str = "<inline>", line: int = 1
) -> ParsedRule:
    """Parse one rule (no leading ``#``). Raises ``ValueError`` if it is malformed."""
    return _parse_rule(text, enabled, filename, line, _ParseCaches())


def _parse_rule(
    text: str, enabled: bool, filename: str, line: int, caches: _ParseCaches
) -> ParsedRule:
    open_at = text.find("(")
    if open_at < 0 or not text.endswith(")"):
        raise _Malformed("a rule is 'header (options)': missing '(' or closing ')'")
    # ET Open has ~35,000 rules but only ~2,000 distinct headers.
    header_text = text[:open_at]
    header = caches.headers.get(header_text)
    if header is None:
        header = caches.headers[header_text] = _parse_header(header_text)
    if not enabled:
        return ParsedRule(header, text, False, filename, line, None, None, _UNSET)
    names, sid = _names_and_sid(text[open_at + 1 : -1], caches)
    return ParsedRule(header, text, True, filename, line, names, None, sid)


def _logical_lines(text: str) -> Iterator[tuple[int, str]]:
    """Yield (first physical line number, logical line) with '\\' continuations joined."""
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.rstrip()
        if stripped.endswith("\\"):
            if not pending:
                start = number
            pending.append(stripped[:-1])
            continue
        if pending:
            pending.append(stripped)
            yield start, " ".join(part.strip() for part in pending)
            pending = []
        else:
            yield number, stripped
    if pending:
        yield start, " ".join(part.strip() for part in pending)


def _first_word(text: str) -> str:
    space = text.find(" ")
    tab = text.find("\t")
    if space < 0 or (0 <= tab < space):
        space = tab
    return text if space < 0 else text[:space]


@contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic GC while building many small acyclic objects.

    A ruleset allocates ~10 objects per rule and none of them form cycles; without this the
    collector repeatedly rescans the growing result list (measured: ~25% of parse time).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def parse_rules(text: str, *, filename: str = "<inline>") -> list[ParsedRule | ParseFailure]:
    """Parse a rules file's text. Blank lines and prose comments are skipped."""
    with cyclic_gc_paused():
        return _parse_text(text, filename, _ParseCaches())


def _parse_text(text: str, filename: str, caches: _ParseCaches) -> list[ParsedRule | ParseFailure]:
    results: list[ParsedRule | ParseFailure] = []
    append = results.append
    text = text.removeprefix("\ufeff")  # the byte-order mark some Windows editors write
    lines: Iterable[tuple[int, str]]
    if _CONTINUATION.search(text):
        lines = _logical_lines(text)
    else:  # the common case: one rule per physical line
        lines = enumerate(text.splitlines(), start=1)
    for number, logical in lines:
        body = logical.strip()
        if not body:
            continue
        enabled = body[0] != "#"
        if not enabled:
            body = body.lstrip("# \t")
            # A commented line is a disabled rule only if it reads like one.
            if _first_word(body) not in RULE_ACTIONS or not body.endswith(")"):
                continue
        try:
            append(_parse_rule(body, enabled, filename, number, caches))
        except _Malformed as err:
            if enabled:
                append(ParseFailure(filename, number, body, str(err)))
    return results


def rule_files(paths: Iterable[str | Path]) -> list[Path]:
    """The ``.rules`` files named by ``paths``; directories expand to their ``*.rules``."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(sorted(path.glob("*.rules")))
        else:
            found.append(path)
    return found


def parse_rule_files(paths: Iterable[str | Path]) -> list[ParsedRule | ParseFailure]:
    """Parse every file (directories expand to ``*.rules``), in a stable order.

    Raises ``FileNotFoundError``/``UnicodeDecodeError`` for unreadable input; callers at the
    user boundary turn those into a ``RuleError``.
    """
    results: list[ParsedRule | ParseFailure] = []
    caches = _ParseCaches()
    with cyclic_gc_paused():
        for path in rule_files(paths):
            results.extend(_parse_text(path.read_text(encoding="utf-8"), str(path), caches))
    return results
