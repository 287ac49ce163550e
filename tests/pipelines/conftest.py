"""Fixtures for the pipeline tier: one embedded end-to-end run shared by its tests."""

from __future__ import annotations

import pytest

from pantrypulse.settings import load_settings


@pytest.fixture(scope="session")
def pipeline_home(tmp_path_factory):
    """A PANTRYPULSE_HOME of its own for the end-to-end tests."""
    return tmp_path_factory.mktemp("e2e-home")


@pytest.fixture(scope="session")
def e2e_settings(pipeline_home):
    """Embedded settings under the session's home."""
    return load_settings({"PANTRYPULSE_HOME": str(pipeline_home)})
