"""What `pulumi install` builds the program's virtualenv from, and the version floors."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

from egress_net import project_files

REPO = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
RUNTIME = [Requirement(r) for r in PYPROJECT["project"]["dependencies"]]


def requirement_lines(path: Path) -> list[str]:
    """Requirement lines of a pip requirements file, continuation lines joined, comments gone."""
    text = re.sub(r"\\\n\s*", " ", path.read_text())
    lines = (re.sub(r"(^|\s)#.*$", "", line) for line in text.splitlines())
    return [" ".join(line.split()) for line in lines if line.strip()]


def pins(path: Path) -> dict[str, Version]:
    out: dict[str, Version] = {}
    for line in requirement_lines(path):
        requirement = Requirement(line.split(" --hash", 1)[0])
        (spec,) = requirement.specifier
        assert spec.operator == "==", line
        out[canonicalize_name(requirement.name)] = Version(spec.version)
    return out


def test_pulumi_install_uses_requirements_txt_with_the_pip_toolchain() -> None:
    # The python language host's pip toolchain runs `pip install -r requirements.txt` in the
    # project folder into runtime.options.virtualenv (pulumi/pulumi sdk/python/toolchain/pip.go).
    options = project_files.load_project(REPO).runtime_options
    assert options == {"toolchain": "pip", "virtualenv": ".venv"}
    assert (REPO / "requirements.txt").is_file()


def test_requirements_txt_pins_every_package_with_hashes() -> None:
    lines = requirement_lines(REPO / "requirements.txt")
    assert lines
    for line in lines:
        # With a hash on every line pip installs in hash-checking mode: nothing unpinned,
        # nothing that does not match the lock, no editable or local path.
        assert re.match(r"^[A-Za-z0-9_.-]+==[^ ]+( --hash=sha256:[0-9a-f]{64})+$", line), line


def test_requirements_txt_holds_every_runtime_dependency_within_its_range() -> None:
    locked = pins(REPO / "requirements.txt")
    for requirement in RUNTIME:
        name = canonicalize_name(requirement.name)
        assert name in locked, f"{requirement.name} is not in requirements.txt"
        assert requirement.specifier.contains(locked[name]), (requirement, locked[name])


def imported_distributions() -> set[str]:
    """Distributions the program's own modules import (what its virtualenv must hold)."""
    modules: set[str] = set()
    sources = [*sorted((REPO / "egress_net").rglob("*.py")), REPO / "__main__.py"]
    for source in sources:
        for node in ast.walk(ast.parse(source.read_text(), str(source))):
            if isinstance(node, ast.Import):
                modules |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules.add(node.module.split(".")[0])
    third_party = modules - set(sys.stdlib_module_names) - {"egress_net"}
    owners = importlib.metadata.packages_distributions()
    return {canonicalize_name(owners.get(m, [m])[0]) for m in third_party}


def test_the_lock_holds_every_distribution_the_program_imports() -> None:
    locked = set(pins(REPO / "requirements.txt"))
    optional = {
        canonicalize_name(Requirement(r).name)
        for extra, reqs in PYPROJECT["project"]["optional-dependencies"].items()
        if extra != "test"
        for r in reqs
    }
    imported = imported_distributions()
    assert {"pulumi", "pulumi-aws", "pydantic"} <= imported
    assert imported - optional <= locked, imported - optional - locked


def test_the_program_imports_its_package_from_the_project_folder() -> None:
    # `pulumi up` runs the program as runpy.run_path(".") from the project folder (the python
    # language host's EntryPoint), which puts the folder first on sys.path: egress_net is
    # imported from beside __main__.py, so requirements.txt needs only its dependencies.
    tree = ast.parse((REPO / "__main__.py").read_text())
    imported = {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    }
    assert imported == {"egress_net"}
    assert (REPO / "egress_net" / "__init__.py").is_file()


def test_the_floor_constraints_pin_each_runtime_dependency_at_its_floor() -> None:
    floors = pins(REPO / "constraints-floor.txt")
    for requirement in RUNTIME:
        lower = [s for s in requirement.specifier if s.operator == ">="]
        assert len(lower) == 1, f"{requirement} needs one >= floor"
        assert floors[canonicalize_name(requirement.name)] == Version(lower[0].version), requirement


def test_the_ci_runs_the_suite_on_the_floor_versions() -> None:
    script = (REPO / ".ci" / "run").read_text()
    commands = [line for line in script.splitlines() if not line.lstrip().startswith("#")]
    floor_install = [line for line in commands if "-c constraints-floor.txt" in line]
    assert floor_install, "the floor pass is not run"
    (venv,) = {line.split()[0] for line in floor_install}  # the floor pass's own virtualenv
    assert any(line.startswith(f"{venv} -m pytest -q") for line in commands)
    assert "--require-hashes -r requirements.txt" in script
    assert script.rstrip().endswith(".venv/bin/python -m pytest -q")


def run_installed_pins(constraints: Path) -> subprocess.CompletedProcess[str]:
    script = REPO / ".ci" / "installed_pins.py"
    return subprocess.run(
        [sys.executable, str(script), str(constraints)], capture_output=True, text=True
    )


def test_the_floor_pass_fails_when_an_installed_version_is_not_the_pin(tmp_path: Path) -> None:
    here = {name: importlib.metadata.version(name) for name in ("pulumi", "PyYAML")}
    matching = tmp_path / "matching.txt"
    matching.write_text("# pins\n" + "".join(f"{n}=={v}\n" for n, v in here.items()))
    assert run_installed_pins(matching).returncode == 0

    floated = tmp_path / "floated.txt"
    floated.write_text(f"pulumi==3.0.0\nPyYAML=={here['PyYAML']}\nnot-installed-pkg==1.0\n")
    result = run_installed_pins(floated)
    assert result.returncode == 1
    assert f"pulumi: pinned 3.0.0, installed {here['pulumi']}" in result.stderr
    assert "not-installed-pkg: pinned 1.0, not installed" in result.stderr
    assert "PyYAML" not in result.stderr


def test_the_ci_checks_the_floor_virtualenv_holds_exactly_the_pins() -> None:
    commands = [
        line
        for line in (REPO / ".ci" / "run").read_text().splitlines()
        if not line.lstrip().startswith("#")
    ]
    floor_install = next(line for line in commands if "-c constraints-floor.txt" in line)
    venv = floor_install.split()[0]
    after = commands[commands.index(floor_install) + 1 :]
    assert f"{venv} -m pip check" in after
    assert f"{venv} .ci/installed_pins.py constraints-floor.txt" in after
    # Both before the floor pass's tests, which would otherwise run on whatever was installed.
    tests = next(i for i, line in enumerate(after) if line.startswith(f"{venv} -m pytest"))
    assert after.index(f"{venv} .ci/installed_pins.py constraints-floor.txt") < tests
