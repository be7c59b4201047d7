"""Allowlist learning throughput and memory on a generated Network Firewall log.

    python benchmarks/allowlist.py [--records 1000000]

Writes a log of TLS, alert (HTTP) and netflow records in the AWS envelope, with the oddities
of real logs (string/integer timestamps and ports, trailing dots, IP hosts, corrupt lines),
then measures in the same run:

- speed: lines per second of a bare ``json.loads`` of every line (the baseline) and of the
  learner (parse, map to spoke, aggregate), on plain and gzip input;
- memory: peak Python allocation (tracemalloc) of the learner on a tenth of the log and on
  all of it. Streaming means the two peaks are about the same.
"""

from __future__ import annotations

import argparse
import gzip
import json
import random
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from egress_net.allowlist import Learner, Spoke, SpokeMap  # noqa: E402
from egress_net.logs import FileSource  # noqa: E402

SPOKES = [Spoke("app", "10.1.0.0/16"), Spoke("data", "10.2.0.0/16"), Spoke("batch", "10.3.0.0/16")]


def generate(path: Path, records: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    names = [f"svc{i}.team{i % 40}.example.com" for i in range(2000)] + ["pypi.org."]
    base = 1_764_000_000
    with path.open("w", encoding="utf-8") as out:
        for i in range(records):
            if i % 10_000 == 9_999:
                out.write('{"firewall_name":"hub","event":{"event_type":"tls", truncated\n')
                continue
            src = f"10.{rng.randint(1, 4)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
            # names resolve to a few addresses each; some flows go to addresses without a name
            pick = rng.randrange(len(names))
            dest = f"203.0.{pick % 200}.{pick // 200 * 4 + rng.randint(1, 4)}"
            kind = rng.random()
            if kind > 0.95:
                dest = f"198.51.100.{rng.randint(1, 50)}"
            event: dict[str, object] = {
                "timestamp": "2025-11-24T16:00:00.000000+0000",
                "flow_id": rng.getrandbits(50),
                "src_ip": src,
                "src_port": rng.randint(1024, 65535),
                "dest_ip": dest,
                "proto": "TCP",
            }
            if kind < 0.5:
                event |= {"event_type": "tls", "dest_port": 443,
                          "tls": {"sni": names[pick], "version": "TLS 1.3"}}  # fmt: skip
            elif kind < 0.7:
                event |= {"event_type": "alert", "dest_port": "80",
                          "http": {"hostname": names[pick], "url": "/"},
                          "alert": {"action": "allowed", "signature_id": 1, "rev": 1}}  # fmt: skip
            else:
                event |= {"event_type": "netflow", "dest_port": rng.choice([443, 5432, 8883]),
                          "netflow": {"pkts": 10, "bytes": 1400, "age": 1}}  # fmt: skip
            stamp: object = str(base + i // 100) if i % 2 else base + i // 100
            envelope = {"firewall_name": "hub", "availability_zone": "us-east-1a",
                        "event_timestamp": stamp, "event": event}  # fmt: skip
            out.write(json.dumps(envelope, separators=(",", ":")) + "\n")


def baseline(path: Path) -> int:
    lines = 0
    with path.open("rb") as handle:
        for line in handle:
            try:
                json.loads(line)
            except ValueError:
                pass
            lines += 1
    return lines


def learn(path: Path) -> int:
    learner = Learner(SpokeMap(SPOKES))
    learner.read([FileSource(path)])
    DISTINCT[path] = len(learner.names) + len(learner.ip_flows)
    return learner.stats.lines


DISTINCT: dict[Path, int] = {}  # distinct (spoke, destination) keys kept, per input


def timed(run: Callable[[Path], int], path: Path) -> tuple[int, float]:
    start = time.perf_counter()
    lines = run(path)
    return lines, time.perf_counter() - start


def peak_bytes(run: Callable[[Path], int], path: Path) -> int:
    tracemalloc.start()
    run(path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def head(path: Path, out: Path, lines: int) -> None:
    with path.open("rb") as src, out.open("wb") as dst:
        for i, line in enumerate(src):
            if i >= lines:
                break
            dst.write(line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as folder:
        plain = Path(folder) / "fw.log"
        t0 = time.perf_counter()
        generate(plain, args.records)
        packed = Path(folder) / "fw.log.gz"
        with plain.open("rb") as src, gzip.open(packed, "wb", compresslevel=1) as dst:
            while chunk := src.read(1 << 20):
                dst.write(chunk)
        tenth = Path(folder) / "fw-tenth.log"
        head(plain, tenth, args.records // 10)
        print(
            f"generated {args.records:,} records, {plain.stat().st_size / 1e6:.0f} MB plain, "
            f"{packed.stat().st_size / 1e6:.0f} MB gzip, in {time.perf_counter() - t0:.1f} s\n"
        )

        base_lines, base_s = timed(baseline, plain)
        rows = [("json.loads per line (baseline)", "plain", base_lines, base_s)]
        for label, path in (("learner", plain), ("learner", packed)):
            lines, seconds = timed(learn, path)
            rows.append((label, "gzip" if path == packed else "plain", lines, seconds))
        base_rate = base_lines / base_s
        print(
            f"{'reader':32} {'input':6} {'lines':>10} {'seconds':>8} {'lines/s':>10} {'ratio':>6}"
        )
        for label, kind, lines, seconds in rows:
            rate = lines / seconds
            print(
                f"{label:32} {kind:6} {lines:>10,} {seconds:>8.2f} {rate:>10,.0f} "
                f"{rate / base_rate:>6.2f}"
            )

        small = peak_bytes(learn, tenth)
        large = peak_bytes(learn, plain)
        print(
            f"\n{'learner peak memory (tracemalloc)':34} {'lines':>10} {'distinct keys':>13} "
            f"{'peak MB':>8} {'ratio':>6}"
        )
        for label, lines, path, peak in (
            ("a tenth of the log", args.records // 10, tenth, small),
            ("the whole log", args.records, plain, large),
        ):
            print(
                f"{label:34} {lines:>10,} {DISTINCT[path]:>13,} {peak / 1e6:>8.2f} "
                f"{peak / small:>6.2f}"
            )


if __name__ == "__main__":
    main()
