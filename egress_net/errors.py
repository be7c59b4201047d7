"""Errors a user can cause. Each names where the problem is and what to do about it.

A traceback is a bug: anything a user can get wrong in config, rule files or command-line
arguments must surface as one of these, before any resource is declared.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


class EgressNetError(Exception):
    """Base class for user-facing errors. ``str(err)`` is the full message for the terminal."""

    exit_code = 2
    # Set by the offline engine: what the program had registered when the error was raised.
    registered: list[Any] = []  # noqa: RUF012 (replaced per instance, never mutated)

    def __init__(self, where: str, problem: str, hint: str = "") -> None:
        self.where = where
        self.problem = problem
        self.hint = hint
        super().__init__(self.render())

    def render(self) -> str:
        text = f"{self.where}: {self.problem}"
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text


class ConfigError(EgressNetError):
    """Bad stack config. ``where`` is the config key, e.g. ``egress-net:spokes[1].cidr``."""

    @property
    def key(self) -> str:
        return self.where


class RuleError(EgressNetError):
    """A firewall rule that Network Firewall would reject. ``where`` is ``file:line``."""


class ConfigErrors(ConfigError):
    """Several config problems found in one pass; reported together so a user fixes all at once."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = errors
        first = errors[0]
        super().__init__(first.where, first.problem, first.hint)

    def render(self) -> str:
        return "\n".join(err.render() for err in getattr(self, "errors", [])) or super().render()


def check_output_path(option: str, path: Path) -> Path:
    """``path`` if a file can be written there; checked before any work whose result it holds."""
    folder = path.parent
    if not folder.exists():
        raise ConfigError(
            option, f"folder {folder} does not exist", f"create it first: mkdir -p {folder}"
        )
    if not folder.is_dir():
        raise ConfigError(option, f"{folder} is not a folder", "pick a path inside a folder")
    if path.is_dir():
        raise ConfigError(option, f"{path} is a folder", "give a file path inside it")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ConfigError(option, f"cannot write {path}: permission denied", "pick another path")
    return path


def write_output(option: str, path: Path, text: str) -> None:
    """Write a command's output file; a failure the early check could not foresee is named."""
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise ConfigError(option, f"cannot write {path}: {err.strerror or err}") from None
