"""``skywarden decode``: a recording in a sensor standard, into the JSON lines ``skywarden run
--input`` plays."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from skywarden.errors import ConfigError

if TYPE_CHECKING:  # the decoders (and pyproj, through the report checks) load when decode runs
    from skywarden import events as E
    from skywarden.ingest.wire import Decoder

__all__ = ["decode"]

Format = Literal["adsb", "asterix", "sapient", "remoteid"]
CHUNK = 1 << 16
PROGRESS_FROM = 4 << 20  # bytes: smaller inputs finish before a bar is worth drawing

console = Console()
err = Console(stderr=True)


def _fail(msg: str) -> None:
    err.print(f"[bold red]error:[/] {msg}")
    raise typer.Exit(2)


def _start(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        t = datetime.fromisoformat(value)
    except ValueError:
        _fail(f"--start {value!r} is not an ISO 8601 time")
        raise
    if t.tzinfo is None:
        _fail("--start needs a zone, e.g. 2025-03-11T00:10:00Z")
    return t


def _framing(fmt: str, given: str | None, path: Path) -> str:
    choices = {"adsb": ("beast", "avr", "jsonl"), "asterix": ("raw", "pcap"), "sapient": ("stream",), "remoteid": ("binary", "jsonl")}[fmt]
    if given is not None:
        if given not in choices:
            _fail(f"--framing for {fmt} is one of {', '.join(choices)}")
        return given
    suffix = path.suffix.lower()
    guess = {".jsonl": "jsonl", ".json": "jsonl", ".avr": "avr", ".txt": "avr", ".pcap": "pcap", ".pcapng": "pcap", ".cap": "pcap"}.get(suffix)
    return guess if guess in choices else choices[0]


def _decoder(fmt: str, framing: str, sensors: Path | None, start: datetime | None, name: str) -> Decoder:
    from skywarden.ingest.sensors import load_sensors

    try:
        sites = load_sensors(sensors)
    except ConfigError as exc:
        _fail(str(exc))
        raise
    src = f"file:{name}"
    if fmt == "adsb":
        from skywarden.ingest.adsb import AdsbDecoder

        return AdsbDecoder(framing, start=start, source=src)  # type: ignore[arg-type]  # checked by _framing
    if fmt == "asterix":
        from skywarden.ingest.asterix import AsterixDecoder

        return AsterixDecoder(sites, start=start, source=src)
    if fmt == "sapient":
        from skywarden.ingest.sapient import SapientDecoder

        return SapientDecoder(sites, source=src)
    from skywarden.ingest.remoteid import RemoteIdDecoder

    return RemoteIdDecoder(framing, start=start, source=src)  # type: ignore[arg-type]


def _events(dec: Decoder, path: Path, framing: str, progress: Progress | None) -> Iterator[E.InputEvent]:
    size = path.stat().st_size
    task = progress.add_task(f"decoding {path.name}", total=size) if progress else None
    if framing == "pcap":
        from skywarden.ingest.asterix import AsterixDecoder
        from skywarden.ingest.pcap import PcapReader

        assert isinstance(dec, AsterixDecoder)
        reader = PcapReader(path)
        for gram in reader:
            yield from dec.feed_datagram(gram.payload, gram.t)
        if reader.error:
            err.print(f"{path}: {reader.error} (reading stopped there)")
        for why, n in sorted(reader.skipped.items()):
            err.print(f"{path}: {n} packet(s) skipped: {why}")
        if progress and task is not None:
            progress.update(task, completed=size)
        return
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK):
            yield from dec.feed(chunk)
            if progress and task is not None:
                progress.advance(task, len(chunk))
    yield from dec.close()


def decode(
    format: Annotated[str, typer.Argument(help="adsb, asterix, sapient or remoteid.")],
    input: Annotated[Path, typer.Argument(help="The recording.", exists=True, dir_okay=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="JSON lines to write (what run --input plays).")],
    sensors: Annotated[Path | None, typer.Option(help="Sensors TOML: [[radar]] sites by SAC/SIC, [[sapient]] node sites.")] = None,
    start: Annotated[str | None, typer.Option(help="UTC time of the recording's start (ISO 8601): dates receiver counters (Beast, AVR) and ASTERIX / Remote ID times of day.")] = None,
    framing: Annotated[str | None, typer.Option(help="adsb: beast, avr, jsonl; asterix: raw, pcap; remoteid: binary, jsonl (default: from the file name).")] = None,
    rejects: Annotated[Path | None, typer.Option(help="Also write each rejection (report_rejected) here as JSON lines.")] = None,
) -> None:
    """Decode a recording in a sensor standard into reports (JSON lines) for run --input.

    Example:  skywarden decode adsb receiver.bin --start 2025-03-10T21:00:00Z --output adsb.jsonl
    then      skywarden run --log night.sqlite --input adsb.jsonl
    """
    from skywarden import events as E
    from skywarden.ingest.jsonl import ReportChecker

    fmt = format.lower()
    if fmt not in ("adsb", "asterix", "sapient", "remoteid"):
        _fail(f"unknown format {format!r}: adsb, asterix, sapient or remoteid")
    fr = _framing(fmt, framing, input)
    dec = _decoder(fmt, fr, sensors, _start(start), input.name)
    # the checks run --input makes (coordinates, order, duplicates): what is written here plays there
    checker = ReportChecker(source=f"file:{input.name}")
    written = 0
    refused: Counter[str] = Counter()
    rej_fh = rejects.open("wb") if rejects else None
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(), TimeElapsedColumn(), console=err, transient=True) if input.stat().st_size >= PROGRESS_FROM else None
    try:
        with output.open("wb") as out:
            if progress:
                progress.start()
            for ev in _events(dec, input, fr, progress):
                if isinstance(ev, E.ReportRejected):
                    if rej_fh:
                        rej_fh.write(E.encode(ev) + b"\n")
                    continue
                line = E.encode(ev)
                checked = checker.check(line)
                if isinstance(checked, E.ReportRejected):
                    refused[checked.reason.split(":")[0]] += 1
                    if rej_fh:
                        rej_fh.write(E.encode(checked) + b"\n")
                    continue
                out.write(line + b"\n")
                written += 1
    except OSError as exc:
        _fail(f"{exc.filename or output}: {exc.strerror or exc}")
    finally:
        if progress:
            progress.stop()
        if rej_fh:
            rej_fh.close()
    _summary(dec, written, refused, output)


def _summary(dec: Decoder, written: int, refused: Counter[str], output: Path) -> None:
    c = dec.counts
    table = Table(title=f"{output}: {written} reports written")
    table.add_column("")
    table.add_column("reason")
    table.add_column("count", justify="right")
    for why, n in c.rejected.most_common():
        table.add_row("rejected", why, str(n))
    for why, n in refused.most_common():
        table.add_row("refused by the report checks", why, str(n))
    for why, n in c.ignored.most_common(12):
        table.add_row("no report (valid)", why, str(n))
    console.print(table)
    console.print(f"accepted {written}, rejected {c.n_rejected + sum(refused.values())}")
