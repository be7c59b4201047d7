"""Learn a domain allowlist from Network Firewall logs taken while the firewall only alerts.

The way from "log everything" to "deny by default": run the firewall in ``alert`` mode,
collect which names each spoke really reaches (TLS SNI, HTTP Host), turn them into the
stack's domain allowlist (``egress-net:rules`` → ``allowDomains`` → ``domains``), and review
the difference with the current list before switching to ``drop``.

Memory is bounded by the number of distinct (spoke, destination) pairs, never by the number
of log lines: the learner keeps counters and first/last-seen times only.
"""

from __future__ import annotations

import functools
import ipaddress
import re
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from egress_net.errors import ConfigError
from egress_net.logs import (
    MAX_LINE_BYTES,
    CorruptRecord,
    LineSource,
    Observation,
    OverlongLine,
    Progress,
    parse_observation,
)
from egress_net.rules.suffixes import SHARED_SUFFIXES
from egress_net.text import shown

# SHARED_SUFFIXES: suffixes shared by unrelated tenants. A wildcard under them would allow
# anyone's bucket, site or app, so none is ever proposed here (and the stack config refuses
# such allow entries).

# Where the stack config keeps the domain allowlist: egress-net:rules → allowDomains → domains.
ALLOWLIST_KEY_PATH: tuple[str, ...] = ("egress-net:rules", "allowDomains", "domains")

# Flows from addresses in no configured spoke (for example from the inspection VPC itself).
UNMAPPED_SPOKE = "(unmapped)"

DEFAULT_WILDCARD_THRESHOLD = 3

# Matched with ``fullmatch``: ``$`` would also match before a trailing newline ("abc\n").
_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")


# --------------------------------------------------------------------------------------------
# Names


@functools.lru_cache(maxsize=65536)  # the same few names fill most of a log
def normalize_name(raw: str) -> str | None:
    """A logged SNI/Host as an allowlist name: lower case, no port, no trailing dot.

    Returns ``None`` when what was logged is not a DNS name (an IP address, garbage, anything
    with a control character or a line break in it).
    """
    if not raw.isprintable():  # "a.com\n", "\x1b[2J…": never learned, never printed raw
        return None
    name = raw.strip(" ").lower()
    if name.startswith("["):  # "[2001:db8::1]:443"
        return None
    host, sep, port = name.rpartition(":")
    if sep and port.isdigit() and host.count(":") == 0:
        name = host
    name = name.rstrip(".")
    if not name or len(name) > 253 or _is_ip(name):
        return None
    labels = name.split(".")
    if len(labels) < 2 or not all(_LABEL.fullmatch(label) for label in labels):
        return None
    return name


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def entry_covers(entry: str, name: str) -> bool:
    """Whether allowlist ``entry`` admits ``name``: ``.example.com`` is the domain and below."""
    if entry.startswith("."):
        base = entry[1:]
        return name == base or name.endswith(entry)
    return name == entry


def validate_entry(entry: Any, where: str) -> str:
    """One current allowlist entry, normalized; ``ConfigError`` when it is not a domain."""
    if not isinstance(entry, str):
        raise ConfigError(where, f"allowlist entry {entry!r} is not a string", "quote it")
    wildcard = entry.strip().startswith(".")
    name = normalize_name(entry.strip().lstrip("."))
    if name is None:
        raise ConfigError(
            where,
            f"allowlist entry {entry!r} is not a domain name",
            "write example.com (exact) or .example.com (domain and subdomains)",
        )
    return "." + name if wildcard else name


# --------------------------------------------------------------------------------------------
# Spokes


@dataclass(frozen=True)
class Spoke:
    name: str
    cidr: str


class SpokeMap:
    """Source address → spoke name, by the spokes' CIDRs (most specific match wins).

    Addresses are compared as integers (``inet_pton``): this runs for every log line, and
    building ``ipaddress`` objects would cost more than parsing the JSON.
    """

    def __init__(self, spokes: Sequence[Spoke]) -> None:
        networks = [(ipaddress.ip_network(s.cidr, strict=False), s.name) for s in spokes]
        networks.sort(key=lambda item: -item[0].prefixlen)
        self._v4 = [(int(n.network_address), int(n.netmask), name) for n, name in networks
                    if n.version == 4]  # fmt: skip
        self._v6 = [(int(n.network_address), int(n.netmask), name) for n, name in networks
                    if n.version == 6]  # fmt: skip

    def __bool__(self) -> bool:
        return bool(self._v4 or self._v6)

    def spoke_of(self, address: str) -> str | None:
        try:
            value = int.from_bytes(socket.inet_pton(socket.AF_INET, address))
            table = self._v4
        except OSError:
            try:
                value = int.from_bytes(socket.inet_pton(socket.AF_INET6, address))
            except OSError:
                return None
            table = self._v6
        for network, mask, name in table:
            if value & mask == network:
                return name
        return None


def parse_spoke_option(text: str) -> Spoke:
    """``--spoke NAME=CIDR`` → ``Spoke``."""
    name, sep, cidr = text.partition("=")
    if not sep or not name.strip() or not cidr.strip():
        raise ConfigError("--spoke", f"{text!r} is not NAME=CIDR", "e.g. --spoke app=10.1.0.0/16")
    try:
        ipaddress.ip_network(cidr.strip(), strict=False)
    except ValueError:
        raise ConfigError(
            "--spoke", f"{cidr.strip()!r} is not a CIDR", "e.g. 10.1.0.0/16"
        ) from None
    return Spoke(name.strip(), cidr.strip())


# --------------------------------------------------------------------------------------------
# Aggregation


_KIND_BITS = {"tls": 1, "http": 2}


class Seen:
    """How often and when a destination was seen (one per distinct key, so kept small)."""

    __slots__ = ("_kind_bits", "count", "first", "last")

    def __init__(self) -> None:
        self.count = 0
        self.first: float | None = None
        self.last: float | None = None
        self._kind_bits = 0

    @property
    def kinds(self) -> set[str]:
        """How the name was logged: ``tls`` (SNI), ``http`` (Host)."""
        return {kind for kind, bit in _KIND_BITS.items() if self._kind_bits & bit}

    def add(self, timestamp: float | None, kind: str | None = None) -> None:
        self.count += 1
        if kind:
            self._kind_bits |= _KIND_BITS[kind]
        if timestamp is not None:
            if self.first is None or timestamp < self.first:
                self.first = timestamp
            if self.last is None or timestamp > self.last:
                self.last = timestamp

    def merge(self, other: Seen) -> None:
        self.count += other.count
        self._kind_bits |= other._kind_bits
        for stamp in (other.first, other.last):
            if stamp is not None:
                self.first = stamp if self.first is None else min(self.first, stamp)
                self.last = stamp if self.last is None else max(self.last, stamp)


@dataclass
class ReadStats:
    lines: int = 0
    records: int = 0
    corrupt: int = 0
    corrupt_examples: list[str] = field(default_factory=list)  # first few, "source:line: why"
    replies: int = 0  # flows towards a spoke (netflow logs each direction)
    east_west: int = 0  # spoke to spoke, not egress
    unnamed_hosts: int = 0  # SNI/Host present but an IP address or not a DNS name
    # SNI/Host with a control character or line break: never learned; first few, escaped.
    rejected_names: int = 0
    rejected_name_examples: list[str] = field(default_factory=list)
    ip_overflow: int = 0  # flows to new IP-only destinations once the table was full


@dataclass(frozen=True)
class IpDestination:
    dest_ip: str
    dest_port: int | None
    proto: str


class Learner:
    """Consumes observations; keeps per-spoke counters of names and IP-only destinations."""

    MAX_CORRUPT_EXAMPLES = 5
    # A scan or a peer-to-peer workload can reach millions of addresses; past this many
    # IP-only destinations new ones are only counted, so memory stays bounded.
    MAX_IP_DESTINATIONS = 100_000

    def __init__(self, spokes: SpokeMap) -> None:
        self.spokes = spokes
        self.names: dict[tuple[str, str], Seen] = {}
        self.ip_flows: dict[tuple[str, IpDestination], Seen] = {}
        self.named_ips: set[str] = set()  # addresses seen behind an SNI/Host
        self.stats = ReadStats()

    def spoke_for(self, obs: Observation) -> str | None:
        """The spoke a flow leaves from; ``None`` when it is not egress from a spoke."""
        if not self.spokes:
            return UNMAPPED_SPOKE
        source = self.spokes.spoke_of(obs.src_ip)
        destination = self.spokes.spoke_of(obs.dest_ip)
        if source is None and destination is not None:
            self.stats.replies += 1
            return None
        if source is not None and destination is not None:
            self.stats.east_west += 1
            return None
        return source or UNMAPPED_SPOKE

    def add(self, obs: Observation) -> None:
        self.stats.records += 1
        spoke = self.spoke_for(obs)
        if spoke is None:
            return
        named = False
        for raw, kind in ((obs.sni, "tls"), (obs.http_host, "http")):
            if raw is None:
                continue
            if not raw.isprintable():
                self._reject_name(raw)
                continue
            name = normalize_name(raw)
            if name is None:
                self.stats.unnamed_hosts += 1
                continue
            named = True
            self.names.setdefault((spoke, name), Seen()).add(obs.timestamp, kind)
        if named:
            self.named_ips.add(obs.dest_ip)
        elif obs.dest_ip not in self.named_ips:  # flows of a named connection are not IP-only
            key = (spoke, IpDestination(obs.dest_ip, obs.dest_port, obs.proto))
            seen = self.ip_flows.get(key)
            if seen is None:
                if len(self.ip_flows) >= self.MAX_IP_DESTINATIONS:
                    self.stats.ip_overflow += 1
                    return
                seen = self.ip_flows[key] = Seen()
            seen.add(obs.timestamp)

    def _reject_name(self, raw: str) -> None:
        self.stats.rejected_names += 1
        if len(self.stats.rejected_name_examples) < self.MAX_CORRUPT_EXAMPLES:
            self.stats.rejected_name_examples.append(shown(raw[:200]))

    def add_corrupt(self, where: str, why: str) -> None:
        self.stats.corrupt += 1
        if len(self.stats.corrupt_examples) < self.MAX_CORRUPT_EXAMPLES:
            self.stats.corrupt_examples.append(f"{where}: {why}")

    def read(self, sources: Iterable[LineSource], progress: Progress | None = None) -> None:
        """Stream every line of every source into the counters."""
        done_bytes = 0

        def on_bytes(n: int) -> None:
            nonlocal done_bytes
            done_bytes += n

        for source in sources:
            where = source.describe()
            try:
                for number, line in enumerate(source.lines(on_bytes), start=1):
                    self.stats.lines += 1
                    if isinstance(line, OverlongLine):
                        self.add_corrupt(
                            f"{where}:{number}",
                            f"line of {line.size:,} bytes, longer than {MAX_LINE_BYTES:,}: skipped",
                        )
                        continue
                    try:
                        obs = parse_observation(line)
                    except CorruptRecord as err:
                        self.add_corrupt(f"{where}:{number}", str(err))
                        continue
                    if obs is not None:
                        self.add(obs)
                    if progress is not None and not self.stats.lines & 0x3FF:
                        progress.update(self.stats.lines, done_bytes)
            except CorruptRecord as err:  # a damaged file: count it, keep the other sources
                self.add_corrupt(where, str(err))
        if progress is not None:
            progress.update(self.stats.lines, done_bytes)
            progress.finish()

    # ---- views ------------------------------------------------------------------------------

    def names_overall(self) -> dict[str, Seen]:
        overall: dict[str, Seen] = {}
        for (_, name), seen in self.names.items():
            overall.setdefault(name, Seen()).merge(seen)
        return overall

    def ip_only(self) -> dict[tuple[str, IpDestination], Seen]:
        """Destinations reached without any name: candidates for 5-tuple rules."""
        return {
            key: seen for key, seen in self.ip_flows.items() if key[1].dest_ip not in self.named_ips
        }


# --------------------------------------------------------------------------------------------
# Proposal


def _eligible_parent(parent: str, shared: frozenset[str]) -> bool:
    """A wildcard base must have two labels or more and not lie in a shared suffix."""
    if parent.count(".") < 1:
        return False
    return not any(parent == s or parent.endswith("." + s) for s in shared)


def propose_entries(
    names: Iterable[str],
    threshold: int = DEFAULT_WILDCARD_THRESHOLD,
    shared_suffixes: frozenset[str] = SHARED_SUFFIXES,
) -> list[str]:
    """Allowlist entries for ``names``: exact names, or ``.parent`` wildcards.

    The rule (least privilege: a wildcard must be earned by names nothing narrower admits):
    parents are tried deepest first; ``parent`` gets ``.parent`` when at least ``threshold``
    distinct labels sit directly below it among the names that no wildcard chosen so far (all
    deeper) admits. The new wildcard then replaces the deeper ones under it. So
    ``a.cdn.x.com``, ``b.cdn.x.com``, ``c.cdn.x.com``, ``api.x.com``, ``www.x.com`` give
    ``.cdn.x.com``, ``api.x.com``, ``www.x.com`` with threshold 3 (``x.com`` keeps only
    ``api`` and ``www``); three or more other labels below ``x.com`` would give ``.x.com``.
    Parents that are top-level domains or lie in ``shared_suffixes`` never get a wildcard.
    ``threshold <= 0`` turns wildcards off.
    """
    remaining = sorted(set(names))
    if threshold <= 0:
        return remaining
    wildcards, covered = _choose_wildcards(remaining, threshold, shared_suffixes)
    exact = [n for n in remaining if n not in covered]
    return sorted(exact + wildcards, key=_sort_key)


def _choose_wildcards(
    names: Sequence[str], threshold: int, shared_suffixes: frozenset[str]
) -> tuple[list[str], set[str]]:
    """The wildcards ``propose_entries`` proposes, and the names they admit."""
    # parent → (name under it, the label of that name directly below the parent)
    below: dict[str, list[tuple[str, str]]] = {}
    for name in names:
        labels = name.split(".")
        for i in range(1, len(labels) - 1):
            below.setdefault(".".join(labels[i:]), []).append((name, labels[i - 1]))
    wildcards: list[str] = []
    covered: set[str] = set()
    # Same-depth parents never overlap, so only deeper wildcards can cover a parent's names.
    for parent in sorted(below, key=lambda p: (-p.count("."), p)):
        labels = {label for name, label in below[parent] if name not in covered}
        if len(labels) < threshold or not _eligible_parent(parent, shared_suffixes):
            continue
        wildcards = [w for w in wildcards if not w.endswith("." + parent)]
        wildcards.append("." + parent)
        covered.update(name for name, _ in below[parent])
        covered.add(parent)  # ".parent" admits the bare domain too
    return wildcards, covered


def _sort_key(entry: str) -> tuple[str, str]:
    bare = entry.lstrip(".")
    return (".".join(reversed(bare.split("."))), entry)


@dataclass(frozen=True)
class AllowlistDiff:
    """The learned allowlist next to the current one."""

    proposed: list[str]  # the list to put in the stack config
    added: list[str]  # new entries the traffic needs
    kept: list[str]  # current entries the traffic used
    unused: list[str]  # current entries no observed name needed
    covered_by: dict[str, str]  # observed name → current entry that already admits it


def diff_allowlist(
    observed: Iterable[str],
    current: Sequence[str],
    threshold: int = DEFAULT_WILDCARD_THRESHOLD,
    keep_unused: bool = False,
    shared_suffixes: frozenset[str] = SHARED_SUFFIXES,
) -> AllowlistDiff:
    """Keep current entries that admit observed names; propose entries for the rest."""
    covered_by: dict[str, str] = {}
    uncovered: list[str] = []
    for name in sorted(set(observed)):
        entry = next((e for e in current if entry_covers(e, name)), None)
        if entry is None:
            uncovered.append(name)
        else:
            covered_by[name] = entry
    used = set(covered_by.values())
    kept = [e for e in current if e in used]
    unused = [e for e in current if e not in used]
    added = [e for e in propose_entries(uncovered, threshold, shared_suffixes) if e not in current]
    base = list(current) if keep_unused else kept
    proposed = sorted(dict.fromkeys(base + added), key=_sort_key)
    return AllowlistDiff(proposed, added, kept, unused, covered_by)


def allowlist_snippet(entries: Sequence[str], key_path: Sequence[str] = ALLOWLIST_KEY_PATH) -> str:
    """The stack-config YAML for ``entries`` under ``key_path``."""
    value: Any = list(entries)
    for key in reversed(key_path):
        value = {key: value}
    return yaml.safe_dump(value, default_flow_style=False, sort_keys=False)


def read_current_allowlist(
    text: str, where: str, key_path: Sequence[str] = ALLOWLIST_KEY_PATH
) -> list[str]:
    """The current allowlist from a file: a stack config (``config:`` → key path), a snippet
    with the key path at the top, a YAML list, or plain text with one entry per line."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise ConfigError(
            where, f"not valid YAML ({err})", "fix the file or give one per line"
        ) from None
    if isinstance(data, dict) and isinstance(data.get("config"), dict):
        data = data["config"]
    if isinstance(data, dict):
        node: Any = data
        for key in key_path:
            if not isinstance(node, dict) or key not in node:
                raise ConfigError(
                    where,
                    f"no {' → '.join(key_path)} list in this file",
                    "give a stack config, a YAML list or one domain per line",
                )
            node = node[key]
        data = node if node is not None else []
    elif data is None:
        data = []
    elif isinstance(data, str):
        data = [ln.split("#", 1)[0].strip() for ln in text.splitlines()]
        data = [ln for ln in data if ln]
    if not isinstance(data, list):
        raise ConfigError(where, "the allowlist is not a list", "write one domain per list item")
    return [validate_entry(item, f"{where}[{i}]") for i, item in enumerate(data)]


# --------------------------------------------------------------------------------------------
# Report


def _stamp(epoch: float | None) -> str:
    if epoch is None:
        return "-"
    from datetime import UTC, datetime

    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to width; every cell goes through ``shown``."""
    rows = [[shown(cell) for cell in row] for row in rows]
    widths = [len(h) for h in header]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    ]
    return "\n".join(lines)


def names_table(names: dict[tuple[str, str], Seen], limit: int | None = None) -> str:
    ordered = sorted(names.items(), key=lambda kv: (kv[0][0], -kv[1].count, kv[0][1]))
    rows = [
        [spoke, name, ",".join(sorted(seen.kinds)), str(seen.count), _stamp(seen.first),
         _stamp(seen.last)]
        for (spoke, name), seen in ordered[:limit]
    ]  # fmt: skip
    return format_table(["spoke", "name", "via", "count", "first seen", "last seen"], rows)


def ip_table(flows: dict[tuple[str, IpDestination], Seen], limit: int | None = None) -> str:
    ordered = sorted(flows.items(), key=lambda kv: (kv[0][0], -kv[1].count, kv[0][1].dest_ip))
    rows = [
        [spoke, dest.dest_ip, "-" if dest.dest_port is None else str(dest.dest_port),
         dest.proto or "-", str(seen.count), _stamp(seen.first), _stamp(seen.last)]
        for (spoke, dest), seen in ordered[:limit]
    ]  # fmt: skip
    return format_table(
        ["spoke", "dest ip", "port", "proto", "count", "first seen", "last seen"], rows
    )


def diff_text(diff: AllowlistDiff) -> str:
    """``+`` to add, ``-`` unused now, `` `` kept: like a unified diff of the list."""
    lines = [f"+ {e}" for e in diff.added]
    lines += [f"  {e}" for e in diff.kept]
    lines += [f"- {e}  (no traffic seen)" for e in diff.unused]
    return "\n".join(lines) if lines else "(no entries)"


def learner_summary(learner: Learner) -> dict[str, Any]:
    """Everything learned, as JSON-ready data."""

    def seen_dict(seen: Seen) -> dict[str, Any]:
        return {
            "count": seen.count,
            "first_seen": _stamp(seen.first),
            "last_seen": _stamp(seen.last),
        }

    stats = learner.stats
    return {
        "stats": {
            "lines": stats.lines,
            "records": stats.records,
            "corrupt": stats.corrupt,
            "corrupt_examples": stats.corrupt_examples,
            "replies": stats.replies,
            "east_west": stats.east_west,
            "unnamed_hosts": stats.unnamed_hosts,
            "rejected_names": stats.rejected_names,
            "rejected_name_examples": stats.rejected_name_examples,
            "ip_overflow": stats.ip_overflow,
        },
        "names": [
            {"spoke": spoke, "name": name, "via": sorted(seen.kinds), **seen_dict(seen)}
            for (spoke, name), seen in sorted(learner.names.items())
        ],
        "ip_only": [
            {"spoke": spoke, "dest_ip": d.dest_ip, "dest_port": d.dest_port, "proto": d.proto,
             **seen_dict(seen)}
            for (spoke, d), seen in sorted(
                learner.ip_only().items(), key=lambda kv: (kv[0][0], kv[0][1].dest_ip)
            )
        ],
    }  # fmt: skip
