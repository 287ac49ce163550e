"""Pulumi CrossGuard policy pack: `pulumi preview --policy-pack policies/crossguard`.

The rules live in `lakehouse_rules.py` (plain functions, unit-tested without the CLI); this file
only wraps each one as a ResourceValidationPolicy. Never import it in a test: constructing the
PolicyPack starts the policy server and blocks.
"""

from pulumi_policy import EnforcementLevel, PolicyPack
from validators import policies

PolicyPack(name="lakehouse", enforcement_level=EnforcementLevel.MANDATORY, policies=policies())
