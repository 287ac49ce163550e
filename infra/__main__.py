"""Pulumi entry point: `pulumi up -s <env>` reads `environments/<env>/`, declares the platform."""

from pathlib import Path

import pulumi

from lakehouse import settings
from lakehouse.program import build

config = pulumi.Config("lakehouse")
# The stack's name picks the environment folder unless `lakehouse:environment` says otherwise
# (e.g. a personal stack `dev-alice` that uses environments/dev).
env_name = config.get("environment") or pulumi.get_stack()
env_dir = Path(config.get("environmentsDir") or settings.environments_root()) / env_name

try:
    loaded = settings.load(env_dir)
except settings.SettingsError as exc:
    raise SystemExit(f"lakehouse: bad settings for environment {env_name!r}:\n{exc}") from None

for key, value in build(loaded).items():
    if key == "admin_passwords":
        value = pulumi.Output.secret(value)
    pulumi.export(key, value)
