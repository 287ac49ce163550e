"""CrossGuard wrappers around the plain rules (importable without starting a policy server)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from lakehouse_rules import RULES, Rule
from pulumi_policy import EnforcementLevel, ResourceValidationPolicy

LEVELS = {"mandatory": EnforcementLevel.MANDATORY, "advisory": EnforcementLevel.ADVISORY}


def validator(rule: Rule) -> Callable[[Any, Callable[..., None]], None]:
    """A CrossGuard validate function that reports each violation of `rule`."""

    def validate(args: Any, report_violation: Callable[..., None]) -> None:
        for problem in rule(args.resource_type, dict(args.props or {})):
            report_violation(f"{args.name}: {problem}")

    return validate


def policies() -> list[ResourceValidationPolicy]:
    """One ResourceValidationPolicy per rule."""
    return [
        ResourceValidationPolicy(
            name=name,
            description=(rule.__doc__ or name).strip().splitlines()[0],
            enforcement_level=LEVELS[level],
            validate=validator(rule),
        )
        for name, (rule, level) in RULES.items()
    ]
