"""Synth time and resource count for a hub with N spokes × 3 AZs, next to two floors.

- floor: the same number of bare resources (a CustomResource with one input) under the same
  offline engine: what Pulumi's registration machinery costs at the least;
- typed floor: the same number of plain pulumi_aws resources (Subnets with two inputs): what
  the provider SDK's resource classes cost before any program logic (each declares dozens of
  output properties, every one an Output with its futures).
Run: .venv/bin/python benchmarks/synth.py [--spokes 10 50 100 200] [--repeat 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")
REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from egress_net import engine  # noqa: E402

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
            {"name": f"spoke{i}", "cidr": f"10.{i}.0.0/16"} for i in range(spokes)
        ],
        "egress-net:firewall": {"mode": "drop"},
    }


def timed(fn: Callable[[T], R], arg: T) -> tuple[float, R]:
    start = time.perf_counter()
    result = fn(arg)
    return time.perf_counter() - start, result


def floor_seconds(program: str, count: int, repeat: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "__main__.py").write_text(program.format(count=count))
        floor = engine.StackSource(Path(tmp), "floor", {"aws:region": "us-east-1"})
        return statistics.median(timed(engine.run_program, floor)[0] for _ in range(repeat))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--spokes", type=int, nargs="+", default=[10, 50, 100, 200])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    header = ("spokes", "resources", "synth s", "floor s", "ratio", "typed s", "ratio", "ms/spoke")
    print("{:>6} {:>9} {:>8} {:>8} {:>6} {:>8} {:>6} {:>9}".format(*header))
    rows = []
    for n in args.spokes:
        source = engine.StackSource(REPO, f"bench{n}", hub_values(n))
        synth_times = []
        count = 0
        for _ in range(args.repeat):
            seconds, result = timed(engine.synth, source)
            synth_times.append(seconds)
            count = len(result.recording.resources)
        floor_s = floor_seconds(FLOOR_PROGRAM, count, args.repeat)
        typed_s = floor_seconds(TYPED_FLOOR_PROGRAM, count, args.repeat)
        synth_s = statistics.median(synth_times)
        rows.append((n, synth_s))
        print(
            f"{n:>6} {count:>9} {synth_s:>8.2f} {floor_s:>8.2f} {synth_s / floor_s:>6.2f}"
            f" {typed_s:>8.2f} {synth_s / typed_s:>6.2f} {1000 * synth_s / n:>9.1f}"
        )
    if len(rows) >= 2:
        (n0, t0), (n1, t1) = rows[0], rows[-1]
        print(f"growth {n0}→{n1} spokes: time ×{t1 / t0:.1f} for spokes ×{n1 / n0:.1f}")


if __name__ == "__main__":
    main()
