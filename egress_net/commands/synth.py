"""``egress-net synth <stack>``: run the Pulumi program offline and show what it would build."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from egress_net import engine, synth_report


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
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    result = engine.synth(engine.load_source(args.stack, args.project_dir))
    if args.json:
        print(json.dumps(synth_report.to_json(result.recording), indent=2, sort_keys=True))
    else:
        referenced = list(result.referenced.values())
        print(synth_report.render(result.recording, result.warnings, referenced))
    return 0
