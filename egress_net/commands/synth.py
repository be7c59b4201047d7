"""``egress-net synth <stack>``: run the Pulumi program offline and show what it would build.

``egress-net synth --all`` runs every stack of the folder and checks their physical names
together, as if they shared accounts and regions (:mod:`egress_net.name_check`).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from egress_net import config, engine, name_check, naming, plan_diff, synth_report
from egress_net.errors import EgressNetError, check_output_path, write_output
from egress_net.offline import quotas
from egress_net.recording import Recording


def register(subparsers: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    parser = subparsers.add_parser(
        "synth",
        help="run the Pulumi program for a stack offline and print what it would build",
        description="Runs __main__.py for Pulumi.<stack>.yaml under Pulumi mocks (nothing is "
        "deployed) and prints resources by type, route tables per AZ, TGW route tables and "
        "stack outputs. With --all, runs every stack of the folder and reports physical names "
        "two stacks would both claim in a shared account and region, and names AWS refuses; "
        "exits 1 if there is any.",
    )
    parser.add_argument("stack", nargs="?", help="stack name, e.g. dev (reads Pulumi.dev.yaml)")
    parser.add_argument(
        "--all",
        action="store_true",
        help="every Pulumi.<stack>.yaml of the folder: check their names together",
    )
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
    if args.all:
        if args.stack or args.json or args.save or args.against:
            raise config.ConfigError(
                "--all",
                "takes no stack, --json, --save or --against",
                "run `egress-net synth --all` alone",
            )
        return run_all(args.project_dir)
    if not args.stack:
        raise config.ConfigError(
            "stack", "name a stack, or give --all", "e.g. egress-net synth dev"
        )
    previous = plan_diff.load(args.against) if args.against else None
    if args.save:
        check_output_path("--save", args.save)
    if previous is not None and previous.stack not in ("", args.stack):
        raise config.ConfigError(
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


def stacks_in(project_dir: Path) -> list[str]:
    """Stack names of the folder's stack files (``Pulumi.<stack>.yaml``)."""
    return sorted(
        path.name[len("Pulumi.") : -len(".yaml")] for path in project_dir.glob("Pulumi.*.yaml")
    )


def synth_all(project_dir: Path) -> tuple[list[Recording], dict[str, str]]:
    """Every stack's recording, and the error of each stack that does not synthesize."""
    recordings, errors = [], {}
    for stack in stacks_in(project_dir):
        if not naming.STACK_RE.fullmatch(stack):
            # `pulumi stack init` refuses it, so no deploy would ever run it.
            errors[stack] = "not a stack name Pulumi accepts (letters, digits, '-', '_', '.')"
            continue
        try:
            recordings.append(engine.synth(engine.load_source(stack, project_dir)).recording)
        except EgressNetError as err:
            errors[stack] = str(err).splitlines()[0]
    return recordings, errors


def run_all(project_dir: Path | None) -> int:
    folder = (project_dir or config.find_project_dir()).resolve()
    recordings, errors = synth_all(folder)
    report = name_check.check_names(recordings)
    print(name_check.render(report, errors))
    # Quotas are adjustable per account: notes to act on before `up`, not failures.
    for note in quotas.over_default(recordings, shared=True):
        print(f"note: if the stacks share one account and region, {note}")
    return 0 if report.ok and not errors else 1
