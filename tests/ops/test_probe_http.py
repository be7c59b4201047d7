"""The probe against loopback HTTP and HTTPS servers with injected delays and failures."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from egress_net.cli import main
from egress_net.probe import (
    ProbeRun,
    Sample,
    load_run,
    make_tls_context,
    measure_once,
    parse_target,
    plot_spec,
    render_png,
    run_probe,
)

from .conftest import Certificate, RunningServer


def _measure(url: str, timeout: float = 5.0, **tls: Any) -> Sample:
    return measure_once(parse_target(url), 1, timeout, make_tls_context(**tls))


def test_http_request_times_every_phase_and_reads_the_body(http_server: RunningServer) -> None:
    sample = _measure(f"{http_server.base_url}/ok?bytes=5000")
    assert sample.ok and sample.status == 200 and sample.body_bytes == 5000
    assert sample.tls is None  # plain HTTP has no handshake to time
    assert sample.dns is not None and sample.connect is not None and sample.ttfb is not None
    assert sample.total is not None
    assert sample.total >= sample.dns + sample.connect + sample.ttfb


def test_delay_before_the_status_line_shows_in_time_to_first_byte(
    http_server: RunningServer,
) -> None:
    sample = _measure(f"{http_server.base_url}/delay?ms=120")
    assert sample.ok and sample.ttfb is not None and sample.total is not None
    assert sample.ttfb >= 120


def test_delay_in_the_body_shows_in_total_not_first_byte(http_server: RunningServer) -> None:
    sample = _measure(f"{http_server.base_url}/slowbody?ms=150")
    assert sample.ok and sample.ttfb is not None and sample.total is not None
    assert sample.body_bytes == 1000
    # The pause follows the status line, so it is inside total and not in the first byte.
    # Not total - ttfb >= 150: the client may read the status line a few ms after the server
    # sent it (a loaded machine), and that lag comes off the difference.
    assert sample.ttfb < 150 <= sample.total


def test_server_error_is_a_failure_with_its_status(http_server: RunningServer) -> None:
    sample = _measure(f"{http_server.base_url}/status/503")
    assert sample.status == 503 and not sample.ok


def test_client_error_is_a_measured_response(http_server: RunningServer) -> None:
    sample = _measure(f"{http_server.base_url}/status/404")
    assert sample.status == 404 and sample.ok


def test_dropped_connection_is_a_failure(http_server: RunningServer) -> None:
    sample = _measure(f"{http_server.base_url}/drop")
    assert not sample.ok and sample.error and sample.status is None


def test_refused_connection_is_a_failure(http_server: RunningServer) -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    sample = _measure(f"http://127.0.0.1:{port}/")
    assert not sample.ok and "ConnectionRefused" in (sample.error or "")
    assert sample.dns is not None and sample.connect is None


def test_unreachable_first_address_falls_back_to_the_next(
    http_server: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        dead_port = sock.getsockname()[1]
    live_port = int(http_server.base_url.rsplit(":", 1)[1])
    answers = [
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", dead_port)),
        (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", live_port)),
    ]
    monkeypatch.setattr(socket, "getaddrinfo", lambda *args, **kwargs: answers)
    sample = _measure("http://service.example:80/ok")
    assert sample.ok and sample.status == 200


def test_timeout_is_a_failure(http_server: RunningServer) -> None:
    sample = _measure(f"{http_server.base_url}/delay?ms=1500", timeout=0.2)
    assert sample.error == "timeout"


def test_https_verifies_certificates_by_default(https_server: RunningServer) -> None:
    sample = _measure(f"{https_server.base_url}/ok")
    assert not sample.ok and (sample.error or "").startswith("tls:")


def test_https_with_cafile_times_the_handshake(
    https_server: RunningServer, self_signed: Certificate
) -> None:
    sample = _measure(f"{https_server.base_url}/ok?bytes=64", cafile=self_signed.cert_pem)
    assert sample.ok and sample.body_bytes == 64
    assert sample.tls is not None and sample.tls > 0


def test_https_insecure_skips_verification(https_server: RunningServer) -> None:
    assert _measure(f"{https_server.base_url}/ok", insecure=True).ok


# ---- the run loop, with a fake clock ---------------------------------------------------------


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def _fake_measure(time: FakeTime, cost: float = 0.5) -> Callable[[int], Sample]:
    def measure(seq: int) -> Sample:
        time.now += cost
        return Sample(seq=seq, started_at="t", total=cost * 1000, status=200)

    return measure


def test_requests_start_one_interval_apart() -> None:
    time = FakeTime()
    run = run_probe(_fake_measure(time), "x", "http://h/", 4, 2.0, time.sleep, time.clock)
    assert [s.seq for s in run.samples] == [1, 2, 3, 4]
    assert time.sleeps == [1.5, 1.5, 1.5]  # interval minus the request's own time
    assert not run.interrupted


def test_slow_request_is_followed_immediately() -> None:
    time = FakeTime()
    run_probe(_fake_measure(time, cost=3.0), "x", "http://h/", 2, 2.0, time.sleep, time.clock)
    assert time.sleeps == [0.0]


def test_ctrl_c_during_the_wait_keeps_what_was_measured() -> None:
    time = FakeTime()

    def sleep(seconds: float) -> None:
        if len(time.sleeps) == 2:
            raise KeyboardInterrupt
        time.sleep(seconds)

    run = run_probe(_fake_measure(time), "x", "http://h/", 60, 2.0, sleep, time.clock)
    assert run.interrupted and len(run.samples) == 3


def test_ctrl_c_during_a_request_keeps_earlier_samples() -> None:
    time = FakeTime()
    inner = _fake_measure(time)

    def measure(seq: int) -> Sample:
        if seq == 5:
            raise KeyboardInterrupt
        return inner(seq)

    run = run_probe(measure, "x", "http://h/", 60, 2.0, time.sleep, time.clock)
    assert run.interrupted and [s.seq for s in run.samples] == [1, 2, 3, 4]


# ---- CLI --------------------------------------------------------------------------------------


def test_probe_command_prints_statistics_and_writes_json(
    http_server: RunningServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "nat.json"
    url = f"{http_server.base_url}/ok"
    code = main(["probe", url, "--count", "3", "--interval", "0", "-l", "via NAT", "-o", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "via NAT" in printed and "3 of 3 requests, 0 failed" in printed
    assert sum(line.startswith("#") for line in printed.splitlines()) == 3
    data = json.loads(out.read_text())
    assert data["label"] == "via NAT" and len(data["samples"]) == 3
    assert data["summary_ms"]["total"]["n"] == 3
    assert set(data["summary_ms"]["total"]) >= {"mean", "sd", "min", "p50", "p95", "p99", "max"}
    assert load_run(out).label == "via NAT"


def test_probe_refuses_an_output_it_could_not_write_before_measuring(
    http_server: RunningServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "missing" / "run.json"
    assert main(["probe", f"{http_server.base_url}/ok", "-c", "1", "-o", str(out)]) == 2
    captured = capsys.readouterr()
    assert "--output: folder" in captured.err and "does not exist" in captured.err
    assert "#" not in captured.out  # refused before the first request, not after the run


def test_a_write_that_fails_at_the_end_is_an_error_not_a_traceback(
    http_server: RunningServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def disk_full(self: Path, *args: object, **kwargs: object) -> int:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "write_text", disk_full)
    out = tmp_path / "run.json"
    assert main(["probe", f"{http_server.base_url}/ok", "-c", "1", "-q", "-o", str(out)]) == 2
    assert f"--output: cannot write {out}: No space left on device" in capsys.readouterr().err


def test_probe_command_counts_failures(
    http_server: RunningServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.json"
    url = f"{http_server.base_url}/status/502"
    assert main(["probe", url, "-c", "2", "-i", "0", "-q", "-o", str(out)]) == 1
    assert "2 failed" in capsys.readouterr().out


def test_probe_command_ctrl_c_prints_and_writes_partial_run(
    http_server: RunningServer,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from egress_net import probe

    calls = {"n": 0}

    def interrupt_second_wait(seconds: float) -> None:
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(probe, "run_probe", _with_sleep(probe.run_probe, interrupt_second_wait))
    out = tmp_path / "partial.json"
    code = main(["probe", f"{http_server.base_url}/ok", "-c", "10", "-q", "-o", str(out)])
    printed = capsys.readouterr().out
    assert code == 130
    assert "2 of 10 requests (interrupted)" in printed
    assert json.loads(out.read_text())["interrupted"] is True


def _with_sleep(
    run_probe_fn: Callable[..., ProbeRun], sleep: Callable[[float], None]
) -> Callable[..., ProbeRun]:
    def wrapped(*args: Any, **kwargs: Any) -> ProbeRun:
        return run_probe_fn(*args, sleep=sleep, **kwargs)

    return wrapped


@pytest.mark.parametrize(
    ("argv", "where"),
    [
        (["probe", "ftp://example.com/"], "URL"),
        (["probe", "https://"], "URL"),
        (["probe", "http://example.com:99999/"], "URL"),
        (["probe", "http://example.com/", "--count", "0"], "--count"),
        (["probe", "http://example.com/", "-k", "--cafile", "x.pem"], "--insecure"),
        (["probe", "http://example.com/", "--cafile", "/nonexistent.pem"], "--cafile"),
        (["probe", "http://example.com/", "extra.json"], "probe"),
        (["probe", "report"], "probe report"),
    ],
)
def test_bad_arguments_are_clear_errors(
    argv: list[str], where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith(f"error: {where}:")


# ---- report -----------------------------------------------------------------------------------


def _write_run(path: Path, label: str, totals: list[float]) -> Path:
    samples = [Sample(seq=i, started_at="t", total=t, status=200) for i, t in enumerate(totals)]
    run = ProbeRun(label, "https://example.com/", len(totals), 2.0, "t", samples)
    path.write_text(json.dumps(run.to_json()))
    return path


def test_report_table_of_all_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    a = _write_run(tmp_path / "a.json", "Instance → NAT", [9.0, 9.2, 9.1])
    b = _write_run(tmp_path / "b.json", "via firewall", [13.0, 14.0])
    assert main(["probe", "report", str(a), str(b)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 4
    assert lines[2].startswith("Instance → NAT") and "9.1 ± 0.1" in lines[2]
    assert lines[3].startswith("via firewall") and "13.5 ± 0.7" in lines[3]


@pytest.mark.parametrize(
    ("content", "problem"),
    [("{not json", "not JSON"), ('{"format": "other"}', "not an egress-net probe result"),
     ('{"format": "egress-net-probe/1", "label": "x"}', "damaged")],
)  # fmt: skip
def test_report_rejects_files_that_are_not_results(
    tmp_path: Path, content: str, problem: str, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    assert main(["probe", "report", str(bad)]) == 2
    assert problem in capsys.readouterr().err


def test_report_plot_without_matplotlib_names_the_extra(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import fails as if not installed
    a = _write_run(tmp_path / "a.json", "NAT", [9.0])
    assert main(["probe", "report", str(a), "--plot", str(tmp_path / "p.png")]) == 2
    captured = capsys.readouterr()
    assert "NAT" in captured.out  # the table is still printed
    assert "egress-net[plot]" in captured.err
    assert not (tmp_path / "p.png").exists()


def test_render_png_draws_the_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The drawing calls, checked with a stand-in pyplot (matplotlib is an optional extra)."""
    calls: dict[str, Any] = {}

    class Axes:
        def errorbar(self, x: Any, y: Any, yerr: Any, **kw: Any) -> None:
            calls["errorbar"] = (x, y, yerr)

        def set_xticks(self, ticks: Any, labels: Any) -> None:
            calls["labels"] = labels

        def set_ylabel(self, text: str) -> None:
            calls["ylabel"] = text

        def __getattr__(self, name: str) -> Callable[..., None]:
            return lambda *a, **kw: None

    class Figure:
        def savefig(self, path: Path, **kw: Any) -> None:
            calls["saved"] = path

        def tight_layout(self) -> None:
            pass

    pyplot = types.ModuleType("matplotlib.pyplot")
    pyplot.subplots = lambda **kw: (Figure(), Axes())  # type: ignore[attr-defined]
    pyplot.close = lambda fig: None  # type: ignore[attr-defined]
    matplotlib = types.ModuleType("matplotlib")
    matplotlib.use = lambda backend: None  # type: ignore[attr-defined]
    matplotlib.pyplot = pyplot  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "matplotlib", matplotlib)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", pyplot)

    runs = [load_run(_write_run(tmp_path / "a.json", "NAT", [9.0, 9.2]))]
    runs.append(load_run(_write_run(tmp_path / "b.json", "firewall", [13.0, 14.0])))
    render_png(plot_spec(runs), tmp_path / "p.png")
    x, y, yerr = calls["errorbar"]
    assert x == [0, 1] and y == pytest.approx([9.1, 13.5])
    assert yerr == pytest.approx([0.1414, 0.7071], abs=1e-3)
    assert calls["labels"] == ["NAT\n(n=2)", "firewall\n(n=2)"]
    assert calls["ylabel"] == "total time (ms)" and calls["saved"] == tmp_path / "p.png"
