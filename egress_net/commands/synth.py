"""``egress-net synth <stack>``: run the Pulumi program offline and show what it would build."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from egress_net import engine, plan_diff, synth_report
from egress_net.errors import ConfigError, check_output_path, write_output


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "synth",
        help="run the Pulumi program for a stack offline and print what it would build",
        description="Runs __main__.py for Pulumi.<stack>.yaml under Pulumi mocks (nothing is "
        "deployed) and prints resources by type, route tables per AZ, TGW route tables and "
        "stack outputs.",
    )
    parser.add_argument("stack", help="stack name, e.g. dev (reads Pulumi.dev.yaml)")
    parser.add_argument("--project-dir", type=Path, default=None, help="folder of Pulumi.yaml")
    parser.add_argument("--json", action="store_true", help="print the recording as JSON")
    parser.add_argument(
        "--save",
        type=Path,
        metavar="FILE",
        help="also write the synthesis to FILE, to compare a later one with it (--against)",
    )
    parser.add_argument(
        "--against",
        type=Path,
        metavar="FILE",
        help="compare with a synthesis saved before the last `pulumi up` (--save or --json): "
        "what `up` would replace or update, and which firewall protection refuses it (exit 1)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    previous = plan_diff.load(args.against) if args.against else None
    if args.save:
        check_output_path("--save", args.save)
    if previous is not None and previous.stack not in ("", args.stack):
        raise ConfigError(
            "--against",
            f"{args.against} is a synthesis of stack {previous.stack}, not {args.stack}",
            f"compare with a synthesis of {args.stack} saved before its last `pulumi up`",
        )
    result = engine.synth(engine.load_source(args.stack, args.project_dir))
    if args.save:
        write_output("--save", args.save, plan_diff.dumps(result.recording))
    if previous is not None:
        preview = plan_diff.compare(previous, result.recording)
        print(plan_diff.render(preview, str(args.against)), end="")
        return 0 if preview.ok else 1
    if args.json:
        print(json.dumps(synth_report.to_json(result.recording), indent=2, sort_keys=True))
    else:
        referenced = list(result.referenced.values())
        print(synth_report.render(result.recording, result.warnings, referenced))
    return 0
