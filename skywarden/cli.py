"""The command line: ``skywarden demo``, ``run``, ``replay``, ``report``, ``log``, ``scenario``,
``track``, ``incident``, ``claim``. Every command has ``--help`` with an example."""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from skywarden.errors import SkywardenError

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from skywarden.disclosure.delivery import Publishing
    from skywarden.events import Event
    from skywarden.log import EventLog
    from skywarden.log.checkpoint import Signing
    from skywarden.log.projections import NightView
    from skywarden.play import PlayResult
    from skywarden.response.incidents import Incident
    from skywarden.runtime import Sink, Source, TickResult
    from skywarden.scenario import LoadedScenario
    from skywarden.stage import Stage

app = typer.Typer(
    help="Skywarden: a city's drone-defence night on one tamper-evident event log.",
    epilog="Example: skywarden demo --out night-out   (then open night-out/report.html)",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
)
log_app = typer.Typer(
    help="Inspect an event log.", epilog="Example: skywarden log verify night-out/night.sqlite", no_args_is_help=True
)
scenario_app = typer.Typer(
    help="Write and check scenario files.", epilog="Example: skywarden scenario new my-night.toml", no_args_is_help=True
)
app.add_typer(log_app, name="log")
app.add_typer(scenario_app, name="scenario")

console = Console()
err = Console(stderr=True)

ScenarioOpt = Annotated[
    Path | None, typer.Option("--scenario", "-s", help="Scenario TOML file (default: the shipped Moscow night).")
]


def _fail(exc: Exception) -> NoReturn:
    from rich.markup import escape

    err.print(f"[bold red]error:[/] {escape(str(exc))}")  # "[night.tick_s]" is the key, not markup
    raise typer.Exit(2)


def _open_log(url: str) -> EventLog:
    """The event log at ``url`` (a path, sqlite:///, memory://, postgresql://, nats://), or a clear
    error: an unknown scheme or an unreachable server is never taken for a file name."""
    from skywarden.log import open_log

    if "://" not in url and not Path(url).exists():
        _fail(SkywardenError(f"no event log at {url}"))
    try:
        return open_log(url)
    except SkywardenError as exc:
        _fail(exc)


def _load(path: Path | None) -> LoadedScenario:
    from skywarden.scenario import load_scenario

    try:
        return load_scenario(path)
    except SkywardenError as exc:
        _fail(exc)


def _time_arg(value: str | None, scn: LoadedScenario) -> datetime | None:
    if value is None:
        return None
    try:
        return scn.at(value)
    except ValueError as exc:
        _fail(exc)
    return None


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[clock]}"),
        TextColumn("{task.fields[extra]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    )


WorkersOpt = Annotated[
    int | None,
    typer.Option(
        min=1, max=2,
        help="Processes: 2 runs the tracker beside the other stages (the default with two cores and a simulated clock), 1 runs all in one. The log is the same.",
    ),
]


def _play(
    scn: LoadedScenario, log_url: str, until: datetime | None, resume: bool, seed: int | None,
    sinks: Sequence[Sink] | Callable[[list[Stage]], Sequence[Sink]], speed: float | None,
    source: Source | None = None, workers: int | None = None, deliver_wait_s: float = 30.0,
    signing: Signing | None | str = "env",
) -> PlayResult:
    from skywarden.events import KillNumbered, StatementPublished, TrackConfirmed
    from skywarden.log import RESUME_WAIT_S, hold_writer, open_log
    from skywarden.patient import PatientLog, is_server_url
    from skywarden.play import play_night
    from skywarden.runtime import PacedClock

    end = min(until, scn.end) if until else scn.end
    total = (end - scn.start).total_seconds()
    counts = {"tracks": 0, "kills": 0, "statements": 0}
    log = open_log(log_url, signing)
    if is_server_url(log_url):  # a server restarted mid-night: the night waits for it (skywarden.patient)
        log = PatientLog(log_url, log, on_wait=lambda why: err.print(f"[yellow]waiting:[/] {why}"), signing=signing)
    try:
        # one writer per night: a second run is refused before it replays; a resume waits out
        # the lease of a writer killed mid-night (NATS: up to 30 s), which a live writer renews
        hold_writer(log, RESUME_WAIT_S if resume else 0.0, lambda why: err.print(f"[yellow]waiting:[/] {why}"))
        with _progress() as progress:
            task = progress.add_task("playing the night", total=total, clock="", extra="")

            def on_tick(res: TickResult) -> None:
                for ev in res.derived:
                    if isinstance(ev, TrackConfirmed):
                        counts["tracks"] += 1
                    elif isinstance(ev, KillNumbered):
                        counts["kills"] += 1
                    elif isinstance(ev, StatementPublished):
                        counts["statements"] += 1
                if res.now.second == 0 or res.now >= end:
                    progress.update(
                        task,
                        completed=(res.now - scn.start).total_seconds(),
                        clock=res.now.astimezone(scn.tz).strftime("%H:%M local"),
                        extra=f"{counts['tracks']} tracks, {counts['kills']} kills, {counts['statements']} statements",
                    )

            clock = PacedClock(speed=speed) if speed else None
            result = play_night(
                scn, log, until=until, resume=resume, seed=seed, sinks=sinks, on_tick=on_tick, clock=clock, source=source,
                workers=workers,
            )
            progress.update(task, completed=total)
        return result
    finally:
        log.close()
        notary = getattr(log, "notary", None)
        if notary is not None:
            err.print(f"signing: {notary.summary()}")
        close = getattr(sinks, "close", None)  # the publishing thread: let it finish, or say what waits
        if close is not None:
            left = close(deliver_wait_s)
            if left:
                err.print(f"{left} item(s) not delivered yet: kept in the outbox, delivered on the next start (--resume)")


def _summary_table(view: NightView, title: str) -> Table:
    table = Table(title=title, show_header=False)
    for k, v in view.summary().items():
        table.add_row(k, str(v))
    return table


def _view(log_url: str, until: datetime | None = None) -> tuple[NightView, list[Incident], list[Event]]:
    """The night's projection, its incidents and its events, from one read of the log."""
    from skywarden.log.projections import fold
    from skywarden.response import build_incidents

    log = _open_log(log_url)
    try:
        events = [r.event() for r in log.read()]
    finally:
        log.close()
    view = fold(events, until=until)
    return view, build_incidents(events[: sum(view.counts.values())]), events


def _sinks(out: Path, webhook: str | None = None, token: str | None = None, *, log_url: str | None = None) -> Publishing:
    """The publishing channels: a folder and the Atom feed in ``out`` (and a webhook if given),
    behind one publisher on a thread of its own, answering into the delivery journal of the log
    at ``log_url`` (``skywarden.disclosure.delivery``); close it after the night."""
    from skywarden.disclosure.delivery import Publishing

    return Publishing(out, webhook, token, log_url=log_url)


# ---------------------------------------------------------------------------------- commands


@app.command()
def demo(
    scenario: ScenarioOpt = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("night-out"),
    seed: Annotated[int | None, typer.Option(help="Override the scenario's seed.")] = None,
    workers: WorkersOpt = None,
) -> None:
    """Play the default night end to end, write the log, report.html, statements and alerts.

    Example:  skywarden demo --out night-out
    """
    scn = _load(scenario)
    out.mkdir(parents=True, exist_ok=True)
    log_path = out / "night.sqlite"
    for stale in [*out.glob("night.sqlite*"), *out.glob("night.deliveries.sqlite*"), *out.glob("outbox.sqlite*"), out / "feed.atom"]:
        stale.unlink(missing_ok=True)
    t0 = time.perf_counter()
    try:
        result = _play(scn, str(log_path), None, False, seed, _sinks(out, log_url=str(log_path)), None, workers=workers)
    except SkywardenError as exc:
        _fail(exc)
        return
    wall = time.perf_counter() - t0
    view, incidents, events = _view(str(log_path))
    from skywarden.report import write_report

    report = write_report(view, scn, out, incidents, events=events)
    files = [*(out / "statements").glob("*.txt"), *(out / "alerts").glob("*.xml")]
    console.print(_summary_table(view, f"{scn.name}"))
    night_s = (scn.end - scn.start).total_seconds()
    console.print(
        f"played {result.ticks} ticks ({night_s / 3600:.1f} h) in {wall:.1f} s: "
        f"{night_s / wall:.0f} times faster than real time"
    )
    console.print(
        f"event log: {log_path}\nreport:    {report}\n"
        f"published: {len(files)} statements and CAP alerts in {out}/statements, {out}/alerts; feed {out / 'feed.atom'}"
    )


@app.command()
def run(
    log: Annotated[str, typer.Option("--log", "-l", help="Event log to write: a SQLite path, sqlite:///, postgresql://... or nats://...")],
    scenario: ScenarioOpt = None,
    until: Annotated[str | None, typer.Option(help="Stop at this local time (HH:MM) or ISO time.")] = None,
    resume: Annotated[bool, typer.Option(help="Continue a log that a crash or --until left unfinished.")] = False,
    seed: Annotated[int | None, typer.Option(help="Override the scenario's seed.")] = None,
    speed: Annotated[float | None, typer.Option(help="Pace the night: 1 = real time, 60 = a minute per second. Default: as fast as possible.")] = None,
    input: Annotated[Path | None, typer.Option("--input", "-i", help="Play recorded reports (JSON lines, one input event each) instead of the simulator.")] = None,
    publish: Annotated[Path | None, typer.Option(help="Publish statements and CAP alerts to this folder and its Atom feed.")] = None,
    webhook: Annotated[str | None, typer.Option(help="Also POST each published item (JSON) to this URL, with retries.")] = None,
    webhook_token: Annotated[str | None, typer.Option(envvar="SKYWARDEN_WEBHOOK_TOKEN", help="Bearer token for the webhook.")] = None,
    workers: WorkersOpt = None,
    deliver_wait: Annotated[float, typer.Option("--deliver-wait", min=0.0, help="Seconds to wait at the end for deliveries still under way (the rest stays in the outbox).")] = 30.0,
    key: Annotated[Path | None, typer.Option("--key", envvar="SKYWARDEN_KEY", help="Sign checkpoints with this site key (skywarden keys new).")] = None,
    checkpoint_every: Annotated[int, typer.Option(envvar="SKYWARDEN_CHECKPOINT_EVERY", min=1, help="Records between signed checkpoints (and one at close).")] = 1000,
    witness: Annotated[str | None, typer.Option(envvar="SKYWARDEN_WITNESS", help="Also send checkpoints to this witness: a JSON-lines file or an http(s) URL.")] = None,
) -> None:
    """Play a scenario (simulated, or a recording of reports) into an event log.

    Example:  skywarden run --log night.sqlite --until 02:00   then   skywarden run --log night.sqlite --resume
    """
    scn = _load(scenario)
    source = None
    if input is not None:
        from skywarden.ingest import JsonlSource
        from skywarden.ingest.validate import Window

        try:
            source = JsonlSource(input, window=Window.night(scn.start, scn.end))
        except OSError as exc:
            _fail(exc)
        if source is not None and source.checker.rejected:
            err.print(f"{input}: {source.checker.rejected} line(s) rejected (kept in the log as report_rejected)")
    try:
        sinks: Callable[[list[Stage]], Sequence[Sink]] | list[Sink] = (
            _sinks(publish, webhook, webhook_token, log_url=log) if publish else []
        )
        from skywarden.log.checkpoint import Signing

        signing = Signing(key, checkpoint_every, witness) if key else None
        result = _play(
            scn, log, _time_arg(until, scn), resume, seed, sinks, speed, source, workers=workers, deliver_wait_s=deliver_wait,
            signing=signing,
        )
    except SkywardenError as exc:
        _fail(exc)
        return
    if result.resumed_from:
        console.print(f"resumed after {result.resumed_from.astimezone(scn.tz):%H:%M:%S} local ({result.replay.ticks if result.replay else 0} ticks replayed)")
    console.print(f"{result.ticks} ticks appended to {result.log_url}")


@app.command("replay")
def replay_cmd(
    log: Annotated[str, typer.Argument(help="Event log to replay: a SQLite path or a log URL.")],
    until: Annotated[str | None, typer.Option(help="Replay up to this local time (HH:MM) or ISO time and show the picture then.")] = None,
    out: Annotated[str | None, typer.Option(help="Write the replayed night to this new log (a path or a log URL).")] = None,
    scenario: ScenarioOpt = None,
) -> None:
    """Feed a log's inputs through the stages again and check every derived event is reproduced.

    Example:  skywarden replay night-out/night.sqlite --until 03:10
    """
    from skywarden.log import open_log
    from skywarden.log.projections import fold
    from skywarden.pipeline import build_stages
    from skywarden.runtime import first_event, replay, scenario_of

    src = _open_log(log)
    try:
        head = first_event(src)
        from skywarden.events import NightOpened

        if not isinstance(head, NightOpened):
            _fail(SkywardenError(f"{log}: not a Skywarden night"))
            return
        scn = scenario_of(head, str(scenario) if scenario else None)
        stop = _time_arg(until, scn)
        dst = open_log(out) if out else None  # (the night's opening comes with the first tick)
        collected = []
        report, _ = replay(src, build_stages(scn), until=stop, out=dst, on_tick=lambda r: collected.extend([*r.inputs, *r.derived]))
        if dst is not None:
            dst.close()
    except SkywardenError as exc:
        _fail(exc)
        return
    finally:
        src.close()
    verdict = "identical" if report.identical else f"DIFFERENT: {report.first_difference}"
    console.print(
        f"replayed {report.ticks} ticks, {report.inputs} inputs: {report.derived_replayed} derived events "
        f"vs {report.derived_logged} in the log: {verdict}"
    )
    if stop is not None:
        view = fold([head, *collected])
        console.print(_picture_table(view, scn, stop))
    if not report.identical and stop is None:
        raise typer.Exit(1)


def _picture_table(view: NightView, scn: LoadedScenario, at: datetime) -> Table:
    table = Table(title=f"the picture at {at.astimezone(scn.tz):%H:%M:%S} local")
    for col in ("track", "class", "lat", "lon", "alt m", "threat"):
        table.add_column(col)
    pic = view.picture
    if pic is not None:
        for i, tid in enumerate(pic.track_id):
            th = view.active_threats.get(tid)
            table.add_row(tid, pic.cls[i], f"{pic.lat[i]:.4f}", f"{pic.lon[i]:.4f}", f"{pic.alt[i]:.0f}", f"{th.level} → {th.zone_id}" if th else "")
    restricted = [a for a, st in view.airports.items() if st.restricted]
    kills = view.kills_in_order()
    table.caption = (
        f"airports restricted: {', '.join(sorted(restricted)) or 'none'}; kills so far: {len(kills)}"
        + (f" (last: #{kills[-1].number} at {kills[-1].local_time})" if kills else "")
    )
    return table


@app.command()
def report(
    log: Annotated[str, typer.Argument(help="Event log of a night: a SQLite path or a log URL.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Output folder.")] = Path("night-out"),
    scenario: ScenarioOpt = None,
) -> None:
    """Write report.html (map, timeline, tables) for a logged night.

    The report is for the operators: it writes report.html and its pictures only, never
    statement or alert files (publishing is the publisher's alone: `run --publish`, `demo`,
    the live service), so a publishing folder given as --out is left as the publisher wrote it.

    Example:  skywarden report night-out/night.sqlite --out night-out
    """
    from skywarden.report import write_report
    from skywarden.runtime import scenario_of

    try:
        view, incidents, events = _view(log)
    except SkywardenError as exc:
        _fail(exc)
        return
    if view.night is None:
        _fail(SkywardenError(f"{log}: not a Skywarden night"))
        return
    try:
        scn = scenario_of(view.night, str(scenario) if scenario else None)
    except SkywardenError as exc:
        _fail(exc)
        return
    path = write_report(view, scn, out, incidents, events=events)
    console.print(f"report: {path}")


@log_app.command("tail")
def log_tail(
    log: Annotated[str, typer.Argument(help="Event log (path or URL).")],
    n: Annotated[int, typer.Option("-n", help="How many records.")] = 20,
    kind: Annotated[list[str] | None, typer.Option("--kind", "-k", help="Only these kinds (repeatable), e.g. kill_numbered.")] = None,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing new records.")] = False,
    ticks: Annotated[bool, typer.Option(help="Show tick records too.")] = False,
) -> None:
    """Print the last records of a log, as JSON lines.

    Example:  skywarden log tail night-out/night.sqlite -n 5 --kind kill_numbered
    """
    from collections import deque

    from skywarden.log import open_log

    wanted = set(kind or [])
    lg = _open_log(log)

    def keep(data: bytes) -> bool:
        k = data[9 : data.index(b'"', 9)].decode() if data.startswith(b'{"kind":"') else ""
        return (not wanted or k in wanted) and (ticks or k != "tick" or "tick" in wanted)

    try:
        last = deque((r for r in lg.read() if keep(r.data)), maxlen=n)
        seq = lg.last_seq()
        for r in last:
            sys.stdout.write(f"{r.seq}\t{r.data.decode()}\n")
        while follow:
            time.sleep(0.5)
            lg.close()
            lg = open_log(log)
            for r in lg.read(after=seq):
                if keep(r.data):
                    sys.stdout.write(f"{r.seq}\t{r.data.decode()}\n")
                seq = r.seq
            sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    finally:
        lg.close()


@scenario_app.command("new")
def scenario_new(path: Annotated[Path, typer.Argument(help="Where to write the template.")]) -> None:
    """Write a commented scenario template (a copy of the shipped night) to edit.

    Example:  skywarden scenario new my-night.toml && skywarden demo --scenario my-night.toml
    """
    from skywarden.scenario import default_scenario_path

    if path.exists():
        _fail(SkywardenError(f"{path} exists; choose another name"))
    src = default_scenario_path()
    text = src.read_text(encoding="utf-8")
    header = (
        "# Skywarden scenario template. Every table is documented in skywarden/scenario/model.py;\n"
        "# unknown keys are errors. Check it with: skywarden scenario check THIS_FILE\n"
    )
    path.write_text(header + text, encoding="utf-8")
    for line in text.splitlines():
        for key in ("roads", "policy"):
            if line.startswith(f"{key} ="):
                name = line.split("=", 1)[1].strip().strip('"')
                if name and (src.parent / name).is_file() and not (path.parent / name).exists():
                    (path.parent / name).write_bytes((src.parent / name).read_bytes())
    console.print(f"wrote {path}")


@scenario_app.command("check")
def scenario_check(path: Annotated[Path, typer.Argument(help="Scenario file.")]) -> None:
    """Validate a scenario file and say what it holds.

    Example:  skywarden scenario check my-night.toml
    """
    scn = _load(path)
    s = scn.spec
    if s.policy:  # the disclosure policy it names is checked as the night will read it
        from skywarden.disclosure.policy import load_rules

        try:
            load_rules(path.parent / s.policy)
        except SkywardenError as exc:
            _fail(exc)
    console.print(
        f"OK {path}: {s.night.name}; {len(s.zones)} zones, {len(s.districts)} districts, {len(s.airports)} airports, "
        f"{len(s.sensors)} sensors, {sum(len(st.crews) for st in s.stations)} crews, "
        f"{sum(w.count for w in s.waves)} drones in {len(s.waves)} waves"
    )


def _register_stage_commands() -> None:
    """The stages' commands (tracking, ingest, response, disclosure, service), from
    ``skywarden.commands``: modules that import their stage only when a command runs, so that
    ``--help`` and every command start without loading numba, scipy or the stages."""
    from skywarden.commands.disclosure import claim_app, statement_app
    from skywarden.commands.ingest import decode
    from skywarden.commands.log import (
        keys_app,
        log_prove,
        log_verify,
        log_verify_proof,
        log_witness,
    )
    from skywarden.commands.response import incident_app
    from skywarden.commands.service import serve, users_app
    from skywarden.commands.tracking import track

    app.command("track")(track)
    app.command("decode")(decode)
    app.add_typer(incident_app, name="incident")
    app.add_typer(claim_app, name="claim")
    app.add_typer(statement_app, name="statement")
    app.command("serve")(serve)
    app.add_typer(users_app, name="users")
    log_app.command("verify")(log_verify)
    log_app.command("prove")(log_prove)
    log_app.command("verify-proof")(log_verify_proof)
    log_app.command("witness")(log_witness)
    app.add_typer(keys_app, name="keys")


_register_stage_commands()


def main() -> None:  # pragma: no cover
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
