"""``skywarden claim`` and ``skywarden statement``: outside claims, and the press office's desk.

``claim`` records outside claims in a night's log and shows how the log assesses them;
``statement`` lists the night's statements and lets an officer approve, reject or edit one. Both
append inputs through ``skywarden.runtime.inject`` (reopen the log, rebuild the stages, append,
run one tick), so the stages, not the command line, decide: a wrong role or an unknown officer
is refused there and the refusal is logged.

A whole night's log is never decoded whole here: the commands read its first record (the
night), its tail (the latest time), the records of the kinds they list, and the disclosure
stage's state from the stage snapshot beside the log (``skywarden.snapshot``), replaying the
log only where there is no snapshot of its head.

Registered by the main command line as ``app.add_typer(claim_app, name="claim")`` and
``app.add_typer(statement_app, name="statement")``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:  # the log, the events and the stages are imported where a command runs
    from skywarden.disclosure.approval import Statement
    from skywarden.events import Event, InputEvent, NightOpened
    from skywarden.log import EventLog
    from skywarden.service.users import User

LogOpt = Annotated[
    str,
    typer.Option("--log", help="The night's event log: a SQLite path, postgresql://... or nats://..."),
]

claim_app = typer.Typer(
    help="Outside claims (press, witnesses): record them and see the log's verdict.",
    no_args_is_help=True,
)


@contextmanager
def _open(log_path: str) -> Iterator[EventLog]:
    from skywarden.errors import SkywardenError
    from skywarden.log import open_log

    # a URL goes to its backend (an unknown scheme is an error there); only a path must exist
    if "://" not in log_path and not Path(log_path).exists():
        raise typer.BadParameter(f"no event log at {log_path}", param_hint="--log")
    try:
        log = open_log(log_path)
    except SkywardenError as exc:
        raise typer.BadParameter(str(exc), param_hint="--log") from exc
    try:
        yield log
    finally:
        log.close()


@contextmanager
def _night(log_path: str) -> Iterator[tuple[EventLog, NightOpened]]:
    """The log, open, and the night it opens with (its first record)."""
    from skywarden.events import NightOpened
    from skywarden.log.peek import first_event

    with _open(log_path) as log:
        opened = first_event(log)
        if not isinstance(opened, NightOpened):
            raise typer.BadParameter(
                f"{log_path} is not a Skywarden night (no night_opened)", param_hint="--log"
            )
        yield log, opened


def _latest(log: EventLog, opened: NightOpened) -> datetime:
    """The latest time in the log: the time given to an officer's or a claim's input."""
    from skywarden.log.peek import latest_time

    return latest_time(log) or opened.t


def _when(value: str | None, opened: NightOpened, option: str) -> datetime | None:
    """ "HH:MM" (local time on the night) or ISO 8601 with an offset, as UTC."""
    if value is None:
        return None
    from skywarden.scenario.load import parse_time

    try:
        return parse_time(value, ZoneInfo(opened.timezone), opened.t)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint=option) from exc


@claim_app.command("add")
def add(
    log: LogOpt,
    source: Annotated[str, typer.Option("--source", help="Who claims it (a channel, an agency).")],
    what: Annotated[
        str,
        typer.Option("--what", help="kill, airport_closed, damage (hit, crash), drone_sighting."),
    ],
    count: Annotated[
        int | None, typer.Option("--count", min=0, help="How many, if it says.")
    ] = None,
    when_from: Annotated[
        str | None,
        typer.Option("--from", help="Start of the claimed time: HH:MM local or ISO 8601."),
    ] = None,
    when_to: Annotated[
        str | None, typer.Option("--to", help="End of the claimed time: HH:MM local or ISO 8601.")
    ] = None,
    where: Annotated[
        str, typer.Option("--where", help="District, zone or airport, or a direction (south-west).")
    ] = "",
    lat: Annotated[
        float | None, typer.Option("--lat", help="Claimed point, WGS84 degrees.")
    ] = None,
    lon: Annotated[
        float | None, typer.Option("--lon", help="Claimed point, WGS84 degrees.")
    ] = None,
    radius: Annotated[
        float | None, typer.Option("--radius", min=0.0, help="Around --lat/--lon, metres.")
    ] = None,
    text: Annotated[str, typer.Option("--text", help="The claim as published.")] = "",
) -> None:
    """Record an outside claim in the night's log; the stages assess it at once.

    Example:

        skywarden claim add --log night.db --source "Channel X" --what kill --count 12
        --from 02:00 --to 03:00 --where south-west
        --text "12 drones shot down over the south-west between 02:00 and 03:00"

        skywarden claim add --log night.db --source "Agency Y" --what airport_closed
        --from 01:00 --where Vnukovo --text "Vnukovo closed at 01:00"
    """
    from skywarden.events import KIND_OF, ClaimAssessed, ClaimRecorded, InputRefused
    from skywarden.log.peek import read_kinds

    with _night(log) as (lg, opened):
        if (lat is None) != (lon is None):
            raise typer.BadParameter("give both --lat and --lon, or neither", param_hint="--lat")
        n = sum(1 for _ in read_kinds(lg, [KIND_OF[ClaimRecorded]]))
        t = _latest(lg, opened)
    claim = ClaimRecorded(
        t=t,
        claim_id=f"CL-{n + 1:04d}",
        source=source,
        what=what,
        count=count,
        when_from=_when(when_from, opened, "--from"),
        when_to=_when(when_to, opened, "--to"),
        where=where,
        lat=lat,
        lon=lon,
        radius_m=radius,
        text=text,
    )
    derived = _inject(log, [claim])
    console = Console()
    console.print(f"recorded [bold]{claim.claim_id}[/bold] from {source}")
    for e in derived:
        if isinstance(e, ClaimAssessed) and e.claim_id == claim.claim_id:
            console.print(f"  {e.outcome}: {e.reason}")
            if e.evidence:
                console.print(f"  evidence: {', '.join(e.evidence)}")
        elif isinstance(e, InputRefused) and e.ref == claim.claim_id:
            console.print(f"  [red]refused[/red]: {e.reason}")
            raise typer.Exit(1)


@claim_app.command("list")
def list_claims(
    log: LogOpt,
) -> None:
    """The claims recorded in a night, each with its latest assessment.

    Example:

        skywarden claim list --log night.db
    """
    from skywarden.events import KIND_OF, ClaimAssessed, ClaimRecorded
    from skywarden.log.peek import read_kinds

    with _open(log) as lg:
        kinds = [KIND_OF[ClaimRecorded], KIND_OF[ClaimAssessed]]
        events = [r.event() for r in read_kinds(lg, kinds)]
    claims: dict[str, ClaimRecorded] = {}
    latest: dict[str, ClaimAssessed] = {}
    for e in events:
        if isinstance(e, ClaimRecorded):
            claims.setdefault(e.claim_id, e)
        elif isinstance(e, ClaimAssessed):
            latest[e.claim_id] = e
    table = Table(title=f"Claims in {log}")
    for col in ("id", "source", "what", "count", "where", "outcome", "reason", "evidence"):
        table.add_column(col)
    style = {"confirmed": "green", "contradicted": "red", "unconfirmed": "yellow"}
    for cid, c in claims.items():
        a = latest.get(cid)
        outcome = f"[{style[a.outcome]}]{a.outcome}[/]" if a else "-"
        table.add_row(
            cid,
            c.source,
            c.what,
            "" if c.count is None else str(c.count),
            c.where or ("point" if c.lat is not None else ""),
            outcome,
            a.reason if a else "not assessed yet",
            ", ".join(a.evidence) if a else "",
        )
    Console().print(table)


# --------------------------------------------------------------------------- statements

statement_app = typer.Typer(
    help="The night's public statements: list them; approve, reject or edit one.",
    no_args_is_help=True,
)
ScenarioOpt = Annotated[
    Path | None,
    typer.Option(
        "--scenario", help="The night's scenario file (default: the one it was played on)."
    ),
]
OfficerOpt = Annotated[str, typer.Option("--officer", help="Officer id, as in the scenario.")]
RoleOpt = Annotated[str, typer.Option("--role", help="The officer's role (publisher, editor); with a users file, the role it gives.")]
UsersOpt = Annotated[
    Path | None,
    typer.Option(
        "--users",
        envvar="SKYWARDEN_USERS",
        help="The users file (`skywarden users add`, or an exercise's exercise-users.toml): the "
        "officer signs in with their password (prompted, or SKYWARDEN_PASSWORD). Default: "
        "users.toml or exercise-users.toml beside the log, where there is one.",
    ),
]


def _users_file(log: str, users: Path | None) -> Path | None:
    if users is not None or "://" in log:  # a log on a server: the users file is named
        return users
    here = Path(log).parent
    return next((p for p in (here / "users.toml", here / "exercise-users.toml") if p.exists()), None)


def _audit(
    log: str, officer: str, action: Literal["login_failed", "refused"], target: str, reason: str, t: datetime | None = None
) -> None:
    """A failed sign-in or a refused write from the command line, as the live service logs its
    own; at ``t``, or the log's latest time."""
    import secrets

    from skywarden.events import AccessAudited

    if t is None:
        with _night(log) as (lg, opened):
            t = _latest(lg, opened)
    _inject(log, [AccessAudited(t=t, user=officer, action=action, target=target, reason=reason,
                                        remote="cli", request_id=secrets.token_hex(8))])  # fmt: skip


def _sign_in(log: str, officer: str, role: str, users: Path | None, target: str) -> tuple[str, User | None]:
    """The role the officer acts in, and the user a password proved them to be (None where no
    users file is known).

    With a users file the officer must give their password, and acts in the role the file gives
    them (the caller logs an ``OperatorOnDuty`` before their input, as the live service does at
    sign-in, so the night replays without the file: :func:`_on_duty`); a wrong password is
    audited in the log and ends the command. Without one the officer is a name, as the
    scenario's officers are in an exercise."""
    path = _users_file(log, users)
    if path is None:
        return role, None
    import os

    from skywarden.errors import ConfigError
    from skywarden.service.users import UserStore

    try:
        store = UserStore.load(path)
    except ConfigError as exc:
        raise typer.BadParameter(str(exc), param_hint="--users") from exc
    password = os.environ.get("SKYWARDEN_PASSWORD") or typer.prompt(f"password for {officer}", hide_input=True)
    user = store.verify(officer, password)
    if user is None:
        _audit(log, officer, "login_failed", target, f"wrong name or password ({path.name})")
        Console(stderr=True).print(f"[red]sign-in failed[/red] for {officer} ({path}): wrong name or password")
        raise typer.Exit(1)
    return user.role, user


def _on_duty(user: User | None, t: datetime) -> list[InputEvent]:
    """The input that puts a signed-in user on duty at ``t`` (none for a name alone)."""
    from skywarden.events import OperatorOnDuty

    return [] if user is None else [OperatorOnDuty(t=t, user=user.user, role=user.role, name=user.name)]


def _statements(
    log: EventLog, opened: NightOpened, scenario: Path | None
) -> tuple[dict[str, Statement], ZoneInfo]:
    """The night's statements as the disclosure stage holds them after the log's last tick, and
    the night's time zone: the stage from the snapshot when it is of this head (and no other
    scenario is named), else the stage replayed over the whole log."""
    from skywarden.disclosure.stage import DisclosureStage, replay_statements
    from skywarden.pipeline import DEFAULT_ORDER
    from skywarden.snapshot import restore_stage

    if scenario is None:
        stage = restore_stage(log, list(DEFAULT_ORDER), "disclosure")
        if isinstance(stage, DisclosureStage):
            return stage.statements, stage.scenario.tz
    from skywarden.runtime import scenario_of

    scn = scenario_of(opened, str(scenario) if scenario else None)
    return replay_statements(scn, [r.event() for r in log.read()]), scn.tz


def _inject(log: str, inputs: list[InputEvent]) -> list[Event]:
    """``runtime.inject``, its errors (a log that went away, a night another process is
    writing, a scenario changed) as clear ones rather than tracebacks."""
    from skywarden.errors import LogError, SkywardenError
    from skywarden.runtime import inject

    try:
        return inject(log, inputs)
    except LogError as exc:  # a night another process is writing, a server that went away
        Console(stderr=True).print(f"[bold red]error:[/] {exc}")
        raise typer.Exit(2) from exc
    except SkywardenError as exc:
        raise typer.BadParameter(str(exc), param_hint="--log") from exc


def _send(log: str, ref: str, what: str, inputs: list[InputEvent]) -> None:
    """Inject officer inputs; print what the stages made of them; exit 1 on a refusal."""
    from skywarden.events import InputRefused, StatementPublished

    derived = _inject(log, inputs)
    console = Console()
    refused = [e for e in derived if isinstance(e, InputRefused) and e.ref == ref]
    for r in refused:
        console.print(f"[red]refused[/red] ({r.input_kind}): {r.reason}")
    for e in derived:
        if isinstance(e, StatementPublished) and e.statement_id == ref:
            console.print(f"[green]published[/green] {ref}, approved by {', '.join(e.approved_by)}")
    if refused:
        raise typer.Exit(1)
    console.print(f"{what} of {ref} accepted")


def _marked(text: str, spans: list[tuple[int, int]]) -> str:
    """The text with its flagged words in reverse video, for the second approver to see."""
    from rich.markup import escape

    out, at = [], 0
    for a, b in sorted(spans):
        out += [escape(text[at:a]), f"[reverse]{escape(text[a:b])}[/reverse]"]
        at = b
    return "".join([*out, escape(text[at:])])


@statement_app.command("list")
def list_statements(log: LogOpt, scenario: ScenarioOpt = None) -> None:
    """The night's statements: state, approvals, and the English text.

    Example:

        skywarden statement list --log night.db
    """
    from skywarden.disclosure.binding import text_sha256

    with _night(log) as (lg, opened):
        statements, tz = _statements(lg, opened, scenario)
    table = Table(title=f"Statements in {log}")
    for col in ("id", "topic", "state", "approvals", "history", "sha256", "text"):
        table.add_column(col)
    style = {"published": "green", "rejected": "red", "approved": "cyan"}
    for st in statements.values():
        state = st.state
        table.add_row(
            st.statement_id,
            st.topic,
            f"[{style.get(state, 'yellow')}]{state}[/]" + (f" [magenta]{len(st.flagged)} flagged[/]" if st.flagged else ""),
            f"{len(st.approvals)}/{st.needed} {' '.join(st.approved_by)}".strip(),
            "; ".join(
                f"{a.action} {a.officer} {a.t.astimezone(tz):%H:%M:%S}".replace("  ", " ")
                for a in st.history
            ),
            text_sha256(st.text_en, st.text_ru)[:12],
            _marked(st.text_en, [(a, b) for lang, a, b in st.flagged if lang == "en"]),
        )
    Console().print(table)


@statement_app.command("approve")
def approve(
    statement_id: str,
    log: LogOpt,
    officer: OfficerOpt,
    role: RoleOpt = "publisher",
    text_sha256: Annotated[
        str,
        typer.Option(
            "--text-sha256",
            help="The SHA-256 of the text approved, as `statement list` shows it (the full hash "
            "or its first 12+ characters); default: the statement's text as the log has it now.",
        ),
    ] = "",
    scenario: ScenarioOpt = None,
    users: UsersOpt = None,
) -> None:
    """Approve the text of a drafted statement; it is published once approved and its release
    time has come. The approval names the text's SHA-256: if the text was edited since it was
    read, the approval is refused.

    Where the policy asks for two or more approvers, a name is not a person: each approver signs
    in with the users file, or the approval is refused (and audited).

    Example:

        skywarden statement approve ST-0003 --log night.db --officer duty-1 --role publisher
    """
    from skywarden.disclosure.binding import text_sha256 as digest
    from skywarden.events import StatementApproved

    target = f"statement approve {statement_id}"
    role, user = _sign_in(log, officer, role, users, target)
    with _night(log) as (lg, opened):
        st = _statements(lg, opened, scenario)[0].get(statement_id)
        t = _latest(lg, opened)
    if st is not None and st.needed > 1 and user is None:
        reason = (f"needs {st.needed} approvers, and names alone do not prove "
                  f"{st.needed} people: sign in with a users file (--users)")  # fmt: skip
        _audit(log, officer, "refused", target, reason, t)
        Console(stderr=True).print(f"[red]refused[/red]: {statement_id} {reason}")
        raise typer.Exit(1)
    current = digest(st.text_en, st.text_ru) if st is not None else ""
    named = text_sha256.strip().lower()
    if not named or (len(named) >= 12 and current.startswith(named)):
        named = current  # the text as read now, or the one the officer named by its prefix
    ev = StatementApproved(
        t=t, statement_id=statement_id, officer=officer, role=role, text_sha256=named
    )
    _send(log, statement_id, "approval", [*_on_duty(user, t), ev])


@statement_app.command("reject")
def reject(
    statement_id: str,
    log: LogOpt,
    officer: OfficerOpt,
    role: RoleOpt = "publisher",
    reason: Annotated[str, typer.Option("--reason", help="Why, for the log.")] = "",
    users: UsersOpt = None,
) -> None:
    """Reject a statement: it will never be published.

    Example:

        skywarden statement reject ST-0003 --log night.db --officer duty-2 --reason "too early"
    """
    from skywarden.events import StatementRejected

    role, user = _sign_in(log, officer, role, users, f"statement reject {statement_id}")
    with _night(log) as (lg, opened):
        t = _latest(lg, opened)
    ev = StatementRejected(
        t=t, statement_id=statement_id, officer=officer, role=role, reason=reason
    )
    _send(log, statement_id, "rejection", [*_on_duty(user, t), ev])


@statement_app.command("edit")
def edit(
    statement_id: str,
    log: LogOpt,
    officer: OfficerOpt,
    text_en: Annotated[str, typer.Option("--en", help="The new English text.")],
    text_ru: Annotated[str, typer.Option("--ru", help="The new Russian text.")],
    role: RoleOpt = "editor",
    users: UsersOpt = None,
) -> None:
    """Replace a draft's texts; approvals given so far are void and must be given again.

    An edit that names anything the disclosure policy withholds is refused.

    Example:

        skywarden statement edit ST-0003 --log night.db --officer press-1 --role editor
        --en "03:10. Air defence has destroyed a drone." --ru "03:10. Силами ПВО уничтожен беспилотник."
    """
    from skywarden.events import StatementEdited

    role, user = _sign_in(log, officer, role, users, f"statement edit {statement_id}")
    with _night(log) as (lg, opened):
        t = _latest(lg, opened)
    ev = StatementEdited(
        t=t, statement_id=statement_id, editor=officer, role=role, text_en=text_en, text_ru=text_ru
    )
    _send(log, statement_id, "edit", [*_on_duty(user, t), ev])


__all__ = ["claim_app", "statement_app"]
