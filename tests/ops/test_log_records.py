"""Reading Network Firewall log records as they come in the field."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest

from egress_net.errors import ConfigError
from egress_net.logs import CorruptRecord, FileSource, Progress, open_sources, parse_observation

TLS_RECORD = (
    '{"firewall_name":"hub","availability_zone":"us-east-1a","event_timestamp":"1601074865",'
    '"event":{"timestamp":"2020-09-25T23:01:05.598481+0000","flow_id":1111,"event_type":"tls",'
    '"src_ip":"10.1.0.5","src_port":49157,"dest_ip":"93.184.216.34","dest_port":443,'
    '"proto":"TCP","tls":{"subject":"CN=example.com","sni":"example.com","version":"TLS 1.3"}}}'
)


def test_tls_record_in_the_aws_envelope() -> None:
    obs = parse_observation(TLS_RECORD)
    assert obs is not None
    assert (obs.event_type, obs.src_ip, obs.dest_ip, obs.dest_port, obs.proto) == (
        "tls", "10.1.0.5", "93.184.216.34", 443, "TCP"
    )  # fmt: skip
    assert obs.sni == "example.com" and obs.http_host is None
    assert obs.timestamp == 1601074865.0


def test_alert_record_with_http_host() -> None:
    line = json.dumps(
        {
            "firewall_name": "hub",
            "event_timestamp": "1601074865",
            "event": {
                "event_type": "alert",
                "src_ip": "10.1.0.5",
                "dest_ip": "1.2.3.4",
                "dest_port": 80,
                "proto": "TCP",
                "http": {"hostname": "www.example.org", "url": "/"},
                "alert": {"action": "allowed", "signature_id": 2},
            },
        }
    )
    obs = parse_observation(line)
    assert obs is not None and obs.http_host == "www.example.org" and obs.event_type == "alert"


def test_integer_timestamp_and_string_port() -> None:
    line = (
        '{"event_timestamp":1601074865,"event":{"event_type":"netflow","src_ip":"10.1.0.5",'
        '"dest_ip":"8.8.8.8","dest_port":"53","proto":"udp"}}'
    )
    obs = parse_observation(line)
    assert obs is not None
    assert obs.timestamp == 1601074865.0 and obs.dest_port == 53 and obs.proto == "UDP"


def test_eve_timestamp_used_when_envelope_has_none() -> None:
    line = (
        '{"event":{"timestamp":"2020-09-25T23:01:05.000000+0000","event_type":"tls",'
        '"src_ip":"10.1.0.5","dest_ip":"1.1.1.1","dest_port":443,"tls":{"sni":"a.example"}}}'
    )
    obs = parse_observation(line)
    assert obs is not None and obs.timestamp == 1601074865.0


def test_bare_suricata_eve_record_without_envelope() -> None:
    line = '{"event_type":"tls","src_ip":"10.1.0.5","dest_ip":"1.1.1.1","tls":{"sni":"x.example"}}'
    obs = parse_observation(line)
    assert obs is not None and obs.sni == "x.example" and obs.timestamp is None


def test_duplicate_keys_keep_the_informative_value() -> None:
    line = (
        '{"event":{"event_type":"tls","src_ip":"10.1.0.5","dest_ip":"1.1.1.1",'
        '"tls":{"sni":"api.example.com"},"tls":{"sni":"","version":"TLS 1.2"},'
        '"dest_port":443,"dest_port":443}}'
    )
    obs = parse_observation(line)
    assert obs is not None and obs.sni == "api.example.com" and obs.dest_port == 443


def test_record_without_sni_has_no_name() -> None:
    line = '{"event":{"event_type":"tls","src_ip":"10.1.0.5","dest_ip":"1.1.1.1","tls":{}}}'
    obs = parse_observation(line)
    assert obs is not None and obs.sni is None


@pytest.mark.parametrize("port", ['"https"', "70000", "-1", "true", "null"])
def test_unusable_port_is_unknown_not_fatal(port: str) -> None:
    line = '{"event":{"src_ip":"10.1.0.5","dest_ip":"1.1.1.1","dest_port":' + port + "}}"
    obs = parse_observation(line)
    assert obs is not None and obs.dest_port is None


def test_blank_line_is_skipped() -> None:
    assert parse_observation("   \n") is None


@pytest.mark.parametrize(
    ("line", "why"),
    [
        ("{truncated", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"event": "text"}', "not an object"),
        ('{"event": {"event_type": "tls"}}', "no src_ip"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_corrupt_lines_raise_corrupt_record(line: str | bytes, why: str) -> None:
    with pytest.raises(CorruptRecord, match=why):
        parse_observation(line)


# ---- local sources ----------------------------------------------------------------------------


def _lines(source: FileSource) -> list[bytes]:
    return list(source.lines(lambda n: None))


def test_plain_and_gzip_files_read_alike(tmp_path: Path) -> None:
    text = (TLS_RECORD + "\n") * 3
    plain = tmp_path / "a.log"
    plain.write_text(text)
    packed = tmp_path / "b.log.gz"
    packed.write_bytes(gzip.compress(text.encode()))
    assert _lines(FileSource(plain)) == _lines(FileSource(packed))
    assert len(_lines(FileSource(packed))) == 3


def test_gzip_detected_by_content_not_name(tmp_path: Path) -> None:
    odd = tmp_path / "records.txt"
    odd.write_bytes(gzip.compress(TLS_RECORD.encode()))
    assert parse_observation(_lines(FileSource(odd))[0]) is not None


def test_truncated_gzip_is_reported_as_corrupt(tmp_path: Path) -> None:
    broken = tmp_path / "broken.log.gz"
    broken.write_bytes(gzip.compress((TLS_RECORD + "\n").encode() * 100)[:-30])
    with pytest.raises(CorruptRecord, match="compressed"):
        _lines(FileSource(broken))


def test_progress_counts_compressed_bytes_read(tmp_path: Path) -> None:
    packed = tmp_path / "b.log.gz"
    packed.write_bytes(gzip.compress((TLS_RECORD + "\n").encode() * 50))
    seen: list[int] = []
    list(FileSource(packed).lines(seen.append))
    assert sum(seen) == packed.stat().st_size


def test_directory_is_read_recursively_in_name_order(tmp_path: Path) -> None:
    (tmp_path / "2020" / "09").mkdir(parents=True)
    (tmp_path / "2020" / "09" / "b.log").write_text(TLS_RECORD)
    (tmp_path / "2020" / "a.log").write_text(TLS_RECORD)
    sources = open_sources([str(tmp_path)])
    assert [s.describe() for s in sources] == [
        str(tmp_path / "2020" / "09" / "b.log"),
        str(tmp_path / "2020" / "a.log"),
    ]


@pytest.mark.parametrize(
    ("location", "problem"),
    [
        ("/nonexistent/x.log", "no such log file"),
        ("s3://", "no bucket"),
        ("cwlogs://", "no log group"),
    ],
)
def test_bad_locations_are_config_errors(location: str, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        open_sources([location], client_factory=lambda service: None)


def test_progress_bar_draws_share_and_rate() -> None:
    out = io.StringIO()
    ticks = iter([0.0, 1.0, 2.0, 2.0])
    progress = Progress(1000, stream=out, enabled=True, clock=lambda: next(ticks))
    progress.update(500, 250)
    progress.finish()
    drawn = out.getvalue()
    assert "25%" in drawn and "500 lines" in drawn and drawn.endswith("\n")


def test_progress_is_silent_when_disabled() -> None:
    out = io.StringIO()
    progress = Progress(None, stream=out, enabled=False)
    progress.update(10, 10)
    progress.finish()
    assert out.getvalue() == ""
