"""Pulumi.yaml and stack files, checked as the Pulumi CLI checks them before a program runs."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest

from egress_net import engine, project_files
from egress_net.cli import main
from egress_net.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
REPO_STACKS = sorted(p.name[len("Pulumi.") : -len(".yaml")] for p in REPO.glob("Pulumi.*.yaml"))

HUB = """\
config:
  aws:region: us-east-1
  egress-net:role: hub
  egress-net:azIds: [use1-az1]
  egress-net:egressVpcCidr: 100.64.0.0/24
  egress-net:spokeSupernets: [10.0.0.0/8]
"""


def project(tmp_path: Path, config: str = "", stacks: dict[str, str] | None = None) -> Path:
    """A project folder with Pulumi.yaml (``config`` is its config block, indented) and stacks."""
    text = "name: egress-net\nruntime: python\n"
    if config:
        text += "config:\n" + textwrap.indent(textwrap.dedent(config), "  ")
    (tmp_path / "Pulumi.yaml").write_text(text)
    for name, body in (stacks or {"dev": HUB}).items():
        (tmp_path / f"Pulumi.{name}.yaml").write_text(body)
    return tmp_path


def problems(err: ConfigError) -> str:
    return str(err)


# --- the repo's own files -------------------------------------------------------------------


def test_the_repo_has_stacks_to_check() -> None:
    assert {"dev", "prod", "prod-payments"} <= set(REPO_STACKS)


@pytest.mark.parametrize("stack", REPO_STACKS)
def test_every_stack_file_of_the_repo_passes_the_cli_checks(stack: str) -> None:
    loaded = project_files.load_stack(stack, REPO)
    assert loaded.warnings == []
    assert loaded.config[f"{loaded.project.name}:role"] in ("hub", "spoke")


def test_the_repo_project_requires_only_what_every_stack_sets() -> None:
    repo_project = project_files.load_project(REPO)
    required = [
        key
        for key, decl in repo_project.config.items()
        if repo_project.owns(key) and decl.default is None and decl.value is None
    ]
    assert required == ["egress-net:role"]


def test_the_readme_names_the_minimum_cli_version() -> None:
    floor, reasons = project_files.minimum_cli_version(project_files.load_project(REPO))
    assert floor == project_files.OBJECT_CONFIG_TYPE_SINCE
    assert reasons and "object" in reasons[0]
    readme = (REPO / "README.md").read_text()
    deploying = readme.split("## Deploying", 1)[1].split("\n## ", 1)[0]
    assert f"Pulumi CLI {'.'.join(map(str, floor))}" in deploying
    assert project_files.check_required_version(project_files.load_project(REPO)) == []


def test_the_readme_deploying_steps_create_every_stack_before_using_it() -> None:
    """Followed literally, the Deploying section must work from a fresh clone: `pulumi stack
    init` needs a backend (`pulumi login`) and `--stack`/`stack select` need an existing stack;
    every stack it deploys has its file here."""
    readme = (REPO / "README.md").read_text()
    deploying = readme.split("## Deploying", 1)[1].split("\n## ", 1)[0]
    steps = []
    for verb, named, flagged in re.findall(
        r"pulumi (login|install|stack init|stack select|preview|up)"
        r"(?: (\w[\w.-]*))?(?:[^`\n]*?--stack ([\w.-]+))?",
        deploying,
    ):
        steps.append((verb, named if verb.startswith("stack ") else flagged))
    order = [verb for verb, _ in steps]
    assert "login" in order and order.index("login") < order.index("stack init")
    created: set[str] = set()
    used: set[str] = set()
    for verb, stack in steps:
        if verb == "stack init":
            created.add(stack)
        elif verb in ("stack select", "preview", "up") and stack:
            assert stack in created, f"`pulumi {verb}` of {stack} before `pulumi stack init`"
            used.add(stack)
    assert used >= {"prod", "prod-payments"}
    for stack in used:
        assert (REPO / f"Pulumi.{stack}.yaml").is_file(), stack


# --- Pulumi.yaml (project.go Project.Validate, project.json) --------------------------------


def test_an_array_without_items_is_refused_as_the_cli_does(tmp_path: Path) -> None:
    folder = project(tmp_path, "egress-net:spokes:\n  type: array\n  default: []\n")
    with pytest.raises(ConfigError) as err:
        project_files.load_project(folder)
    assert (
        "The configuration key 'egress-net:spokes' declares an array but does not specify the "
        "underlying type via the 'items' attribute"
    ) in problems(err.value)
    assert "Pulumi.yaml: config.egress-net:spokes" in problems(err.value)


def test_a_default_of_the_wrong_type_is_refused(tmp_path: Path) -> None:
    folder = project(
        tmp_path,
        """\
        egress-net:azIds:
          type: array
          items: {type: string}
          default: [1, 2]
        egress-net:retries:
          type: integer
          default: three
        """,
    )
    with pytest.raises(ConfigError) as err:
        project_files.load_project(folder)
    text = problems(err.value)
    assert (
        "The default value specified for configuration key 'egress-net:azIds' is not of the "
        "expected type 'array<string>'"
    ) in text
    assert "configuration key 'egress-net:retries' is not of the expected type 'integer'" in text


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            "aws:region:\n  default: us-east-1\n",
            "Configuration key 'aws:region' is not namespaced by the project and should not "
            "define a default value. Did you mean to use the 'value' attribute instead of "
            "'default'?",
        ),
        (
            "aws:region:\n  type: string\n  value: us-east-1\n",
            "Configuration key 'aws:region' is not namespaced by the project and should not "
            "define a type",
        ),
        (
            "aws:region:\n  description: the region\n",
            "Configuration key 'aws:region' is namespaced and must provide an attribute 'value'",
        ),
        (
            "egress-net:tags:\n  default: {}\n  value: {}\n",
            "project config 'egress-net:tags' cannot have both a 'default' and 'value' attribute",
        ),
    ],
)
def test_declarations_the_cli_refuses(tmp_path: Path, entry: str, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        project_files.load_project(project(tmp_path, entry))
    assert message in problems(err.value)


def test_a_value_for_another_namespace_is_merged_into_every_stack(tmp_path: Path) -> None:
    folder = project(
        tmp_path,
        "aws:region: eu-west-1\negress-net:model: egress-only\n",
        {"dev": "config:\n  egress-net:role: hub\n"},
    )
    config = project_files.load_stack("dev", folder).config
    # RewriteShorthandConfigValues: another namespace's bare value is a value, ours a default.
    assert config["aws:region"] == "eu-west-1"
    assert config["egress-net:model"] == "egress-only"


@pytest.mark.parametrize(
    ("entry", "message", "hint"),
    [
        ("egress-net:tags:\n  type: dict\n", "value must be one of", "3.186.0"),
        (
            "egress-net:tags:\n  type: object\n  descripton: x\n",
            "'descripton' not allowed",
            "did you mean 'description'?",
        ),
        (
            "egress-net:azIds:\n  type: array\n  items: {type: array}\n",
            "missing properties: 'items'",
            "",
        ),
        ("egress-net:ratio: 1.5\n", "a number is not a config value", ""),
    ],
)
def test_the_project_schema(tmp_path: Path, entry: str, message: str, hint: str) -> None:
    with pytest.raises(ConfigError) as err:
        project_files.load_project(project(tmp_path, entry))
    assert message in problems(err.value)
    assert hint in problems(err.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- name: egress-net\n", "expected project to be an object, was a list"),
        (
            "nmae: egress-net\nruntime: python\n",
            "project is missing a 'name' attribute; found 'nmae' instead",
        ),
        ("name: ''\n", "project is missing a non-empty string 'name' attribute"),
        (
            "name: egress net\n",
            "project names may only contain alphanumerics, hyphens, underscores, and periods",
        ),
        (f"name: {'n' * 101}\n", "project names are limited to 100 characters"),
        ("name: egress-net\nruntime: {name: python, toolchain: pip}\n", "'toolchain' not allowed"),
    ],
)
def test_project_names_and_shape(tmp_path: Path, text: str, message: str) -> None:
    (tmp_path / "Pulumi.yaml").write_text(text)
    with pytest.raises(ConfigError) as err:
        project_files.load_project(tmp_path)
    assert message in problems(err.value)


def test_required_pulumi_version_must_cover_the_features_used(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text(
        "name: egress-net\nrequiredPulumiVersion: '>=3.100.0'\n"
        "config:\n  egress-net:tags: {type: object, default: {}}\n"
    )
    errors = project_files.check_required_version(project_files.load_project(tmp_path))
    assert len(errors) == 1
    assert "admits CLIs older than 3.186.0" in str(errors[0])
    assert 'requiredPulumiVersion: ">=3.186.0"' in str(errors[0])


def test_the_minimum_cli_version_follows_the_features(tmp_path: Path) -> None:
    (tmp_path / "Pulumi.yaml").write_text(
        "name: egress-net\nruntime: {name: python, options: {toolchain: pip}}\n"
        "config:\n  egress-net:azIds: {type: array, items: {type: string}, default: []}\n"
    )
    floor, reasons = project_files.minimum_cli_version(project_files.load_project(tmp_path))
    assert floor == project_files.PYTHON_TOOLCHAIN_OPTION_SINCE
    assert reasons == ["runtime.options.toolchain"]


# --- merging project and stack config (config.go mergeConfig) -------------------------------


def test_keys_without_a_default_are_required_in_every_stack(tmp_path: Path) -> None:
    # What the project declared before: hub keys and spoke keys without defaults.
    folder = project(
        tmp_path,
        """\
        egress-net:role: {type: string}
        egress-net:egressVpcCidr: {type: string}
        egress-net:hubStack: {type: string}
        egress-net:spoke: {type: object}
        """,
    )
    with pytest.raises(ConfigError) as err:
        project_files.load_stack("dev", folder)
    assert (
        "Stack 'dev' is missing configuration values 'egress-net:hubStack' and 'egress-net:spoke'"
    ) in problems(err.value)
    assert "pulumi config set egress-net:hubStack" in problems(err.value)


def test_one_missing_value_is_named_in_the_singular(tmp_path: Path) -> None:
    folder = project(tmp_path, "egress-net:hubStack: {type: string}\n")
    with pytest.raises(ConfigError, match="is missing configuration value 'egress-net:hubStack'"):
        project_files.load_stack("dev", folder)


def test_three_missing_values_are_listed_as_the_cli_lists_them(tmp_path: Path) -> None:
    folder = project(tmp_path, "a: {type: string}\nb: {type: string}\nc: {type: string}\n")
    with pytest.raises(ConfigError) as err:
        project_files.load_stack("dev", folder)
    assert "missing configuration values 'a', 'b' and 'c'" in problems(err.value)


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        ("egress-net:firewall: drop", "object"),
        ("egress-net:azIds: use1-az1", "array<string>"),
        ("egress-net:azIds: [1, 2]", "array<string>"),
        ("egress-net:spokes: [app]", "array<object>"),
        ("egress-net:tags: [a]", "object"),
        # YAML 1.2, as the CLI reads it: `yes` is a string, not a boolean.
        ("egress-net:acknowledged: yes", "boolean"),
        ("egress-net:retries: 1.5", "integer"),
    ],
)
def test_stack_values_of_typed_keys_are_checked(tmp_path: Path, value: str, type_name: str) -> None:
    folder = project(
        tmp_path,
        """\
        egress-net:azIds: {type: array, items: {type: string}, default: []}
        egress-net:spokes: {type: array, items: {type: object}, default: []}
        egress-net:firewall: {type: object, default: {}}
        egress-net:tags: {type: object, default: {}}
        egress-net:acknowledged: {type: boolean, default: false}
        egress-net:retries: {type: integer, default: 3}
        """,
        {"bad": HUB.replace("  egress-net:azIds: [use1-az1]\n", "") + f"  {value}\n"},
    )
    with pytest.raises(ConfigError) as err:
        project_files.load_stack("bad", folder)
    key = value.split(": ", 1)[0]
    assert f"Stack 'bad' with configuration key '{key}' must be of type '{type_name}'" in problems(
        err.value
    )
    assert re.search(rf"Pulumi\.bad\.yaml:\d+: {key}", problems(err.value))


@pytest.mark.parametrize(
    "value",
    [
        "egress-net:name: 5",  # a number is a string to a string key (its text)
        "egress-net:retries: '5'",  # and a quoted whole number an integer
        "egress-net:acknowledged: 'true'",
        "egress-net:acknowledged: True",
    ],
)
def test_stack_values_the_cli_accepts(tmp_path: Path, value: str) -> None:
    folder = project(
        tmp_path,
        """\
        egress-net:name: {type: string, default: x}
        egress-net:acknowledged: {type: boolean, default: false}
        egress-net:retries: {type: integer, default: 3}
        """,
        {"ok": HUB + f"  {value}\n"},
    )
    project_files.load_stack("ok", folder)


def test_a_secret_key_needs_an_encrypted_value(tmp_path: Path) -> None:
    folder = project(
        tmp_path,
        "egress-net:token: {type: string, secret: true, default: x}\n",
        {"dev": HUB + "  egress-net:token: plain\n"},
    )
    with pytest.raises(ConfigError, match="'egress-net:token' must be encrypted as it's secret"):
        project_files.load_stack("dev", folder)


# --- stack files (loaders.go, key.go, stack_name.go) ----------------------------------------


@pytest.mark.parametrize(
    ("stack", "message"),
    [
        ("team prod", "invalid character ' ' at position 4"),
        ("a/b", "invalid character '/' at position 1"),
        ("s" * 101, "a stack name cannot exceed 100 characters"),
    ],
)
def test_stack_names(tmp_path: Path, stack: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        project_files.load_stack(stack, project(tmp_path))


def test_a_stack_name_with_dots_and_underscores_is_valid(tmp_path: Path) -> None:
    folder = project(tmp_path, stacks={"team.prod_1": HUB})
    assert project_files.load_stack("team.prod_1", folder).config["egress-net:role"] == "hub"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- config: {}\n", "expected the stack file to be an object, was a list"),
        ("just text\n", "expected the stack file to be an object, was a string"),
        ("config: [a, b]\n", "'config:' must be a mapping of keys to values"),
        (
            "config:\n  egress-net:role: hub\n  a:b:c: x\n",
            "could not parse a:b:c as a configuration key (configuration keys should be of the "
            "form `<namespace>:<name>`)",
        ),
    ],
)
def test_stack_files_the_cli_cannot_load(tmp_path: Path, text: str, message: str) -> None:
    folder = project(tmp_path, stacks={"dev": text})
    with pytest.raises(ConfigError) as err:
        project_files.load_stack("dev", folder)
    assert message in problems(err.value)
    assert "Pulumi.dev.yaml" in problems(err.value)


def test_keys_without_namespace_belong_to_the_project(tmp_path: Path) -> None:
    folder = project(
        tmp_path,
        stacks={"dev": "config:\n  aws:region: us-east-1\n  role: hub\n  aws:config:profile: x\n"},
    )
    config = project_files.load_stack("dev", folder).config
    assert config["egress-net:role"] == "hub"
    assert config["aws:profile"] == "x"  # the old `ns:config:name` form
    assert "role" not in config


def test_a_key_without_namespace_reaches_the_program(tmp_path: Path) -> None:
    (tmp_path / "__main__.py").write_text((REPO / "__main__.py").read_text())
    without_namespace = HUB.replace("egress-net:spokeSupernets", "spokeSupernets")
    folder = project(tmp_path, stacks={"dev": without_namespace})
    result = engine.synth(engine.load_source("dev", folder))
    assert result.recording.outputs["spokeSupernets"] == ["10.0.0.0/8"]


def test_an_empty_value_is_an_empty_string_with_the_cli_warning(tmp_path: Path) -> None:
    folder = project(tmp_path, stacks={"dev": HUB + "  egress-net:note:\n"})
    loaded = project_files.load_stack("dev", folder)
    assert loaded.config["egress-net:note"] == ""
    assert loaded.warnings == [
        'No value for configuration key "egress-net:note". This is currently treated as an '
        'empty string `""`, but will be treated as `null` in a future version of pulumi.'
    ]


def test_a_byte_order_mark_is_ignored(tmp_path: Path) -> None:
    folder = project(tmp_path)
    (folder / "Pulumi.dev.yaml").write_text("\ufeff" + HUB, encoding="utf-8")
    assert project_files.load_stack("dev", folder).config["egress-net:role"] == "hub"


# --- other namespaces -------------------------------------------------------------------------


def test_a_typo_in_an_aws_key_is_refused_with_the_providers_message(tmp_path: Path) -> None:
    folder = project(tmp_path, stacks={"dev": HUB + "  aws:regoin: us-east-2\n"})
    with pytest.raises(ConfigError) as err:
        project_files.load_stack("dev", folder)
    text = problems(err.value)
    assert (
        "`aws:regoin` is not a valid configuration key for the aws provider. "
        "Did you mean `aws:region`?"
    ) in text
    assert "choose a different namespace from `aws:`" in text
    assert re.search(r"Pulumi\.dev\.yaml:\d+: aws:regoin", text)


def test_the_aws_keys_come_from_the_installed_provider() -> None:
    keys = project_files.provider_config_keys()
    assert {"region", "profile", "defaultTags", "assumeRoles"} <= keys
    assert "regoin" not in keys


def test_a_namespace_nothing_reads_is_warned_about(tmp_path: Path) -> None:
    folder = project(tmp_path, stacks={"dev": HUB + "  egress_net:spokes: []\n"})
    warnings = project_files.load_stack("dev", folder).warnings
    assert len(warnings) == 1
    assert "Pulumi.dev.yaml:7: egress_net:spokes: namespace 'egress_net'" in warnings[0]
    assert "did you mean 'egress-net:spokes'?" in warnings[0]


# --- the engine applies all of it before the program runs -----------------------------------


def test_synth_stops_at_the_cli_checks_before_the_program_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "__main__.py").write_text("raise SystemExit('the program must not run')\n")
    folder = project(
        tmp_path,
        "egress-net:firewall: {type: object, default: {}}\n",
        {"dev": HUB + "  egress-net:firewall: drop\n"},
    )
    assert main(["synth", "dev", "--project-dir", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "configuration key 'egress-net:firewall' must be of type 'object'" in err
    assert "Traceback" not in err


def test_synth_shows_the_load_warnings(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "__main__.py").write_text((REPO / "__main__.py").read_text())
    folder = project(tmp_path, stacks={"dev": HUB + "  egress_net:spokes: []\n"})
    assert main(["synth", "dev", "--project-dir", str(folder)]) == 0
    assert "namespace 'egress_net'" in capsys.readouterr().out


def test_project_defaults_reach_the_program(tmp_path: Path) -> None:
    (tmp_path / "__main__.py").write_text((REPO / "__main__.py").read_text())
    folder = project(
        tmp_path,
        "egress-net:tags: {type: object, default: {team: network}}\n",
    )
    source = engine.load_source("dev", folder)
    assert source.config["egress-net:tags"] == {"team": "network"}
    vpc = next(r for r in engine.synth(source).recording.resources if r.type == "aws:ec2/vpc:Vpc")
    assert vpc.inputs["tags"]["team"] == "network"


def test_a_secret_value_is_named_as_what_the_offline_run_cannot_decrypt(tmp_path: Path) -> None:
    # The CLI decrypts {secure: ...} before the program runs; offline it used to reach the
    # program as a mapping ("egress-net:tags.owner: Input should be a valid string").
    folder = project(
        tmp_path,
        stacks={"dev": HUB + "  egress-net:tags:\n    owner:\n      secure: AAABADQXFlUw\n"},
    )
    with pytest.raises(ConfigError) as caught:
        engine.load_source("dev", folder)
    assert caught.value.where == "egress-net:tags.owner"
    assert "cannot decrypt" in caught.value.problem
    assert project_files.secure_paths({"a:b": [{"secure": "x"}], "a:c": "plain"}) == ["a:b[0]"]
