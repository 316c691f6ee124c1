"""Shared fixtures: the shipped scenario, a start time, and service URLs for backend tests."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from skywarden.scenario import LoadedScenario, load_scenario


@pytest.fixture(scope="session")
def scenario() -> LoadedScenario:
    return load_scenario()


@pytest.fixture()
def t0() -> datetime:
    return datetime(2025, 3, 10, 21, 0, tzinfo=UTC)


@pytest.fixture(scope="session", autouse=True)
def _site_config(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The site's configuration (the snapshot key) in a folder of the test session's own, never
    the user's (subprocesses inherit it)."""
    os.environ.setdefault("SKYWARDEN_CONFIG_DIR", str(tmp_path_factory.mktemp("site-config")))
