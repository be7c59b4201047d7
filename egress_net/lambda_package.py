"""The ET sync function's code package: a declared list of the project's files, zipped so the
same sources always give the same bytes.

What goes in is ``PACKAGED_FILES`` and nothing else: no file merely found in a folder (an
untracked module, an editor's backup, ``__pycache__``), nothing from outside the project.
Listing the files, rather than globbing the folders and refusing strays, keeps a deploy
independent of whatever else sits in the checkout: an undeclared file can never reach the
function, so it need not stop a deploy. A module added to the function's folders without
being declared here is caught by the test that compares this list with ``git ls-files``.

The zip is deterministic: entries in name order, every timestamp 1980-01-01 00:00 (the
earliest a zip can hold), mode 0644, Unix as the creating system, and stored rather than
deflated (deflate output differs between zlib builds, stored bytes do not). So Lambda's
``CodeSha256`` (base64 of the zip's SHA-256, Lambda API Reference, FunctionConfiguration) is
the same for the same sources on any machine, and a reviewer reproduces it with
``python -m egress_net.lambda_package``.

Pulumi hands a ``FileArchive`` whose path ends in ``.zip`` to the provider byte for byte, and
hashes those bytes for its diff (pulumi/pulumi sdk/go/common/resource/archive/archive.go:
``ArchiveWithWD`` copies a source archive of the requested format; ``EnsureHashWithWD``
hashes it as a byte stream), so an unchanged package means no diff and no code update.

Stdlib only: the CLI and the program import it, the function itself does not.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import stat
import sys
import tempfile
import zipfile
from collections.abc import Mapping
from pathlib import Path

from egress_net.errors import EgressNetError

# Every file of the function, by its path in the zip (= its path in the repository). The
# handler's package and the stdlib-only modules it imports.
PACKAGED_FILES: tuple[str, ...] = (
    "egress_net/__init__.py",
    "egress_net/errors.py",
    "egress_net/et_sync/__init__.py",
    "egress_net/et_sync/apply.py",
    "egress_net/et_sync/changes.py",
    "egress_net/et_sync/errors.py",
    "egress_net/et_sync/fetch.py",
    "egress_net/et_sync/handler.py",
    "egress_net/et_sync/manifest.py",
    "egress_net/et_sync/plan.py",
    "egress_net/et_sync/select.py",
    "egress_net/et_sync/settings.py",
    "egress_net/rules/__init__.py",
    "egress_net/rules/capacity.py",
    "egress_net/rules/ingress.py",
    "egress_net/rules/keywords.py",
    "egress_net/rules/limits.py",
    "egress_net/rules/parser.py",
    "egress_net/rules/policy.py",
    "egress_net/rules/report.py",
    "egress_net/rules/split.py",
    "egress_net/rules/suffixes.py",
    "egress_net/rules/validate.py",
    "egress_net/rules/variables.py",
)
# The folders the function's modules live in, and the files of them left out on purpose:
# the config models use pydantic, which the Lambda runtime does not have.
PACKAGED_FOLDERS: tuple[str, ...] = ("egress_net/et_sync", "egress_net/rules")
LEFT_OUT: Mapping[str, str] = {
    "egress_net/et_sync/model.py": "pydantic config model, read by the program only",
    "egress_net/rules/model.py": "pydantic config model, read by the program only",
}
# The earliest time a zip entry can carry (MS-DOS dates start in 1980).
ZIP_TIMESTAMP = (1980, 1, 1, 0, 0, 0)
FILE_MODE = 0o644
UNIX = 3  # zip "version made by" host system: Unix (so the mode bits are read)


def project_root() -> Path:
    """The folder holding ``egress_net/``: a checkout, or site-packages when installed."""
    return Path(__file__).resolve().parent.parent


def package_files(root: Path | None = None) -> dict[str, Path]:
    """``{path in the zip: file}`` of every declared file; a missing one is an error."""
    base = root or project_root()
    files = {name: base / name for name in PACKAGED_FILES}
    missing = sorted(name for name, path in files.items() if not path.is_file())
    if missing:
        raise EgressNetError(
            "egress_net/lambda_package.py:PACKAGED_FILES",
            f"declared for the ET sync function but not found under {base}: " + ", ".join(missing),
            "restore the files, or take them out of PACKAGED_FILES if the function no longer "
            "imports them",
        )
    return files


def build_zip(files: Mapping[str, Path]) -> bytes:
    """The zip of ``files``: the same bytes for the same names and contents, anywhere."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_STORED) as archive:
        for name in sorted(files):
            entry = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
            entry.create_system = UNIX
            entry.external_attr = (stat.S_IFREG | FILE_MODE) << 16
            entry.compress_type = zipfile.ZIP_STORED
            archive.writestr(entry, files[name].read_bytes())
    return buffer.getvalue()


def code_sha256(data: bytes) -> str:
    """Lambda's ``CodeSha256`` of a deployment package: base64 of its SHA-256 digest."""
    return base64.b64encode(hashlib.sha256(data).digest()).decode("ascii")


def _private_folder() -> Path:
    """A folder of this user's only: nobody else can swap the zip between its write and the
    moment Pulumi reads it."""
    uid = os.getuid() if hasattr(os, "getuid") else None
    folder = Path(tempfile.gettempdir()) / f"egress-net-{uid if uid is not None else 'user'}"
    folder.mkdir(mode=0o700, exist_ok=True)
    info = os.lstat(folder)
    if uid is not None and (
        not stat.S_ISDIR(info.st_mode) or info.st_uid != uid or info.st_mode & 0o077
    ):
        raise EgressNetError(
            str(folder),
            "the folder for the ET sync function's package is not a private folder of this "
            "user (owner, mode or a link): another user could change the package",
            # Another user's folder cannot be removed from a sticky /tmp: TMPDIR moves it.
            f"remove {folder} if it is yours and run again; if another user owns it, set "
            "TMPDIR to a folder of your own (e.g. ~/.cache/egress-net) and run again",
        )
    return folder


def write_package(root: Path | None = None, folder: Path | None = None) -> Path:
    """The package as a file named by its content (``et-sync-<sha256>.zip``), written once per
    content: the path Pulumi records stays the same while the sources do."""
    data = build_zip(package_files(root))
    digest = hashlib.sha256(data).hexdigest()
    target = (folder or _private_folder()) / f"et-sync-{digest}.zip"
    if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == digest:
        return target
    with tempfile.NamedTemporaryFile(dir=target.parent, suffix=".part", delete=False) as part:
        part.write(data)
    os.replace(part.name, target)  # atomic: a concurrent reader sees the old or the new file
    return target


def main() -> int:
    """Print what the package holds and its CodeSha256, to compare with the deployed one."""
    files = package_files()
    data = build_zip(files)
    for name in sorted(files):
        print(f"{hashlib.sha256(files[name].read_bytes()).hexdigest()}  {name}")
    print(f"{len(files)} files, {len(data)} bytes")
    print(f"sha256     {hashlib.sha256(data).hexdigest()}")
    print(f"CodeSha256 {code_sha256(data)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
