"""``skywarden incident``: the night's incidents, read from an event log.

    skywarden incident list --log night.db
    skywarden incident show 3 --log night.db
    skywarden incident show kill:31 --log night.db
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from skywarden.errors import SkywardenError

if TYPE_CHECKING:
    from skywarden.log.incidents import Incident

incident_app = typer.Typer(help="Incidents: one drone's whole story, from the event log.", no_args_is_help=True)

LogOption = Annotated[str, typer.Option("--log", help="Event log: a SQLite path or a log URL.")]


def _load(log: str) -> tuple[list[Incident], ZoneInfo]:
    """The night's incidents and time zone, from the events they need (not the whole log)."""
    from skywarden.log import open_log
    from skywarden.log.incidents import build_incidents, incident_events, night_timezone

    if "://" not in log and not Path(log).exists():
        raise typer.BadParameter(f"no event log at {log}", param_hint="--log")
    try:
        el = open_log(log)
        try:
            events = incident_events(el)
        finally:
            el.close()
    except SkywardenError as exc:
        raise typer.BadParameter(str(exc), param_hint="--log") from exc
    return build_incidents(events), night_timezone(events)


def _hm(t: datetime | None, tz: ZoneInfo, seconds: bool = False) -> str:
    if t is None:
        return ""
    return t.astimezone(tz).strftime("%H:%M:%S" if seconds else "%H:%M")


@incident_app.command("list")
def list_incidents(log: LogOption) -> None:
    """List the night's incidents, by first time.

    Example:

        skywarden incident list --log night.db
    """
    incidents, tz = _load(log)
    console = Console()
    table = Table(title=f"Incidents ({len(incidents)}), times {tz.key}")
    for col in ("#", "incident", "first seen", "class", "threat", "airports", "kill", "at", "near", "status"):
        table.add_column(col, justify="right" if col in ("#", "kill") else "left")
    for n, inc in enumerate(incidents, start=1):
        kill = ", ".join(f"#{k.number}" + (" (retracted)" if k.retracted else "") for k in inc.kills)
        threat = f"{inc.max_level} -> {', '.join(inc.zones)}" if inc.zones else ""
        table.add_row(
            str(n),
            inc.incident_id,
            _hm(inc.first_t, tz, seconds=True),
            inc.cls,
            threat,
            ", ".join(inc.airports),
            kill,
            inc.kill_time,
            inc.near,
            inc.status,
        )
    console.print(table)


@incident_app.command("show")
def show_incident(
    key: Annotated[str, typer.Argument(help='Number in the list, incident id, or "kill:31".')],
    log: LogOption,
) -> None:
    """Show one incident's timeline.

    Example:

        skywarden incident show kill:31 --log night.db
    """
    from skywarden.log.incidents import find_incident

    incidents, tz = _load(log)
    inc = find_incident(incidents, key)
    if inc is None:
        raise typer.BadParameter(f"no incident {key!r} (there are {len(incidents)})", param_hint="KEY")
    console = Console()
    head = [f"[bold]{inc.incident_id}[/bold]"]
    if inc.track_id:
        head.append(f"track {inc.track_id}")
    if inc.cls:
        head.append(inc.cls)
    for k in inc.kills:
        head.append(f"kill #{k.number} at {k.local_time}" + (" (retracted)" if k.retracted else ""))
    head.append(f"status: {inc.status}")
    if inc.last_position is not None:
        head.append(f"last seen {inc.last_position[0]:.4f}, {inc.last_position[1]:.4f}")
    console.print(" | ".join(head))
    table = Table(show_header=True, header_style="bold")
    table.add_column(f"time ({tz.key})", no_wrap=True)
    table.add_column("what happened")
    for entry in inc.timeline:
        table.add_row(_hm(entry.t, tz, seconds=True), entry.text)
    console.print(table)
