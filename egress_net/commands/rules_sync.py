"""``egress-net rules sync --source FILE|URL --dry-run``: the ET sync's plan, run locally.

Runs the same fetch/select/plan code as the deployed function and prints what would change
compared with the last applied manifest (``--current``, e.g. a downloaded ``latest.json``):
groups created/updated/replaced/deleted, sids added/removed/changed, and capacity.
"""

from __future__ import annotations

import argparse
import hashlib
import ipaddress
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from egress_net.errors import ConfigError
from egress_net.et_sync import fetch
from egress_net.et_sync.changes import PlanChanges, changes_from_manifest
from egress_net.et_sync.plan import SyncPlan, build_plan, capacity_problems, emptying_problem
from egress_net.et_sync.select import CATEGORY_SETTINGS
from egress_net.et_sync.settings import SyncSettings

MAX_LOCAL_BYTES = 512 * 1024 * 1024
BAR_WIDTH = 30
# Category setting -> (argparse dest, flag), to name the flag a bad category came from.
_CATEGORY_FLAGS = {
    "include_categories": ("include", "--include"),
    "exclude_categories": ("exclude", "--exclude"),
    "ids_to_ips_categories": ("ips", "--ips"),
}


def register(subparsers: Any) -> None:
    from egress_net.commands import rules as rules_command

    target = rules_command.RULES_SUBPARSERS
    if target is None:  # the rules command registers first (modules load in name order)
        rules_command.register(subparsers)
        target = rules_command.RULES_SUBPARSERS
    parser = target.add_parser(
        "sync",
        help="plan the Emerging Threats Open sync locally (dry run)",
        description="Fetch or read an ET Open ruleset, plan the rules of the declared ET "
        "groups exactly as the deployed sync function would, and print what would change. "
        "Exits 1 for a plan the function would not apply (rules that outgrow the groups, or "
        "no ET rule at all).",
    )
    parser.add_argument(
        "--source",
        required=True,
        metavar="FILE|DIR|URL",
        help="emerging.rules.tar.gz, a folder of .rules files, or an http(s) URL",
    )
    parser.add_argument("--md5", metavar="FILE|URL", help="md5 to verify (default: SOURCE.md5)")
    parser.add_argument(
        "--dry-run", action="store_true", help="plan only (required: the function applies)"
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="YAML/JSON mapping with the stack's rules.emergingThreats settings",
    )
    parser.add_argument("--current", metavar="MANIFEST", help="last applied manifest (JSON)")
    parser.add_argument("--include", action="append", metavar="CATEGORY", default=None)
    parser.add_argument("--exclude", action="append", metavar="CATEGORY", default=None)
    parser.add_argument(
        "--ips", action="append", metavar="CATEGORY", default=None, help="alert → drop"
    )
    parser.add_argument("--home-net", action="append", metavar="CIDR", default=None)
    parser.add_argument(
        "--prefix",
        default="egress-net",
        help="what the ET group names start with: the stack's token, e.g. egress-net-prod",
    )
    parser.add_argument("--timeout", type=float, default=30.0, help="HTTP timeout, seconds")
    parser.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on stderr (default: when stderr is a terminal)",
    )
    parser.add_argument("--json", action="store_true", help="print the changes as JSON")
    parser.set_defaults(func=run)


def _load_config(path: str | None) -> Any:
    from pydantic import ValidationError

    from egress_net.et_sync.model import EmergingThreatsConfig

    if path is None:
        return EmergingThreatsConfig()
    import yaml

    text = _read_text(path, "--config")
    try:
        data = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        kind = "JSON" if path.endswith(".json") else "YAML"
        raise ConfigError(path, f"not valid {kind}: {err}") from None
    if not isinstance(data, dict):
        raise ConfigError(path, "must be a mapping of rules.emergingThreats settings")
    try:
        return EmergingThreatsConfig.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "(top level)"
        raise ConfigError(f"{path}: {where}", first["msg"]) from None


def _read_text(path: str, flag: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(flag, f"cannot read {path}: {err}") from None


def _settings(args: argparse.Namespace) -> SyncSettings:
    cfg = _load_config(args.config)
    updates: dict[str, Any] = {}
    if args.include is not None:
        updates["include_categories"] = args.include
    if args.exclude is not None:
        updates["exclude_categories"] = args.exclude
    if args.ips is not None:
        updates["ids_to_ips_categories"] = args.ips
    if args.home_net is not None:
        for cidr in args.home_net:
            try:
                ipaddress.ip_network(cidr, strict=True)
            except ValueError as err:
                raise ConfigError("--home-net", f"{cidr!r} is not a CIDR block ({err})") from None
        updates["home_net"] = args.home_net
    if updates:
        from pydantic import ValidationError

        try:
            cfg = type(cfg).model_validate({**cfg.model_dump(), **updates})
        except ValidationError as err:
            first = err.errors()[0]
            flag = f"--{first['loc'][0]}" if first["loc"] else "--include/--exclude"
            raise ConfigError(flag, first["msg"]) from None
    if args.timeout <= 0:
        raise ConfigError("--timeout", "must be above 0 seconds")
    return cfg.to_settings(rule_group_prefix=args.prefix)


def category_labels(args: argparse.Namespace) -> dict[str, str]:
    """Where each category setting came from: its flag (flags override the config), else the
    ``--config`` file and key; settings left at their default keep the stack config key."""
    labels: dict[str, str] = {}
    for setting, (dest, flag) in _CATEGORY_FLAGS.items():
        if getattr(args, dest) is not None:
            labels[setting] = flag
        elif args.config is not None:
            key = CATEGORY_SETTINGS[setting].rsplit(".", 1)[-1]
            labels[setting] = f"{args.config}: {key}"
    return labels


def _is_url(source: str) -> bool:
    return source.startswith(("http://", "https://"))


def load_source(args: argparse.Namespace) -> tuple[str, dict[str, str]]:
    """``(version, {rules file: text})`` from a URL, a tarball or a folder of .rules files."""
    source: str = args.source
    if _is_url(source):
        md5_url = args.md5 or f"{source}.md5"
        if _is_url(md5_url):
            digest = fetch.fetch_published_md5(md5_url, timeout=args.timeout)
        else:
            digest = fetch.parse_md5(_read_text(md5_url, "--md5"), md5_url)
        ruleset = fetch.fetch_ruleset(
            source,
            digest,
            timeout=args.timeout,
            max_bytes=MAX_LOCAL_BYTES,
            max_extracted_bytes=MAX_LOCAL_BYTES,
        )
        return ruleset.version, ruleset.files
    path = Path(source)
    if path.is_dir():
        files = {
            p.name: p.read_text(encoding="utf-8", errors="replace")
            for p in sorted(path.glob("*.rules"))
        }
        if not files:
            raise ConfigError("--source", f"no .rules files in {source}")
        return "local", files
    if not path.is_file():
        raise ConfigError("--source", f"{source} is neither a file, a folder nor a URL")
    data = path.read_bytes()
    if args.md5 and _is_url(args.md5):
        version = fetch.verify_md5(
            data, fetch.fetch_published_md5(args.md5, timeout=args.timeout), source
        )
    elif args.md5:
        digest = fetch.parse_md5(_read_text(args.md5, "--md5"), args.md5)
        version = fetch.verify_md5(data, digest, source)
    else:
        version = hashlib.md5(data, usedforsecurity=False).hexdigest()
    if path.suffix == ".rules":
        return version, {path.name: data.decode("utf-8", errors="replace")}
    return version, fetch.extract_rules(data, where=source, max_extracted_bytes=MAX_LOCAL_BYTES)


class ProgressBar:
    """``parsing [######------] 12/51 files, 8,123 rules`` redrawn in place on stderr."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    def __call__(self, done: int, total: int, rules: int) -> None:
        filled = BAR_WIDTH * done // max(total, 1)
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        end = "\n" if done == total else ""
        self.stream.write(f"\rparsing [{bar}] {done}/{total} files, {rules:,} rules{end}")
        self.stream.flush()


def _load_manifest(path: str | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        data = json.loads(_read_text(path, "--current"))
    except json.JSONDecodeError as err:
        raise ConfigError("--current", f"{path} is not JSON: {err}") from None
    if not isinstance(data, dict) or not isinstance(data.get("groups"), list):
        raise ConfigError("--current", f"{path} is not a sync manifest (no 'groups' list)")
    return data


def render(plan: SyncPlan, changes: PlanChanges, settings: SyncSettings) -> str:
    s = plan.stats
    slots = settings.groups
    group_capacity = min((slot.capacity for slot in slots), default=0)
    lines = [
        f"ET Open sync plan (dry run), version {plan.version}",
        f"categories: {len(plan.categories)} selected",
        f"rules: {s['parsed']:,} parsed, {s['disabled']:,} disabled, {s['accepted']:,} "
        f"accepted, {s['rejected']:,} rejected",
        "",
        f"{'action':<8} {'group':<60} {'capacity':>15} {'rules':>7}",
    ]
    for line in changes.groups:
        old = "-" if line.old_capacity is None else f"{line.old_capacity:,}"
        new = "-" if line.new_capacity is None else f"{line.new_capacity:,}"
        capacity = new if line.action in ("create", "keep") else f"{old} → {new}"
        lines.append(f"{line.action:<8} {line.name:<60} {capacity:>15} {line.rules:>7,}")
    lines += [
        "",
        f"groups: {changes.count('create')} created, {changes.count('update')} updated, "
        f"{changes.count('replace')} replaced, {changes.count('delete')} deleted, "
        f"{changes.count('keep')} unchanged",
        f"sids: {len(changes.sids_added):,} added, {len(changes.sids_removed):,} removed, "
        f"{len(changes.sids_changed):,} changed",
        f"capacity: {changes.capacity_before:,} → {changes.capacity_after:,} "
        f"(rules need {plan.needed_capacity:,}; {len(plan.filled)} of {len(slots)} declared "
        f"groups of {group_capacity:,} used)",
    ]
    counts: dict[str, int] = {}
    for rejected in plan.rejected:
        counts[rejected.reason] = counts.get(rejected.reason, 0) + 1
    if counts:
        lines.append("rejected by reason:")
        for reason, count in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])):
            lines.append(f"  {count:>6,}  {reason}")
    lines += _refused_lines(plan)
    lines += [f"warning: {w}" for w in plan.warnings]
    return "\n".join(lines)


# Rejections a reader must see one by one: lines that are not rules, and feed rules that
# would decide traffic (the feed may only alert, and never bypass inspection).
_LISTED_REASONS = ("parse-error", "feed-action:", "feed-keyword:")
_LISTED_MAX = 20


def _refused_lines(plan: SyncPlan) -> list[str]:
    listed = [r for r in plan.rejected if r.reason.startswith(_LISTED_REASONS)]
    lines = [f"  {r.where}: {r.reason}: {r.detail}" for r in listed[:_LISTED_MAX]]
    if len(listed) > _LISTED_MAX:
        lines.append(f"  … and {len(listed) - _LISTED_MAX} more (see --json)")
    return ["refused lines:", *lines] if lines else []


def _as_json(plan: SyncPlan, changes: PlanChanges, problems: list[str]) -> str:
    return json.dumps(
        {
            "version": plan.version,
            "groups": [line.__dict__ for line in changes.groups],
            "sids": {
                "added": list(changes.sids_added),
                "removed": list(changes.sids_removed),
                "changed": list(changes.sids_changed),
            },
            "capacity": {"before": changes.capacity_before, "after": changes.capacity_after},
            "stats": dict(plan.stats),
            "refused": [r.as_dict() for r in plan.rejected if r.reason.startswith(_LISTED_REASONS)],
            "problems": problems,
        },
        indent=1,
    )


def run(args: argparse.Namespace) -> int:
    if not args.dry_run:
        raise ConfigError(
            "--dry-run",
            "the CLI only plans; the deployed function applies changes",
            "add --dry-run, or run the function: aws lambda invoke --function-name "
            "<function> --invocation-type Event --payload '{\"force\": true}' out.json",
        )
    settings = _settings(args)
    manifest = _load_manifest(args.current)
    version, files = load_source(args)
    show_progress = sys.stderr.isatty() if args.progress is None else args.progress
    plan = build_plan(
        files,
        settings,
        version=version,
        progress=ProgressBar(sys.stderr) if show_progress else None,
        category_labels=category_labels(args),
    )
    changes = changes_from_manifest(plan, manifest)
    problems = capacity_problems(plan)
    # Exit 1 for every plan the function would refuse, not only the quota ones.
    in_force = len(manifest["groups"]) if manifest else 0
    emptying = emptying_problem(plan, in_force)
    if emptying:
        problems.append(emptying)
    print(_as_json(plan, changes, problems) if args.json else render(plan, changes, settings))
    for problem in problems:
        print(f"error: rules.emergingThreats: {problem}", file=sys.stderr)
    return 1 if problems else 0
