"""CrossGuard rule tests: run in the policy pack's own environment, without the Pulumi CLI."""

from __future__ import annotations

import sys
from pathlib import Path

PACK = Path(__file__).resolve().parents[1]
if str(PACK) not in sys.path:
    sys.path.insert(0, str(PACK))
