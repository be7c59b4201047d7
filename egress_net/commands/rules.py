"""``egress-net rules <verb>``: work with firewall rules offline.

Registers the ``rules`` parser and keeps its sub-parser set in ``RULES_SUBPARSERS`` so other
command modules (imported after this one, e.g. ``rules_sync``) can add verbs to it.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
from pathlib import Path
from typing import Any

from egress_net import config
from egress_net.errors import ConfigError
from egress_net.naming import StackNames
from egress_net.rules import limits
from egress_net.rules.report import check_paths, render_report
from egress_net.rules.variables import RuleVariables

RULES_SUBPARSERS: Any = None  # argparse's _SubParsersAction once register() ran

DEFAULT_HOME_NET = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"]


def register(subparsers: Any) -> None:
    global RULES_SUBPARSERS
    rules = subparsers.add_parser("rules", help="check and plan firewall rules offline")
    rules.set_defaults(func=lambda _args: _print_help(rules))
    RULES_SUBPARSERS = rules.add_subparsers(dest="rules_command", metavar="<verb>")

    check = RULES_SUBPARSERS.add_parser(
        "check",
        help="validate .rules files and plan rule groups",
        description="Validate Suricata rule files against Network Firewall's limits, plan "
        "the rule groups, and report. Exits 1 if the plan cannot deploy; with --strict, "
        "also if any rule is rejected.",
    )
    check.add_argument("paths", nargs="+", metavar="FILE|DIR", help=".rules files or dirs")
    check.add_argument(
        "--variables",
        metavar="FILE",
        help="YAML/JSON with ipSets, portSets and prefixLists (same keys as the stack "
        "config's rules section)",
    )
    check.add_argument(
        "--home-net",
        action="append",
        metavar="CIDR",
        help="HOME_NET CIDR (repeatable); default: the RFC 1918 ranges",
    )
    check.add_argument("--headroom", type=float, default=0.2, help="spare capacity fraction")
    check.add_argument("--group-capacity-max", type=int, default=limits.GROUP_CAPACITY_MAX)
    check.add_argument("--groups-max", type=int, default=limits.STATEFUL_GROUPS_PER_POLICY_MAX)
    check.add_argument(
        "--policy-capacity-max", type=int, default=limits.STATEFUL_POLICY_CAPACITY_MAX
    )
    check.add_argument(
        "--after-nat",
        action="store_true",
        help="the firewall sits after the NAT gateway (placement: after-nat): rules scoped to "
        "specific sources are errors, since it only sees NAT addresses",
    )
    check.add_argument(
        "--stack",
        metavar="STACK",
        help="name the groups as a deploy of this stack does (project and stack in the name)",
    )
    check.add_argument(
        "--project",
        default=config.NAMESPACE,
        metavar="NAME",
        help=f"the Pulumi project name, with --stack (default {config.NAMESPACE})",
    )
    check.add_argument("--strict", action="store_true", help="fail on any rejected rule")
    check.add_argument("--examples", type=int, default=3, help="examples per reason")
    check.set_defaults(func=run_check)


def _print_help(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _home_net(values: list[str] | None) -> list[str]:
    cidrs = values or DEFAULT_HOME_NET
    for cidr in cidrs:
        try:
            ipaddress.ip_network(cidr, strict=True)
        except ValueError as err:
            raise ConfigError("--home-net", f"{cidr!r} is not a CIDR block ({err})") from None
    return list(cidrs)


def load_variables(path: str | None, home_net: list[str]) -> RuleVariables:
    """Read a variables file, validated with the same rules as the stack config."""
    if path is None:
        return RuleVariables.for_home_net(home_net, suricata_defaults=True)
    from pydantic import ValidationError

    from egress_net.rules.model import RulesConfig

    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(path, f"cannot read the variables file: {err}") from None
    data = _load_mapping(path, text)
    unknown = sorted(set(data) - {"ipSets", "portSets", "prefixLists"})
    if unknown:
        raise ConfigError(
            f"{path}: {unknown[0]}",
            "unknown key",
            "a variables file holds ipSets, portSets and prefixLists",
        )
    try:
        cfg = RulesConfig.model_validate(data)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise ConfigError(f"{path}: {where}", first["msg"]) from None
    return RuleVariables.for_home_net(
        home_net,
        ip_sets={k: list(v) for k, v in cfg.ip_sets.items()},
        port_sets={k: list(v) for k, v in cfg.port_sets.items()},
        references=dict(cfg.prefix_lists),
        suricata_defaults=True,
    )


def _load_mapping(path: str, text: str) -> dict[str, Any]:
    import yaml

    try:
        data = json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as err:
        raise ConfigError(
            path, f"not valid {'JSON' if path.endswith('.json') else 'YAML'}: {err}"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(
            path,
            "the variables file must be a mapping",
            "e.g. ipSets: {HTTP_SERVERS: [10.0.0.0/16]}",
        )
    return data


def run_check(args: argparse.Namespace) -> int:
    if args.headroom < 0 or args.headroom > 10:
        raise ConfigError(
            "--headroom",
            f"{args.headroom} is outside 0..10",
            "a fraction: 0.2 means 20% spare capacity",
        )
    if args.examples < 0:
        raise ConfigError("--examples", "must be 0 or more")
    for flag in ("group_capacity_max", "groups_max", "policy_capacity_max"):
        if getattr(args, flag) < 1:
            raise ConfigError("--" + flag.replace("_", "-"), "must be 1 or more")
    variables = load_variables(args.variables, _home_net(args.home_net))
    names = None
    if args.stack is not None:
        try:
            names = StackNames(args.project, args.stack)
        except ValueError as err:
            raise ConfigError(
                "--stack", str(err), "Pulumi names use letters, digits, '-', '_' and '.'"
            ) from None
    report = check_paths(
        args.paths,
        variables=variables,
        strict=args.strict,
        headroom=args.headroom,
        group_capacity_max=args.group_capacity_max,
        groups_max=args.groups_max,
        policy_capacity_max=args.policy_capacity_max,
        firewall_sees_nat_only=args.after_nat,
        names=names,
    )
    print(render_report(report, examples=args.examples))
    return report.exit_code
