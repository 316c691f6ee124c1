"""``skywarden track``: re-track a recording of detections offline.

The tracker (numba, scipy) is imported when the command runs, not when the command line starts,
so the defaults its options show are written out here (``TrackDefaults``; a test holds them to
``TrackerConfig``'s).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer

if TYPE_CHECKING:
    from rich.progress import Progress

    from skywarden.tracking.recording import RowReader
    from skywarden.tracking.tracker import TrackerConfig

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
            help="Detections, CSV or Parquet: t, sensor_id, then x,y (optionally z) or lat,lon (optionally alt), optionally sigma; in time order.",
        ),
    ],
    output: Annotated[
        Path,
        typer.Option("--output", "-o", help="Tracks to write: CSV, or Parquet when it ends in .parquet."),
    ],
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
    reorder_window: Annotated[
        float,
        typer.Option(help="Seconds a row may come after later rows and still be put in order; a later one is skipped."),
    ] = 60.0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Re-track a recording: read detections, write one row per confirmed track per scan time.

    Example:

        skywarden track --input detections.csv --output tracks.parquet

    The file is read and the tracks written a block at a time (any length runs in bounded
    memory). Malformed rows, and rows more than --reorder-window seconds out of time order, are
    reported by line number on stderr and skipped; a file with no usable rows exits with code 2.
    """
    if association not in ("gnn", "jpda"):
        typer.echo(f"error: --association must be gnn or jpda, not {association!r}", err=True)
        raise typer.Exit(2)
    if sigma <= 0:
        typer.echo("error: --sigma must be positive", err=True)
        raise typer.Exit(2)
    if not (reorder_window >= 0 and reorder_window < float("inf")):
        typer.echo("error: --reorder-window must be a finite number of seconds, 0 or more", err=True)
        raise typer.Exit(2)
    from skywarden.tracking.tracker import TrackerConfig

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
    show = not quiet and sys.stderr.isatty()
    code, summary = _run(input, output, cfg, sigma, reorder_window, show)
    typer.echo(summary, err=True)
    sys.stderr.flush()
    if code:
        raise typer.Exit(code)


def _run(
    input: Path, output: Path, cfg: TrackerConfig, sigma: float, window_s: float, show_progress: bool
) -> tuple[int, str]:
    """Read, track and write; (exit code, the last line for stderr). The tracks go to a
    temporary file beside ``output`` that replaces it at the end, so a run that fails leaves
    ``output`` as it was (a device or a pipe is written in place)."""
    import os
    import tempfile

    from skywarden.geo import LocalFrame
    from skywarden.tracking.recording import (
        RecordingError,
        RowReader,
        format_of,
        open_sink,
        origin_of,
        retrack,
    )

    try:
        reader = RowReader(input, sigma, window_s, keep_problems=MAX_REPORTED)
    except OSError as exc:
        return 2, f"error: cannot read {input}: {exc.strerror or exc}"
    except RecordingError as exc:
        return 2, f"error: {exc}"
    in_place = output.exists() and not output.is_file()
    tmp: Path | None = None
    bar = _Bar(show_progress, input.name)
    try:
        frame = None
        if reader.geodetic:
            frame = LocalFrame(*origin_of(input, sigma, window_s))
        try:
            if in_place:
                fh = output.open("wb")
            else:
                fd, name = tempfile.mkstemp(prefix=f".{output.name}.", suffix=".partial", dir=output.parent)
                tmp = Path(name)
                umask = os.umask(0o022)
                os.umask(umask)
                os.fchmod(fd, 0o666 & ~umask)  # as open() would make it, not mkstemp's 0600
                fh = os.fdopen(fd, "wb")
        except OSError as exc:
            return 2, f"error: cannot write {output}: {exc.strerror or exc}"
        with fh:
            sink = open_sink(fh, format_of(output), reader, frame)
            written = retrack(reader, cfg, sink, frame, bar.update)
            sink.close()
        if tmp is not None:
            os.replace(tmp, output)
            tmp = None
    except RecordingError as exc:
        bar.stop()
        _report(reader)
        return 2, f"error: {exc}"
    except OSError as exc:
        bar.stop()
        return 2, f"error: cannot write {output}: {exc.strerror or exc}"
    finally:
        bar.stop()
        reader.close()
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    _report(reader)
    return 0, (
        f"{reader.rows_read} rows read, {reader.rows_used} used, {reader.n_problems} malformed skipped; "
        f"{written} track rows written to {output}"
    )


def _report(reader: RowReader) -> None:
    for line, reason in reader.problems[:MAX_REPORTED]:
        typer.echo(f"{reader.where(line)}: skipped: {reason}", err=True)
    if reader.n_problems > MAX_REPORTED:
        typer.echo(f"... and {reader.n_problems - MAX_REPORTED} more malformed lines", err=True)


class _Bar:
    """A progress bar on stderr (Rich) for a long run, by the share of the file read: it shows
    once a run has taken SKYWARDEN_PROGRESS_AFTER_S seconds (default 0.5), and only when
    asked (stderr a terminal, no --quiet); it goes away before the summary line."""

    def __init__(self, enabled: bool, label: str) -> None:
        import os
        import time

        self.enabled, self.label = enabled, label
        self.clock = time.monotonic
        try:
            delay = float(os.environ.get("SKYWARDEN_PROGRESS_AFTER_S", "0.5"))
        except ValueError:
            delay = 0.5
        self.after = self.clock() + delay
        self.progress: Progress | None = None

    def update(self, done: int, total: int) -> None:
        if not self.enabled or (self.progress is None and self.clock() < self.after):
            return
        if self.progress is None:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                Progress,
                TaskProgressColumn,
                TextColumn,
                TimeRemainingColumn,
            )

            self.progress = Progress(
                TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(), TimeRemainingColumn(),
                console=Console(stderr=True), transient=True,
            )
            self.progress.start()
            self.progress.add_task(f"tracking {self.label}", total=total)
        self.progress.update(self.progress.task_ids[0], completed=done)

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()
            self.progress = None
