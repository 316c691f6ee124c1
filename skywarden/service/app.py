"""The HTTP and WebSocket API of the live service (FastAPI). Routes are thin: a read returns a
collection of the live picture (or of the picture at ``?at=``, rebuilt from the log); a write
checks the role, puts one input event naming the user in the night's inbox and answers once it
is in the log. The contract is docs/api.md.

(No ``from __future__ import annotations`` here: FastAPI reads the routes' annotations, which name
dependencies defined inside ``create_app``.)"""

import asyncio
import contextlib
import importlib
import importlib.util
import secrets
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

import msgspec
from fastapi import (
    Depends,
    FastAPI,
    HTTPException,
    Query,
    Request,
    Response,
    WebSocket,
    WebSocketDisconnect,
)
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.requests import ClientDisconnect

from skywarden import events as E
from skywarden.errors import ConfigError, SkywardenError
from skywarden.ingest.jsonl import ReportChecker
from skywarden.ingest.listeners import ListenerGroup, LiveSink
from skywarden.ingest.validate import LATEST, Window
from skywarden.service.auth import CSRF_HEADER, SESSION_COOKIE, LoginLimiter, Session, Sessions
from skywarden.service.basemap import MEDIA_TYPES, Basemap
from skywarden.service.hub import GZIP_MIN_BYTES, Hub, encode_body, encode_delta, takes_gzip
from skywarden.service.layers import scenario_layers
from skywarden.service.live import Delta, LiveNight, NightOver
from skywarden.service.picture import LivePicture, within
from skywarden.service.users import User, UserStore

_json = msgspec.json.Encoder()
WRITE_WAIT_S = 10.0  # how long a write waits for its tick to be in the log before answering
INGEST_MAX_BYTES = 8 << 20  # one request of reports
# what machines may report through /api/ingest: sensors, and the air-defence command's link
INGEST_KINDS = (E.PolarPlots, E.PositionPlots, E.AdsbReport, E.RemoteIdReport, E.SensorStatus, E.KillReported, E.KillWithdrawn)

# who may write what (docs/api.md)
WRITERS: dict[str, frozenset[str]] = {
    "kill": frozenset({"duty_officer", "admin"}),
    "kill_withdraw": frozenset({"duty_officer", "admin"}),
    "threat_ack": frozenset({"duty_officer", "admin"}),
    "crew": frozenset({"dispatcher", "duty_officer", "admin"}),
    "approve": frozenset({"approver"}),
    "edit": frozenset({"press_officer", "approver"}),
    "claim": frozenset({"press_officer", "duty_officer", "admin"}),
    "exercise": frozenset({"duty_officer", "admin"}),
    "audit": frozenset({"duty_officer", "admin"}),
    "ingest": frozenset({"admin"}),
}


@dataclass(frozen=True)
class Caller:
    user: User
    session: Session
    via_cookie: bool


# ---------------------------------------------------------------------------- bodies


class Login(BaseModel):
    user: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class KillIn(BaseModel):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)
    alt: float | None = Field(default=None, ge=-500, le=30_000)
    track_ref: str | None = Field(default=None, max_length=64)
    report_id: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")


class Reason(BaseModel):
    reason: str = Field(default="", max_length=500)


class Empty(BaseModel):
    pass


class ApproveIn(BaseModel):
    # the SHA-256 of the exact text approved (GET /api/statements gives it as text_sha256): an
    # approval binds to the text the officer read, and is refused if it changed since
    text_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class OverrideIn(BaseModel):
    site_id: str = Field(min_length=1, max_length=80)


class EditIn(BaseModel):
    text_en: str = Field(min_length=1, max_length=4000)
    text_ru: str = Field(min_length=1, max_length=4000)


class ClaimIn(BaseModel):
    source: str = Field(min_length=1, max_length=200)
    what: str = Field(min_length=1, max_length=40)
    count: int | None = Field(default=None, ge=0, le=100_000)
    where: str = Field(default="", max_length=200)
    text: str = Field(default="", max_length=2000)


class ExerciseIn(BaseModel):
    action: Literal["pause", "resume", "speed"]
    speed: float | None = Field(default=None, gt=0, le=10_000)


class Accepted(BaseModel):
    accepted: bool
    ref: str
    seq: int | None = None
    logged: bool


class RemoteIdIn(BaseModel):
    """Remote ID messages as JSON objects with opendroneid's field names (docs/ingest.md)."""

    messages: list[dict[str, Any]] = Field(min_length=1, max_length=1000)


class Ingested(BaseModel):
    reports: int
    rejected: int
    reasons: list[str]
    seq: int | None = None
    logged: bool


# ---------------------------------------------------------------------------- the app


def create_app(
    live: LiveNight,
    users: UserStore,
    sessions: Sessions,
    *,
    limiter: LoginLimiter | None = None,
    secure_cookies: bool = False,
    start_night: bool = True,
    listeners: ListenerGroup | None = None,
    basemap: Basemap | None = None,
) -> FastAPI:
    """The service over one night. ``start_night``: tick from the app's start (lifespan) to its
    end; tests that drive the clock themselves pass False. ``listeners``: the sensors' live
    feeds, started and stopped with the app (the Remote ID route is always there). ``basemap``:
    the city's offline tiles, served under ``/api/basemap`` (closed with the app)."""
    hub = Hub()
    group = listeners if listeners is not None else ListenerGroup()
    limiter = limiter or LoginLimiter()
    layers: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()
        if live.rt is None:
            await asyncio.to_thread(live.open)
        hub.set_state(live.state, live.picture.seq)

        # on the night's thread: what every client is sent, and the tracks as read, are encoded
        # there, off the loop; the delta goes out before the state for the reads is made
        def on_delta(delta: Delta) -> None:
            loop.call_soon_threadsafe(hub.publish, delta.seq, delta.prev, encode_delta(delta))

        def on_tick(delta: Delta, state: dict[str, Any]) -> None:
            bodies = {"tracks": encode_body(state["tracks"])} if "tracks" in delta.changed else {}
            loop.call_soon_threadsafe(hub.set_state, state, delta.seq, bodies)

        live.on_delta, live.on_tick = on_delta, on_tick
        if start_night:
            live.start()
        await group.start(LiveSink(live))
        try:
            yield
        finally:
            await group.stop()
            live.on_delta, live.on_tick = None, None
            hub.close_all()
            if start_night:
                await asyncio.to_thread(live.stop)
            if basemap is not None:
                basemap.close()

    app = FastAPI(
        title="Skywarden live service",
        summary="The city's drone-defence night, live: picture, threats, airports, kills, crews, statements.",
        version="1",
        lifespan=lifespan,
        docs_url=None,  # served below from the package's own copy of Swagger UI, not a CDN
        redoc_url=None,
    )
    _mount_api_docs(app)
    app.state.live, app.state.hub, app.state.listeners = live, hub, group

    # -------------------------------------------------------------- who is asking

    def _token(request: Request | WebSocket) -> tuple[str | None, bool]:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip(), False
        return request.cookies.get(SESSION_COOKIE), True

    # the dependencies are coroutines: a plain function would run on a worker thread, a hop
    # there and back for every request (milliseconds on a busy machine) for microseconds of work
    async def caller(request: Request) -> Caller:
        token, via_cookie = _token(request)
        session = sessions.check(token) if token else None
        user = users.get(session.user) if session else None
        if session is None or user is None:
            raise HTTPException(401, "log in first (POST /api/login)", headers={"WWW-Authenticate": "Bearer"})
        return Caller(user, session, via_cookie)

    def audit(who: Caller | None, action: str, request: Request, reason: str, user: str = "") -> None:
        ev = E.AccessAudited(
            t=live.scenario.start, user=who.user.user if who else user, role=who.user.role if who else "",
            action=action, target=f"{request.method} {request.url.path}"[:200], reason=reason[:300],  # type: ignore[arg-type]  # action is one of the Literal's values at every call
            remote=request.client.host if request.client else "", request_id=secrets.token_hex(8),
        )  # fmt: skip
        # the night over or stopped: nothing more can be logged; the refusal still stands
        with contextlib.suppress(NightOver, SkywardenError):
            live.submit(ev)

    def may(what: str) -> Callable[[Request, Caller], Awaitable[Caller]]:
        roles = WRITERS[what]

        async def check(request: Request, who: Annotated[Caller, Depends(caller)]) -> Caller:
            if who.via_cookie and request.method != "GET":
                sent = request.headers.get(CSRF_HEADER, "")
                if not secrets.compare_digest(sent, who.session.csrf):
                    audit(who, "refused", request, "missing or wrong CSRF token")
                    raise HTTPException(403, f"a browser write needs the {CSRF_HEADER} header")
            if who.user.role not in roles:
                audit(who, "refused", request, f"role {who.user.role} may not")
                raise HTTPException(403, f"the role {who.user.role!r} may not do this (allowed: {', '.join(sorted(roles))})")
            return who

        return check

    Reader = Annotated[Caller, Depends(caller)]

    async def submit(ev: E.InputEvent, ref: str) -> JSONResponse:
        try:
            fut = live.submit(ev)
        except NightOver as exc:
            raise HTTPException(409, str(exc)) from exc
        except SkywardenError as exc:
            raise HTTPException(503, str(exc)) from exc
        try:
            seq = await asyncio.wait_for(asyncio.wrap_future(fut), WRITE_WAIT_S)
        except TimeoutError:
            return JSONResponse({"accepted": True, "ref": ref, "seq": None, "logged": False}, status_code=202)
        except NightOver as exc:
            raise HTTPException(409, str(exc)) from exc
        return JSONResponse({"accepted": True, "ref": ref, "seq": seq, "logged": True}, status_code=202)

    # -------------------------------------------------------------- time arguments

    def _time(value: str | None, name: str) -> datetime | None:
        if value is None or value == "":
            return None
        try:
            return live.scenario.at(value)
        except (ValueError, SkywardenError) as exc:
            raise HTTPException(422, f"{name}: not a time of the night ({value!r}): use HH:MM, HH:MM:SS or ISO 8601") from exc

    AtQ = Annotated[str | None, Query(description="the picture at this moment: local HH:MM[:SS] or ISO 8601", max_length=40)]
    SinceQ = Annotated[str | None, Query(description="only items at or after this time", max_length=40)]
    UntilQ = Annotated[str | None, Query(description="only items at or before this time", max_length=40)]

    async def head(request: Request, name: str) -> Response:
        """A collection at the head: encoded once per tick, named by an ETag (304 to a client
        that has it), gzipped once per tick for a client that takes gzip."""
        body = hub.encoded(name)
        gz = len(body) >= GZIP_MIN_BYTES and takes_gzip(request.headers.get("accept-encoding", ""))
        headers = {"ETag": hub.etag(name, gzipped=gz), "Vary": "Accept-Encoding", "Cache-Control": "no-cache"}
        if hub.fresh(name, request.headers.get("if-none-match", "")):
            return Response(status_code=304, headers=headers)
        if gz:
            return Response(await hub.gzipped(name), media_type="application/json", headers={**headers, "Content-Encoding": "gzip"})
        return Response(body, media_type="application/json", headers=headers)

    async def read(request: Request, name: str, at: str | None, since: str | None = None, until: str | None = None, key: str = "t") -> Response:
        t_at, t_since, t_until = _time(at, "at"), _time(since, "since"), _time(until, "until")
        if t_at is None and t_since is None and t_until is None:
            return await head(request, name)
        value: Any
        if t_at is not None:
            pic = await asyncio.to_thread(live.picture_at, t_at)
            value = pic.collection(name)
        else:
            value = hub.state.get(name)
        if (t_since or t_until) and isinstance(value, list):
            value = [r for r in value if r.get(key) is None or within(datetime.fromisoformat(r[key]), t_since, t_until)]
        return Response(_json.encode(value), media_type="application/json")  # NaN as null

    async def picture(at: str | None) -> LivePicture:
        t_at = _time(at, "at")
        if t_at is None:
            return live.picture  # read on the loop; the night thread replaces nothing it holds here
        return await asyncio.to_thread(live.picture_at, t_at)

    # -------------------------------------------------------------- logging in

    @app.post("/api/login", tags=["session"], responses={401: {}, 429: {}})
    async def login(body: Login, request: Request, response: Response) -> dict[str, str]:
        remote = request.client.host if request.client else ""
        wait = limiter.blocked(remote, body.user)
        if wait > 0:
            raise HTTPException(429, "too many failed logins; wait and try again", headers={"Retry-After": str(int(wait) + 1)})
        user = await asyncio.to_thread(users.verify, body.user, body.password)
        if user is None:
            limiter.failed(remote, body.user)
            audit(None, "login_failed", request, "wrong user or password", user=body.user[:64])
            raise HTTPException(401, "wrong user or password")
        s = sessions.issue(user.user)
        response.set_cookie(SESSION_COOKIE, s.token, httponly=True, samesite="strict", secure=secure_cookies, max_age=int(sessions.ttl_s), path="/")
        audit(Caller(user, s, False), "login", request, "")
        return {"token": s.token, "user": user.user, "role": user.role, "csrf": s.csrf}

    @app.post("/api/logout", tags=["session"])
    async def logout(who: Reader, request: Request, response: Response) -> dict[str, bool]:
        sessions.revoke(who.session.token)
        response.delete_cookie(SESSION_COOKIE, path="/")
        audit(who, "logout", request, "")
        return {"ok": True}

    @app.get("/api/me", tags=["session"])
    async def me(who: Reader) -> dict[str, str]:
        return {"user": who.user.user, "role": who.user.role, "name": who.user.name, "csrf": who.session.csrf}

    # -------------------------------------------------------------- reads

    @app.get("/api/night", tags=["picture"])
    async def night(request: Request, who: Reader, at: AtQ = None) -> Response:
        if at:
            pic = await picture(at)
            return Response(_json.encode({**pic.c_night(), **live.status()}), media_type="application/json")
        return await head(request, "night")

    @app.get("/api/map", tags=["picture"])
    async def map_layers(who: Reader) -> dict[str, Any]:
        if not layers:
            layers.update(await asyncio.to_thread(scenario_layers, live.scenario))
        return layers

    @app.get("/api/basemap", tags=["picture"], responses={404: {"description": "no basemap (serve --basemap FILE)"}})
    async def basemap_info(who: Reader) -> dict[str, Any]:
        """The city's offline basemap, if the service was given one: its tile format, zoom
        levels, bounds, attribution, vector layers, and the tile URL template."""
        if basemap is None:
            raise HTTPException(404, "no basemap: start the service with --basemap FILE (MBTiles or PMTiles)")
        return basemap.info.as_json()

    @app.get("/api/basemap/{z}/{x}/{y}", tags=["picture"], response_class=Response,
             responses={200: {"content": {t: {} for t in MEDIA_TYPES.values()}}, 204: {"description": "no tile there"}, 404: {}})  # fmt: skip
    async def basemap_tile(z: int, x: int, y: int, who: Reader) -> Response:
        """One tile as the file stores it (gzipped vector tiles say so in Content-Encoding);
        204 where the file has no tile (outside its area or zoom levels)."""
        if basemap is None:
            raise HTTPException(404, "no basemap: start the service with --basemap FILE (MBTiles or PMTiles)")
        tile = await asyncio.to_thread(basemap.tile, z, x, y)
        if tile is None:
            return Response(status_code=204)
        headers = {"Cache-Control": "private, max-age=3600"}
        if tile.encoding:
            headers["Content-Encoding"] = tile.encoding
        return Response(tile.data, media_type=tile.media_type, headers=headers)

    @app.get("/api/policy", tags=["picture"])
    async def policy(who: Reader) -> Any:
        """The disclosure policy in force: how places and times are coarsened, the release
        delays, what is withheld, who approves."""
        if live.policy is None:
            raise HTTPException(404, "no disclosure stage in this night")
        return msgspec.to_builtins(live.policy.rules)

    @app.get("/api/tracks", tags=["picture"])
    async def tracks(request: Request, who: Reader, at: AtQ = None) -> Response:
        return await read(request, "tracks", at)

    @app.get("/api/threats", tags=["picture"])
    async def threats(request: Request, who: Reader, at: AtQ = None, since: SinceQ = None, until: UntilQ = None) -> Response:
        return await read(request, "threats", at, since, until, key="since")

    @app.get("/api/airports", tags=["picture"])
    async def airports(request: Request, who: Reader, at: AtQ = None) -> Response:
        return await read(request, "airports", at)

    @app.get("/api/kills", tags=["picture"])
    async def kills(request: Request, who: Reader, at: AtQ = None, since: SinceQ = None, until: UntilQ = None) -> Response:
        return await read(request, "kills", at, since, until)

    @app.get("/api/crews", tags=["picture"])
    async def crews(request: Request, who: Reader, at: AtQ = None) -> Response:
        return await read(request, "crews", at)

    @app.get("/api/sites", tags=["picture"])
    async def sites(request: Request, who: Reader, at: AtQ = None, since: SinceQ = None, until: UntilQ = None) -> Response:
        return await read(request, "sites", at, since, until)

    @app.get("/api/statements", tags=["picture"])
    async def statements(request: Request, who: Reader, at: AtQ = None, since: SinceQ = None, until: UntilQ = None) -> Response:
        return await read(request, "statements", at, since, until, key="drafted_at")

    @app.get("/api/alerts", tags=["picture"])
    async def alerts(request: Request, who: Reader, at: AtQ = None, since: SinceQ = None, until: UntilQ = None) -> Response:
        return await read(request, "alerts", at, since, until)

    @app.get("/api/alerts/{alert_id}.xml", tags=["picture"], response_class=Response)
    async def alert_xml(alert_id: str, who: Reader) -> Response:
        for a in reversed(live.picture.alerts):
            if a.alert_id == alert_id:
                return Response(a.cap_xml, media_type="application/cap+xml")
        raise HTTPException(404, f"no alert {alert_id!r}")

    @app.get("/api/claims", tags=["picture"])
    async def claims(request: Request, who: Reader, at: AtQ = None, since: SinceQ = None, until: UntilQ = None) -> Response:
        return await read(request, "claims", at, since, until)

    @app.get("/api/sensors", tags=["picture"])
    async def sensors(request: Request, who: Reader, at: AtQ = None) -> Response:
        return await read(request, "sensors", at)

    @app.get("/api/summary", tags=["picture"])
    async def summary(who: Reader, at: AtQ = None) -> Any:
        if not at:
            return hub.state.get("summary", {})
        return (await picture(at)).summary()

    @app.get("/api/incidents", tags=["picture"])
    async def incidents(who: Reader, at: AtQ = None) -> list[dict[str, Any]]:
        pic = await picture(at)
        return await asyncio.to_thread(pic.incidents)

    @app.get("/api/incidents/{incident_id}", tags=["picture"])
    async def incident(incident_id: str, who: Reader, at: AtQ = None) -> dict[str, Any]:
        pic = await picture(at)
        found = await asyncio.to_thread(pic.incident, incident_id)
        if found is None:
            raise HTTPException(404, f"no incident {incident_id!r}")
        return found

    @app.get("/api/audit", tags=["picture"])
    async def audit_list(who: Annotated[Caller, Depends(may("audit"))]) -> list[dict[str, Any]]:
        for _ in range(10):  # the night's thread may append meanwhile; copy again then
            try:
                return list(live.picture.audit)
            except RuntimeError:
                await asyncio.sleep(0)
        raise HTTPException(503, "busy; try again")

    # -------------------------------------------------------------- writes

    @app.post("/api/kills", tags=["writes"], status_code=202, response_model=Accepted, responses={403: {}, 409: {}})
    async def kill(body: KillIn, who: Annotated[Caller, Depends(may("kill"))]) -> JSONResponse:
        rid = body.report_id or f"OPS-{secrets.token_hex(4).upper()}"
        ev = E.KillReported(t=live.scenario.start, report_id=rid, lat=body.lat, lon=body.lon, alt=body.alt, track_ref=body.track_ref, reported_by=who.user.user)
        return await submit(ev, rid)

    @app.post("/api/kills/{report_id}/withdraw", tags=["writes"], status_code=202, response_model=Accepted, responses={403: {}, 404: {}})
    async def kill_withdraw(report_id: str, body: Reason, who: Annotated[Caller, Depends(may("kill_withdraw"))]) -> JSONResponse:
        if not any(k["report_id"] == report_id for k in hub.state.get("kills", [])):
            raise HTTPException(404, f"no numbered kill with report {report_id!r}")
        return await submit(E.KillWithdrawn(t=live.scenario.start, report_id=report_id, reason=body.reason, reported_by=who.user.user), report_id)

    @app.post("/api/threats/{incident_id}/ack", tags=["writes"], status_code=202, response_model=Accepted, responses={403: {}, 404: {}})
    async def threat_ack(incident_id: str, who: Annotated[Caller, Depends(may("threat_ack"))], body: Empty | None = None) -> JSONResponse:
        if not any(t["incident_id"] == incident_id for t in hub.state.get("threats", [])):
            raise HTTPException(404, f"no active threat {incident_id!r}")
        return await submit(E.ThreatAcknowledged(t=live.scenario.start, incident_id=incident_id, user=who.user.user, role=who.user.role), incident_id)

    def _crew(crew_id: str) -> None:
        if not any(c["crew_id"] == crew_id for c in hub.state.get("crews", [])):
            raise HTTPException(404, f"no crew {crew_id!r}")

    @app.post("/api/crews/{crew_id}/override", tags=["writes"], status_code=202, response_model=Accepted, responses={403: {}, 404: {}})
    async def crew_override(crew_id: str, body: OverrideIn, who: Annotated[Caller, Depends(may("crew"))]) -> JSONResponse:
        _crew(crew_id)
        return await submit(E.CrewOverride(t=live.scenario.start, crew_id=crew_id, site_id=body.site_id, user=who.user.user, role=who.user.role), crew_id)

    @app.post("/api/crews/{crew_id}/recall", tags=["writes"], status_code=202, response_model=Accepted, responses={403: {}, 404: {}})
    async def crew_recall(crew_id: str, body: Reason, who: Annotated[Caller, Depends(may("crew"))]) -> JSONResponse:
        _crew(crew_id)
        return await submit(E.CrewRecalled(t=live.scenario.start, crew_id=crew_id, user=who.user.user, role=who.user.role, reason=body.reason), crew_id)

    def _statement(sid: str) -> None:
        if not any(s["statement_id"] == sid for s in hub.state.get("statements", [])):
            raise HTTPException(404, f"no statement {sid!r}")

    @app.post("/api/statements/{statement_id}/approve", tags=["writes"], status_code=202, response_model=Accepted, responses={403: {}, 404: {}})
    async def approve(statement_id: str, body: ApproveIn, who: Annotated[Caller, Depends(may("approve"))]) -> JSONResponse:
        _statement(statement_id)
        ev = E.StatementApproved(t=live.scenario.start, statement_id=statement_id, officer=who.user.user, role=who.user.role, text_sha256=body.text_sha256)
        return await submit(ev, statement_id)

    @app.post("/api/statements/{statement_id}/reject", tags=["writes"], status_code=202, response_model=Accepted, responses={403: {}, 404: {}})
    async def reject(statement_id: str, body: Reason, who: Annotated[Caller, Depends(may("approve"))]) -> JSONResponse:
        _statement(statement_id)
        return await submit(E.StatementRejected(t=live.scenario.start, statement_id=statement_id, officer=who.user.user, role=who.user.role, reason=body.reason), statement_id)

    @app.post("/api/statements/{statement_id}/edit", tags=["writes"], status_code=202, response_model=Accepted, responses={403: {}, 404: {}})
    async def edit(statement_id: str, body: EditIn, who: Annotated[Caller, Depends(may("edit"))]) -> JSONResponse:
        _statement(statement_id)
        return await submit(E.StatementEdited(t=live.scenario.start, statement_id=statement_id, editor=who.user.user, role=who.user.role, text_en=body.text_en, text_ru=body.text_ru), statement_id)

    @app.post("/api/claims", tags=["writes"], status_code=202, response_model=Accepted, responses={403: {}})
    async def claim(body: ClaimIn, who: Annotated[Caller, Depends(may("claim"))]) -> JSONResponse:
        cid = f"CLAIM-OPS-{secrets.token_hex(3).upper()}"
        ev = E.ClaimRecorded(t=live.scenario.start, claim_id=cid, source=body.source, what=body.what, count=body.count, where=body.where, text=body.text, recorded_by=who.user.user)
        return await submit(ev, cid)

    @app.post("/api/exercise", tags=["writes"], status_code=202, response_model=Accepted, responses={403: {}, 409: {}})
    async def exercise(body: ExerciseIn, who: Annotated[Caller, Depends(may("exercise"))]) -> JSONResponse:
        if not live.exercise:
            raise HTTPException(409, "this is a live night, not an exercise")
        if body.action == "speed" and body.speed is None:
            raise HTTPException(422, "speed: give the new speed")
        return await submit(E.ExerciseControl(t=live.scenario.start, action=body.action, speed=body.speed, user=who.user.user, role=who.user.role), body.action)

    # -------------------------------------------------------------- machines' reports

    checkers: dict[str, ReportChecker] = {}

    def ingest_window() -> Window:
        # an exercise ends with its scenario; a live night goes on while served
        night = Window.night(live.scenario.start, live.scenario.end)
        return night if live.exercise else Window(night.start, LATEST)

    @app.post("/api/ingest", tags=["writes"], status_code=202, responses={403: {}, 413: {}})
    async def ingest(request: Request, who: Annotated[Caller, Depends(may("ingest"))]) -> JSONResponse:
        """Sensors' and the air-defence command's reports as JSON lines, one input event each
        (the lines ``skywarden run --input`` plays). Each is checked as a recording's lines are;
        a bad line is a ``report_rejected`` in the log, counted in the answer."""
        too_big = HTTPException(413, f"at most {INGEST_MAX_BYTES} bytes a request")
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > INGEST_MAX_BYTES:
            raise too_big
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in request.stream():  # read no more than the cap, whatever is sent
                size += len(chunk)
                if size > INGEST_MAX_BYTES:
                    raise too_big
                chunks.append(chunk)
        except ClientDisconnect:  # the sender left mid-request: nothing was taken
            return JSONResponse({"accepted": 0, "rejected": 0, "reasons": {}}, status_code=400)
        body = b"".join(chunks)
        checker = checkers.setdefault(who.user.user, ReportChecker(source=f"api:{who.user.user}", window=ingest_window()))
        accepted, reasons = 0, Counter[str]()
        for n, line in enumerate(body.splitlines(), start=1):
            if not line.strip():
                continue
            ev = checker.check(line, line=n, now=live.rt.last_tick if live.rt else None)
            if not isinstance(ev, E.ReportRejected) and not isinstance(ev, INGEST_KINDS):
                ev = E.ReportRejected(t=ev.t, source=checker.source, reason=f"{E.kind(ev)} cannot come through /api/ingest", raw=line[:2000].decode("utf-8", "replace"), line=n)
            if isinstance(ev, E.ReportRejected):
                reasons[ev.reason[:120]] += 1
            else:
                accepted += 1
            try:
                live.submit(ev, own_time=True)
            except NightOver as exc:
                raise HTTPException(409, str(exc)) from exc
        return JSONResponse({"accepted": accepted, "rejected": sum(reasons.values()), "reasons": dict(reasons)}, status_code=202)

    # -------------------------------------------------------------- sensors' reports over HTTP (skywarden/ingest/listeners.py)

    @app.post("/api/ingest/remoteid", tags=["ingest"], status_code=202, response_model=Ingested, responses={403: {}})
    async def ingest_remoteid(body: RemoteIdIn, request: Request, who: Annotated[Caller, Depends(may("ingest"))]) -> JSONResponse:
        got = group.remoteid_http.take(body.messages, request.client.host if request.client else "")
        seq = None
        if got.futures:
            with contextlib.suppress(TimeoutError, NightOver, SkywardenError):
                seq = await asyncio.wait_for(asyncio.wrap_future(got.futures[-1]), WRITE_WAIT_S)
        out = {"reports": got.reports, "rejected": got.rejected, "reasons": got.reasons, "seq": seq, "logged": seq is not None}
        return JSONResponse(out, status_code=202)

    # -------------------------------------------------------------- the WebSocket

    @app.websocket("/ws")
    async def ws(websocket: WebSocket, since: int | None = None, token: str | None = None) -> None:
        tok, _ = _token(websocket)
        session = sessions.check(token or tok or "")
        if session is None or users.get(session.user) is None:
            await websocket.close(code=4401, reason="log in first")
            return
        await websocket.accept()
        client = hub.subscribe(since)
        # the client says nothing after connecting; reading is only how its leaving is seen
        gone = asyncio.ensure_future(websocket.receive())
        gone.add_done_callback(lambda _: client.end(gone=True))
        try:
            while True:
                msg = await client.next()
                if msg is None:
                    if not client.gone:  # dropped for lagging, or the service stops: reconnect with ?since=
                        await websocket.close(code=4408, reason="reconnect with ?since= your last seq")
                    return
                await websocket.send_text(msg)
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            gone.cancel()
            hub.unsubscribe(client)

    @app.exception_handler(ConfigError)
    async def config_error(request: Request, exc: ConfigError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=422)

    # the console's built assets, once the console's module is in the package
    console = importlib.util.find_spec("skywarden.service.console")
    if console is not None:
        importlib.import_module("skywarden.service.console").mount_console(app)
    return app


def _mount_api_docs(app: FastAPI) -> None:
    """``/docs``: Swagger UI from the swagger-ui-bundle package (nothing fetched at run time)."""
    from fastapi.openapi.docs import get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/_swagger", StaticFiles(directory=swagger_ui_path), name="swagger")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> Response:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title="Skywarden API",
            swagger_js_url="/_swagger/swagger-ui-bundle.js", swagger_css_url="/_swagger/swagger-ui.css",
            swagger_favicon_url="/_swagger/favicon-32x32.png",
        )  # fmt: skip


__all__ = ["WRITERS", "create_app"]
