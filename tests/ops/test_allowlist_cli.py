"""``egress-net allowlist learn`` end to end: local files, S3 and CloudWatch Logs (moto)."""

from __future__ import annotations

import gzip
import json
import time
from pathlib import Path

import boto3
import pytest
import yaml

from egress_net.cli import main
from egress_net.commands.allowlist import choose_region
from egress_net.errors import ConfigError, check_output_path

from .test_allowlist_learn import record

RECORDS = [
    record(sni="a.api.example.com", ts="1700000000"),
    record(sni="b.api.example.com.", ts=1700000100),
    record(sni="c.api.example.com", ts="1700000200"),
    record(src="10.2.0.4", host="pypi.org", event_type="alert", ts="1700000300"),
    record(src="10.2.0.4", dest="203.0.113.9", port=5432, event_type="netflow"),
    "{corrupt",
]


def _snippet_entries(text: str) -> list[str]:
    return yaml.safe_load(text)["egress-net:rules"]["allowDomains"]["domains"]


@pytest.fixture
def log_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "logs"
    folder.mkdir()
    (folder / "part1.log").write_text("\n".join(RECORDS[:3]) + "\n")
    (folder / "part2.log.gz").write_bytes(gzip.compress(("\n".join(RECORDS[3:]) + "\n").encode()))
    return folder


def test_learn_from_files_prints_tables_diff_and_snippet(
    log_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    current = tmp_path / "current.txt"
    current.write_text("pypi.org\nold.example.net\n")
    out, report = tmp_path / "allow.yaml", tmp_path / "report.json"
    argv = ["allowlist", "learn", str(log_dir), "--spoke", "app=10.1.0.0/16"]
    argv += ["--spoke", "data=10.2.0.0/16", "--current", str(current), "--no-progress"]
    argv += ["-o", str(out), "--json", str(report)]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "6 lines: 5 records, 1 corrupt" in printed
    assert "part2.log.gz:3: not JSON" in printed
    assert "+ .api.example.com" in printed and "  pypi.org" in printed
    assert "- old.example.net" in printed
    per_spoke = printed.split("Names per spoke")[1].split("Names overall")[0]
    assert any(line.split()[:2] == ["data", "pypi.org"] for line in per_spoke.splitlines())
    ip_section = printed.split("IP-only destinations")[1]
    assert "203.0.113.9" in ip_section and "5432" in ip_section
    assert _snippet_entries(out.read_text()) == [".api.example.com", "pypi.org"]
    data = json.loads(report.read_text())
    assert data["stats"]["corrupt"] == 1
    assert data["allowlist"]["unused"] == ["old.example.net"]
    assert {(n["spoke"], n["name"]) for n in data["names"]} == {
        ("app", "a.api.example.com"),
        ("app", "b.api.example.com"),
        ("app", "c.api.example.com"),
        ("data", "pypi.org"),
    }
    assert data["ip_only"][0]["dest_port"] == 5432


def test_a_learned_entry_the_stack_config_refuses_is_flagged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Path-style S3 requests present the regional endpoint itself: any bucket behind it.
    logs = tmp_path / "s3.log"
    logs.write_text(record(sni="s3.us-east-1.amazonaws.com", ts="1700000000") + "\n")
    assert main(["allowlist", "learn", str(logs), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "s3.us-east-1.amazonaws.com" in captured.out
    assert "warning: s3.us-east-1.amazonaws.com: admits every tenant" in captured.err
    assert "my-bucket.s3.us-east-1.amazonaws.com" in captured.err


def test_wildcard_threshold_option(log_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "allow.yaml"
    argv = ["allowlist", "learn", str(log_dir), "--wildcard-threshold", "4", "-o", str(out)]
    assert main([*argv, "--no-progress"]) == 0
    assert ".api.example.com" not in _snippet_entries(out.read_text())


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        (["--spoke", "app"], "--spoke"),
        (["--current", "/nonexistent/allow.txt"], "/nonexistent/allow.txt"),
        (["--wildcard-threshold", "-1"], "--wildcard-threshold"),
        (["--since", "yesterday"], "--since"),
        (["--top", "0"], "--top"),
    ],
)
def test_bad_options_are_clear_errors(
    log_dir: Path, extra: list[str], where: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["allowlist", "learn", str(log_dir), *extra]) == 2
    assert capsys.readouterr().err.startswith(f"error: {where}:")


@pytest.mark.parametrize("option", ["--output", "--json"])
def test_output_in_a_missing_folder_is_a_clear_error(
    log_dir: Path, option: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["allowlist", "learn", str(log_dir), option, "/nonexistent/out.txt", "--no-progress"]
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.err.startswith(f"error: {option}: folder /nonexistent does not exist")
    assert "Traceback" not in captured.err and "Read " not in captured.out


def test_output_paths_are_checked_before_any_log_is_read(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # the log is missing too: the output error must come first, before opening any source
    argv = ["allowlist", "learn", "/nonexistent/fw.log", "--json", "/nonexistent/r.json"]
    assert main(argv) == 2
    assert capsys.readouterr().err.startswith("error: --json: folder /nonexistent does not exist")


def test_check_output_path(tmp_path: Path) -> None:
    check_output_path("--output", tmp_path / "allow.yaml")  # a new file in a folder: fine
    (tmp_path / "file").write_text("")
    with pytest.raises(ConfigError, match="is not a folder"):
        check_output_path("--output", tmp_path / "file" / "allow.yaml")
    with pytest.raises(ConfigError, match="is a folder") as err:
        check_output_path("--json", tmp_path)
    assert err.value.where == "--json"


def test_top_limits_rows_and_says_how_many_more(
    log_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["allowlist", "learn", str(log_dir), "--top", "1", "--no-progress"]) == 0
    per_spoke = capsys.readouterr().out.split("Names per spoke")[1].split("Names overall")[0]
    assert "... 3 more rows" in per_spoke
    assert sum(".example.com" in line or "pypi.org" in line for line in per_spoke.splitlines()) == 1


def test_missing_log_file_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["allowlist", "learn", "/nonexistent/fw.log"]) == 2
    assert "no such log file" in capsys.readouterr().err


def test_allowlist_without_verb_shows_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["allowlist"]) == 2
    assert "learn" in capsys.readouterr().err


# ---- S3 and CloudWatch Logs through a local moto server --------------------------------------


@pytest.mark.usefixtures("aws_env")
def test_learn_from_an_s3_prefix(moto_endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    s3 = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    s3.create_bucket(Bucket="fw-logs")
    prefix = "AWSLogs/111122223333/network-firewall/tls/us-east-1/hub/2026/11/25/21/"
    body = gzip.compress(("\n".join(RECORDS[:3]) + "\n").encode())
    s3.put_object(Bucket="fw-logs", Key=prefix + "a.log.gz", Body=body)
    s3.put_object(Bucket="fw-logs", Key=prefix + "b.log", Body=RECORDS[3].encode())
    s3.put_object(Bucket="fw-logs", Key="elsewhere/c.log", Body=b"{ignored")
    argv = ["allowlist", "learn", "s3://fw-logs/AWSLogs/111122223333/network-firewall/"]
    argv += ["--endpoint-url", moto_endpoint, "--region", "us-east-1", "--no-progress"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "4 lines: 4 records, 0 corrupt" in printed
    assert _snippet_entries(printed.split("Stack config snippet:\n")[1]) == [
        ".api.example.com",
        "pypi.org",
    ]


@pytest.mark.usefixtures("aws_env")
def test_missing_bucket_is_a_clear_error(
    moto_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["allowlist", "learn", "s3://no-such-bucket/x/", "--endpoint-url", moto_endpoint]
    assert main([*argv, "--region", "us-east-1"]) == 2
    err = capsys.readouterr().err
    assert "cannot read the logs from AWS" in err and "NoSuchBucket" in err


@pytest.mark.usefixtures("aws_env")
def test_learn_from_a_cloudwatch_logs_group(
    moto_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = boto3.client("logs", endpoint_url=moto_endpoint, region_name="us-east-1")
    group = "/aws/network-firewall/hub/alert"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="hub_alert_us-east-1a")
    now_ms = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=group,
        logStreamName="hub_alert_us-east-1a",
        logEvents=[{"timestamp": now_ms + i, "message": line} for i, line in enumerate(RECORDS)],
    )
    argv = ["allowlist", "learn", f"cwlogs://{group}", "--spoke", "data=10.2.0.0/16"]
    argv += ["--endpoint-url", moto_endpoint, "--region", "us-east-1", "--no-progress"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "6 lines: 5 records, 1 corrupt" in printed
    per_spoke = printed.split("Names per spoke")[1].split("Names overall")[0]
    rows = [line.split()[:2] for line in per_spoke.splitlines()]
    assert ["data", "pypi.org"] in rows and ["(unmapped)", "a.api.example.com"] in rows


@pytest.mark.usefixtures("aws_env")
def test_missing_log_group_is_a_clear_error(
    moto_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["allowlist", "learn", "cwlogs://no-such-group", "--endpoint-url", moto_endpoint]
    assert main([*argv, "--region", "us-east-1", "--no-progress"]) == 2
    assert "ResourceNotFound" in capsys.readouterr().err


STACK_CONFIG = """\
config:
  aws:region: us-east-1
  egress-net:role: hub
  egress-net:azIds: [use1-az1, use1-az2]
  egress-net:egressVpcCidr: 100.64.0.0/24
  egress-net:spokeSupernets: [10.0.0.0/8]
  egress-net:spokes:
    - name: app
      cidr: 10.1.0.0/16
    - name: data
      cidr: 10.2.0.0/16
  egress-net:rules:
    allowDomains:
      domains: [pypi.org, old.example.net]
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "Pulumi.yaml").write_text("name: egress-net\nruntime: python\n")
    (folder / "Pulumi.lab.yaml").write_text(STACK_CONFIG)
    return folder


def test_learn_with_a_stack_uses_its_spokes_and_allowlist(
    log_dir: Path,
    project: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(project)
    assert main(["allowlist", "learn", str(log_dir), "--stack", "lab", "--no-progress"]) == 0
    printed = capsys.readouterr().out
    per_spoke = printed.split("Names per spoke")[1].split("Names overall")[0]
    rows = [line.split()[:2] for line in per_spoke.splitlines()]
    assert ["app", "a.api.example.com"] in rows and ["data", "pypi.org"] in rows
    assert "+ .api.example.com" in printed and "  pypi.org" in printed
    assert "- old.example.net" in printed


@pytest.mark.parametrize(
    ("option", "stack_region", "expected"),
    [
        ("eu-west-1", "us-west-2", "eu-west-1"),  # --region wins
        (None, "us-west-2", "us-west-2"),  # else the stack's aws:region
        (None, None, None),  # else boto3 decides
        ("eu-west-1", None, "eu-west-1"),
    ],
)
def test_choose_region(option: str | None, stack_region: str | None, expected: str | None) -> None:
    assert choose_region(option, stack_region) == expected


@pytest.mark.usefixtures("aws_env")
def test_cloudwatch_logs_with_a_stack_use_its_region(
    moto_endpoint: str,
    project: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # No region anywhere but in the stack file; the group exists only in that region.
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    west = STACK_CONFIG.replace("us-east-1", "us-west-2").replace("use1-az", "usw2-az")
    (project / "Pulumi.west.yaml").write_text(west)
    logs = boto3.client("logs", endpoint_url=moto_endpoint, region_name="us-west-2")
    group = "/egress-net/west/alert"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    logs.put_log_events(
        logGroupName=group,
        logStreamName="s",
        logEvents=[{"timestamp": int(time.time() * 1000), "message": RECORDS[3]}],
    )
    argv = ["allowlist", "learn", f"cwlogs://{group}", "--stack", "west"]
    argv += ["--project-dir", str(project), "--endpoint-url", moto_endpoint, "--no-progress"]
    assert main(argv) == 0
    per_spoke = capsys.readouterr().out.split("Names per spoke")[1].split("Names overall")[0]
    assert ["data", "pypi.org"] in [line.split()[:2] for line in per_spoke.splitlines()]


def test_unknown_stack_is_a_clear_error(
    log_dir: Path, project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["allowlist", "learn", str(log_dir), "--stack", "nope", "--project-dir", str(project)]
    assert main(argv) == 2
    assert "no config file for stack 'nope'" in capsys.readouterr().err


@pytest.mark.usefixtures("aws_env")
def test_cloudwatch_window_limits_what_is_read(
    moto_endpoint: str, capsys: pytest.CaptureFixture[str]
) -> None:
    logs = boto3.client("logs", endpoint_url=moto_endpoint, region_name="us-east-1")
    group = "/aws/network-firewall/hub/tls-window"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName="s")
    now_ms = int(time.time() * 1000)
    logs.put_log_events(
        logGroupName=group,
        logStreamName="s",
        logEvents=[
            {"timestamp": now_ms - 3_600_000, "message": record(sni="old.example.com")},
            {"timestamp": now_ms, "message": record(sni="new.example.com")},
        ],
    )
    since = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now_ms / 1000 - 600))
    argv = ["allowlist", "learn", f"cwlogs://{group}", "--since", since]
    argv += ["--endpoint-url", moto_endpoint, "--region", "us-east-1", "--no-progress"]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "new.example.com" in printed and "old.example.com" not in printed
