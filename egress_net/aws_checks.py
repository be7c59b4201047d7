"""The offline engine's last step: refuse a recording that AWS or a real ``pulumi up`` would
refuse, naming each resource. Called once per program run (``engine.run_program``); the rules
live in :mod:`egress_net.route_rules` and :mod:`egress_net.deploy_order`.
"""

from __future__ import annotations

from egress_net.deploy_order import order_problems
from egress_net.errors import EgressNetError
from egress_net.recording import Recording
from egress_net.route_rules import refusals_in_recording


class AwsWouldRefuse(EgressNetError):
    """Resources a real deploy would fail on; one line per resource."""

    def __init__(self, stack: str, problems: list[tuple[str, str, str]]) -> None:
        self.problems = problems  # (resource, problem, hint)
        where, problem, hint = problems[0]
        super().__init__(where, problem, hint)
        self.stack = stack

    def render(self) -> str:
        lines = [
            f"{where}: {problem}" + (f"\n  hint: {hint}" if hint else "")
            for where, problem, hint in getattr(self, "problems", [])
        ]
        return "\n".join(lines) or super().render()


def refuse_what_aws_would(recording: Recording) -> None:
    """Raise :class:`AwsWouldRefuse` listing every route AWS refuses and every order a real
    ``up`` gets wrong; return quietly when there is none."""
    problems = [
        (
            refusal.route or refusal.table,
            f"AWS would refuse this route: {refusal.problem} [{refusal.source}]",
            refusal.hint,
        )
        for refusal in refusals_in_recording(recording)
    ]
    problems += [
        (p.resource, f"{p.problem} [{p.source}]", p.hint) for p in order_problems(recording)
    ]
    if problems:
        raise AwsWouldRefuse(recording.stack, problems)
