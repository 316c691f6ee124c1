"""The live service's API: logins, roles on every write, CSRF, audit, ?at=, the WebSocket cursor.

One exercise night is opened for the module, advanced unpaced to its first draft, then ticks on
its own thread at 20x while the tests talk to it through the ASGI app (Starlette's TestClient,
on httpx)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pytest
from fastapi.testclient import TestClient

from skywarden.scenario import LoadedScenario
from skywarden.service.app import WRITERS, create_app
from skywarden.service.auth import CSRF_HEADER, LoginLimiter, Sessions
from skywarden.service.live import LiveNight
from skywarden.service.users import ROLES, User, UserStore, _hasher

PASSWORD = "correct horse battery"
USERS = [(role, role) for role in ROLES] + [("approver-2", "approver")]


@dataclass
class FakeClock:
    now: float = 1_000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class Served:
    live: LiveNight
    client: TestClient
    clock: FakeClock
    tokens: dict[str, str] = field(default_factory=dict)

    def token(self, user: str) -> str:
        if user not in self.tokens:
            r = self.client.post("/api/login", json={"user": user, "password": PASSWORD})
            assert r.status_code == 200, r.text
            self.tokens[user] = r.json()["token"]
            self.client.cookies.clear()  # bearer only: no cookie left behind for the next request
        return self.tokens[user]

    def as_(self, user: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user)}"}

    def wait_ticks(self, n: int = 3) -> None:
        seq = self.live.picture.ticks
        deadline = time.monotonic() + 10
        while self.live.picture.ticks < seq + n and time.monotonic() < deadline:
            time.sleep(0.02)


@pytest.fixture(scope="module")
def served(scenario: LoadedScenario, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    log = tmp_path_factory.mktemp("serve") / "night.sqlite"
    pw_hash = _hasher.hash(PASSWORD)
    store = UserStore([User(u, r, pw_hash) for u, r in USERS])
    live = LiveNight(scenario, str(log), exercise=True, speed=20.0, operators=[(u, r, "") for u, r in USERS])
    live.open()
    for _ in range(60):  # to the night's first draft (about 00:18)
        if live.picture.statements:
            break
        live.advance(50)
    assert live.picture.statements, "no draft by 00:50"
    clock = FakeClock()
    app = create_app(live, store, Sessions(b"k" * 32), limiter=LoginLimiter(clock=clock))
    with TestClient(app) as client:
        yield Served(live, client, clock)


def _get_routes(client: TestClient) -> list[str]:
    out = []
    for r in client.app.routes:  # type: ignore[attr-defined]  # Starlette routes carry path and methods
        path, methods = getattr(r, "path", ""), getattr(r, "methods", set()) or set()
        if path.startswith("/api/") and "GET" in methods:
            out.append(path.replace("{incident_id}", "INC-X").replace("{alert_id}", "A-1"))
    return out


def test_every_read_needs_a_login(served: Served) -> None:
    paths = _get_routes(served.client)
    assert {"/api/tracks", "/api/threats", "/api/statements", "/api/night", "/api/audit"} <= set(paths)
    for path in paths:
        r = served.client.get(path)
        assert r.status_code == 401, path
    r = served.client.get("/api/tracks", headers={"Authorization": "Bearer forged.123.abc.def"})
    assert r.status_code == 401


def test_reads_answer_the_live_picture(served: Served) -> None:
    h = served.as_("viewer")
    night = served.client.get("/api/night", headers=h).json()
    assert night["mode"] == "exercise" and night["seq"] > 0 and night["local_now"] >= "00:18"
    tracks = served.client.get("/api/tracks", headers=h).json()
    assert tracks["type"] == "FeatureCollection" and tracks["features"]
    props = tracks["features"][0]["properties"]
    assert {"track_id", "cls", "p_cls", "speed_ms", "alt_m", "trail"} <= set(props)
    layers = served.client.get("/api/map", headers=h).json()
    kinds = {f["properties"]["layer"] for f in layers["features"]}
    assert {"district", "zone", "airport", "sensor", "station", "road"} <= kinds
    st = served.client.get("/api/statements", headers=h).json()
    assert st and st[0]["state"] in ("drafted", "published", "partially_approved", "approved")
    pending = [s for s in st if s["state"] not in ("published", "rejected")]
    assert all(s["policy"] is not None and "release_at" in s["policy"] for s in pending)
    airports = served.client.get("/api/airports", headers=h).json()
    closed = [a for a in airports if a["restricted"]]
    assert closed, "an airport is restricted by 00:18"
    assert all(0 <= a["quiet_left_s"] <= a["quiet_s"] for a in closed)
    assert all(a["quiet_left_s"] is None for a in airports if not a["restricted"])
    rules = served.client.get("/api/policy", headers=h).json()
    assert {"place", "time", "withhold", "approval"} <= set(rules)
    assert served.client.get("/api/summary", headers=h).json()["ticks"] > 1000


def test_a_read_of_the_head_has_an_etag_a_304_and_gzip_when_asked(served: Served) -> None:
    import gzip

    h = served.as_("viewer")
    served.live.control("pause")  # no tick while the same picture is read twice
    try:
        time.sleep(0.2)
        plain = served.client.get("/api/tracks", headers={**h, "Accept-Encoding": "identity"})
        assert plain.status_code == 200 and "content-encoding" not in plain.headers
        tag = plain.headers["etag"]
        again = served.client.get("/api/tracks", headers={**h, "If-None-Match": tag})
        assert again.status_code == 304 and again.content == b""
        zipped = served.client.get("/api/tracks", headers={**h, "Accept-Encoding": "gzip"})
        assert zipped.headers["content-encoding"] == "gzip" and zipped.headers["etag"] != tag
        assert msgspec.json.decode(zipped.content) == msgspec.json.decode(plain.content)  # (httpx un-gzips it)
        raw = served.client.build_request("GET", "/api/tracks", headers={**h, "Accept-Encoding": "gzip"})
        body = served.client.send(raw, stream=True)
        assert gzip.decompress(b"".join(body.iter_raw())) == plain.content
        body.close()
        assert served.client.get("/api/tracks", headers={**h, "If-None-Match": zipped.headers["etag"]}).status_code == 304
        assert served.client.get("/api/night", headers={**h, "If-None-Match": tag}).status_code == 200  # another collection
    finally:
        served.live.control("resume")
    served.wait_ticks(2)
    later = served.client.get("/api/tracks", headers={**h, "If-None-Match": tag})
    assert later.status_code == 200 and later.headers["etag"] != tag  # a tick came: a new picture


def test_at_gives_the_picture_of_that_moment_from_the_log(served: Served) -> None:
    h = served.as_("viewer")
    past = served.client.get("/api/night", params={"at": "00:05"}, headers=h).json()
    assert past["local_now"] == "00:05:00" and past["ticks"] == 300
    now = served.client.get("/api/night", headers=h).json()
    assert now["ticks"] > past["ticks"]
    early = served.client.get("/api/statements", params={"at": "00:05"}, headers=h).json()
    assert early == []  # the first draft came at 00:18
    tracks = served.client.get("/api/tracks", params={"at": "00:10:30"}, headers=h).json()
    assert tracks["type"] == "FeatureCollection"
    assert served.client.get("/api/tracks", params={"at": "tea time"}, headers=h).status_code == 422
    # the same moment twice: the same picture (from a checkpoint and the log)
    a = served.client.get("/api/tracks", params={"at": "00:12"}, headers=h).json()
    b = served.client.get("/api/tracks", params={"at": "00:12"}, headers=h).json()
    assert a == b


def test_a_failed_login_is_refused_audited_and_rate_limited(served: Served) -> None:
    c = served.client
    assert c.post("/api/login", json={"user": "admin", "password": "wrong"}).status_code == 401
    assert c.post("/api/login", json={"user": "nobody", "password": "wrong"}).status_code == 401
    served.wait_ticks()
    audit = c.get("/api/audit", headers=served.as_("admin")).json()
    failed = [a for a in audit if a.get("action") == "login_failed"]
    assert {a["user"] for a in failed} >= {"admin", "nobody"}
    for _ in range(3):
        assert c.post("/api/login", json={"user": "mallory", "password": "x"}).status_code == 401
    r = c.post("/api/login", json={"user": "mallory", "password": "x"})
    assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0
    # the right password is refused too while the address is blocked
    assert c.post("/api/login", json={"user": "viewer", "password": PASSWORD}).status_code == 429
    served.clock.now += 61  # the window moves on
    assert c.post("/api/login", json={"user": "viewer", "password": PASSWORD}).status_code == 200
    c.cookies.clear()


def test_a_browser_write_needs_the_csrf_token(served: Served) -> None:
    c = served.client
    r = c.post("/api/login", json={"user": "press_officer", "password": PASSWORD})
    csrf = r.json()["csrf"]
    set_cookie = r.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=strict" in set_cookie
    body = {"source": "Telegram channel", "what": "kill", "count": 3, "text": "three drones downed"}
    assert c.post("/api/claims", json=body).status_code == 403
    r = c.post("/api/claims", json=body, headers={CSRF_HEADER: csrf})
    assert r.status_code == 202 and r.json()["logged"] is True, r.text
    ref = r.json()["ref"]
    served.wait_ticks()
    claims = c.get("/api/claims").json()
    assert ref in [x["claim_id"] for x in claims]
    assert c.get("/api/me").json()["user"] == "press_officer"
    assert c.post("/api/logout", headers={CSRF_HEADER: csrf}).status_code == 200
    assert c.get("/api/me").status_code == 401
    c.cookies.clear()


def test_an_editor_may_not_approve_their_own_text_and_a_second_approver_publishes(served: Served) -> None:
    c = served.client
    st = next(s for s in c.get("/api/statements", headers=served.as_("viewer")).json() if s["state"] == "drafted")
    sid = st["statement_id"]
    text = {"text_en": st["text_en"] + " Flights will resume when it is safe.",
            "text_ru": st["text_ru"] + " Полёты возобновятся, когда это будет безопасно."}  # fmt: skip
    r = c.post(f"/api/statements/{sid}/edit", json=text, headers=served.as_("approver"))
    assert r.status_code == 202 and r.json()["logged"]
    now = {s["statement_id"]: s for s in c.get("/api/statements", headers=served.as_("viewer")).json()}
    edited = now[sid]["text_sha256"]
    assert edited != st["text_sha256"]
    r = c.post(f"/api/statements/{sid}/approve", json={"text_sha256": edited}, headers=served.as_("approver"))
    assert r.status_code == 202  # accepted as an input; the disclosure stage refuses it
    served.wait_ticks()
    audit = c.get("/api/audit", headers=served.as_("admin")).json()
    assert any(a.get("ref") == sid and "wrote this text" in a.get("reason", "") for a in audit)
    now = {s["statement_id"]: s for s in c.get("/api/statements", headers=served.as_("viewer")).json()}
    assert now[sid]["state"] == "drafted" and now[sid]["editor"] == "approver"
    stale = c.post(f"/api/statements/{sid}/approve", json={"text_sha256": st["text_sha256"]}, headers=served.as_("approver-2"))
    assert stale.status_code == 202  # the draft's hash: the text changed since, so it is refused
    served.wait_ticks()
    audit = c.get("/api/audit", headers=served.as_("admin")).json()
    assert any(a.get("ref") == sid and "edited since it was read" in a.get("reason", "") for a in audit)
    r = c.post(f"/api/statements/{sid}/approve", json={"text_sha256": edited}, headers=served.as_("approver-2"))
    assert r.status_code == 202
    deadline = time.monotonic() + 20  # published once the policy's release delay has passed
    while time.monotonic() < deadline:
        now = {s["statement_id"]: s for s in c.get("/api/statements", headers=served.as_("viewer")).json()}
        if now[sid]["state"] == "published":
            break
        time.sleep(0.1)
    assert now[sid]["state"] == "published", now[sid]
    assert now[sid]["approved_by"] == ["approver-2"]
    assert "Flights will resume" in now[sid]["text_en"]


def _writes(served: Served) -> list[tuple[str, str, dict[str, Any]]]:
    state = served.live.state
    sid = state["statements"][0]["statement_id"]
    crew = state["crews"][0]["crew_id"]
    return [
        ("kill", "/api/kills", {"lat": 55.70, "lon": 37.50}),
        ("kill_withdraw", "/api/kills/NO-SUCH/withdraw", {"reason": "test"}),
        ("threat_ack", "/api/threats/INC-NONE/ack", {}),
        ("crew", f"/api/crews/{crew}/override", {"site_id": "SITE-NONE"}),
        ("crew", f"/api/crews/{crew}/recall", {"reason": "test"}),
        ("approve", f"/api/statements/{sid}/approve", {"text_sha256": state["statements"][0]["text_sha256"]}),
        ("approve", f"/api/statements/{sid}/reject", {"reason": "test"}),
        ("edit", f"/api/statements/{sid}/edit", {"text_en": "Air defence is at work.", "text_ru": "Работает ПВО."}),
        ("claim", "/api/claims", {"source": "witness", "what": "crash", "where": "north"}),
        ("exercise", "/api/exercise", {"action": "speed", "speed": 20}),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_every_role_against_every_write(served: Served, role: str) -> None:
    def refusals() -> int:
        audit = served.client.get("/api/audit", headers=served.as_("admin")).json()
        return sum(1 for a in audit if a.get("action") == "refused" and a.get("user") == role)

    before, refused = refusals(), 0
    for what, path, body in _writes(served):
        r = served.client.post(path, json=body, headers=served.as_(role))
        if role in WRITERS[what]:
            assert r.status_code in (202, 404), (role, path, r.status_code, r.text)
            if r.status_code == 202:
                assert r.json()["logged"] is True
        else:
            assert r.status_code == 403, (role, path, r.status_code, r.text)
            assert role in r.json()["detail"]
            refused += 1
    served.wait_ticks()
    assert refusals() - before == refused  # every refusal is an event in the log


def test_the_websocket_is_a_cursor_no_gap_no_duplicate(served: Served) -> None:
    c = served.client
    token = served.token("viewer")
    seen: list[int] = []
    with c.websocket_connect(f"/ws?token={token}") as ws:
        snap = msgspec.json.decode(ws.receive_text())
        assert snap["type"] == "snapshot" and set(snap["data"]) >= {"tracks", "threats", "statements", "night"}
        last = snap["seq"]
        for _ in range(5):
            d = msgspec.json.decode(ws.receive_text())
            assert d["type"] == "delta" and d["prev"] == last and d["seq"] > last
            assert "night" in d["data"]
            last = d["seq"]
            seen.append(last)
    served.wait_ticks(5)  # the night goes on while the client is away
    with c.websocket_connect(f"/ws?token={token}&since={last}") as ws:
        for _ in range(8):
            d = msgspec.json.decode(ws.receive_text())
            assert d["type"] == "delta" and d["prev"] == last  # exactly what it missed, in order
            assert d["seq"] not in seen
            last = d["seq"]
            seen.append(last)
    with c.websocket_connect(f"/ws?token={token}&since=1") as ws:  # older than the deltas kept
        assert msgspec.json.decode(ws.receive_text())["type"] == "snapshot"


def test_an_anonymous_websocket_is_closed(served: Served) -> None:
    from starlette.websockets import WebSocketDisconnect

    with pytest.raises(WebSocketDisconnect) as err, served.client.websocket_connect("/ws") as ws:
        ws.receive_text()
    assert err.value.code == 4401


def test_an_unknown_body_field_or_bad_coordinate_is_a_clear_422(served: Served) -> None:
    h = served.as_("duty_officer")
    r = served.client.post("/api/kills", json={"lat": 123.0, "lon": 37.5}, headers=h)
    assert r.status_code == 422 and "lat" in r.text
    r = served.client.post("/api/exercise", json={"action": "explode"}, headers=h)
    assert r.status_code == 422


def test_users_files(tmp_path: Path) -> None:
    from skywarden.errors import ConfigError
    from skywarden.service.users import add_user, exercise_users

    f = tmp_path / "users.toml"
    add_user(f, "anna", "approver", "a long password", "Anna P.")
    add_user(f, "boris", "viewer", "another long one")
    assert f.stat().st_mode & 0o777 == 0o600
    store = UserStore.load(f)
    assert store.verify("anna", "a long password") is not None
    assert store.verify("anna", "wrong") is None and store.verify("zoe", "x") is None
    assert "a long password" not in f.read_text()
    with pytest.raises(ConfigError, match="role"):
        add_user(f, "carl", "pilot", "a long password")
    with pytest.raises(ConfigError, match="10 characters"):
        add_user(f, "carl", "viewer", "short")
    ex = tmp_path / "exercise-users.toml"
    rows = exercise_users([("duty-1", "publisher", "Duty"), ("press-1", "editor", "")], ex)
    assert ex.stat().st_mode & 0o777 == 0o600
    assert rows[0][:2] == ("duty-1", "approver") and rows[1][:2] == ("press-1", "press_officer")
    assert {r for _, r, _ in rows} == set(ROLES)
    assert len({p for _, _, p in rows}) == len(rows)  # generated, never a fixed default
    loaded = UserStore.load(ex)
    assert loaded.verify("duty-1", rows[0][2]) is not None
    ex.chmod(0o644)
    with pytest.raises(ConfigError, match="chmod 600"):
        UserStore.load(ex)


def test_machines_report_through_ingest_checked_as_a_recording_is(served: Served) -> None:
    now = served.live.state["night"]["now"]
    good = msgspec.json.encode({"kind": "remote_id", "t": now, "uas_id": "RID-TEST-1", "lat": 55.75, "lon": 37.61, "alt": 80.0})
    forged = msgspec.json.encode({"kind": "statement_approved", "t": now, "statement_id": "ST-0001", "officer": "x", "role": "approver"})
    body = b"\n".join([good, b"{not json", forged, msgspec.json.encode({"kind": "remote_id", "t": now, "uas_id": "R2", "lat": 95.0, "lon": 0.0, "alt": 0.0})])
    assert served.client.post("/api/ingest", content=body, headers=served.as_("viewer")).status_code == 403
    before = served.live.picture.rejected
    r = served.client.post("/api/ingest", content=body, headers=served.as_("admin"))
    assert r.status_code == 202
    out = r.json()
    assert out["accepted"] == 1 and out["rejected"] == 3
    assert any("cannot come through" in reason for reason in out["reasons"])
    served.wait_ticks()
    assert served.live.picture.rejected - before == 3  # kept in the log as report_rejected
    from skywarden.log import open_log

    log = open_log(served.live.log_url)
    try:
        logged = [r.event() for r in log.read(max(0, log.last_seq() - 5_000))]
    finally:
        log.close()
    assert any(getattr(e, "uas_id", "") == "RID-TEST-1" for e in logged)


def test_ingest_and_writes_refuse_what_users_sent(served: Served) -> None:
    """The reports of the issue "Trust" through the API: counted rejections with their reasons,
    and a kill at 1e308 m refused by the route's body bounds; the night goes on."""
    now = served.live.state["night"]["now"]
    base = {"kind": "position_plots", "t": now, "sensor_id": "api-rf", "lat": [55.75], "lon": [37.61], "alt": [80.0], "sigma_m": [50.0]}
    lines = [
        msgspec.json.encode({**base, "alt": ["nan"]}),
        msgspec.json.encode({**base, "sigma_m": [1e308]}),
        msgspec.json.encode({**base, "t": "9999-03-10T21:00:00Z"}),
        b"[" * 100_000,
    ]
    r = served.client.post("/api/ingest", content=b"\n".join(lines), headers=served.as_("admin"))
    assert r.status_code == 202
    out = r.json()
    assert out["accepted"] == 0 and out["rejected"] == 4
    keys = {reason.split(":")[0] for reason in out["reasons"]}
    assert keys == {"not finite", "out of range", "time", "too deep"}
    h = served.as_("duty_officer")
    for body in ({"lat": 55.7, "lon": 37.6, "alt": 1e308}, {"lat": "nan", "lon": 37.6}):
        assert served.client.post("/api/kills", json=body, headers=h).status_code == 422
    ticks = served.live.picture.ticks
    served.wait_ticks()
    assert served.live.picture.ticks > ticks


def test_the_api_documents_itself_without_a_cdn(served: Served) -> None:
    spec = served.client.get("/openapi.json").json()
    assert "/api/statements/{statement_id}/approve" in spec["paths"]
    page = served.client.get("/docs").text
    assert "/_swagger/swagger-ui-bundle.js" in page and "cdn" not in page.lower()
    assert served.client.get("/_swagger/swagger-ui-bundle.js").status_code == 200
