"""The dashboards tier: put apps/superset-assets (scripts, not a package) on sys.path."""

from __future__ import annotations

import sys
from pathlib import Path

SUPERSET_APP = Path(__file__).resolve().parents[2] / "apps" / "superset-assets"
if str(SUPERSET_APP) not in sys.path:
    sys.path.insert(0, str(SUPERSET_APP))
