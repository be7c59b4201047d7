"""``egress-net allowlist learn``: propose the domain allowlist from alert-mode firewall logs."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from egress_net.allowlist import (
    ALLOWLIST_KEY_PATH,
    DEFAULT_WILDCARD_THRESHOLD,
    Learner,
    Spoke,
    SpokeMap,
    allowlist_snippet,
    diff_allowlist,
    diff_text,
    ip_table,
    learner_summary,
    names_table,
    parse_spoke_option,
    read_current_allowlist,
    shown,
    validate_entry,
)
from egress_net.errors import ConfigError, check_output_path, write_output
from egress_net.logs import Progress, open_sources
from egress_net.rules.suffixes import shared_suffix_match


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "allowlist",
        help="learn the domain allowlist from Network Firewall logs",
        description="Work with the stack's domain allowlist.",
    )
    verbs = parser.add_subparsers(dest="allowlist_command", metavar="<verb>")
    learn = verbs.add_parser(
        "learn",
        help="propose egress-net:rules allowDomains.domains from alert-mode logs",
        description="Read Network Firewall alert/netflow/TLS logs (files, gzip, directories, "
        "s3://BUCKET/PREFIX, cwlogs://GROUP), list the names each spoke reached and propose "
        "the allowlist (egress-net:rules → allowDomains → domains) as a stack-config snippet "
        "with a diff against the current list.",
    )
    learn.add_argument(
        "sources", nargs="+", metavar="SOURCE", help="log file, dir, s3://, cwlogs://"
    )
    learn.add_argument("--stack", help="stack whose spokes and current allowlist to use")
    learn.add_argument(
        "--project-dir", type=Path, help="folder with Pulumi.yaml (default: here or above)"
    )
    learn.add_argument(
        "--spoke",
        action="append",
        default=[],
        metavar="NAME=CIDR",
        help="a spoke's source CIDR (repeatable; adds to or replaces the stack's)",
    )
    learn.add_argument("--current", type=Path, help="file with the current allowlist")
    learn.add_argument(
        "--wildcard-threshold",
        type=int,
        default=DEFAULT_WILDCARD_THRESHOLD,
        metavar="N",
        help="propose .parent once N distinct subdomains were seen (0: never; default %(default)s)",
    )
    learn.add_argument(
        "--keep-unused", action="store_true", help="keep current entries no traffic used"
    )
    learn.add_argument("--output", "-o", type=Path, help="write the YAML snippet here")
    learn.add_argument("--json", type=Path, dest="json_path", help="write the full report as JSON")
    learn.add_argument("--top", type=int, default=50, help="rows per table (default %(default)s)")
    learn.add_argument("--since", help="CloudWatch Logs window start (ISO 8601, UTC if no zone)")
    learn.add_argument("--until", help="CloudWatch Logs window end (ISO 8601)")
    learn.add_argument(
        "--region",
        help="AWS region for s3:// and cwlogs:// sources (default: the --stack's aws:region, "
        "else boto3's default)",
    )
    learn.add_argument("--endpoint-url", help="AWS endpoint (e.g. a local test server)")
    learn.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    learn.set_defaults(func=run_learn)
    parser.set_defaults(func=lambda args: _missing_verb(parser))


def _missing_verb(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _epoch_ms(text: str | None, option: str) -> int | None:
    if text is None:
        return None
    try:
        stamp = datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            option, f"{text!r} is not an ISO 8601 time", "e.g. 2026-11-01T00:00"
        ) from None
    if stamp.tzinfo is None:
        from datetime import UTC

        stamp = stamp.replace(tzinfo=UTC)
    return int(stamp.timestamp() * 1000)


@dataclass(frozen=True)
class StackInputs:
    """What ``--stack`` contributes: spokes, current allowlist and the stack's region."""

    spokes: list[Spoke]
    current: list[str]
    region: str


def _stack_inputs(stack: str, project_dir: Path | None) -> StackInputs:
    from egress_net.config import load_stack

    config = load_stack(stack, project_dir)
    spokes = [Spoke(s.name, str(s.cidr)) for s in config.all_spokes]
    current = [
        validate_entry(e, f"{'.'.join(ALLOWLIST_KEY_PATH)}[{i}]")
        for i, e in enumerate(config.domain_allowlist)
    ]
    return StackInputs(spokes, current, config.region)


def choose_region(option: str | None, stack_region: str | None) -> str | None:
    """``--region`` wins; else the stack's ``aws:region`` (its logs live there); else ``None``,
    which leaves the choice to boto3 (``AWS_REGION``, ``AWS_DEFAULT_REGION``, profile)."""
    return option or stack_region or None


def _client_factory(region: str | None, endpoint_url: str | None) -> Any:
    def make(service: str) -> Any:
        import boto3

        kwargs: dict[str, Any] = {}
        if region:
            kwargs["region_name"] = region
        if endpoint_url:
            kwargs["endpoint_url"] = endpoint_url
        return boto3.client(service, **kwargs)

    return make


def run_learn(args: argparse.Namespace) -> int:
    from botocore.exceptions import BotoCoreError, ClientError

    for path, option in ((args.output, "--output"), (args.json_path, "--json")):
        if path is not None:
            check_output_path(option, path)
    spokes: list[Spoke] = []
    current: list[str] = []
    stack_region: str | None = None
    if args.stack:
        stack = _stack_inputs(args.stack, args.project_dir)
        spokes, current, stack_region = stack.spokes, stack.current, stack.region
    if args.spoke:
        given = [parse_spoke_option(text) for text in args.spoke]
        named = {s.name for s in given}
        spokes = [s for s in spokes if s.name not in named] + given
    if args.current is not None:
        try:
            text = args.current.read_text(encoding="utf-8")
        except OSError as err:
            raise ConfigError(str(args.current), f"cannot read ({err.strerror})") from None
        current = read_current_allowlist(text, str(args.current))
    if args.top < 1:
        raise ConfigError("--top", "must be 1 or more", "e.g. --top 100")
    if args.wildcard_threshold < 0:
        raise ConfigError("--wildcard-threshold", "must be 0 or more", "0 turns wildcards off")

    learner = Learner(SpokeMap(spokes))
    try:
        sources = open_sources(
            args.sources,
            _client_factory(choose_region(args.region, stack_region), args.endpoint_url),
            _epoch_ms(args.since, "--since"),
            _epoch_ms(args.until, "--until"),
        )
        hints = [source.size_hint() for source in sources]
        total = None if None in hints else sum(h or 0 for h in hints)
        progress = Progress(total, enabled=False if args.no_progress else None)
        learner.read(sources, progress)
    except (ClientError, BotoCoreError) as err:
        raise ConfigError(
            "SOURCE",
            f"cannot read the logs from AWS: {err}",
            "check the name, region and credentials",
        ) from None

    warning = empty_input_warning(learner, len(sources))
    if warning:
        print(f"warning: {warning}", file=sys.stderr)
    print(_report(learner, args.top))
    diff = diff_allowlist(
        learner.names_overall(), current, args.wildcard_threshold, args.keep_unused
    )
    print("\nAllowlist diff (+ add, - unused, space: kept)")
    print(diff_text(diff))
    snippet = allowlist_snippet(diff.proposed)
    print("\nStack config snippet:")
    print(snippet, end="")
    for warning in shared_suffix_warnings(diff.proposed):
        print(f"warning: {warning}", file=sys.stderr)
    if args.output is not None:
        write_output("--output", args.output, snippet)
    if args.json_path is not None:
        report = learner_summary(learner)
        report["allowlist"] = {
            "proposed": diff.proposed,
            "added": diff.added,
            "kept": diff.kept,
            "unused": diff.unused,
        }
        write_output("--json", args.json_path, json.dumps(report, indent=2) + "\n")
    return 0


def shared_suffix_warnings(entries: list[str]) -> list[str]:
    """Learned entries the stack config refuses: a host that is itself a shared suffix (such
    as ``s3.us-east-1.amazonaws.com``, which serves every bucket by path) or a current entry
    that broad. Learning never proposes a wildcard under one."""
    warnings = []
    for entry in entries:
        match = shared_suffix_match(entry)
        if match is not None:
            warnings.append(
                f"{entry}: {match.problem}; the stack config refuses it unless acknowledged "
                f"under acknowledgeSharedSuffix; {match.hint}"
            )
    return warnings


def empty_input_warning(learner: Learner, sources: int) -> str | None:
    """Why nothing was learned, when nothing was: an empty proposal looks like "no egress at
    all", which would lock every spoke out once the firewall drops."""
    stats = learner.stats
    if stats.records:
        return None
    if not sources:
        read = "no log file was found"
    elif not stats.lines:
        read = f"the {sources:,} source(s) hold no lines"
    else:
        read = f"none of the {stats.lines:,} lines read is a Network Firewall record"
    return (
        f"nothing learned: {read}; check the locations, --since/--until and that the "
        "firewall logs ALERT/FLOW/TLS records there"
    )


def _report(learner: Learner, top: int) -> str:
    stats = learner.stats
    parts = [
        f"Read {stats.lines:,} lines: {stats.records:,} records, {stats.corrupt:,} corrupt, "
        f"{stats.replies:,} reply-direction, {stats.east_west:,} spoke-to-spoke, "
        f"{stats.unnamed_hosts:,} SNI/Host not a DNS name."
    ]
    parts += [f"  corrupt: {shown(example)}" for example in stats.corrupt_examples]
    if stats.rejected_names:
        parts.append(
            f"  {stats.rejected_names:,} SNI/Host with control characters or line breaks "
            "(not learned), e.g. " + ", ".join(stats.rejected_name_examples)
        )
    if stats.ip_overflow:
        parts.append(
            f"  {stats.ip_overflow:,} flows to further IP-only destinations were not listed: "
            f"more than {learner.MAX_IP_DESTINATIONS:,} distinct ones"
        )
    overall = {("(all)", name): seen for name, seen in learner.names_overall().items()}
    ip_only = learner.ip_only()
    parts += ["", "Names per spoke (TLS SNI, HTTP Host):", names_table(learner.names, top)]
    parts += _more(len(learner.names), top)
    parts += ["", "Names overall:", names_table(overall, top)]
    parts += _more(len(overall), top)
    parts += ["", "IP-only destinations (no SNI/Host; candidates for 5-tuple rules):"]
    parts.append(ip_table(ip_only, top) if ip_only else "(none)")
    parts += _more(len(ip_only), top)
    return "\n".join(parts)


def _more(rows: int, top: int) -> list[str]:
    if rows <= top:
        return []
    return [f"... {rows - top:,} more rows (--top to show more, --json for all)"]
