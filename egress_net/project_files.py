"""Pulumi.yaml and Pulumi.<stack>.yaml as the Pulumi CLI reads them, before any program runs.

`pulumi preview`/`up` load the project file, check it, load the stack file and merge the two
(defaults applied, required keys demanded, typed keys checked) before the language host starts.
The offline engine runs the same checks with the CLI's own messages, so a stack that synthesizes
offline also gets past the CLI's front door. Each rule names the source it follows, in
pulumi/pulumi unless said otherwise:

- ``sdk/go/common/workspace/loaders.go`` — LoadProject, LoadProjectStack(Bytes),
  stackConfigNamespacedWithProject, checkForEmptyConfig;
- ``sdk/go/common/workspace/project.go`` + ``project.json`` — ValidateProject (the JSON
  schema), RewriteShorthandConfigValues, Project.Validate, ValidateConfigValue;
- ``pkg/workspace/config.go`` — mergeConfig / ValidateStackConfigAndApplyProjectConfig,
  validateStackConfigValue;
- ``sdk/go/common/resource/config/key.go`` (ParseKey), ``.../config/object.go`` (how a stack
  value becomes the string a program reads);
- ``sdk/go/common/tokens/stack_name.go`` (ParseStackName), ``tokens/project.go``
  (ValidateProjectName, applied by the backends when a stack is created);
- pulumi/pulumi-terraform-bridge ``pkg/tfbridge/adapt_check_failures.go``
  (formatDefaultProviderInvalidKey): the AWS provider refuses unknown ``aws:`` keys.

Pure: reads files, returns data or raises ConfigError; no Pulumi runtime involved.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from importlib import util as importlib_util
from pathlib import Path
from typing import Any

import yaml

from egress_net.errors import ConfigError, ConfigErrors

PROJECT_FILE = "Pulumi.yaml"
PROVIDER_NAMESPACE = "aws"  # the only provider the program configures from stack config
PULUMI_NAMESPACE = "pulumi"  # the CLI's own keys (pulumi:tags, pulumi:disable-default-providers)

Version = tuple[int, int, int]

# CLI releases that brought what a project file may use (pulumi/pulumi CHANGELOG.md).
OBJECT_CONFIG_TYPE_SINCE: Version = (3, 186, 0)  # `type: object` in the schema (#20129)
PYTHON_TOOLCHAIN_OPTION_SINCE: Version = (3, 119, 0)  # runtime.options.toolchain (Toolchain)
REQUIRED_PULUMI_VERSION_SINCE: Version = (3, 219, 0)  # requiredPulumiVersion honoured (#21627)

# project.json `$defs/simpleConfigType`.
_CONFIG_TYPES = ("string", "integer", "boolean", "array", "object")
# project.json `$defs/configTypeDeclaration` (additionalProperties: false).
_DECLARATION_ATTRIBUTES = ("type", "items", "description", "secret", "default", "value")
_ITEMS_ATTRIBUTES = ("type", "items")
_RUNTIME_ATTRIBUTES = ("name", "options")
# ValidateProject's suggestions (maxValidationAttributeDistance) and the bridge's (keySuggestions).
_SUGGESTION_DISTANCE = 2
# tokens/names.go NameRegexpPattern; stack_name.go stackNameRegex (both the same character set).
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_NAME_MAX = 100


# ---------------------------------------------------------------------------------------------
# YAML as the CLI's parser (gopkg.in/yaml.v3, YAML 1.2 core schema) reads it


class _CoreSchemaLoader(yaml.SafeLoader):
    """PyYAML speaks YAML 1.1: ``on``/``yes`` are booleans and ``2024-01-01`` a date there, but
    strings to the CLI's YAML 1.2 parser. Resolve plain scalars as YAML 1.2's core schema does,
    so a value is typed here as the CLI types it."""


_CoreSchemaLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag.rsplit(":", 1)[-1] not in ("bool", "int", "float", "timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_CoreSchemaLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_CoreSchemaLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
    list("-+0123456789"),
)
_CoreSchemaLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)


def _core_int(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> int:
    text = str(loader.construct_scalar(node))
    if text.startswith(("0o", "0x")):
        return int(text, 0)
    return int(text, 10)  # YAML 1.2: 010 is ten, not octal eight


def _core_bool(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> bool:
    return str(loader.construct_scalar(node)).lower() == "true"


_CoreSchemaLoader.add_constructor("tag:yaml.org,2002:int", _core_int)
_CoreSchemaLoader.add_constructor("tag:yaml.org,2002:bool", _core_bool)


@dataclass(frozen=True)
class _Document:
    data: Any
    config_lines: dict[str, int]  # key of the top-level `config:` mapping → its line


def _read_yaml(path: Path) -> _Document:
    try:
        # loaders.go readFileStripUTF8BOM: a leading BOM is dropped.
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise ConfigError(str(path.name), f"not UTF-8 text: {err.reason}") from None
    loader = _CoreSchemaLoader(text)
    try:
        node = loader.get_single_node()
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path.name}:{mark.line + 1}" if mark else path.name
        raise ConfigError(where, f"not valid YAML: {getattr(err, 'problem', err)}") from None
    finally:
        loader.dispose()
    lines: dict[str, int] = {}
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.value == "config" and isinstance(value_node, yaml.MappingNode):
                for config_key, _ in value_node.value:
                    lines[str(config_key.value)] = config_key.start_mark.line + 1
    return _Document(data, lines)


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "list" if isinstance(value, list) else "mapping"


def _distance(a: str, b: str) -> int:
    """Levenshtein distance (insert, delete, substitute: 1 each)."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _closest(needle: str, candidates: Iterable[str], *, fold_case: bool = True) -> str | None:
    """project.go findClosestKey: the nearest candidate within the distance, first by name."""
    best, best_distance = None, _SUGGESTION_DISTANCE + 1
    for candidate in sorted(candidates):
        a, b = (needle.lower(), candidate.lower()) if fold_case else (needle, candidate)
        d = _distance(a, b)
        if d < best_distance:
            best, best_distance = candidate, d
    return best


# ---------------------------------------------------------------------------------------------
# The project file


@dataclass(frozen=True)
class ItemsType:
    """project.go ProjectConfigItemsType: the type of an array's items."""

    type: str
    items: ItemsType | None = None

    @property
    def full_name(self) -> str:
        """project.go InferFullTypeName: ``array<string>``, ``array<array<object>>``."""
        if self.items is not None:
            return f"array<{self.items.full_name}>"
        return self.type


@dataclass(frozen=True)
class ConfigDeclaration:
    """One entry of Pulumi.yaml's ``config:`` block (project.go ProjectConfigType)."""

    key: str  # as written: ``egress-net:azIds``, ``azIds`` or ``aws:region``
    type: str | None = None
    items: ItemsType | None = None
    default: Any = None  # None: no default (the CLI reads `default: null` as none too)
    value: Any = None
    secret: bool = False
    description: str = ""

    @property
    def full_type_name(self) -> str:
        return ItemsType(self.type or "", self.items).full_name


def _owned_by(project: str, key: str) -> bool:
    """project.go configKeyIsNamespacedByProject."""
    return ":" not in key or key.startswith(f"{project}:")


@dataclass(frozen=True)
class Project:
    name: str
    folder: Path
    config: dict[str, ConfigDeclaration] = field(default_factory=dict)
    runtime_options: dict[str, Any] = field(default_factory=dict)
    stack_config_dir: str | None = None
    required_pulumi_version: str | None = None

    def namespaced(self, key: str) -> str:
        """config.go parseConfigKey: a key without namespace belongs to the project."""
        return key if ":" in key else f"{self.name}:{key}"

    def owns(self, key: str) -> bool:
        return _owned_by(self.name, key)

    def stack_file(self, stack: str) -> Path:
        folder = self.folder / self.stack_config_dir if self.stack_config_dir else self.folder
        return folder / f"Pulumi.{stack}.yaml"


def load_project(folder: Path) -> Project:
    """Pulumi.yaml, checked as LoadProject checks it; every problem is reported at once."""
    path = folder / PROJECT_FILE
    if not path.is_file():
        raise ConfigError(str(folder), f"no {PROJECT_FILE} here", "run from the project folder")
    raw = _read_yaml(path).data
    if not isinstance(raw, dict):
        # project.go SimplifyMarshalledProject.
        raise ConfigError(
            PROJECT_FILE,
            f"expected project to be an object, was a {_type_name(raw)}",
            "the file is a mapping with name, runtime and config",
        )
    _check_project_name(raw)
    errors = _check_project_schema(raw)
    config_block = raw.get("config")
    declarations: dict[str, ConfigDeclaration] = {}
    if isinstance(config_block, dict) and not errors:
        declarations = {
            str(k): _declaration(str(raw["name"]), str(k), v) for k, v in config_block.items()
        }
        errors += _check_declarations(str(raw["name"]), declarations)
    if errors:
        raise ConfigErrors(errors)
    runtime = raw.get("runtime")
    options = runtime.get("options") if isinstance(runtime, dict) else None
    stack_config_dir = raw.get("stackConfigDir")
    if isinstance(config_block, str):  # RewriteConfigPathIntoStackConfigDir (deprecated form)
        stack_config_dir = config_block
    required = raw.get("requiredPulumiVersion")
    return Project(
        name=str(raw["name"]),
        folder=folder,
        config=declarations,
        runtime_options=dict(options or {}),
        stack_config_dir=str(stack_config_dir) if stack_config_dir else None,
        required_pulumi_version=str(required) if required is not None else None,
    )


def _check_project_name(raw: dict[str, Any]) -> None:
    if "name" not in raw:
        # project.go ValidateProject: the name, with the closest attribute found instead.
        closest = _closest("name", map(str, raw))
        found = f"; found '{closest}' instead" if closest else ""
        raise ConfigError(PROJECT_FILE, f"project is missing a 'name' attribute{found}")
    name = raw["name"]
    if not isinstance(name, str) or not name:
        raise ConfigError(PROJECT_FILE, "project is missing a non-empty string 'name' attribute")
    # tokens/project.go ValidateProjectName (pkg/backend/httpstate and diy refuse other names).
    if len(name) > _NAME_MAX:
        raise ConfigError(f"{PROJECT_FILE}: name", "project names are limited to 100 characters")
    if not _NAME.match(name):
        raise ConfigError(
            f"{PROJECT_FILE}: name",
            "project names may only contain alphanumerics, hyphens, underscores, and periods",
        )


def _not_allowed(where: str, attribute: str, allowed: Iterable[str]) -> ConfigError:
    """ValidateProject's message for an attribute the schema does not allow."""
    allowed = sorted(allowed)
    closest = _closest(attribute, allowed)
    if closest:
        hint = f"did you mean '{closest}'?"
    else:
        hint = "the allowed attributes are " + ", ".join(f"'{a}'" for a in allowed)
    return ConfigError(where, f"additionalProperties '{attribute}' not allowed", hint)


def _check_project_schema(raw: dict[str, Any]) -> list[ConfigError]:
    """The parts of project.json a project like this one can get wrong."""
    errors: list[ConfigError] = []
    runtime = raw.get("runtime")
    if isinstance(runtime, dict):
        name = runtime.get("name")
        if not isinstance(name, str) or not name:
            errors.append(ConfigError("#/runtime/name", "expected a non-empty string"))
        errors += [
            _not_allowed(f"#/runtime/{k}", str(k), _RUNTIME_ATTRIBUTES)
            for k in runtime
            if k not in _RUNTIME_ATTRIBUTES
        ]
        options = runtime.get("options")
        if options is not None and not isinstance(options, dict):
            errors.append(ConfigError("#/runtime/options", "expected an object"))
    elif runtime is not None and (not isinstance(runtime, str) or not runtime):
        errors.append(ConfigError("#/runtime", "expected a non-empty string or an object"))
    block = raw.get("config")
    if block is None or isinstance(block, str):
        return errors
    if not isinstance(block, dict):
        return [*errors, ConfigError("#/config", f"expected object, but got {_type_name(block)}")]
    for key, entry in block.items():
        where = f"#/config/{key}"
        if isinstance(entry, dict):
            errors += _check_declaration_schema(where, entry)
        elif entry is None or isinstance(entry, float) or not isinstance(entry, str | int | list):
            # oneOf string | integer | boolean | array | configTypeDeclaration.
            errors.append(
                ConfigError(
                    where,
                    f"a {_type_name(entry)} is not a config value or declaration",
                    "give a string, integer, boolean or list, or a mapping with type, "
                    "description and default",
                )
            )
    return errors


def _check_declaration_schema(where: str, entry: dict[str, Any]) -> list[ConfigError]:
    errors = [
        _not_allowed(f"{where}/{k}", str(k), _DECLARATION_ATTRIBUTES)
        for k in entry
        if k not in _DECLARATION_ATTRIBUTES
    ]
    if "type" in entry and entry["type"] not in _CONFIG_TYPES:
        errors.append(_bad_type(f"{where}/type", entry["type"]))
    if "items" in entry:
        errors += _check_items_schema(f"{where}/items", entry["items"])
    if "secret" in entry and not isinstance(entry["secret"], bool):
        errors.append(ConfigError(f"{where}/secret", "expected boolean"))
    if "description" in entry and not isinstance(entry["description"], str):
        errors.append(ConfigError(f"{where}/description", "expected string"))
    return errors


def _bad_type(where: str, value: Any) -> ConfigError:
    return ConfigError(
        where,
        f"value must be one of {', '.join(repr(t) for t in _CONFIG_TYPES)}, not {value!r}",
        "'object' needs Pulumi CLI 3.186.0 or later",
    )


def _check_items_schema(where: str, items: Any) -> list[ConfigError]:
    """project.json `$defs/configItemsType`: a type, and items again when that type is array."""
    if not isinstance(items, dict):
        return [ConfigError(where, f"expected object, but got {_type_name(items)}")]
    if "type" not in items:
        return [ConfigError(where, "missing properties: 'type'")]
    errors = [
        _not_allowed(f"{where}/{k}", str(k), _ITEMS_ATTRIBUTES)
        for k in items
        if k not in _ITEMS_ATTRIBUTES
    ]
    if items["type"] not in _CONFIG_TYPES:
        errors.append(_bad_type(f"{where}/type", items["type"]))
    if items["type"] == "array" and "items" not in items:
        errors.append(ConfigError(where, "missing properties: 'items'"))
    if "items" in items:
        errors += _check_items_schema(f"{where}/items", items["items"])
    return errors


def _items(raw: Any) -> ItemsType | None:
    if not isinstance(raw, dict):
        return None
    return ItemsType(str(raw["type"]), _items(raw.get("items")))


def _declaration(project: str, key: str, entry: Any) -> ConfigDeclaration:
    if not isinstance(entry, dict):
        # project.go RewriteShorthandConfigValues: a bare value is the project key's default,
        # or another namespace's value.
        owned = _owned_by(project, key)
        return ConfigDeclaration(
            key, default=entry if owned else None, value=None if owned else entry
        )
    return ConfigDeclaration(
        key,
        type=entry.get("type"),
        items=_items(entry.get("items")),
        default=entry.get("default"),
        value=entry.get("value"),
        secret=bool(entry.get("secret", False)),
        description=str(entry.get("description", "")),
    )


def _check_declarations(
    project: str, declarations: Mapping[str, ConfigDeclaration]
) -> list[ConfigError]:
    """project.go Project.Validate, with its messages."""
    errors: list[ConfigError] = []
    for key, decl in declarations.items():
        where = f"{PROJECT_FILE}: config.{key}"
        if decl.default is not None and decl.value is not None:
            errors.append(
                ConfigError(
                    where,
                    f"project config '{key}' cannot have both a 'default' and 'value' attribute",
                )
            )
        if _owned_by(project, key):
            errors += _check_project_key(where, decl)
        else:
            errors += _check_other_namespace_key(where, decl)
    return errors


def _check_project_key(where: str, decl: ConfigDeclaration) -> list[ConfigError]:
    if decl.type == "array" and decl.items is None:
        return [
            ConfigError(
                where,
                f"The configuration key '{decl.key}' declares an array but does not specify the "
                "underlying type via the 'items' attribute",
                "add items: {type: string} (or the type of the list's elements)",
            )
        ]
    if decl.type is not None and decl.default is not None:
        if not config_value_matches(decl.type, decl.items, decl.default):
            return [
                ConfigError(
                    where,
                    f"The default value specified for configuration key '{decl.key}' is not of "
                    f"the expected type '{decl.full_type_name}'",
                )
            ]
    return []


def _check_other_namespace_key(where: str, decl: ConfigDeclaration) -> list[ConfigError]:
    if decl.type is not None:
        return [
            ConfigError(
                where,
                f"Configuration key '{decl.key}' is not namespaced by the project and should "
                "not define a type",
                "a type is declared only for the project's own keys",
            )
        ]
    if decl.default is not None:
        return [
            ConfigError(
                where,
                f"Configuration key '{decl.key}' is not namespaced by the project and should "
                "not define a default value. Did you mean to use the 'value' attribute instead "
                "of 'default'?",
            )
        ]
    if decl.value is None:
        return [
            ConfigError(
                where,
                f"Configuration key '{decl.key}' is namespaced and must provide an attribute "
                "'value'",
            )
        ]
    return []


def config_value_matches(type_name: str, items: ItemsType | None, value: Any) -> bool:
    """project.go ValidateConfigValue: does ``value`` fit the declared type?

    Stack values reach it as the CLI holds them: scalars as strings (so a string key takes
    ``5``, an integer key ``"5"``, a boolean key ``"true"``), lists and mappings as JSON.
    """
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return True
        if isinstance(value, float):  # YAML and JSON numbers: whole numbers pass
            return math.isfinite(value) and value == math.trunc(value)
        return isinstance(value, str) and re.fullmatch(r"[-+]?[0-9]+", value) is not None
    if type_name == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if type_name == "object":
        return isinstance(value, dict)
    if not isinstance(value, list) or items is None:
        return False
    return all(config_value_matches(items.type, items.items, item) for item in value)


def minimum_cli_version(project: Project) -> tuple[Version, list[str]]:
    """The oldest Pulumi CLI that loads and runs this project, and why."""
    needs: list[tuple[Version, str]] = []
    typed = [
        decl.key
        for decl in project.config.values()
        if decl.type == "object" or _items_use_object(decl.items)
    ]
    if typed:
        needs.append((OBJECT_CONFIG_TYPE_SINCE, f"config type 'object' ({', '.join(typed)})"))
    if "toolchain" in project.runtime_options:
        needs.append((PYTHON_TOOLCHAIN_OPTION_SINCE, "runtime.options.toolchain"))
    if not needs:
        return (3, 0, 0), []
    floor = max(version for version, _ in needs)
    return floor, [reason for version, reason in needs if version == floor]


def _items_use_object(items: ItemsType | None) -> bool:
    return items is not None and (items.type == "object" or _items_use_object(items.items))


def check_required_version(project: Project) -> list[ConfigError]:
    """``requiredPulumiVersion: ">=X.Y.Z"`` must not admit a CLI that cannot load the project."""
    wanted = project.required_pulumi_version
    if wanted is None:
        return []
    floor, reasons = minimum_cli_version(project)
    match = re.fullmatch(r"\s*>=\s*v?(\d+)\.(\d+)\.(\d+)\s*", wanted)
    if match is None:
        return []  # other semver ranges: the CLI checks them (plugin.ValidatePulumiVersionRange)
    declared = (int(match[1]), int(match[2]), int(match[3]))
    if declared >= floor:
        return []
    text = ".".join(map(str, floor))
    return [
        ConfigError(
            f"{PROJECT_FILE}: requiredPulumiVersion",
            f"{wanted!r} admits CLIs older than {text}, which cannot load this project "
            f"({'; '.join(reasons)})",
            f'set requiredPulumiVersion: ">={text}"',
        )
    ]


# ---------------------------------------------------------------------------------------------
# Stack names and stack files


def check_stack_name(stack: str) -> None:
    """tokens/stack_name.go ParseStackName."""
    where = f"stack {stack!r}"
    if not stack:
        raise ConfigError(where, "a stack name may not be empty")
    if len(stack) > _NAME_MAX:
        raise ConfigError(where, "a stack name cannot exceed 100 characters")
    for position, char in enumerate(stack):
        if not _NAME.match(char):
            raise ConfigError(
                where,
                "a stack name may only contain alphanumeric, hyphens, underscores, or periods: "
                f"invalid character {char!r} at position {position}",
            )


@dataclass
class StackFile:
    """A stack's config as the CLI holds it after loading Pulumi.<stack>.yaml."""

    stack: str
    path: Path
    values: dict[str, Any]  # namespaced keys → values as written (YAML 1.2 types)
    lines: dict[str, int]  # namespaced key → line in the file
    warnings: list[str] = field(default_factory=list)

    def where(self, key: str) -> str:
        line = self.lines.get(key)
        return f"{self.path.name}:{line}: {key}" if line else f"{self.path.name}: {key}"


def load_stack_file(project: Project, stack: str) -> StackFile:
    """loaders.go LoadProjectStack: keys namespaced, every key parseable, null values warned."""
    check_stack_name(stack)
    path = project.stack_file(stack)
    if not path.is_file():
        available = sorted(
            p.name[len("Pulumi.") : -len(".yaml")] for p in path.parent.glob("Pulumi.*.yaml")
        )
        raise ConfigError(
            str(path.name),
            f"no config file for stack {stack!r}",
            f"stacks here: {', '.join(available) or 'none'}",
        )
    document = _read_yaml(path)
    if document.data is None:  # an empty stack file is an empty config
        return StackFile(stack, path, {}, {})
    if not isinstance(document.data, dict):
        raise ConfigError(
            path.name,
            f"expected the stack file to be an object, was a {_type_name(document.data)}",
            "the file is a mapping with a 'config:' mapping of keys to values",
        )
    block = document.data.get("config")
    if block is None:
        return StackFile(stack, path, {}, {})
    if not isinstance(block, dict):
        raise ConfigError(path.name, "'config:' must be a mapping of keys to values")
    values: dict[str, Any] = {}
    lines: dict[str, int] = {}
    errors: list[ConfigError] = []
    for written, value in block.items():
        # stackConfigNamespacedWithProject: a key without namespace is the project's.
        key = project.namespaced(str(written))
        try:
            key = parse_key(key)
        except ValueError as err:
            line = document.config_lines.get(str(written))
            errors.append(ConfigError(f"{path.name}:{line}" if line else path.name, str(err)))
            continue
        values[key] = value
        if str(written) in document.config_lines:
            lines[key] = document.config_lines[str(written)]
    if errors:
        raise ConfigErrors(errors)
    empty = [k for k, v in values.items() if v is None]
    warnings = [_empty_values_warning(empty)] if empty else []
    return StackFile(stack, path, values, lines, warnings)


def parse_key(key: str) -> str:
    """config/key.go ParseKey: ``ns:name``, or the old ``ns:config:name`` → ``ns:name``."""
    parts = key.split(":")
    if len(parts) == 2:
        return key
    if len(parts) == 3 and parts[1] == "config" and parts[0] and parts[2]:
        return f"{parts[0]}:{parts[2]}"
    raise ValueError(
        f"could not parse {key} as a configuration key (configuration keys should be of the "
        "form `<namespace>:<name>`)"
    )


def _empty_values_warning(keys: list[str]) -> str:
    """loaders.go checkForEmptyConfig."""
    quoted = [f'"{k}"' for k in keys]
    joined = " and ".join(quoted) if len(quoted) == 2 else ", ".join(quoted)
    plural = "s" if len(keys) > 1 else ""
    return (
        f"No value for configuration key{plural} {joined}. This is currently treated as an "
        'empty string `""`, but will be treated as `null` in a future version of pulumi.'
    )


def cli_value(value: Any) -> Any:
    """A stack value as validateStackConfigValue sees it (config/object.go MarshalString):
    scalars as the string a program reads, lists and mappings as their JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return json.dumps(int(value)) if value.is_integer() else json.dumps(value)
    if isinstance(value, list | dict):
        return json.loads(json.dumps(value, default=str))
    return value


def _is_secure(value: Any) -> bool:
    """config/object.go isSecureValue: ``{secure: <ciphertext>}``."""
    return (
        isinstance(value, dict) and list(value) == ["secure"] and isinstance(value["secure"], str)
    )


def secure_paths(values: Mapping[str, Any]) -> list[str]:
    """Where the stack holds ciphertext (``{secure: ...}``, at a key or inside an object or
    list, as `pulumi config set --secret --path` writes it): ``egress-net:tags.owner``."""
    found: list[str] = []

    def walk(value: Any, path: str) -> None:
        if _is_secure(value):
            found.append(path)
        elif isinstance(value, dict):
            for k, v in value.items():
                walk(v, f"{path}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, f"{path}[{i}]")

    for key, value in values.items():
        walk(value, key)
    return found


# ---------------------------------------------------------------------------------------------
# Merging project and stack config


def merge_config(project: Project, stack: StackFile) -> dict[str, Any]:
    """config.go mergeConfig: the config the program receives, project defaults applied.

    Raises the CLI's "missing configuration values" error; `typed_value_errors` are next.
    """
    merged = dict(stack.values)
    missing: list[str] = []
    for key in sorted(project.config):
        decl = project.config[key]
        full = project.namespaced(key)
        if full in merged:
            continue
        if decl.default is None and decl.value is None:
            if full.startswith(f"{project.name}:"):
                missing.append(key)
            continue
        merged[full] = decl.default if decl.default is not None else decl.value
    if missing:
        keys = sorted(missing)
        noun = "value" if len(keys) == 1 else "values"
        listed = _missing_list(keys)
        raise ConfigError(
            stack.path.name,
            f"Stack '{stack.stack}' is missing configuration {noun} {listed}",
            f"set {'it' if len(keys) == 1 else 'them'} in {stack.path.name} (pulumi config "
            f"set {project.namespaced(keys[0])} <value> --stack {stack.stack}), or give "
            f"{PROJECT_FILE}'s declaration a default",
        )
    return merged


def _missing_list(keys: list[str]) -> str:
    """config.go formatMissingKeys."""
    if len(keys) == 1:
        return f"'{keys[0]}'"
    return (
        ", ".join(f"'{k}'" for k in keys[:-2])
        + (", " if len(keys) > 2 else "")
        + (f"'{keys[-2]}' and '{keys[-1]}'")
    )


def typed_value_errors(
    project: Project, stack: StackFile, merged: Mapping[str, Any]
) -> list[ConfigError]:
    """config.go validateStackConfigValues / validateStackConfigValue."""
    errors: list[ConfigError] = []
    for key in sorted(project.config):
        decl = project.config[key]
        full = project.namespaced(key)
        if full not in merged:
            continue
        value = merged[full]
        if decl.secret and not _is_secure(value):
            errors.append(
                ConfigError(
                    stack.where(full),
                    f"Stack '{stack.stack}' with configuration key '{key}' must be encrypted as "
                    "it's secret",
                    f"pulumi config set --secret {full} <value> --stack {stack.stack}",
                )
            )
            continue
        if decl.type is None or _is_secure(value):
            continue  # untyped; or a ciphertext, which only the CLI can decrypt
        if not config_value_matches(decl.type, decl.items, cli_value(value)):
            errors.append(
                ConfigError(
                    stack.where(full),
                    f"Stack '{stack.stack}' with configuration key '{key}' must be of type "
                    f"'{decl.full_type_name}'",
                    f"{full} is a {_type_name(value)} here",
                )
            )
    return errors


# ---------------------------------------------------------------------------------------------
# Keys in other namespaces


@functools.cache
def provider_config_keys() -> frozenset[str]:
    """The ``aws:`` keys the installed pulumi_aws provider accepts (its ``config/vars.py``).

    Read as text: importing ``pulumi_aws.config`` reads the running stack's config.
    """
    spec = importlib_util.find_spec("pulumi_aws")
    if spec is None or not spec.submodule_search_locations:
        return frozenset()
    path = Path(next(iter(spec.submodule_search_locations))) / "config" / "vars.py"
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return frozenset()
    return frozenset(re.findall(r"__config__\.get\w*\('(\w+)'\)", text))


def namespace_findings(
    project: Project, stack: StackFile, merged: Mapping[str, Any]
) -> tuple[list[ConfigError], list[str]]:
    """Errors for ``aws:`` keys the provider refuses; warnings for namespaces nothing reads."""
    known = provider_config_keys()
    errors: list[ConfigError] = []
    warnings: list[str] = []
    readers = (project.name, PROVIDER_NAMESPACE, PULUMI_NAMESPACE)
    for full in sorted(merged):
        namespace, _, name = full.partition(":")
        if namespace == PROVIDER_NAMESPACE and known and name not in known:
            # The program uses the default AWS provider (aws.get_caller_identity), whose
            # CheckConfig fails on keys it does not know.
            similar = sorted(k for k in known if _distance(name, k) <= _SUGGESTION_DISTANCE)
            problem = f"`{full}` is not a valid configuration key for the aws provider."
            if similar:
                problem += " Did you mean " + " or ".join(f"`aws:{k}`" for k in similar) + "?"
            errors.append(
                ConfigError(
                    stack.where(full),
                    problem,
                    "If the key is not intended for the provider, please choose a different "
                    "namespace from `aws:`.",
                )
            )
        elif namespace not in readers:
            closest = _closest(namespace, readers, fold_case=False)
            guess = f"; did you mean '{closest}:{name}'?" if closest else ""
            warnings.append(
                f"{stack.where(full)}: namespace '{namespace}' is neither the project's "
                f"('{project.name}') nor a provider's the program uses, so nothing reads this "
                f"key{guess}"
            )
    return errors, warnings


# ---------------------------------------------------------------------------------------------
# Everything the CLI does before the program starts


@dataclass
class LoadedStack:
    project: Project
    config: dict[str, Any]  # namespaced keys → values, project defaults applied
    warnings: list[str]


def load_stack(stack: str, folder: Path) -> LoadedStack:
    """Project and stack file loaded, checked and merged as `pulumi preview` does."""
    project = load_project(folder)
    stack_file = load_stack_file(project, stack)
    merged = merge_config(project, stack_file)
    provider_errors, warnings = namespace_findings(project, stack_file, merged)
    errors = [
        *check_required_version(project),
        *typed_value_errors(project, stack_file, merged),
        *provider_errors,
    ]
    if errors:
        raise ConfigErrors(errors)
    # A null in the stack file reaches the program as "" (loaders.go checkForEmptyConfig).
    config = {k: ("" if v is None else v) for k, v in merged.items()}
    return LoadedStack(project, config, [*stack_file.warnings, *warnings])
