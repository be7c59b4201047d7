"""Latency probe: what does the path through the firewall cost per HTTP(S) request?

Each request is timed the way ``httping -G`` would see it, but phase by phase:

- ``dns``: ``socket.getaddrinfo`` for the host,
- ``connect``: the TCP handshake,
- ``tls``: the TLS handshake (HTTPS only),
- ``ttfb``: from sending the request to the status line arriving,
- ``total``: from the start of DNS to the last byte of the body.

``timeout`` bounds the whole request, from the start of DNS to the last byte, not each socket
read: a server that drips one byte at a time is cut at the deadline like one that never
answers. (``getaddrinfo`` itself cannot be interrupted; the resolver's own timeout applies
to it, and a request whose DNS alone overruns fails as a timeout right after.)

A fresh connection is made for every request, so every sample crosses the firewall's flow
setup, as a new outbound connection from a workload would. Statistics are pure functions;
percentiles use linear interpolation between closest ranks (Hyndman & Fan type 7, the
default of NumPy and of spreadsheet PERCENTILE), so p50 of [1, 2, 3, 4] is 2.5.
"""

from __future__ import annotations

import http.client
import io
import json
import math
import socket
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from egress_net import __version__
from egress_net.errors import ConfigError
from egress_net.text import shown

PHASES: tuple[str, ...] = ("dns", "connect", "tls", "ttfb", "total")
PERCENTILE_METHOD = "linear interpolation between closest ranks (Hyndman-Fan type 7)"
RESULT_FORMAT = "egress-net-probe/1"
# A response counts as a failure from this status up: the path worked but the service did not.
FAILURE_STATUS = 500
READ_CHUNK = 64 * 1024


# --------------------------------------------------------------------------------------------
# Statistics (pure)


def mean(values: Sequence[float]) -> float:
    if not values:
        raise ValueError("mean of no values")
    return math.fsum(values) / len(values)


def sample_sd(values: Sequence[float]) -> float:
    """Sample standard deviation (n - 1 in the denominator); 0.0 for a single value."""
    if not values:
        raise ValueError("standard deviation of no values")
    if len(values) == 1:
        return 0.0
    centre = mean(values)
    return math.sqrt(math.fsum((v - centre) ** 2 for v in values) / (len(values) - 1))


def percentile(values: Sequence[float], p: float) -> float:
    """The ``p``-th percentile (0..100) by linear interpolation between closest ranks."""
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile {p} outside 0..100")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * p / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Summary:
    n: int
    mean: float
    sd: float
    min: float
    p50: float
    p95: float
    p99: float
    max: float


def summarize(values: Sequence[float]) -> Summary | None:
    """Summary statistics of ``values``; ``None`` when there are none."""
    if not values:
        return None
    return Summary(
        n=len(values),
        mean=mean(values),
        sd=sample_sd(values),
        min=min(values),
        p50=percentile(values, 50),
        p95=percentile(values, 95),
        p99=percentile(values, 99),
        max=max(values),
    )


# --------------------------------------------------------------------------------------------
# One request


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str
    port: int
    path: str  # path and query, as sent

    @property
    def url(self) -> str:
        default = 443 if self.scheme == "https" else 80
        port = "" if self.port == default else f":{self.port}"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}{port}{self.path}"


def parse_target(url: str) -> Target:
    """``http(s)://host[:port]/path`` → ``Target``; ``ConfigError`` for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise ConfigError(
            "URL", f"{url!r} is not an http:// or https:// URL", "e.g. https://example.com/"
        )
    if not parts.hostname:
        raise ConfigError("URL", f"{url!r} has no host", "e.g. https://example.com/")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise ConfigError("URL", f"{url!r} has an invalid port", "ports are 1-65535") from None
    path = parts.path or "/"
    if parts.query:
        path += "?" + parts.query
    return Target(parts.scheme, parts.hostname, port, path)


@dataclass
class Sample:
    """One request. Times in milliseconds; ``None`` for a phase not reached or not used."""

    seq: int
    started_at: str  # UTC, ISO 8601
    dns: float | None = None
    connect: float | None = None
    tls: float | None = None
    ttfb: float | None = None
    total: float | None = None
    status: int | None = None
    body_bytes: int = 0
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and self.status < FAILURE_STATUS


def make_tls_context(insecure: bool = False, cafile: Path | None = None) -> ssl.SSLContext:
    """Certificates are verified unless ``insecure``; ``cafile`` adds a private CA."""
    if insecure:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    try:
        return ssl.create_default_context(cafile=str(cafile) if cafile else None)
    except (OSError, ssl.SSLError) as err:
        raise ConfigError("--cafile", f"cannot load {cafile} ({err})", "give a PEM file") from None


def _error_text(err: BaseException) -> str:
    if isinstance(err, socket.gaierror):
        return f"dns: {err.strerror or err}"
    if isinstance(err, ssl.SSLCertVerificationError):
        return f"tls: {err.verify_message or err}"
    if isinstance(err, TimeoutError | socket.timeout):
        return "timeout"
    # May quote the server's own bytes (BadStatusLine carries the line it got): escaped.
    return shown(f"{type(err).__name__}: {err}")


class Deadline:
    """One point in time a whole request must finish by."""

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.at = clock() + seconds

    def remaining(self) -> float:
        """Seconds left, for the next socket operation; ``TimeoutError`` once none are."""
        left = self.at - self.clock()
        if left <= 0:
            raise TimeoutError("the request did not finish within --timeout")
        return left


class _DeadlineReader(io.RawIOBase):
    """Socket reads for ``http.client``'s buffered reader, each waiting only as long as the
    request has left (a socket timeout alone restarts with every byte that arrives)."""

    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
        self.sock = sock
        self.deadline = deadline

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        self.sock.settimeout(self.deadline.remaining())
        return self.sock.recv_into(buffer)


class DeadlineSocket:
    """What ``http.client`` uses of a socket (``sendall``, ``makefile``, ``close``), with
    every send and read bounded by the request's deadline. The caller closes the socket."""

    def __init__(self, sock: socket.socket, deadline: Deadline) -> None:
        self.sock = sock
        self.deadline = deadline

    def sendall(self, data: bytes) -> None:
        self.sock.settimeout(self.deadline.remaining())
        self.sock.sendall(data)  # one timeout for the whole send (Python 3.5+)

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.BufferedReader:
        return io.BufferedReader(_DeadlineReader(self.sock, self.deadline))

    def close(self) -> None:
        pass


def _connect_first(infos: list[tuple[Any, ...]], deadline: Deadline) -> socket.socket:
    """Connect to the first address that answers, in resolver order (as browsers fall back
    from an unreachable IPv6 address); the connect time covers the failed attempts too."""
    last_error: OSError | None = None
    for family, socktype, proto, _, address in infos:
        sock = socket.socket(family, socktype, proto)
        sock.settimeout(deadline.remaining())
        try:
            sock.connect(address)
        except OSError as err:
            sock.close()
            last_error = err
            continue
        return sock
    raise last_error or OSError("the host name resolved to no address")


def sock_is_tls(sock: socket.socket) -> bool:
    return isinstance(sock, ssl.SSLSocket)


def measure_once(
    target: Target,
    seq: int,
    timeout: float,
    tls_context: ssl.SSLContext | None,
    clock: Callable[[], float] = time.perf_counter,
    user_agent: str = f"egress-net-probe/{__version__}",
) -> Sample:
    """One GET on a fresh connection, body read to the end, each phase timed; all of it
    within ``timeout`` seconds."""
    sample = Sample(seq=seq, started_at=datetime.now(UTC).isoformat(timespec="milliseconds"))
    deadline = Deadline(timeout)
    t0 = clock()
    sock: socket.socket | None = None
    try:
        infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        t_dns = clock()
        sample.dns = (t_dns - t0) * 1000
        sock = _connect_first(infos, deadline)
        t_conn = clock()
        sample.connect = (t_conn - t_dns) * 1000
        if target.scheme == "https":
            context = tls_context or ssl.create_default_context()
            # The handshake as a whole waits at most this long (one timeout per operation).
            sock.settimeout(deadline.remaining())
            sock = context.wrap_socket(sock, server_hostname=target.host)
            t_tls = clock()
            sample.tls = (t_tls - t_conn) * 1000
        # The HTTPS class only for its default port, so Host carries no ":443".
        conn_class = (
            http.client.HTTPSConnection if sock_is_tls(sock) else http.client.HTTPConnection
        )
        conn = conn_class(target.host, target.port, timeout=timeout)
        # The request goes over the connection timed above, within the same deadline.
        conn.sock = DeadlineSocket(sock, deadline)
        t_send = clock()
        conn.request(
            "GET",
            target.path,
            headers={"User-Agent": user_agent, "Accept": "*/*", "Connection": "close"},
        )
        response = conn.getresponse()
        sample.ttfb = (clock() - t_send) * 1000
        sample.status = response.status
        while chunk := response.read(READ_CHUNK):
            sample.body_bytes += len(chunk)
        sample.total = (clock() - t0) * 1000
        conn.close()
    except (OSError, http.client.HTTPException) as err:
        sample.error = _error_text(err)
    finally:
        if sock is not None:
            sock.close()
    return sample


# --------------------------------------------------------------------------------------------
# A run


@dataclass
class ProbeRun:
    label: str
    url: str
    count: int
    interval_s: float
    started_at: str
    samples: list[Sample] = field(default_factory=list)
    interrupted: bool = False

    @property
    def failures(self) -> int:
        return sum(1 for s in self.samples if not s.ok)

    def phase_values(self, phase: str) -> list[float]:
        """Times of ``phase`` over the successful requests."""
        values = (getattr(s, phase) for s in self.samples if s.ok)
        return [v for v in values if v is not None]

    def summaries(self) -> dict[str, Summary | None]:
        return {phase: summarize(self.phase_values(phase)) for phase in PHASES}

    def to_json(self) -> dict[str, Any]:
        return {
            "format": RESULT_FORMAT,
            "label": self.label,
            "url": self.url,
            "count": self.count,
            "interval_s": self.interval_s,
            "started_at": self.started_at,
            "interrupted": self.interrupted,
            "failures": self.failures,
            "percentile_method": PERCENTILE_METHOD,
            "summary_ms": {
                phase: asdict(summary) if summary else None
                for phase, summary in self.summaries().items()
            },
            "samples": [asdict(s) for s in self.samples],
        }


def run_from_json(data: Any, where: str) -> ProbeRun:
    """A run written by ``ProbeRun.to_json``; ``ConfigError`` for anything else."""
    if not isinstance(data, dict) or data.get("format") != RESULT_FORMAT:
        raise ConfigError(where, "not an egress-net probe result", "give files written by `probe`")
    try:
        samples = [Sample(**s) for s in data["samples"]]
        return ProbeRun(
            label=str(data["label"]),
            url=str(data["url"]),
            count=int(data["count"]),
            interval_s=float(data["interval_s"]),
            started_at=str(data["started_at"]),
            samples=samples,
            interrupted=bool(data.get("interrupted", False)),
        )
    except (KeyError, TypeError, ValueError) as err:
        raise ConfigError(
            where, f"probe result is damaged ({err})", "run the probe again"
        ) from None


def load_run(path: Path) -> ProbeRun:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(str(path), f"cannot read ({err.strerror})") from None
    try:
        data = json.loads(text)
    except ValueError as err:
        raise ConfigError(str(path), f"not JSON ({err})", "give files written by `probe`") from None
    return run_from_json(data, str(path))


Measure = Callable[[int], Sample]


def run_probe(
    measure: Measure,
    label: str,
    url: str,
    count: int,
    interval_s: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    on_sample: Callable[[Sample], None] | None = None,
) -> ProbeRun:
    """``count`` requests, one every ``interval_s`` (start to start, like ``httping -i``).

    Ctrl-C (``KeyboardInterrupt`` from a request or the wait) ends the run early; what was
    measured so far is returned with ``interrupted`` set.
    """
    run = ProbeRun(label, url, count, interval_s, datetime.now(UTC).isoformat(timespec="seconds"))
    try:
        for seq in range(1, count + 1):
            started = clock()
            sample = measure(seq)
            run.samples.append(sample)
            if on_sample is not None:
                on_sample(sample)
            if seq < count:
                sleep(max(0.0, interval_s - (clock() - started)))
    except KeyboardInterrupt:
        run.interrupted = True
    return run


# --------------------------------------------------------------------------------------------
# Text


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def sample_line(sample: Sample) -> str:
    if sample.error:
        return f"#{sample.seq}: failed: {sample.error}"
    phases = " ".join(f"{p}={_ms(getattr(sample, p))}" for p in PHASES)
    return f"#{sample.seq}: HTTP {sample.status} {sample.body_bytes} B  {phases} ms"


def mean_sd(summary: Summary | None) -> str:
    return "-" if summary is None else f"{summary.mean:.1f} ± {summary.sd:.1f}"


def run_summary_text(run: ProbeRun) -> str:
    """Per phase: mean ± sd, min, p50/p95/p99, max; then requests and failures."""
    header = ["phase", "mean ± sd", "min", "p50", "p95", "p99", "max", "n"]
    rows = []
    for phase, s in run.summaries().items():
        if s is None:
            rows.append([phase, "-", "-", "-", "-", "-", "-", "0"])
            continue
        rows.append(
            [
                phase,
                mean_sd(s),
                _ms(s.min),
                _ms(s.p50),
                _ms(s.p95),
                _ms(s.p99),
                _ms(s.max),
                str(s.n),
            ]
        )
    state = " (interrupted)" if run.interrupted else ""
    title = (
        f"{run.label}: {run.url}: {len(run.samples)} of {run.count} requests{state}, "
        f"{run.failures} failed (times in ms)"
    )
    return title + "\n" + _table(header, rows)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    rows = [[shown(cell) for cell in row] for row in rows]  # labels and URLs from result files
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)
    ]
    lines = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def report_text(runs: Iterable[ProbeRun], phase: str = "total") -> str:
    """One row per run: label, mean ± sd, n, failures, p50, p95 of ``phase``."""
    header = ["label", f"{phase} mean ± sd (ms)", "n", "failed", "p50", "p95", "url"]
    rows = []
    for run in runs:
        s = summarize(run.phase_values(phase))
        rows.append(
            [run.label, mean_sd(s), str(s.n if s else 0), str(run.failures),
             _ms(s.p50 if s else None), _ms(s.p95 if s else None), run.url]
        )  # fmt: skip
    return _table(header, rows)


# --------------------------------------------------------------------------------------------
# Plot: the figure is described as data (tested always), then drawn if matplotlib is present


@dataclass(frozen=True)
class PlotPoint:
    x: int
    label: str
    mean: float
    sd: float
    n: int


@dataclass(frozen=True)
class PlotSpec:
    title: str
    y_label: str
    points: list[PlotPoint]
    skipped: list[str]  # runs with no successful request: nothing to draw


def plot_spec(runs: Sequence[ProbeRun], phase: str = "total") -> PlotSpec:
    """One point per run at x = 0, 1, …: the mean with a ±1 sd error bar, labelled with n."""
    points: list[PlotPoint] = []
    skipped: list[str] = []
    for run in runs:
        s = summarize(run.phase_values(phase))
        if s is None:
            skipped.append(run.label)
            continue
        points.append(PlotPoint(len(points), f"{run.label}\n(n={s.n})", s.mean, s.sd, s.n))
    return PlotSpec(
        title=f"HTTP {phase} time per route (mean ± 1 sd)",
        y_label=f"{phase} time (ms)",
        points=points,
        skipped=skipped,
    )


def render_png(spec: PlotSpec, path: Path) -> None:
    """Draw ``spec`` to ``path``; needs the ``plot`` extra (matplotlib)."""
    try:
        import matplotlib  # type: ignore[import-not-found]

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # type: ignore[import-not-found]
    except ImportError:
        raise ConfigError(
            "--plot",
            "drawing the plot needs matplotlib, which is not installed",
            "pip install 'egress-net[plot]'",
        ) from None
    if not spec.points:
        raise ConfigError("--plot", "no run has a successful request", "nothing to plot")
    figure, axes = plt.subplots(figsize=(max(4.0, 1.6 * len(spec.points)), 4.0))
    axes.errorbar(
        [p.x for p in spec.points],
        [p.mean for p in spec.points],
        yerr=[p.sd for p in spec.points],
        fmt="o",
        capsize=6,
    )
    axes.set_xticks([p.x for p in spec.points], [p.label for p in spec.points])
    axes.set_xlim(-0.5, len(spec.points) - 0.5)
    axes.set_ylabel(spec.y_label)
    axes.set_title(spec.title)
    axes.set_ylim(bottom=0)
    axes.grid(axis="y", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
