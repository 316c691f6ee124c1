"""An offline basemap the city supplies: map tiles from one MBTiles or PMTiles file, served by
the service itself (``skywarden serve --basemap city.pmtiles``), never fetched from elsewhere.

Both formats hold tiles by zoom, column and row, raster (PNG, JPEG, WebP) or vector (Mapbox
Vector Tiles). :func:`open_basemap` tells them apart by their first bytes (an SQLite file is
MBTiles; ``PMTiles`` is PMTiles v3), checks what the console needs (a tile format MapLibre draws,
zoom levels), and answers :meth:`Basemap.tile` with the stored bytes as they are, naming the
compression they are stored with (vector tiles are usually gzipped; the HTTP answer then says
``Content-Encoding: gzip`` and the browser inflates them).

MBTiles rows count from the south (TMS); the console asks in XYZ, so the row is flipped here.
"""

from __future__ import annotations

import json
import mmap
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from skywarden.errors import ConfigError

# what MapLibre draws, by the formats' own names
MEDIA_TYPES = {
    "png": "image/png",
    "jpg": "image/jpeg",
    "webp": "image/webp",
    "pbf": "application/vnd.mapbox-vector-tile",
}
_PMTILES_TYPES = {1: "pbf", 2: "png", 3: "jpg", 4: "webp"}  # 5, AVIF: not every browser draws it
_PMTILES_COMPRESSION = {1: None, 2: "gzip"}  # 0 unknown is read as none; brotli and zstd refused
MAX_ZOOM = 24


@dataclass(frozen=True)
class BasemapInfo:
    """What the console needs to add the basemap under the scenario's layers."""

    name: str
    format: str  # a key of MEDIA_TYPES
    minzoom: int
    maxzoom: int
    bounds: tuple[float, float, float, float] | None  # west, south, east, north
    attribution: str = ""
    vector_layers: list[str] = field(default_factory=list)  # layer ids of a vector basemap

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name, "format": self.format, "minzoom": self.minzoom, "maxzoom": self.maxzoom,
            "bounds": list(self.bounds) if self.bounds else None, "attribution": self.attribution,
            "vector_layers": self.vector_layers, "tiles": "/api/basemap/{z}/{x}/{y}",
        }  # fmt: skip


@dataclass(frozen=True)
class Tile:
    data: bytes
    media_type: str
    encoding: str | None  # "gzip" where the stored bytes are gzipped


def _valid(z: int, x: int, y: int) -> bool:
    return 0 <= z <= MAX_ZOOM and 0 <= x < (1 << z) and 0 <= y < (1 << z)


def _bounds(value: Any, where: str) -> tuple[float, float, float, float] | None:
    if value in (None, ""):
        return None
    try:
        parts = [float(v) for v in (value.split(",") if isinstance(value, str) else value)]
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: bounds {value!r} are not four numbers") from exc
    if len(parts) != 4:
        raise ConfigError(f"{where}: bounds {value!r} are not four numbers")
    w, s, e, n = parts
    if not (-180 <= w <= 180 and -180 <= e <= 180 and -90 <= s < n <= 90):
        raise ConfigError(f"{where}: bounds {value!r} are not west, south, east, north in degrees")
    return (w, s, e, n)


def _zooms(lo: Any, hi: Any, where: str) -> tuple[int, int]:
    try:
        a, b = int(lo), int(hi)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: minzoom/maxzoom {lo!r}/{hi!r} are not whole numbers") from exc
    if not 0 <= a <= b <= MAX_ZOOM:
        raise ConfigError(f"{where}: zoom levels {a}-{b} outside 0-{MAX_ZOOM}")
    return a, b


class Basemap:
    """One tile file, open read-only for the service's life; safe to call from any thread."""

    info: BasemapInfo

    def tile(self, z: int, x: int, y: int) -> Tile | None:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError


class MBTiles(Basemap):
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self._db = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, check_same_thread=False)
            meta = dict(self._db.execute("SELECT name, value FROM metadata").fetchall())
            zooms = self._db.execute("SELECT min(zoom_level), max(zoom_level) FROM tiles").fetchone()
        except sqlite3.Error as exc:
            raise ConfigError(f"basemap {path}: not an MBTiles file ({exc})") from exc
        self._lock = threading.Lock()  # one connection, shared by the server's threads
        fmt = str(meta.get("format", "")).lower().replace("jpeg", "jpg")
        if fmt not in MEDIA_TYPES:
            raise ConfigError(f"basemap {path}: tile format {fmt or '(none)'!r}; use one of {', '.join(MEDIA_TYPES)}")
        if zooms is None or zooms[0] is None:
            raise ConfigError(f"basemap {path}: holds no tiles")
        lo, hi = _zooms(meta.get("minzoom", zooms[0]), meta.get("maxzoom", zooms[1]), f"basemap {path}")
        layers: list[str] = []
        if fmt == "pbf":
            try:
                layers = [str(v["id"]) for v in json.loads(meta.get("json", "{}")).get("vector_layers", [])]
            except (ValueError, TypeError, KeyError, AttributeError) as exc:
                raise ConfigError(f"basemap {path}: metadata 'json' does not list vector_layers ({exc})") from exc
        self.info = BasemapInfo(
            name=str(meta.get("name", path.stem)), format=fmt, minzoom=lo, maxzoom=hi,
            bounds=_bounds(meta.get("bounds"), f"basemap {path}"), attribution=str(meta.get("attribution", "")),
            vector_layers=layers,
        )  # fmt: skip

    def tile(self, z: int, x: int, y: int) -> Tile | None:
        if not _valid(z, x, y):
            return None
        with self._lock:
            row = self._db.execute(
                "SELECT tile_data FROM tiles WHERE zoom_level = ? AND tile_column = ? AND tile_row = ?",
                (z, x, (1 << z) - 1 - y),
            ).fetchone()
        if row is None:
            return None
        data = bytes(row[0])
        gz = data[:2] == b"\x1f\x8b"  # MBTiles does not say; vector tiles are gzipped by convention
        return Tile(data, MEDIA_TYPES[self.info.format], "gzip" if gz else None)

    def close(self) -> None:
        self._db.close()


class PMTiles(Basemap):
    def __init__(self, path: Path) -> None:
        from pmtiles.reader import Reader
        from pmtiles.tile import deserialize_header

        self.path = path
        self._file = path.open("rb")
        try:
            self._map = mmap.mmap(self._file.fileno(), 0, access=mmap.ACCESS_READ)
            header = deserialize_header(self._map[:127])
            self._reader = Reader(lambda offset, length: self._map[offset : offset + length])
            meta = self._reader.metadata()
        except Exception as exc:  # the library raises its own and plain errors on a damaged file
            self._file.close()  # (the map, if made, goes with the file's last reference)
            raise ConfigError(f"basemap {path}: not a PMTiles v3 archive ({exc})") from exc
        kind = _PMTILES_TYPES.get(header["tile_type"].value)
        comp = header["tile_compression"].value
        if kind is None:
            self.close()
            raise ConfigError(f"basemap {path}: tile type {header['tile_type'].name} is not one the console draws (MVT, PNG, JPEG, WebP)")
        if comp not in (0, *_PMTILES_COMPRESSION):
            self.close()
            raise ConfigError(f"basemap {path}: tiles compressed with {header['tile_compression'].name}; use none or gzip")
        self._encoding = _PMTILES_COMPRESSION.get(comp)
        lo, hi = _zooms(header["min_zoom"], header["max_zoom"], f"basemap {path}")
        bounds = (header["min_lon_e7"] / 1e7, header["min_lat_e7"] / 1e7, header["max_lon_e7"] / 1e7, header["max_lat_e7"] / 1e7)
        layers = [str(v.get("id")) for v in meta.get("vector_layers", []) if isinstance(v, dict)] if kind == "pbf" else []
        self.info = BasemapInfo(
            name=str(meta.get("name", path.stem)), format=kind, minzoom=lo, maxzoom=hi,
            bounds=_bounds(bounds, f"basemap {path}") if bounds[1] < bounds[3] else None,
            attribution=str(meta.get("attribution", "")), vector_layers=layers,
        )  # fmt: skip

    def tile(self, z: int, x: int, y: int) -> Tile | None:
        if not _valid(z, x, y):
            return None
        data = self._reader.get(z, x, y)
        if data is None:
            return None
        return Tile(bytes(data), MEDIA_TYPES[self.info.format], self._encoding)

    def close(self) -> None:
        self._map.close()
        self._file.close()


def open_basemap(path: str | Path) -> Basemap:
    """The MBTiles or PMTiles file at ``path``; a :class:`ConfigError` says what is wrong."""
    p = Path(path)
    try:
        with p.open("rb") as f:
            head = f.read(16)
    except OSError as exc:
        raise ConfigError(f"basemap {p}: {exc.strerror or exc}") from exc
    if head.startswith(b"SQLite format 3\x00"):
        return MBTiles(p)
    if head.startswith(b"PMTiles"):
        return PMTiles(p)
    raise ConfigError(f"basemap {p}: neither an MBTiles (SQLite) file nor a PMTiles archive")


__all__ = ["MEDIA_TYPES", "Basemap", "BasemapInfo", "MBTiles", "PMTiles", "Tile", "open_basemap"]
