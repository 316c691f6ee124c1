"""The live service on the server logs: PostgreSQL and NATS JetStream, as configuration.

Marked ``postgres`` / ``nats``; each skips, saying why, when its server does not answer (see
tests/test_log_contract.py). A served night is written, read back at a past moment, stopped,
and resumed by a new service on the same log."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest

from skywarden import events as E
from skywarden.log import open_log
from skywarden.scenario import LoadedScenario
from skywarden.service.live import LiveNight
from tests.test_log_contract import NATS_URL, PG_URL, nats_unavailable, pg_unavailable, with_log


@pytest.mark.parametrize(
    "backend",
    [pytest.param("postgres", marks=pytest.mark.postgres), pytest.param("nats", marks=pytest.mark.nats)],
)
def test_a_served_night_on_a_server_log_resumes_and_reads_the_past(scenario: LoadedScenario, backend: str) -> None:
    why = pg_unavailable() if backend == "postgres" else nats_unavailable()
    if why:
        pytest.skip(why)
    url = with_log(PG_URL if backend == "postgres" else NATS_URL, f"serve{uuid.uuid4().hex[:10]}")
    try:
        live = LiveNight(scenario, url, exercise=True, operators=[("anna", "approver", "")])
        live.open()
        live.advance(120)
        live.submit(E.ClaimRecorded(t=scenario.start, claim_id="CLAIM-OPS-PG", source="press", what="kill", recorded_by="anna"))
        live.advance(2)
        past = live.picture_at(scenario.start + timedelta(seconds=60))
        assert past.ticks == 60 and past.now == scenario.start + timedelta(seconds=60)
        seq = live.picture.seq
        live.stop()

        again = LiveNight(scenario, url, exercise=True, operators=[("anna", "approver", "")])
        again.open()  # replays the log through fresh stages: it must reproduce it
        assert again.picture.ticks == 122 and again.picture.seq == seq
        assert "CLAIM-OPS-PG" in again.picture.claims
        again.advance(3)
        assert again.picture.ticks == 125
        again.stop()
    finally:
        log = open_log(url)
        log.drop()  # type: ignore[attr-defined]  # the server backends can drop their table or stream
