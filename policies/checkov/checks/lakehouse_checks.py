"""checkov checks that run the platform's rules (policies/crossguard/lakehouse_rules.py).

The same functions back the CrossGuard pack and the infra tests, so a rule cannot drift between
the three places it is enforced.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from checkov.common.models.enums import CheckCategories, CheckResult
from checkov.kubernetes.checks.resource.base_spec_check import BaseK8Check

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "crossguard"))

import lakehouse_rules

WORKLOADS = sorted(lakehouse_rules.WORKLOAD_KINDS)


def _clean(value: Any) -> Any:
    """Checkov's parse adds __startline__/__endline__ markers: drop them."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if not str(k).startswith("__")}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


class RuleCheck(BaseK8Check):
    """A checkov check that fails when a lakehouse rule reports a violation."""

    def __init__(
        self, check_id: str, rule: lakehouse_rules.Rule, kinds: list[str], category: CheckCategories
    ):
        super().__init__(
            name=(rule.__doc__ or check_id).strip().splitlines()[0],
            id=check_id,
            categories=[category],
            supported_entities=kinds,
        )
        self.rule = rule

    def scan_spec_conf(self, conf: dict[str, Any]) -> CheckResult:
        """Pass when the rule finds nothing to report."""
        props = _clean(conf)
        resource_type = f"kubernetes:{props.get('apiVersion', '')}:{props.get('kind', '')}"
        return CheckResult.FAILED if self.rule(resource_type, props) else CheckResult.PASSED


CHECKS = [
    RuleCheck("CKV_LAKE_1", lakehouse_rules.pinned_images, WORKLOADS, CheckCategories.SUPPLY_CHAIN),
    RuleCheck(
        "CKV_LAKE_2",
        lakehouse_rules.namespace_pod_security,
        ["Namespace"],
        CheckCategories.KUBERNETES,
    ),
    RuleCheck(
        "CKV_LAKE_3", lakehouse_rules.no_external_services, ["Service"], CheckCategories.NETWORKING
    ),
    RuleCheck(
        "CKV_LAKE_4",
        lakehouse_rules.no_secrets_in_configmaps,
        ["ConfigMap"],
        CheckCategories.SECRETS,
    ),
    RuleCheck(
        "CKV_LAKE_5", lakehouse_rules.workload_security, WORKLOADS, CheckCategories.KUBERNETES
    ),
    RuleCheck(
        "CKV_LAKE_6", lakehouse_rules.workload_resources, WORKLOADS, CheckCategories.KUBERNETES
    ),
]
