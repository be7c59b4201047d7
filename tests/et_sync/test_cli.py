"""``egress-net rules sync --dry-run``, in process (one subprocess smoke test)."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from egress_net.cli import main
from egress_net.et_sync.model import EmergingThreatsConfig
from egress_net.et_sync.plan import SyncPlan, build_plan

from .conftest import DATA, SMALL_FILES, RulesServer


@pytest.fixture(scope="module")
def small_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("et-small")
    for name in SMALL_FILES:
        (folder / name).write_bytes((DATA / name).read_bytes())
    return folder


def _sync(*args: str) -> int:
    return main(["rules", "sync", "--prefix", "hub", *args])


def _json_plan(capsys: pytest.CaptureFixture[str], *args: str) -> dict:
    assert _sync(*args, "--dry-run", "--json") == 0
    return dict(json.loads(capsys.readouterr().out))


def test_dry_run_prints_groups_sids_and_capacity(
    small_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _sync("--source", str(small_dir), "--dry-run") == 0
    out = capsys.readouterr().out
    assert "rules: 1,394 parsed, 98 disabled, 220 accepted, 1,076 rejected" in out
    assert "groups: 1 created, 0 updated, 0 replaced, 0 deleted, 0 unchanged" in out
    assert "sids: 220 added, 0 removed, 0 changed" in out
    assert "capacity: 0 → " in out
    assert "unsupported-keyword:threshold" in out  # why tor.rules is mostly left out


def test_changes_against_the_last_manifest(
    small_dir: Path, small_plan: SyncPlan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    group = small_plan.groups[0]
    sids = sorted(group.sids)
    revisions = {str(sid): rev for sid, rev in small_plan.revisions.items()}
    manifest = {
        "version": "previous",
        # deployed too small, so the group must be replaced; one rule had an older rev,
        # and one sid is no longer in the ruleset
        "groups": [{"key": group.key, "name": "old", "capacity": 5, "sids": [*sids, 9]}],
        "revisions": {**revisions, str(sids[0]): revisions[str(sids[0])] - 1, "9": 1},
    }
    path = tmp_path / "latest.json"
    path.write_text(json.dumps(manifest))
    second = _json_plan(capsys, "--source", str(small_dir), "--current", str(path))
    assert [g["action"] for g in second["groups"]] == ["replace"]
    assert second["groups"][0]["old_capacity"] == 5
    assert second["sids"] == {"added": [], "removed": [9], "changed": [sids[0]]}
    assert second["capacity"]["before"] == 5


@pytest.fixture(scope="module")
def small_plan(small_dir: Path) -> SyncPlan:
    files = {p.name: p.read_text() for p in small_dir.glob("*.rules")}
    settings = EmergingThreatsConfig().to_settings(rule_group_prefix="hub")
    return build_plan(files, settings, version="v")


def test_same_manifest_means_nothing_to_do(
    small_dir: Path, small_plan: SyncPlan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    group = small_plan.groups[0]
    manifest = {
        "groups": [{"key": group.key, "capacity": group.capacity, "sids": list(group.sids)}],
        "revisions": {str(sid): rev for sid, rev in small_plan.revisions.items()},
    }
    path = tmp_path / "latest.json"
    path.write_text(json.dumps(manifest))
    again = _json_plan(capsys, "--source", str(small_dir), "--current", str(path))
    assert [g["action"] for g in again["groups"]] == ["keep"]
    assert again["sids"] == {"added": [], "removed": [], "changed": []}


def test_progress_bar_on_stderr(small_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert _sync("--source", str(small_dir), "--dry-run", "--progress") == 0
    err = capsys.readouterr().err
    assert "parsing [" in err
    assert err.rstrip().endswith("3/3 files, 1,394 rules")


def test_categories_and_ips_flags(small_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    plan = _json_plan(capsys, "--source", str(small_dir), "--include", "dns", "--ips", "dns")
    assert plan["stats"]["files"] == 1
    assert plan["stats"]["accepted"] == 21


def test_rules_that_outgrow_the_groups_exit_1_with_what_to_configure(
    small_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "et.yaml"
    config.write_text("groups: 2\ngroupCapacity: 100\n")
    assert _sync("--source", str(small_dir), "--dry-run", "--config", str(config)) == 1
    err = capsys.readouterr().err
    assert "the selected rules need 220 capacity" in err
    assert "2 groups of 100 are declared" in err
    assert "groupCapacity: " in err and "pulumi up" in err


def test_malformed_and_feed_pass_lines_are_listed_with_file_and_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "rules"
    folder.mkdir()
    (folder / "emerging-dns.rules").write_text(
        'alert udp any any -> any 53 (msg:"ok"; sid:1; rev:1;)\n'
        "alert udp any any -> any 53 msg:no-parentheses\n"
        'pass ip $HOME_NET any -> $EXTERNAL_NET any (msg:"open"; sid:2; rev:1;)\n'
        'alert ip $HOME_NET any -> $EXTERNAL_NET any (msg:"open"; bypass; sid:3; rev:1;)\n'
    )
    assert _sync("--source", str(folder), "--dry-run") == 0
    out = capsys.readouterr().out
    assert "emerging-dns.rules:2: parse-error" in out
    assert "emerging-dns.rules:3: feed-action:pass" in out
    assert "emerging-dns.rules:4: feed-keyword:bypass: a feed rule must not use" in out


def test_url_source_is_verified_against_its_md5(
    rules_server: RulesServer, small_tarball: bytes, capsys: pytest.CaptureFixture[str]
) -> None:
    url = rules_server.publish(small_tarball)
    plan = _json_plan(capsys, "--source", url)
    assert plan["version"] == hashlib.md5(small_tarball).hexdigest()
    rules_server.served.bodies["/emerging.rules.tar.gz.md5"] = b"a" * 32
    assert _sync("--source", url, "--dry-run") == 2
    assert "md5 mismatch" in capsys.readouterr().err


def test_tarball_file_source(
    small_tarball: bytes, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tarball = tmp_path / "emerging.rules.tar.gz"
    tarball.write_bytes(small_tarball)
    plan = _json_plan(capsys, "--source", str(tarball))
    assert plan["stats"]["files"] == 3
    (tmp_path / "emerging.rules.tar.gz.md5").write_text("0" * 32)
    md5 = str(tmp_path / "emerging.rules.tar.gz.md5")
    assert _sync("--source", str(tarball), "--md5", md5, "--dry-run") == 2
    assert "md5 mismatch" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--source", "nowhere/at/all"], "--source: nowhere/at/all is neither"),
        (["--source", "{small}", "--home-net", "10.0.0.1/8"], "--home-net: '10.0.0.1/8'"),
        (["--source", "{small}", "--current", "{small}/tor.rules"], "--current:"),
        (["--source", "{small}", "--config", "{small}/list.yaml"], "must be a mapping"),
        (["--source", "{small}", "--include", "dns", "--exclude", "dns"], "both included"),
        (["--source", "{small}", "--timeout", "0"], "--timeout: must be above 0"),
    ],
)
def test_user_errors_are_clear_and_exit_2(
    args: list[str], message: str, small_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (small_dir / "list.yaml").write_text("- not\n- a mapping\n")
    argv = [arg.replace("{small}", str(small_dir)) for arg in args]
    assert _sync(*argv, "--dry-run") == 2
    assert message in capsys.readouterr().err


def test_bad_config_key_is_named(
    small_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "et.yaml"
    config.write_text("schedule: every day\n")
    assert _sync("--source", str(small_dir), "--dry-run", "--config", str(config)) == 2
    err = capsys.readouterr().err
    assert "et.yaml: schedule" in err and "rate(1 day)" in err


def test_without_dry_run_the_cli_refuses_to_apply(
    small_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _sync("--source", str(small_dir)) == 2
    err = capsys.readouterr().err
    assert "the CLI only plans" in err and "aws lambda invoke" in err


def test_installed_command_smoke(small_dir: Path) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "egress_net",
            "rules",
            "sync",
            "--source",
            str(small_dir),
            "--dry-run",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "groups: 1 created" in done.stdout
    assert "Traceback" not in done.stderr


def _manifest_with_one_group(small_plan: SyncPlan, tmp_path: Path) -> Path:
    """A ``latest.json`` saying one ET group is in force now."""
    group = small_plan.groups[0]
    manifest = {
        "version": "previous",
        "groups": [{"key": group.key, "capacity": group.capacity, "sids": list(group.sids)}],
    }
    path = tmp_path / "latest.json"
    path.write_text(json.dumps(manifest))
    return path


@pytest.mark.parametrize(
    ("flag", "name", "message"),
    [
        (
            "--include",
            "malwre",
            "--include: unknown category 'malwre'; categories in this ruleset:",
        ),
        ("--include", "dsn", "--include: unknown category 'dsn' (did you mean 'dns'?)"),
        ("--exclude", "scna", "--exclude: unknown category 'scna' (did you mean 'scan'?)"),
        ("--ips", "emerging-tro.rules", "--ips: unknown category 'tro' (did you mean 'tor'?)"),
    ],
)
def test_unknown_category_flag_exits_2_before_planning_deletes(
    flag: str,
    name: str,
    message: str,
    small_dir: Path,
    small_plan: SyncPlan,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A typo must not select nothing and plan the deletion of every ET group."""
    current = _manifest_with_one_group(small_plan, tmp_path)
    argv = ["--source", str(small_dir), "--current", str(current), flag, name]
    assert _sync(*argv, "--dry-run") == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "categories in this ruleset: dns, scan, tor" in captured.err
    assert "delete" not in captured.out


def test_unknown_categories_of_several_flags_are_reported_together(
    small_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["--source", str(small_dir), "--include", "dns", "--include", "nope", "--ips", "dsn"]
    assert _sync(*argv, "--dry-run") == 2
    err = capsys.readouterr().err
    assert (
        "error: --include: unknown category 'nope'; --ips: unknown category 'dsn' "
        "(did you mean 'dns'?); categories in this ruleset: dns, scan, tor\n"
    ) in err


def test_unknown_category_in_config_names_the_file_and_key(
    small_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "et.yaml"
    config.write_text("includeCategories: [dns, malwre]\n")
    assert _sync("--source", str(small_dir), "--dry-run", "--config", str(config)) == 2
    err = capsys.readouterr().err
    assert f"{config}: includeCategories: unknown category 'malwre'" in err
    assert "in config" not in err  # the old warning's wording


def test_plan_that_would_remove_every_et_group_exits_1(
    small_dir: Path, small_plan: SyncPlan, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """tor is a real category here, but Network Firewall refuses all of its rules."""
    current = _manifest_with_one_group(small_plan, tmp_path)
    argv = ["--source", str(small_dir), "--include", "tor", "--dry-run"]
    assert _sync(*argv, "--current", str(current)) == 1
    err = capsys.readouterr().err
    assert "no ET rule groups but 1 is in force" in err
    assert "the function refuses it" in err
    # Without --current (a first run): refused all the same.
    assert _sync(*argv) == 1
    assert "the plan has no ET rule groups; the function refuses it" in capsys.readouterr().err
