"""Shared fixtures: the shipped scenario, a start time, and service URLs for backend tests."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from skywarden.scenario import LoadedScenario, load_scenario


@pytest.fixture(scope="session")
def scenario() -> LoadedScenario:
    return load_scenario()


@pytest.fixture()
def t0() -> datetime:
    return datetime(2025, 3, 10, 21, 0, tzinfo=UTC)
