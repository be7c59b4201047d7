"""The ET sync function's package: declared files only, the same bytes for the same sources."""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from egress_net import lambda_package
from egress_net.errors import EgressNetError

REPO = Path(__file__).resolve().parents[2]


def _copy(root: Path) -> Path:
    for name, source in lambda_package.package_files().items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return root


def test_two_builds_give_the_same_bytes_whatever_the_file_times_and_modes(
    tmp_path: Path,
) -> None:
    first = lambda_package.build_zip(lambda_package.package_files(_copy(tmp_path / "a")))
    other = _copy(tmp_path / "b")
    for path in other.rglob("*.py"):
        os.utime(path, (1_900_000_000, 1_900_000_000))  # another checkout, another day
        path.chmod(0o600)
    second = lambda_package.build_zip(lambda_package.package_files(other))
    assert first == second
    assert lambda_package.code_sha256(first) == lambda_package.code_sha256(second)
    for entry in zipfile.ZipFile(io.BytesIO(first)).infolist():
        assert entry.date_time == lambda_package.ZIP_TIMESTAMP
        assert entry.external_attr >> 16 & 0o777 == 0o644  # readable by Lambda's runtime user
        assert entry.compress_type == zipfile.ZIP_STORED


def test_a_changed_source_changes_the_package(tmp_path: Path) -> None:
    root = _copy(tmp_path / "a")
    before = lambda_package.build_zip(lambda_package.package_files(root))
    handler = root / "egress_net/et_sync/handler.py"
    handler.write_text(handler.read_text() + "\n# changed\n")
    assert lambda_package.build_zip(lambda_package.package_files(root)) != before


def test_a_missing_declared_file_is_a_clear_error(tmp_path: Path) -> None:
    root = _copy(tmp_path / "a")
    (root / "egress_net/rules/split.py").unlink()
    with pytest.raises(EgressNetError, match=r"PACKAGED_FILES: .*egress_net/rules/split\.py"):
        lambda_package.package_files(root)


def test_the_package_is_named_by_its_content_and_written_once(tmp_path: Path) -> None:
    folder = tmp_path / "out"
    folder.mkdir()
    path = lambda_package.write_package(folder=folder)
    data = path.read_bytes()
    assert path.name == f"et-sync-{hashlib.sha256(data).hexdigest()}.zip"
    assert lambda_package.write_package(folder=folder) == path
    assert [p.name for p in folder.iterdir()] == [path.name]  # no .part left behind


def test_a_tampered_package_file_is_written_again(tmp_path: Path) -> None:
    path = lambda_package.write_package(folder=tmp_path)
    good = path.read_bytes()
    path.write_bytes(b"PK tampered")
    assert lambda_package.write_package(folder=tmp_path) == path
    assert path.read_bytes() == good


def test_a_shared_package_folder_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lambda_package.tempfile, "gettempdir", lambda: str(tmp_path))
    shared = tmp_path / f"egress-net-{os.getuid()}"
    shared.mkdir(mode=0o777)
    shared.chmod(0o777)
    with pytest.raises(EgressNetError, match="not a private folder of this user") as err:
        lambda_package.write_package()
    # A folder another user planted in a sticky /tmp cannot be removed by this user: the
    # hint gives the way out that always works.
    assert "set TMPDIR to a folder of your own" in err.value.hint
    shared.chmod(0o700)
    assert lambda_package.write_package().parent == shared


def test_the_declared_files_are_the_tracked_files_of_the_function_folders() -> None:
    """In a checkout, the package is exactly what git tracks in the function's folders (less
    the files left out on purpose): a module added there without being declared, or declared
    without being committed, fails here."""
    listed = subprocess.run(
        ["git", "ls-files", "--", *lambda_package.PACKAGED_FOLDERS],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert listed, "not a git checkout: run the tests from a clone"
    tracked = set(listed)
    assert set(lambda_package.LEFT_OUT) <= tracked
    # egress_net/__init__.py and egress_net/errors.py, outside the two folders
    top_level = {name for name in lambda_package.PACKAGED_FILES if name.count("/") == 1}
    # Nothing from outside the package: every path inside egress_net/, none climbing out.
    for name in lambda_package.PACKAGED_FILES:
        assert name.startswith("egress_net/") and ".." not in Path(name).parts, name
    packaged = set(lambda_package.PACKAGED_FILES)
    assert (tracked - set(lambda_package.LEFT_OUT)) | top_level == packaged
    untracked = subprocess.run(
        ["git", "ls-files", "--error-unmatch", "--", *sorted(top_level)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert untracked.returncode == 0, untracked.stderr


def test_the_reproduction_command_prints_lambdas_code_sha256() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "egress_net.lambda_package"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    data = lambda_package.build_zip(lambda_package.package_files())
    assert done.stdout.splitlines()[-1] == f"CodeSha256 {lambda_package.code_sha256(data)}"
    assert f"{len(lambda_package.PACKAGED_FILES)} files" in done.stdout


def test_the_recording_holds_the_package_by_content_as_pulumi_diffs_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pulumi diffs an archive file by the SHA-256 of its bytes, not by its path: two machines
    (two temporary folders) deploying the same sources see no code change, and neither does
    a comparison of their recordings (``synth --save`` then ``plan_diff``)."""
    from egress_net import engine

    codes = []
    for folder in ("one", "two"):
        private = tmp_path / folder
        private.mkdir(mode=0o700)
        monkeypatch.setattr(lambda_package, "_private_folder", lambda private=private: private)
        (function,) = engine.synth_stack("prod", REPO).of_type("aws:lambda/function:Function")
        codes.append(function.inputs["code"])
    data = lambda_package.build_zip(lambda_package.package_files())
    assert codes[0] == codes[1] == {"archive": {"sha256": hashlib.sha256(data).hexdigest()}}
