"""The WebSocket hub on its own: a slow client is dropped and comes back with what it missed,
the others go on; a client that connects while the state lags the last delta misses nothing;
messages are ASCII JSON; when a live night's next tick is due."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from skywarden.service.hub import Hub, ascii_json, takes_gzip
from skywarden.service.live import live_due


def _msg(seq: int, prev: int) -> str:
    return msgspec.json.encode({"type": "delta", "seq": seq, "prev": prev, "data": {}}).decode()


def _drain(c: Any) -> list[str | None]:
    out = []
    while c.pending:
        out.append(c.pending.popleft())
    return out


def test_a_slow_client_is_dropped_the_others_get_every_delta_and_it_resumes_with_since() -> None:
    async def night() -> None:
        hub = Hub(queue_size=4)
        hub.set_state({"night": {}}, 10)
        fast, slow = hub.subscribe(10), hub.subscribe(10)
        got: list[str] = []

        async def read_fast() -> None:
            while (m := await fast.next()) is not None:
                got.append(m)

        reader = asyncio.create_task(read_fast())
        for seq in range(11, 18):  # the slow client reads nothing: its queue holds 4
            hub.publish(seq, seq - 1, _msg(seq, seq - 1))
            hub.set_state({"night": {}}, seq)
            await asyncio.sleep(0)
        assert slow.dropped and slow not in hub.clients and fast in hub.clients
        assert await slow.next() is None  # its writer closes it (4408): reconnect with ?since=
        assert [msgspec.json.decode(m)["seq"] for m in got] == list(range(11, 18))
        back = hub.subscribe(14)  # its last seq: exactly what it missed, no snapshot
        assert [msgspec.json.decode(m or "")["seq"] for m in _drain(back)] == [15, 16, 17]
        hub.close_all()
        await reader

    asyncio.run(night())


def test_deltas_fan_out_in_batches_in_order_with_no_gap_or_duplicate_for_a_client_joining_midway() -> None:
    async def night() -> None:
        hub = Hub(fanout_batch=4)
        hub.set_state({"night": {}}, 10)
        clients = [hub.subscribe(10) for _ in range(25)]
        hub.publish(11, 10, _msg(11, 10))
        assert sum(1 for c in clients if c.pending) == 4  # the first batch; the rest when the loop comes round
        late = hub.subscribe(10)  # joins while 11 is still going out
        hub.publish(12, 11, _msg(12, 11))
        for _ in range(30):
            await asyncio.sleep(0)
        for c in [*clients, late]:
            assert [msgspec.json.decode(m or "")["seq"] for m in _drain(c)] == [11, 12]

    asyncio.run(night())


def test_a_client_connecting_before_the_state_catches_up_gets_the_delta_after_its_snapshot() -> None:
    async def night() -> None:
        hub = Hub()
        hub.set_state({"night": {"seq": 20}}, 20)
        hub.publish(25, 20, _msg(25, 20))  # the delta is out; the state at 25 is still being built
        c = hub.subscribe(None)
        snap, delta = (msgspec.json.decode(m or "") for m in _drain(c))
        assert (snap["type"], snap["seq"], delta["seq"], delta["prev"]) == ("snapshot", 20, 25, 20)
        assert _drain(hub.subscribe(25)) == []  # up to date
        assert [msgspec.json.decode(m or "")["seq"] for m in _drain(hub.subscribe(20))] == [25]

    asyncio.run(night())


def test_messages_are_ascii_json_of_the_same_value() -> None:
    value = {"name_ru": "Шереметьево", "emoji": "drone \U0001f681", "plain": "x"}
    text = ascii_json(msgspec.json.encode(value))
    assert text.isascii() and msgspec.json.decode(text) == value
    assert ascii_json(b'{"a":1}') == '{"a":1}'


def test_gzip_is_taken_when_asked_for() -> None:
    assert takes_gzip("gzip, deflate, br")
    assert takes_gzip("br;q=1.0, gzip;q=0.5")
    assert takes_gzip("*")
    assert not takes_gzip("gzip;q=0")
    assert not takes_gzip("identity")
    assert not takes_gzip("")


def test_a_report_into_a_quiet_night_ticks_at_once_a_stream_waits_min_tick_s() -> None:
    """``live_due``: when a live night's next tick is due."""
    last = datetime(2026, 12, 3, 21, 0, tzinfo=UTC)
    second = timedelta(seconds=1)
    assert live_due(last, second, 0.1, waiting=False, took_inputs=False) == last + second  # the clock's own tick
    # after a report, the clock's tick waits a little longer: a sensor reporting every second
    # drives the ticks, not the clock's tick just before each report
    assert live_due(last, second, 0.1, waiting=False, took_inputs=True) == last + second + timedelta(seconds=0.1)
    assert live_due(last, second, 0.1, waiting=True, took_inputs=False) == last  # due now
    assert live_due(last, second, 0.1, waiting=True, took_inputs=True) == last + timedelta(seconds=0.1)
