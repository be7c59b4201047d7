"""Hostile input to the operating tools: log lines built to crash, exhaust or fool them, and a
server that answers one byte at a time."""

from __future__ import annotations

import gzip
import io
import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from egress_net.allowlist import Learner, format_table, normalize_name, shown, validate_entry
from egress_net.cli import main
from egress_net.errors import ConfigError
from egress_net.logs import (
    MAX_LINE_BYTES,
    CorruptRecord,
    FileSource,
    OverlongLine,
    bounded_lines,
    parse_observation,
)
from egress_net.probe import measure_once, parse_target

from .test_allowlist_learn import SPOKES, learn, record

ESC = "\x1b"


# ---- deeply nested JSON -----------------------------------------------------------------------


def test_deeply_nested_line_is_a_corrupt_record_not_a_crash() -> None:
    with pytest.raises(CorruptRecord, match="nested too deeply"):
        parse_observation("[" * 100_000)


def test_deeply_nested_line_is_counted_with_file_and_line_and_the_run_goes_on() -> None:
    nested = '{"event": ' * 50_000 + "{}" + "}" * 50_000
    learner = learn([record(sni="a.example.com"), nested, record(sni="b.example.com")])
    assert learner.stats.corrupt == 1
    assert learner.stats.corrupt_examples == ["test.log:2: JSON nested too deeply"]
    assert {name for _, name in learner.names} == {"a.example.com", "b.example.com"}


# ---- overlong lines ---------------------------------------------------------------------------


def test_lines_up_to_the_cap_are_read_whole() -> None:
    lines = [b"x" * 10 + b"\n", b"y" * 16 + b"\n", b"z" * 16]
    assert list(bounded_lines(io.BytesIO(b"".join(lines)), max_bytes=16)) == lines


def test_a_line_over_the_cap_is_skipped_in_bounded_reads() -> None:
    data = b"ok\n" + b"x" * 100 + b"\n" + b"after\n" + b"y" * 40
    reads: list[int] = []

    class Recorder(io.BytesIO):
        def readline(self, size: int | None = -1) -> bytes:
            reads.append(-1 if size is None else size)
            return super().readline(size)

    got = list(bounded_lines(Recorder(data), max_bytes=16))
    assert got == [b"ok\n", OverlongLine(101), b"after\n", OverlongLine(40)]
    assert reads and all(0 < size <= 17 for size in reads)  # never an unbounded readline


def test_overlong_line_in_a_gzip_file_is_counted_not_loaded(tmp_path: Path) -> None:
    import tracemalloc

    path = tmp_path / "big.log.gz"
    huge = b"A" * (MAX_LINE_BYTES * 16)  # 16 MiB, no newline: a naive reader holds all of it
    path.write_bytes(gzip.compress(record(sni="a.example.com").encode() + b"\n" + huge + b"\n"))
    learner = Learner(SPOKES)
    tracemalloc.start()
    try:
        learner.read([FileSource(path)])
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 6 * MAX_LINE_BYTES  # a few chunks at most, never the 16 MiB line
    assert learner.stats.lines == 2 and learner.stats.corrupt == 1
    (example,) = learner.stats.corrupt_examples
    assert example.startswith(f"{path}:2: line of 16,777,217 bytes, longer than")
    assert {name for _, name in learner.names} == {"a.example.com"}


# ---- names with control characters ------------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        "abc\n.example.com",  # "$" matched before a trailing newline: this was learned
        "example.com\n",
        "evil.example.com\r",
        f"{ESC}[2Jexample.com",
        "exa\tmple.com",
        "example.com\x00",
        "example\u202e.com",  # right-to-left override
    ],
)
def test_names_with_control_characters_are_not_names(raw: str) -> None:
    assert normalize_name(raw) is None


def test_allowlist_entry_with_a_line_break_is_refused() -> None:
    with pytest.raises(ConfigError, match="not a domain name"):
        validate_entry("abc\n.example.com", "current[0]")


def test_names_with_control_characters_are_rejected_and_counted() -> None:
    learner = learn(
        [
            record(sni="abc\n.example.com"),
            record(host=f"{ESC}]0;owned{chr(7)}x.example.com"),
            record(sni="good.example.com"),
        ]
    )
    assert {name for _, name in learner.names} == {"good.example.com"}
    assert learner.stats.rejected_names == 2
    assert all(ESC not in e and "\n" not in e for e in learner.stats.rejected_name_examples)
    assert learner.stats.rejected_name_examples[0] == repr("abc\n.example.com")


# ---- raw fields are escaped in the output -----------------------------------------------------


def test_shown_leaves_printable_text_and_quotes_the_rest() -> None:
    assert shown("pypi.org") == "pypi.org"
    assert shown("bücher.example") == "bücher.example"
    assert shown(f"{ESC}[31mred") == repr(f"{ESC}[31mred")
    assert ESC not in shown(f"{ESC}[31mred")


def test_every_table_cell_is_escaped() -> None:
    table = format_table(["a", "b"], [[f"{ESC}[2J", "line\nbreak"]])
    assert ESC not in table and "line\nbreak" not in table
    assert len(table.splitlines()) == 3


def test_cli_never_prints_raw_control_characters(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = tmp_path / f"a{ESC}[2J.log"  # a file name is input too
    logs.write_text(
        "\n".join(
            [
                record(dest=f"{ESC}]0;pwned{chr(7)}", port=5432),  # IP-only, raw dest_ip
                record(sni=f"x{ESC}[8m.example.com"),
                "{not json",
                record(sni="ok.example.com"),
            ]
        )
        + "\n"
    )
    argv = ["allowlist", "learn", str(logs), "--spoke", "app=10.1.0.0/16", "--no-progress"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert ESC not in captured.out and chr(7) not in captured.out
    assert ESC not in captured.err
    assert "1 SNI/Host with control characters or line breaks (not learned)" in captured.out
    assert repr(f"{ESC}]0;pwned{chr(7)}") in captured.out  # listed, quoted
    assert "ok.example.com" in captured.out


def test_json_report_carries_raw_fields_escaped(tmp_path: Path) -> None:
    logs, report = tmp_path / "a.log", tmp_path / "report.json"
    logs.write_text(record(dest=f"{ESC}[2J", port=5432) + "\n")
    assert main(["allowlist", "learn", str(logs), "--no-progress", "--json", str(report)]) == 0
    text = report.read_text()
    assert ESC not in text  # safe to cat
    assert json.loads(text)["ip_only"][0]["dest_ip"] == f"{ESC}[2J"  # and nothing lost


# ---- empty input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (None, "no log file was found"),
        ("", "the 1 source(s) hold no lines"),
        ("{junk\n\n", "none of the 2 lines read is a Network Firewall record"),
    ],
)
def test_empty_input_warns(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, why: str
) -> None:
    folder = tmp_path / "logs"
    folder.mkdir()
    if content is not None:
        (folder / "empty.log").write_text(content)
    assert main(["allowlist", "learn", str(folder), "--no-progress"]) == 0
    err = capsys.readouterr().err
    assert f"warning: nothing learned: {why}" in err


def test_input_with_records_does_not_warn(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    path = tmp_path / "a.log"
    path.write_text(record(sni="a.example.com") + "\n")
    assert main(["allowlist", "learn", str(path), "--no-progress"]) == 0
    assert "warning" not in capsys.readouterr().err


# ---- probe: one deadline for the whole request ------------------------------------------------


def _drip_server(response: bytes, every_s: float) -> Iterator[str]:
    """A loopback server that sends ``response`` one byte every ``every_s`` seconds to each
    client, then closes; it stops by itself once the client is gone or the bytes run out."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(10)
    stop = threading.Event()

    def serve() -> None:
        try:
            conn, _ = listener.accept()
        except OSError:
            return
        with conn:
            conn.settimeout(5)
            try:
                conn.recv(4096)  # the request
                for byte in response:
                    if stop.wait(every_s):
                        return
                    conn.sendall(bytes([byte]))
            except OSError:
                return  # the client gave up: what the test expects

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        stop.set()
        listener.close()
        thread.join(5)


@pytest.fixture
def drip_body() -> Iterator[str]:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 60\r\nConnection: close\r\n\r\n"
    yield from _drip_server(head + b"x" * 60, 0.2)  # 24 s to send it all


@pytest.fixture
def drip_headers() -> Iterator[str]:
    head = b"HTTP/1.1 200 OK\r\n" + b"X-Pad: " + b"p" * 60 + b"\r\n\r\n"
    yield from _drip_server(head, 0.2)


@pytest.mark.parametrize("server", ["drip_body", "drip_headers"])
def test_timeout_cuts_a_slow_drip_at_the_deadline(
    server: str, request: pytest.FixtureRequest
) -> None:
    url = request.getfixturevalue(server)
    sample = measure_once(parse_target(url), 1, 1.0, None)
    # Every byte arrives well within 1 s of the last one: a per-read timeout never fires, and
    # the whole drip would complete; only a deadline for the whole request cuts it.
    assert sample.error == "timeout" and not sample.ok


def test_fast_response_is_unaffected_by_the_deadline(tmp_path: Path) -> None:
    body = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello"
    for url in _drip_server(body, 0.0):
        sample = measure_once(parse_target(url), 1, 2.0, None)
        assert sample.ok and sample.body_bytes == 5, sample.error


def test_a_hostile_status_line_is_not_printed_raw() -> None:
    for url in _drip_server(f"HTTP/1.1 2{ESC}]0;owned{chr(7)}\r\n\r\n".encode(), 0.0):
        sample = measure_once(parse_target(url), 1, 2.0, None)
        assert not sample.ok and sample.error is not None
        assert ESC not in sample.error and chr(7) not in sample.error
        assert "BadStatusLine" in sample.error


def test_probe_report_escapes_labels_from_result_files() -> None:
    from egress_net.probe import ProbeRun, report_text

    text = report_text([ProbeRun(f"x{ESC}[2J", "https://example.com/", 1, 1.0, "t")])
    assert ESC not in text and repr(f"x{ESC}[2J") in text


@pytest.mark.usefixtures("aws_env")
def test_a_bad_line_in_s3_is_reported_by_object_and_line(
    moto_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="fw-hostile")
    good = record(sni="a.example.com")
    s3.put_object(Bucket="fw-hostile", Key="p/1.log", Body=f"{good}\n{good}\n".encode())
    nested = "[" * 100_000
    s3.put_object(Bucket="fw-hostile", Key="p/2.log", Body=f"{good}\n{nested}\n".encode())
    argv = ["allowlist", "learn", "s3://fw-hostile/p/", "--endpoint-url", moto_endpoint]
    assert main([*argv, "--region", "us-east-1", "--no-progress"]) == 0
    assert "corrupt: s3://fw-hostile/p/2.log:2: JSON nested too deeply" in capsys.readouterr().out
