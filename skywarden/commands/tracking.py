"""``skywarden track``: re-track a recording of detections offline.

The tracker (numba, scipy) is imported when the command runs, not when the command line starts,
so the defaults its options show are written out here (``TrackDefaults``; a test holds them to
``TrackerConfig``'s).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Literal

import typer

__all__ = ["MAX_REPORTED", "TrackDefaults", "track"]


@dataclass(frozen=True)
class TrackDefaults:
    """``TrackerConfig()``'s values of the knobs ``skywarden track`` sets, by the same names."""

    q_cv: float = 0.5
    q_turn: float = 4.0
    turn_rate_deg_s: float = 6.0
    gate_chi2: float = 16.26623619623813  # the chi-square 0.999 quantile, 3 degrees of freedom
    confirm_m: int = 3
    confirm_n: int = 4
    delete_misses: int = 6
    delete_after_s: float = 30.0
    association: str = "gnn"


_D = TrackDefaults()
MAX_REPORTED = 20  # malformed lines listed one by one; the rest are counted


def track(
    input: Annotated[
        Path,
        typer.Option(
            "--input",
            "-i",
            help="Detections CSV: t, sensor_id, then x,y (optionally z) or lat,lon (optionally alt), optionally sigma.",
        ),
    ],
    output: Annotated[Path, typer.Option("--output", "-o", help="Tracks CSV to write.")],
    sigma: Annotated[
        float, typer.Option(help="1-sigma position error (m) for rows without a sigma column.")
    ] = 50.0,
    q_cv: Annotated[
        float, typer.Option(help="Process noise of straight flight, m^2/s^3.")
    ] = _D.q_cv,
    q_turn: Annotated[
        float, typer.Option(help="Process noise of the turning modes, m^2/s^3.")
    ] = _D.q_turn,
    turn_rate: Annotated[
        float, typer.Option(help="Turn rate of the coordinated-turn modes, deg/s.")
    ] = _D.turn_rate_deg_s,
    gate: Annotated[
        float, typer.Option(help="Chi-square gate on the innovation (3 degrees of freedom).")
    ] = _D.gate_chi2,
    confirm_m: Annotated[int, typer.Option(help="Confirm a track after M hits ...")] = _D.confirm_m,
    confirm_n: Annotated[int, typer.Option(help="... within its first N looks.")] = _D.confirm_n,
    delete_misses: Annotated[
        int, typer.Option(help="Drop a track missed by this many looks in a row.")
    ] = _D.delete_misses,
    delete_after: Annotated[
        float, typer.Option(help="Drop a track unseen this many seconds.")
    ] = _D.delete_after_s,
    association: Annotated[
        str, typer.Option(help="gnn (global nearest neighbour) or jpda (dense clutter).")
    ] = _D.association,
) -> None:
    """Re-track a recording: read detections, write one row per confirmed track per scan time.

    Example:

        skywarden track --input detections.csv --output tracks.csv

    Malformed rows are reported by line number on stderr and skipped; a file with no
    usable rows exits with code 2.
    """
    from skywarden.tracking.recording import RecordingError, read_detections, retrack
    from skywarden.tracking.tracker import TrackerConfig

    if association not in ("gnn", "jpda"):
        typer.echo(f"error: --association must be gnn or jpda, not {association!r}", err=True)
        raise typer.Exit(2)
    assoc: Literal["gnn", "jpda"] = "jpda" if association == "jpda" else "gnn"
    try:
        cfg = TrackerConfig(
            q_cv=q_cv,
            q_turn=q_turn,
            turn_rate_deg_s=turn_rate,
            gate_chi2=gate,
            confirm_m=confirm_m,
            confirm_n=confirm_n,
            delete_misses=delete_misses,
            delete_after_s=delete_after,
            association=assoc,
        )
    except ValueError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    if sigma <= 0:
        typer.echo("error: --sigma must be positive", err=True)
        raise typer.Exit(2)
    try:
        det = read_detections(input, sigma)
    except OSError as exc:
        typer.echo(f"error: cannot read {input}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from exc
    except (RecordingError, UnicodeDecodeError) as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc
    for line, reason in det.problems[:MAX_REPORTED]:
        typer.echo(f"{input}:{line}: skipped: {reason}", err=True)
    if len(det.problems) > MAX_REPORTED:
        typer.echo(f"... and {len(det.problems) - MAX_REPORTED} more malformed lines", err=True)
    try:
        with output.open("w", newline="", encoding="utf-8") as fh:
            written = retrack(det, cfg, fh)
    except OSError as exc:
        typer.echo(f"error: cannot write {output}: {exc.strerror or exc}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(
        f"{det.rows_read} rows read, {len(det.sensor)} used, {len(det.problems)} malformed skipped; "
        f"{written} track rows written to {output}",
        err=True,
    )
    sys.stderr.flush()
