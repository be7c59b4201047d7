"""What the probe's phase-by-phase timing costs, next to a bare GET, on loopback.

    python benchmarks/probe.py [--requests 300]

Starts an HTTP server on 127.0.0.1 (a free port), then times the same number of GETs on
fresh connections three ways: ``urllib.request.urlopen`` (the baseline), ``http.client``
with no instrumentation, and the probe's ``measure_once``. On loopback the network costs
almost nothing, so the difference is the tool's own overhead: it should be a small fraction
of a millisecond, far below the differences between routes the probe is used to measure.
"""

from __future__ import annotations

import argparse
import http.client
import statistics
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from egress_net.probe import measure_once, parse_target  # noqa: E402

BODY = b"x" * 1024


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", str(len(BODY)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(BODY)

    def log_message(self, format: str, *args: object) -> None:
        pass


def timed_ms(run: Callable[[], None], requests: int) -> list[float]:
    run()  # warm up
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    port = server.server_address[1]
    url = f"http://127.0.0.1:{port}/"
    target = parse_target(url)

    def with_urllib() -> None:
        with urllib.request.urlopen(url, timeout=5) as response:
            response.read()

    def with_http_client() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        conn.request("GET", "/")
        conn.getresponse().read()
        conn.close()

    def with_probe() -> None:
        sample = measure_once(target, 1, 5.0, None)
        if not sample.ok:
            raise RuntimeError(sample.error)

    try:
        rows = [
            ("urllib.request.urlopen (baseline)", timed_ms(with_urllib, args.requests)),
            ("http.client, no timing", timed_ms(with_http_client, args.requests)),
            ("egress-net probe measure_once", timed_ms(with_probe, args.requests)),
        ]
    finally:
        server.shutdown()
        server.server_close()

    base = statistics.fmean(rows[0][1])
    print(f"{args.requests} GETs of {len(BODY)} B on fresh loopback connections\n")
    print(f"{'client':36} {'mean ms':>8} {'p50 ms':>8} {'p95 ms':>8} {'ratio':>6}")
    for label, times in rows:
        cuts = statistics.quantiles(times, n=20, method="inclusive")
        mean = statistics.fmean(times)
        print(
            f"{label:36} {mean:>8.3f} {statistics.median(times):>8.3f} {cuts[18]:>8.3f} "
            f"{mean / base:>6.2f}"
        )


if __name__ == "__main__":
    main()
