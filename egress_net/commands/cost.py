"""``egress-net cost <stack>`` and ``egress-net cost compare``: monthly cost estimates.

The stack (or one in-memory hub stack per model and spoke count) is synthesized offline and
priced by :mod:`egress_net.cost`; nothing is deployed and no AWS API is called.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from egress_net import config, cost, engine
from egress_net.errors import ConfigError, EgressNetError
from egress_net.recording import Recording

COMPARE = "compare"


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "cost",
        help="estimate the monthly cost of a stack, or compare the deployment models",
        description="`cost <stack>` synthesizes the stack offline and itemizes a month: "
        "firewall endpoint-hours and GB, NAT gateway-hours and GB (minus the waiver for NAT "
        "gateways chained with the firewall), Transit Gateway attachment-hours and GB, "
        "cross-AZ transfer and public IPv4 address-hours. `cost compare --spokes 1 10 50` "
        "prices every supported model with that many spokes in 3 AZs.",
    )
    parser.add_argument("stack", help=f"stack name (reads Pulumi.<stack>.yaml), or '{COMPARE}'")
    parser.add_argument(
        "--gb-per-month",
        type=float,
        metavar="GB",
        required=True,
        help="GB per month the spokes exchange with the internet, both directions together",
    )
    parser.add_argument(
        "--cross-az-fraction",
        type=float,
        metavar="SHARE",
        default=None,
        help="share of the traffic (0-1) that crosses AZs (default: the traced paths' share, "
        "0 for designs whose paths stay in one AZ)",
    )
    parser.add_argument(
        "--nat-waiver",
        choices=cost.NAT_WAIVERS,
        default="chained",
        help="which NAT gateways get the Network Firewall credit: chained (on the firewall's "
        "path, read from the routes; the default) or any (every NAT gateway of the stack)",
    )
    parser.add_argument(
        "--price-overrides",
        type=Path,
        metavar="FILE",
        default=None,
        help="YAML/JSON file with prices for another region or negotiated rates (see docs/cost.md)",
    )
    parser.add_argument(
        "--spokes",
        type=int,
        metavar="N",
        nargs="+",
        default=None,
        help=f"with '{COMPARE}': spoke counts to compare (default 1 10 50)",
    )
    parser.add_argument(
        "--ingress-gb-per-month",
        type=float,
        default=0.0,
        metavar="GB",
        help="public applications' traffic, both directions (ingress; default 0)",
    )
    parser.add_argument("--project-dir", type=Path, default=None, help="folder of Pulumi.yaml")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    usage = cost.Usage(
        args.gb_per_month,
        args.cross_az_fraction,
        args.nat_waiver,
        ingress_gb_per_month=args.ingress_gb_per_month,
    )
    cost.validate_usage(usage)
    prices = (
        cost.load_price_overrides(args.price_overrides)
        if args.price_overrides
        else cost.DEFAULT_PRICES
    )
    if args.stack == COMPARE:
        return run_compare(args, usage, prices)
    if args.spokes is not None:
        raise ConfigError("--spokes", f"only for `egress-net cost {COMPARE}`", "remove it")
    result = engine.synth(engine.load_source(args.stack, args.project_dir))
    estimate = cost.estimate(result.recording, usage, prices, list(result.referenced.values()))
    if args.json:
        print(json.dumps(cost.to_json(estimate), indent=2))
    else:
        print(cost.render(estimate))
    return 0


def run_compare(args: argparse.Namespace, usage: cost.Usage, prices: cost.Prices) -> int:
    counts = args.spokes or [1, 10, 50]
    for n in counts:
        if not 1 <= n <= cost.MAX_COMPARE_SPOKES:
            raise ConfigError(
                "--spokes", f"{n} is out of range", f"give 1 to {cost.MAX_COMPARE_SPOKES}"
            )
    project_dir = (args.project_dir or config.find_project_dir()).resolve()
    recordings: dict[tuple[str, int], Recording] = {}
    failures: list[str] = []
    for model in cost.supported_models():
        for n in sorted(set(counts)):
            try:
                source = engine.StackSource(
                    project_dir, f"cost-{model}-{n}", cost.comparison_config(model, n)
                )
                recordings[(model, n)] = engine.synth(source).recording
            except EgressNetError as err:
                failures.append(f"{model} with {n} spokes: {err}")
            except Exception as err:
                # A model the program cannot build yet must not hide the others' rows.
                failures.append(f"{model} with {n} spokes cannot be synthesized: {err}")
    rows = cost.compare(recordings, usage, prices)
    if args.json:
        print(cost.comparison_json(rows))
    else:
        print(cost.render_comparison(rows, usage, prices))
    for failure in failures:
        print(f"error: {failure}", file=sys.stderr)
    return 1 if failures else 0
