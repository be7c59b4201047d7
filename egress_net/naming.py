"""Physical names: one place that derives every AWS name from project + stack + purpose.

Several stacks of the project share accounts and regions (dev, prod and the examples all use
us-east-1), and AWS wants names unique per account and region (Network Firewall, Lambda,
CloudWatch Logs, SSM, EventBridge, SNS), per account (IAM) or worldwide (S3). So every name
carries the project and the stack, within each type's characters and length (``NAME_RULES``,
each rule with its source).

Two kinds of names:

- *token* names (Network Firewall, Lambda, IAM, EventBridge, SNS): ``<token>-<purpose>``. The
  token is ``<project>-<stack>`` in lowercase letters, digits and single hyphens, which every
  one of these types accepts. When that changes the exact ``<project>-<stack>`` (a ``.`` or
  ``_``, capitals, ``--``) or is too long, a hash of the exact pair is appended, so
  ``team.prod_1`` and ``team-prod-1`` never share a name.
- *path* names (log groups, SSM parameters): ``/<project>/<stack>/...`` verbatim, since
  Pulumi's project and stack characters are all allowed there.

Pure: no Pulumi import; the program passes ``pulumi.get_project()`` and ``pulumi.get_stack()``.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

Scope = Literal["global", "account", "region"]

# Pulumi's own rules for what it accepts as names (pulumi/pulumi sdk/go/common: tokens.
# ValidateProjectName `^[A-Za-z0-9_.-]{1,100}$`; stack names `^[A-Za-z0-9-_.]+$`, at most 100).
PROJECT_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")
STACK_RE = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")

HASH_LENGTH = 10  # hex digits of sha256: 40 bits, collisions need ~10^6 stacks in one scope
TOKEN_MAX = 40  # leaves 24 characters of purpose under the 64 of Lambda, IAM and EventBridge
_TOKEN_CHARS = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True)
class NameRule:
    """What AWS accepts as a name of one resource type, and where the name must be unique."""

    kind: str
    pattern: re.Pattern[str]
    max_length: int
    scope: Scope
    source: str  # where the rule is stated
    min_length: int = 1
    case_insensitive: bool = False  # AWS treats names differing only in case as equal
    unique: bool = True  # False: AWS accepts the same name twice (kept readable, not unique)
    extra: Callable[[str], str | None] | None = None  # further checks: a problem or None

    def problems(self, name: str) -> list[str]:
        """Why AWS would refuse ``name`` for this type (empty when it accepts it)."""
        found = []
        if not self.min_length <= len(name) <= self.max_length:
            found.append(f"{len(name)} characters; AWS allows {self.min_length}-{self.max_length}")
        if not self.pattern.fullmatch(name):
            found.append(f"characters outside {self.pattern.pattern}")
        if self.extra is not None and (problem := self.extra(name)):
            found.append(problem)
        return found

    def key(self, name: str) -> str:
        """The name as AWS compares it for uniqueness."""
        return name.lower() if self.case_insensitive else name


def _ssm_extra(name: str) -> str | None:
    # "Parameter names can't be prefixed with "aws" or "ssm" (case-insensitive)" and "a
    # parameter name hierarchy can have a maximum of 15 levels" (SSM user guide, "Creating
    # Systems Manager parameters", parameter naming requirements).
    if name.lstrip("/").lower().startswith(("aws", "ssm")):
        return "an SSM parameter name must not begin with 'aws' or 'ssm'"
    if name.count("/") > 15:
        return "an SSM parameter hierarchy has at most 15 levels"
    return None


def _bucket_extra(name: str) -> str | None:
    # S3 user guide, "General purpose bucket naming rules": no adjacent periods, not an IP
    # address, no reserved prefixes/suffixes.
    if ".." in name:
        return "a bucket name has no two adjacent periods"
    if re.fullmatch(r"\d+\.\d+\.\d+\.\d+", name):
        return "a bucket name is not an IP address"
    if name.startswith(("xn--", "sthree-", "amzn-s3-demo-")) or name.endswith(
        ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")
    ):
        return "a bucket name must not use a prefix or suffix S3 reserves"
    return None


# Every physically named type the program declares. The patterns are the API models' (botocore
# data/<service>/<version>/service-2.json, the shape of the name member) unless stated.
NAME_RULES: dict[str, NameRule] = {
    rule.kind: rule
    for rule in (
        # network-firewall ResourceName: pattern ^[a-zA-Z0-9-]+$, min 1, max 128. Unique per
        # account and region (CreateFirewall/CreateRuleGroup/... fail with
        # InvalidRequestException when the name exists).
        NameRule(
            "network-firewall",
            re.compile(r"[a-zA-Z0-9-]+"),
            128,
            "region",
            "botocore network-firewall ResourceName",
        ),
        # lambda FunctionName ("Function names are limited to 64 characters", letters, numbers,
        # hyphens, underscores): CreateFunction, ResourceConflictException.
        NameRule(
            "lambda-function",
            re.compile(r"[a-zA-Z0-9_-]+"),
            64,
            "region",
            "Lambda CreateFunction FunctionName",
        ),
        # iam roleNameType: [\w+=,.@-]+, 1-64; "Role names are not distinguished by case"
        # (IAM CreateRole, EntityAlreadyExists), unique per account.
        NameRule(
            "iam-role",
            re.compile(r"[\w+=,.@-]+", re.ASCII),
            64,
            "account",
            "IAM CreateRole RoleName",
            case_insensitive=True,
        ),
        # iam policyNameType: [\w+=,.@-]+, 1-128, case-insensitive, unique per account.
        NameRule(
            "iam-policy",
            re.compile(r"[\w+=,.@-]+", re.ASCII),
            128,
            "account",
            "IAM CreatePolicy PolicyName",
            case_insensitive=True,
        ),
        # logs LogGroupName: [\.\-_/#A-Za-z0-9]+, 1-512 (CreateLogGroup,
        # ResourceAlreadyExistsException).
        NameRule(
            "log-group",
            re.compile(r"[.\-_/#A-Za-z0-9]+"),
            512,
            "region",
            "CloudWatch Logs CreateLogGroup logGroupName",
        ),
        # ssm PSParameterName: 1-2048 in the model; "the maximum length for a parameter name,
        # including the full length of the parameter ARN, is 1011 characters" (PutParameter).
        # Characters a-zA-Z0-9_.-/ (SSM parameter naming requirements).
        NameRule(
            "ssm-parameter",
            re.compile(r"[a-zA-Z0-9_.\-/]+"),
            900,
            "region",
            "SSM PutParameter Name",
            extra=_ssm_extra,
        ),
        # events RuleName: [\.\-_A-Za-z0-9]+, 1-64 (PutRule on the default event bus).
        NameRule(
            "event-rule", re.compile(r"[.\-_A-Za-z0-9]+"), 64, "region", "EventBridge PutRule Name"
        ),
        # sns CreateTopic: "up to 256 characters ... uppercase and lowercase ASCII letters,
        # numbers, underscores, and hyphens" (.fifo for FIFO topics).
        NameRule(
            "sns-topic",
            re.compile(r"[A-Za-z0-9_-]+(\.fifo)?"),
            256,
            "region",
            "SNS CreateTopic Name",
        ),
        # S3 general purpose bucket naming rules: 3-63, lowercase letters, digits, periods,
        # hyphens, begin and end with a letter or digit; unique across all accounts of the
        # partition.
        NameRule(
            "s3-bucket",
            re.compile(r"[a-z0-9][a-z0-9.-]*[a-z0-9]"),
            63,
            "global",
            "S3 bucket naming rules",
            min_length=3,
            extra=_bucket_extra,
        ),
        # ram ResourceShare name: not unique, kept readable; any string up to 256 is accepted.
        NameRule(
            "ram-share",
            re.compile(r".+"),
            256,
            "region",
            "RAM CreateResourceShare name",
            unique=False,
        ),
        # elbv2 LoadBalancerName / TargetGroupName: "a maximum of 32 characters, must contain
        # only alphanumeric characters or hyphens, and must not begin or end with a hyphen"; a
        # load balancer name must not begin with "internal-" (ELB CreateLoadBalancer and
        # CreateTargetGroup, Name). Unique per account and region (DuplicateLoadBalancerName,
        # DuplicateTargetGroupName).
        NameRule(
            "elb",
            re.compile(r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?"),
            32,
            "region",
            "ELB CreateLoadBalancer / CreateTargetGroup Name",
            extra=lambda n: (
                "a load balancer name must not begin with 'internal-'"
                if n.lower().startswith("internal-")
                else None
            ),
        ),
        # cloudwatch AlarmName: 1-255, unique per account and region (PutMetricAlarm
        # replaces an alarm of the same name: a second stack would overwrite the first's).
        NameRule(
            "cloudwatch-alarm",
            re.compile(r"[^\x00-\x1f\x7f]+"),
            255,
            "region",
            "CloudWatch PutMetricAlarm AlarmName",
        ),
    )
}


def short_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:HASH_LENGTH]


def fit(name: str, max_length: int) -> str:
    """``name`` itself when short enough, else its start and a hash of all of it (still
    distinct from every other name cut the same way)."""
    if len(name) <= max_length:
        return name
    head = name[: max_length - HASH_LENGTH - 1].rstrip("-")
    return f"{head}-{short_hash(name)}"


@dataclass(frozen=True)
class StackNames:
    """The physical names of one stack of one project."""

    project: str
    stack: str

    def __post_init__(self) -> None:
        # The Pulumi CLI refuses other project and stack names before a program runs.
        if not PROJECT_RE.fullmatch(self.project):
            raise ValueError(f"not a Pulumi project name: {self.project!r}")
        if not STACK_RE.fullmatch(self.stack):
            raise ValueError(f"not a Pulumi stack name: {self.stack!r}")

    @property
    def token(self) -> str:
        """``<project>-<stack>`` in [a-z0-9-] (single hyphens), ≤ TOKEN_MAX; with a hash of the
        exact pair whenever that is not the pair itself. Tokens never contain ``--``."""
        exact = f"{self.project}-{self.stack}"
        clean = _TOKEN_CHARS.sub("-", exact.lower()).strip("-")
        if clean == exact and len(clean) <= TOKEN_MAX:
            return clean
        # "/" is in neither name, so the hashed text names the pair unambiguously.
        digest = short_hash(f"{self.project}/{self.stack}")
        head = clean[: TOKEN_MAX - HASH_LENGTH - 1].strip("-")
        return f"{head}-{digest}" if head else digest

    def _token_name(self, purpose: str, kind: str) -> str:
        return fit(f"{self.token}-{purpose}", NAME_RULES[kind].max_length)

    # --- Network Firewall --------------------------------------------------------------------

    def rule_group(self, logical: str) -> str:
        """The deployed name of a rule group the rules layer calls ``logical`` (its key and
        capacity, e.g. ``egress-allow-domains-c100``)."""
        return self._token_name(logical, "network-firewall")

    @property
    def et_rule_group_prefix(self) -> str:
        """What the Emerging Threats groups' names start with (``<prefix>-et-...``). It ends
        with a hyphen, so the groups are ``<token>--et-...``: no other stack's token contains
        ``--``, so no other stack's groups match this prefix (or the IAM pattern built on it)."""
        return f"{self.token}-"

    # --- the Emerging Threats sync and other single resources ------------------------------

    def lambda_function(self, purpose: str) -> str:
        return self._token_name(purpose, "lambda-function")

    def iam_role(self, purpose: str) -> str:
        return self._token_name(purpose, "iam-role")

    def event_rule(self, purpose: str) -> str:
        return self._token_name(purpose, "event-rule")

    def alarm(self, purpose: str) -> str:
        return self._token_name(purpose, "cloudwatch-alarm")

    def sns_topic(self, purpose: str) -> str:
        return self._token_name(purpose, "sns-topic")

    # --- load balancers (32 characters: the hash keeps long stacks distinct) ------------------

    def load_balancer(self, app: str, kind: str) -> str:
        """An application's load balancer; ``kind`` (alb/nlb) is in the name because a change
        of type replaces it, and the new one is created before the old one is deleted."""
        return self._elb_name(f"{app}-{kind}")

    def target_group(self, app: str, protocol: str, port: int) -> str:
        """An application's target group; protocol and port replace it, so they are in it."""
        return self._elb_name(f"{app}-{protocol.lower()}{port}")

    def _elb_name(self, purpose: str) -> str:
        """``<token>-<purpose>`` when it fits in 32; else the purpose (what a reader looks
        for in the console) and a hash of the whole name, which keeps stacks apart."""
        full = f"{self.token}-{purpose}"
        limit = NAME_RULES["elb"].max_length
        if len(full) <= limit:
            return full
        return f"{purpose[: limit - HASH_LENGTH - 1].strip('-')}-{short_hash(full)}"

    def ram_share(self, purpose: str) -> str:
        return self._token_name(purpose, "ram-share")

    # --- path names ----------------------------------------------------------------------

    @property
    def path_prefix(self) -> str:
        """``/<project>/<stack>``: every character of both is allowed in log group and SSM
        names, so the path is the exact pair and needs no hash."""
        return f"/{self.project}/{self.stack}"

    def log_group(self, *parts: str) -> str:
        return "/".join((self.path_prefix, *parts))

    def ssm_parameter(self, *parts: str) -> str:
        return "/".join((self.path_prefix, *parts))


def of_current_stack() -> StackNames:
    """The names of the stack the Pulumi program runs as (under the CLI or the offline
    engine)."""
    import pulumi

    return StackNames(pulumi.get_project(), pulumi.get_stack())


def lambda_log_group(function_name: str) -> str:
    """The group Lambda writes a function's logs to (fixed by Lambda, not chosen)."""
    return f"/aws/lambda/{function_name}"
