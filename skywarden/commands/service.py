"""``skywarden serve`` and ``skywarden users``: the live service's commands. Heavy imports wait
inside the commands, so that ``skywarden --help`` stays quick."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from skywarden.errors import SkywardenError

console = Console()
err = Console(stderr=True)

users_app = typer.Typer(
    help="The users file of the live service (names, roles, argon2 hashes).",
    epilog="Example: skywarden users add duty-1 --role approver --file users.toml",
    no_args_is_help=True,
)


def _fail(exc: Exception) -> None:
    err.print(f"[bold red]error:[/] {exc}")
    raise typer.Exit(2)


def _bind(value: str) -> tuple[str, int]:
    host, _, port = value.rpartition(":")
    try:
        return host or "127.0.0.1", int(port)
    except ValueError:
        raise typer.BadParameter(f"{value!r}: use HOST:PORT, e.g. 127.0.0.1:8080") from None


def serve(
    scenario: Annotated[Path | None, typer.Option("--scenario", "-s", help="Scenario TOML file (default: the shipped Moscow night).")] = None,
    log: Annotated[str, typer.Option("--log", "-l", help="Event log: a SQLite path, postgresql://... or nats://...; an existing night is resumed.")] = "serve-night.sqlite",
    bind: Annotated[str, typer.Option(help="Address to listen on, HOST:PORT.")] = "127.0.0.1:8080",
    users: Annotated[Path | None, typer.Option("--users", "-u", help="Users file (skywarden users add). Required live; an exercise generates one.")] = None,
    exercise: Annotated[bool, typer.Option("--exercise", help="Play the scenario's simulated night instead of live inputs.")] = False,
    speed: Annotated[float, typer.Option(help="Exercise pace: 1 = real time, 10 = ten times faster.")] = 1.0,
    scripted_officers: Annotated[bool, typer.Option(help="In an exercise, let the scenario's publishers approve drafts by script (default: people approve).")] = False,
    publish: Annotated[Path | None, typer.Option(help="Publish statements and CAP alerts to this folder and its Atom feed.")] = None,
    state_dir: Annotated[Path | None, typer.Option(help="Where the session secret and exercise users are kept (default: beside a SQLite log, else here).")] = None,
    sapient: Annotated[list[str] | None, typer.Option("--sapient", metavar="HOST:PORT", help="Serve SAPIENT nodes (TCP) on HOST:PORT; repeatable.")] = None,
    asterix_udp: Annotated[list[str] | None, typer.Option("--asterix-udp", metavar="HOST:PORT", help="Take ASTERIX CAT048/062 datagrams on HOST:PORT (a multicast group: GROUP:PORT[@IFACE]); repeatable.")] = None,
    beast: Annotated[list[str] | None, typer.Option("--beast", metavar="HOST:PORT", help="Connect to a Mode S receiver's Beast output at HOST:PORT (e.g. readsb's 30005); repeatable.")] = None,
    remoteid_udp: Annotated[list[str] | None, typer.Option("--remoteid-udp", metavar="HOST:PORT", help="Take Remote ID datagrams (packs or JSON) on HOST:PORT; repeatable.")] = None,
    sensors: Annotated[Path | None, typer.Option("--sensors", help="Sensors TOML: radar and SAPIENT node sites, and [[listener]] feeds.")] = None,
    key: Annotated[Path | None, typer.Option("--key", envvar="SKYWARDEN_KEY", help="Sign checkpoints with this site key (skywarden keys new).")] = None,
    checkpoint_every: Annotated[int, typer.Option(envvar="SKYWARDEN_CHECKPOINT_EVERY", min=1, help="Records between signed checkpoints (and one at close).")] = 1000,
    witness: Annotated[str | None, typer.Option(envvar="SKYWARDEN_WITNESS", help="Also send checkpoints to this witness: a JSON-lines file or an http(s) URL.")] = None,
    basemap: Annotated[Path | None, typer.Option("--basemap", help="The city's offline basemap (MBTiles or PMTiles; raster or vector tiles), drawn under the scenario's layers.")] = None,
    min_tick: Annotated[float, typer.Option("--min-tick", min=0.005, max=5.0, help="Seconds a live night waits after a tick that took inputs before the next (reports arriving meanwhile are taken together). Lower: a shorter way from a sensor to the log, in more and smaller ticks; 0.02 keeps SAPIENT's p99 under 50 ms at 20,000 detections a second (docs/benchmarks.md).")] = 0.1,
) -> None:
    """Serve the night live: the HTTP and WebSocket API and the console.

    Example:  skywarden serve --exercise --speed 10    (then open http://127.0.0.1:8080)
    Live:     skywarden serve --users users.toml --sensors sensors.toml --sapient 0.0.0.0:5020 --beast 127.0.0.1:30005
    Basemap:  skywarden serve --exercise --basemap moscow.pmtiles
    """
    import uvicorn

    from skywarden.ingest.listeners import ListenerGroup, build_listeners
    from skywarden.ingest.sensors import load_sensors
    from skywarden.scenario import load_scenario
    from skywarden.service.app import create_app
    from skywarden.service.auth import Sessions, load_secret
    from skywarden.service.live import LiveNight
    from skywarden.service.users import UserStore, exercise_users

    host, port = _bind(bind)
    try:
        scn = load_scenario(scenario)
        here = state_dir or (Path(log).resolve().parent if "://" not in log else Path.cwd())
        here.mkdir(parents=True, exist_ok=True)
        if users is None:
            if not exercise:
                raise SkywardenError("a live night needs a users file: --users FILE (skywarden users add NAME --role ROLE)")
            users = here / "exercise-users.toml"
            if users.exists():
                console.print(f"exercise users: {users} (kept from an earlier start)")
            else:
                rows = exercise_users([(o.id, o.role, o.name) for o in scn.spec.officers], users)
                table = Table(title=f"Exercise users (also in {users}, mode 0600)")
                for col in ("user", "role", "password"):
                    table.add_column(col)
                for row in rows:
                    table.add_row(*row)
                console.print(table)
        store = UserStore.load(users)
        sessions = Sessions(load_secret(here / "serve-secret"))
        sinks = None
        if publish is not None:
            from skywarden.cli import _sinks

            sinks = _sinks(publish, log_url=log)
        from skywarden.log.checkpoint import Signing

        live = LiveNight(
            scn, log, exercise=exercise, speed=speed, scripted_officers=scripted_officers, sinks=sinks,
            operators=[(u.user, u.role, u.name) for u in store.users.values()],
            signing=Signing(key, checkpoint_every, witness) if key else None, min_tick_s=min_tick,
        )  # fmt: skip
        tiles = None
        if basemap is not None:
            from skywarden.service.basemap import open_basemap

            tiles = open_basemap(basemap)
        sites = load_sensors(sensors)
        specs = [(kind, a) for kind, given in (("sapient", sapient), ("asterix-udp", asterix_udp), ("beast", beast), ("remoteid-udp", remoteid_udp)) for a in given or ()]
        group = ListenerGroup(build_listeners([*specs, *((x.kind, x.address) for x in sites.listeners)], sites))
        with console.status("opening the night (a resumed night replays its log)"):
            live.open()
    except SkywardenError as exc:
        _fail(exc)
        return
    loopback = host in ("127.0.0.1", "localhost", "::1")
    app = create_app(live, store, sessions, secure_cookies=not loopback, listeners=group, basemap=tiles)
    mode = f"exercise at {speed:g}x" if exercise else "live"
    console.print(f"Skywarden serving {scn.name!r} ({mode}) on http://{host}:{port}  log: {log}")
    for x in group.listeners:
        if x is not group.remoteid_http:
            console.print(f"  listening: {x.name}")
    if tiles is not None:
        i = tiles.info
        console.print(f"  basemap: {basemap} ({i.format}, zoom {i.minzoom}-{i.maxzoom})")
    from skywarden.runtime import settled_heap

    # what opening built (scenario, stages, compiled kernels, the replayed picture) lives all
    # night: out of the collector's sight, full collections stop walking it (live SAPIENT at
    # 20,000 detections a second: 0.5 s of collecting per 200,000 instead of 1.35 s,
    # bench/listen_sapient.py with and without --no-freeze); and again every 10 s, what the
    # night built once under way (the full collections in the way of 1,000 live tracks' ticks:
    # 100 ms each before, bench/serve.py)
    with settled_heap(every_s=10.0):
        # no per-message deflate: a delta is encoded once for every client; deflating it again
        # for each one would cost more CPU than loopback or a LAN saves
        uvicorn.run(app, host=host, port=port, log_level="warning", timeout_graceful_shutdown=5, ws_per_message_deflate=False)
    if live.error is not None:
        _fail(live.error if isinstance(live.error, Exception) else RuntimeError(str(live.error)))


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="The user's login name.")],
    role: Annotated[str, typer.Option(help="viewer, duty_officer, dispatcher, press_officer, approver or admin.")],
    file: Annotated[Path, typer.Option("--file", "-f", help="The users file (created 0600 if missing).")] = Path("users.toml"),
    full_name: Annotated[str, typer.Option("--name", help="The person's name, as the log shows it.")] = "",
    password_stdin: Annotated[bool, typer.Option(help="Read the password from standard input (for scripts).")] = False,
) -> None:
    """Add a user (or set their role and password) in a users file.

    Example:  skywarden users add duty-1 --role approver --file users.toml
    """
    from skywarden.service.users import add_user

    if password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    else:
        password = getpass.getpass(f"password for {name}: ")
        if getpass.getpass("again: ") != password:
            _fail(SkywardenError("the passwords differ"))
    try:
        add_user(file, name, role, password, full_name)
    except SkywardenError as exc:
        _fail(exc)
    console.print(f"{name} ({role}) written to {file}")


@users_app.command("list")
def users_list(
    file: Annotated[Path, typer.Option("--file", "-f", help="The users file.")] = Path("users.toml"),
) -> None:
    """List the users of a users file (never their passwords).

    Example:  skywarden users list --file users.toml
    """
    from skywarden.service.users import UserStore

    try:
        store = UserStore.load(file)
    except SkywardenError as exc:
        _fail(exc)
        return
    table = Table()
    for col in ("user", "role", "name"):
        table.add_column(col)
    for u in store.users.values():
        table.add_row(u.user, u.role, u.name)
    console.print(table)


__all__ = ["serve", "users_app"]
