"""The city's offline basemap: MBTiles and PMTiles files read, checked and served as tiles.

Tiles are made here: raster PNGs (matplotlib) and stand-in vector tiles (gzipped bytes; the
service passes them through as stored, so their content does not matter to it)."""

from __future__ import annotations

import gzip
import io
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from matplotlib import image as mpimg
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

from skywarden.errors import ConfigError
from skywarden.scenario import LoadedScenario
from skywarden.service.app import create_app
from skywarden.service.auth import Sessions
from skywarden.service.basemap import MBTiles, PMTiles, open_basemap
from skywarden.service.live import LiveNight
from skywarden.service.users import User, UserStore, _hasher

PASSWORD = "correct horse battery"
# Moscow at zoom 8 and 9 (XYZ), and one tile elsewhere to be sure rows are not mixed up
TILES = [(8, 154, 79), (8, 155, 79), (9, 309, 159), (9, 309, 160)]


def png(shade: int) -> bytes:
    """A valid 256x256 PNG of one grey."""
    buf = io.BytesIO()
    mpimg.imsave(buf, np.full((256, 256), shade / 255.0), cmap="gray", vmin=0, vmax=1, format="png")
    return buf.getvalue()


def make_mbtiles(path: Path, fmt: str = "png", tiles: list[tuple[int, int, int]] = TILES) -> dict[tuple[int, int, int], bytes]:
    """An MBTiles file (rows stored from the south, as the spec says); returns what it holds by XYZ."""
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE metadata (name TEXT, value TEXT);"
        "CREATE TABLE tiles (zoom_level INTEGER, tile_column INTEGER, tile_row INTEGER, tile_data BLOB);"
    )
    meta = {"name": "test city", "format": fmt, "minzoom": "8", "maxzoom": "9", "bounds": "36.8,55.1,38.4,56.2",
            "attribution": "© test contributors"}  # fmt: skip
    if fmt == "pbf":
        meta["json"] = '{"vector_layers": [{"id": "roads"}, {"id": "water"}]}'
    db.executemany("INSERT INTO metadata VALUES (?, ?)", list(meta.items()))
    held = {}
    for i, (z, x, y) in enumerate(tiles):
        data = png(40 + 30 * i) if fmt == "png" else gzip.compress(b"vector tile %d" % i)
        db.execute("INSERT INTO tiles VALUES (?, ?, ?, ?)", (z, x, (1 << z) - 1 - y, data))
        held[(z, x, y)] = data
    db.commit()
    db.close()
    return held


def make_pmtiles(path: Path, kind: str = "png", tiles: list[tuple[int, int, int]] = TILES) -> dict[tuple[int, int, int], bytes]:
    held = {(z, x, y): (png(200 - 30 * i) if kind == "png" else gzip.compress(b"mvt %d" % i)) for i, (z, x, y) in enumerate(tiles)}
    with path.open("wb") as f:
        w = Writer(f)
        for (z, x, y), data in sorted(held.items(), key=lambda kv: zxy_to_tileid(*kv[0])):
            w.write_tile(zxy_to_tileid(z, x, y), data)
        w.finalize(
            {
                "tile_type": TileType.PNG if kind == "png" else TileType.MVT,
                "tile_compression": Compression.NONE if kind == "png" else Compression.GZIP,
                "min_zoom": 8, "max_zoom": 9,
                "min_lon_e7": int(36.8e7), "min_lat_e7": int(55.1e7), "max_lon_e7": int(38.4e7), "max_lat_e7": int(56.2e7),
                "center_zoom": 8, "center_lon_e7": int(37.6e7), "center_lat_e7": int(55.75e7),
            },  # fmt: skip
            {"name": "test city", "attribution": "© test", "vector_layers": [{"id": "roads"}] if kind != "png" else []},
        )
    return held


# ---------------------------------------------------------------- the files


def test_mbtiles_raster_is_read_by_xyz(tmp_path: Path) -> None:
    held = make_mbtiles(tmp_path / "city.mbtiles")
    bm = open_basemap(tmp_path / "city.mbtiles")
    assert isinstance(bm, MBTiles)
    assert (bm.info.format, bm.info.minzoom, bm.info.maxzoom) == ("png", 8, 9)
    assert bm.info.bounds == (36.8, 55.1, 38.4, 56.2) and bm.info.attribution == "© test contributors"
    for (z, x, y), data in held.items():
        tile = bm.tile(z, x, y)
        assert tile is not None and tile.data == data and tile.media_type == "image/png" and tile.encoding is None
    assert bm.tile(9, 309, 161) is None  # inside the zoom range, no tile there
    assert bm.tile(8, 256, 0) is None and bm.tile(-1, 0, 0) is None and bm.tile(40, 0, 0) is None
    bm.close()


def test_mbtiles_vector_tiles_say_they_are_gzipped(tmp_path: Path) -> None:
    make_mbtiles(tmp_path / "v.mbtiles", fmt="pbf")
    bm = open_basemap(tmp_path / "v.mbtiles")
    assert bm.info.format == "pbf" and bm.info.vector_layers == ["roads", "water"]
    tile = bm.tile(*TILES[0])
    assert tile is not None and tile.encoding == "gzip" and tile.media_type == "application/vnd.mapbox-vector-tile"
    bm.close()


@pytest.mark.parametrize("kind", ["png", "mvt"])
def test_pmtiles_are_read_by_xyz(tmp_path: Path, kind: str) -> None:
    held = make_pmtiles(tmp_path / "city.pmtiles", kind)
    bm = open_basemap(tmp_path / "city.pmtiles")
    assert isinstance(bm, PMTiles)
    assert bm.info.format == ("png" if kind == "png" else "pbf") and (bm.info.minzoom, bm.info.maxzoom) == (8, 9)
    assert bm.info.bounds == pytest.approx((36.8, 55.1, 38.4, 56.2))
    for zxy, data in held.items():
        tile = bm.tile(*zxy)
        assert tile is not None and tile.data == data
        assert tile.encoding == (None if kind == "png" else "gzip")
    assert bm.tile(9, 0, 0) is None
    bm.close()


def test_files_that_are_not_basemaps_are_refused_with_the_reason(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="No such file"):
        open_basemap(tmp_path / "missing.pmtiles")
    (tmp_path / "text.mbtiles").write_text("not tiles at all")
    with pytest.raises(ConfigError, match="neither an MBTiles"):
        open_basemap(tmp_path / "text.mbtiles")
    make_mbtiles(tmp_path / "tiff.mbtiles", fmt="tiff")
    with pytest.raises(ConfigError, match="tile format 'tiff'"):
        open_basemap(tmp_path / "tiff.mbtiles")
    empty = tmp_path / "empty.mbtiles"
    make_mbtiles(empty, tiles=[])
    with pytest.raises(ConfigError, match="holds no tiles"):
        open_basemap(empty)
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE x (y)").connection.commit()
    with pytest.raises(ConfigError, match="not an MBTiles file"):
        open_basemap(other)
    broken = tmp_path / "broken.pmtiles"
    broken.write_bytes(b"PMTiles\x03" + b"\x00" * 40)
    with pytest.raises(ConfigError, match="not a PMTiles v3 archive"):
        open_basemap(broken)


# ---------------------------------------------------------------- served


@pytest.fixture(scope="module")
def night(scenario: LoadedScenario, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveNight]:
    live = LiveNight(scenario, str(tmp_path_factory.mktemp("basemap") / "night.sqlite"), exercise=True)
    live.open()
    yield live
    live.stop()


def _client(live: LiveNight, basemap: MBTiles | PMTiles | None) -> TestClient:
    store = UserStore([User("viewer", "viewer", _hasher.hash(PASSWORD))])
    return TestClient(create_app(live, store, Sessions(b"k" * 32), start_night=False, basemap=basemap))


def _login(client: TestClient) -> dict[str, str]:
    r = client.post("/api/login", json={"user": "viewer", "password": PASSWORD})
    assert r.status_code == 200, r.text
    client.cookies.clear()
    return {"Authorization": f"Bearer {r.json()['token']}"}


def test_the_service_serves_the_tiles_to_signed_in_users(night: LiveNight, tmp_path: Path) -> None:
    held = make_pmtiles(tmp_path / "city.pmtiles", "mvt")
    with _client(night, open_basemap(tmp_path / "city.pmtiles")) as client:
        assert client.get("/api/basemap").status_code == 401
        assert client.get("/api/basemap/8/154/79").status_code == 401
        auth = _login(client)
        info = client.get("/api/basemap", headers=auth).json()
        assert info["format"] == "pbf" and info["tiles"] == "/api/basemap/{z}/{x}/{y}" and info["vector_layers"] == ["roads"]
        r = client.get("/api/basemap/8/154/79", headers={**auth, "Accept-Encoding": "identity"})
        assert r.status_code == 200 and r.headers["content-type"] == "application/vnd.mapbox-vector-tile"
        assert r.headers["content-encoding"] == "gzip" and r.headers["cache-control"] == "private, max-age=3600"
        assert gzip.decompress(held[(8, 154, 79)]) == b"mvt 0"
        assert client.get("/api/basemap/9/0/0", headers=auth).status_code == 204
        assert client.get("/api/basemap/3/9/0", headers=auth).status_code == 204  # outside the zoom's grid
        assert client.get("/api/basemap/a/0/0", headers=auth).status_code == 422


def test_a_raster_mbtiles_tile_comes_back_byte_for_byte(night: LiveNight, tmp_path: Path) -> None:
    held = make_mbtiles(tmp_path / "city.mbtiles")
    with _client(night, open_basemap(tmp_path / "city.mbtiles")) as client:
        auth = _login(client)
        for (z, x, y), data in held.items():
            r = client.get(f"/api/basemap/{z}/{x}/{y}", headers=auth)
            assert r.status_code == 200 and r.headers["content-type"] == "image/png" and r.content == data
            assert "content-encoding" not in r.headers


def test_without_a_basemap_the_routes_say_how_to_add_one(night: LiveNight) -> None:
    with _client(night, None) as client:
        auth = _login(client)
        r = client.get("/api/basemap", headers=auth)
        assert r.status_code == 404 and "--basemap" in r.json()["detail"]
        assert client.get("/api/basemap/8/154/79", headers=auth).status_code == 404
