"""Synth time and resource count for a hub with N spokes × 3 AZs, next to two floors.

- floor: the same number of bare resources (a CustomResource with one input) under the same
  offline engine: what Pulumi's registration machinery costs at the least;
- typed floor: the same number of plain pulumi_aws resources (Subnets with two inputs): what
  the provider SDK's resource classes cost before any program logic (each declares dozens of
  output properties, every one an Output with its futures);
- before: the same synth with the garbage collector's full collections left on and the SDK's
  stack capture for every resource on, as before the engine deferred and skipped them while
  a program runs (`engine._full_collections_deferred`, `engine._source_positions_skipped`).
- up only: the same synth without its preview pass (`engine.synth(..., preview=False)`), and
  api: the time the check of the recording against AWS's API models takes within a synth
  (`egress_net.offline.api_rules`, models already loaded). The preview pass costs
  synth − up only; "before", the speedup and the floor ratios compare with up only.
Then, for the largest spoke count, where one synth spends its time (cProfile, own time of
each function, main thread): the project's own code against the Pulumi SDK, the provider
SDK, asyncio and the rest.
Run: .venv/bin/python benchmarks/synth.py [--spokes 10 50 100 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import gc
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from egress_net import engine  # noqa: E402
from egress_net.offline import api_rules  # noqa: E402

FLOOR_PROGRAM = """
import pulumi

class Bare(pulumi.CustomResource):
    def __init__(self, name):
        super().__init__("bench:index:Bare", name, {{"value": name}})

for i in range({count}):
    Bare(f"bare-{{i}}")
"""

TYPED_FLOOR_PROGRAM = """
import pulumi_aws as aws

for i in range({count}):
    aws.ec2.Subnet(f"subnet-{{i}}", vpc_id="vpc-0", cidr_block="10.0.0.0/28")
"""


def hub_values(spokes: int) -> dict[str, object]:
    return {
        "aws:region": "us-east-1",
        "egress-net:role": "hub",
        "egress-net:azIds": ["use1-az1", "use1-az2", "use1-az4"],
        "egress-net:egressVpcCidr": "100.64.0.0/23",
        "egress-net:spokeSupernets": ["10.0.0.0/8"],
        "egress-net:spokes": [
            # A /20 each, so runs beyond 255 spokes fit in 10.0.0.0/8 too.
            {"name": f"spoke{i}", "cidr": f"10.{i // 16}.{i % 16 * 16}.0/20"}
            for i in range(spokes)
        ],
        "egress-net:firewall": {"mode": "drop"},
    }


def timed(fn: Callable[[T], R], arg: T) -> tuple[float, R]:
    start = time.perf_counter()
    result = fn(arg)
    return time.perf_counter() - start, result


@contextlib.contextmanager
def engine_as_before() -> Iterator[None]:
    saved = engine._NO_FULL_COLLECTION, engine._SKIP_SOURCE_POSITIONS
    engine._NO_FULL_COLLECTION = gc.get_threshold()[2]
    engine._SKIP_SOURCE_POSITIONS = False
    try:
        yield
    finally:
        engine._NO_FULL_COLLECTION, engine._SKIP_SOURCE_POSITIONS = saved


def median_seconds(fn: Callable[[T], R], arg: T, repeat: int) -> tuple[float, R]:
    runs = [timed(fn, arg) for _ in range(repeat)]
    return statistics.median(s for s, _ in runs), runs[-1][1]


def floor_seconds(program: str, count: int, repeat: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "__main__.py").write_text(program.format(count=count))
        floor = engine.StackSource(Path(tmp), "floor", {"aws:region": "us-east-1"})
        return median_seconds(engine.run_program, floor, repeat)[0]


# Where a function's file lives → the share it is counted in.
TIME_SHARES = (
    ("egress_net (the program, components, engine)", f"{REPO}/egress_net/"),
    ("pulumi_aws (provider SDK classes)", "/pulumi_aws/"),
    ("pulumi (SDK runtime: Outputs, RPC, registration)", "/pulumi/"),
    ("asyncio", "/asyncio/"),
    ("protobuf (RPC messages)", "/google/protobuf/"),
    ("other site-packages", "site-packages"),
    ("built-ins (isinstance, set, dict...; called from the above)", "~"),
)


def time_shares(source: engine.StackSource) -> list[tuple[str, float]]:
    """Own time per share of one synth, largest first, plus the total."""
    profile = cProfile.Profile()
    profile.runcall(engine.synth, source)
    rest = "standard library (typing, threading, traceback, pathlib...)"
    totals = dict.fromkeys([label for label, _ in TIME_SHARES] + [rest], 0.0)
    for (filename, _line, _name), row in pstats.Stats(profile).stats.items():  # type: ignore[attr-defined]
        label = next((lbl for lbl, part in TIME_SHARES if part in filename), rest)
        totals[label] += row[2]
    return sorted(totals.items(), key=lambda item: -item[1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spokes", type=int, nargs="+", default=[10, 50, 100, 200])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    header = ("spokes", "resources", "synth s", "up only s", "api s", "before s", "speedup")
    header += ("floor s", "ratio", "typed s", "ratio", "ms/spoke")
    print("{:>6} {:>9} {:>8} {:>9} {:>6} {:>8} {:>7} {:>8} {:>6} {:>8} {:>6} {:>9}".format(*header))
    engine.synth(engine.StackSource(REPO, "warm-up", hub_values(1)))  # imports, outside timings
    rows = []
    for n in args.spokes:
        source = engine.StackSource(REPO, f"bench{n}", hub_values(n))
        synth_s, result = median_seconds(engine.synth, source, args.repeat)
        up_only_s = median_seconds(
            lambda src: engine.synth(src, preview=False), source, args.repeat
        )[0]
        api_s = median_seconds(api_rules.check_recording, result.recording, args.repeat)[0]
        with engine_as_before():
            before_s = median_seconds(
                lambda src: engine.synth(src, preview=False), source, args.repeat
            )[0]
        count = len(result.recording.resources)
        floor_s = floor_seconds(FLOOR_PROGRAM, count, args.repeat)
        typed_s = floor_seconds(TYPED_FLOOR_PROGRAM, count, args.repeat)
        rows.append((n, synth_s))
        print(
            f"{n:>6} {count:>9} {synth_s:>8.2f} {up_only_s:>9.2f} {api_s:>6.2f}"
            f" {before_s:>8.2f} {before_s / up_only_s:>6.2f}×"
            f" {floor_s:>8.2f} {up_only_s / floor_s:>6.2f} {typed_s:>8.2f}"
            f" {up_only_s / typed_s:>6.2f}"
            f" {1000 * synth_s / n:>9.1f}"
        )
    if len(rows) >= 2:
        (n0, t0), (n1, t1) = rows[0], rows[-1]
        print(f"growth {n0}→{n1} spokes: time ×{t1 / t0:.1f} for spokes ×{n1 / n0:.1f}")

    largest = max(args.spokes)
    shares = time_shares(engine.StackSource(REPO, f"bench{largest}", hub_values(largest)))
    total = sum(seconds for _, seconds in shares)
    print(f"\nwhere one synth of {largest} spokes spends its time (profiled {total:.2f} s):")
    for label, seconds in shares:
        print(f"  {100 * seconds / total:5.1f}%  {seconds:7.2f} s  {label}")


if __name__ == "__main__":
    main()
