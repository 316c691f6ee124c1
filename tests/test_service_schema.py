"""Schemathesis against the service's own OpenAPI: no generated request gets a 500.

Requests are generated from ``/openapi.json`` and sent, with an admin's bearer token (and, for
the approvals, an approver's), to a served exercise night that ticks on its own thread."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import schemathesis
from fastapi.testclient import TestClient

from skywarden.scenario import LoadedScenario
from skywarden.service.app import create_app
from skywarden.service.auth import Sessions
from skywarden.service.live import LiveNight
from skywarden.service.users import User, UserStore, _hasher

PASSWORD = "schema test password"


@pytest.fixture(scope="module")
def client(scenario: LoadedScenario, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    h = _hasher.hash(PASSWORD)
    store = UserStore([User("admin", "admin", h), User("approver", "approver", h)])
    live = LiveNight(scenario, str(tmp_path_factory.mktemp("schema") / "n.sqlite"), exercise=True, speed=50.0,
                     operators=[("admin", "admin", ""), ("approver", "approver", "")])  # fmt: skip
    live.open()
    live.advance(1100)  # past the first draft
    app = create_app(live, store, Sessions(b"s" * 32))
    with TestClient(app) as c:
        yield c


def _operations(client: TestClient) -> list[Any]:
    api = schemathesis.openapi.from_dict(client.get("/openapi.json").json())
    return [result.ok() for result in api.get_all_operations()]


def test_no_generated_request_gets_a_server_error(client: TestClient) -> None:
    tokens = {
        user: client.post("/api/login", json={"user": user, "password": PASSWORD}).json()["token"]
        for user in ("admin", "approver")
    }
    client.cookies.clear()
    operations = _operations(client)
    assert len(operations) >= 25  # every route of docs/api.md is in the OpenAPI
    failures: list[str] = []
    for op in operations:

        @hypothesis.given(case=op.as_strategy())
        @hypothesis.settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(hypothesis.HealthCheck))
        def one(case: Any) -> None:
            user = "approver" if "/statements/" in case.path else "admin"
            kwargs = case.as_transport_kwargs(base_url="http://testserver")
            kwargs["headers"] = {**(kwargs.get("headers") or {}), "Authorization": f"Bearer {tokens[user]}"}
            kwargs.pop("timeout", None)
            cookies = kwargs.pop("cookies", None)  # sent as a header: per-request cookies are deprecated
            if cookies:
                kwargs["headers"]["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
            if isinstance(kwargs.get("data"), bytes | str):  # raw bodies go as content
                kwargs["content"] = kwargs.pop("data")
            r = client.request(**kwargs)
            client.cookies.clear()
            assert r.status_code < 500, f"{case.method} {case.formatted_path}: {r.status_code} {r.text[:300]}"

        try:
            one()
        except AssertionError as exc:
            failures.append(str(exc))
    assert failures == []
