"""The sensors file (``--sensors FILE``, TOML): where the sensors that report relative to
themselves stand.

ASTERIX CAT048 gives a plot's range and azimuth from its radar, named only by SAC/SIC, and a
SAPIENT node may report range and bearing from itself; neither says where it stands, so the
site comes from this file::

    [[radar]]                  # one table per radar (ASTERIX SAC/SIC)
    sac = 25
    sic = 10
    lat = 55.9                 # WGS84 degrees
    lon = 37.4
    alt = 190.0                # antenna, metres above the ellipsoid
    id = "radar-north"         # optional; default "asterix-25-10"
    sigma_range_m = 50.0       # optional 1-sigma errors (defaults below)
    sigma_azimuth_deg = 0.1
    sigma_elevation_deg = 0.5  # of an elevation computed from a flight level

    [[sapient]]                # a SAPIENT node whose detections are range/bearing
    node_id = "0a5e2d3c-..."   # the node's UUID as it sends it
    lat = 55.7
    lon = 37.6
    alt = 150.0
    id = "rf-kremlin"          # optional; default "sapient-" + the first 8 characters
    kind = "rf"                # optional: radar, rf, camera, acoustic

    [[listener]]               # a live feed for skywarden serve (as its flags give them)
    kind = "sapient"           # sapient, asterix-udp, beast, remoteid-udp
    address = "0.0.0.0:5020"   # HOST:PORT (beast: the receiver's); GROUP:PORT@IFACE for multicast

Unknown keys are refused, so a misspelt key is an error rather than a silent default.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import msgspec

from skywarden.errors import ConfigError
from skywarden.events import SensorKind
from skywarden.geo import CoordinateError, check_lat_lon
from skywarden.ingest.validate import BOUNDS

__all__ = ["ListenerSpec", "RadarSite", "SapientSite", "SensorSites", "load_sensors"]


class RadarSite(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    sac: int
    sic: int
    lat: float
    lon: float
    alt: float
    id: str = ""
    sigma_range_m: float = 50.0
    sigma_azimuth_deg: float = 0.1
    sigma_elevation_deg: float = 0.5
    # a plot without a flight level is placed at the radar's horizon with this 1-sigma
    sigma_elevation_unknown_deg: float = 5.0
    sigma_m: float = 100.0  # CAT062 tracks of this SAC/SIC without estimated accuracies

    @property
    def sensor_id(self) -> str:
        return self.id or f"asterix-{self.sac}-{self.sic}"


class SapientSite(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    node_id: str
    lat: float
    lon: float
    alt: float
    id: str = ""
    kind: SensorKind = "radar"

    @property
    def sensor_id(self) -> str:
        return self.id or f"sapient-{self.node_id[:8]}"


class ListenerSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    kind: Literal["sapient", "asterix-udp", "beast", "remoteid-udp"]
    address: str


class _File(msgspec.Struct, forbid_unknown_fields=True):
    radar: list[RadarSite] = []
    sapient: list[SapientSite] = []
    listener: list[ListenerSpec] = []


@dataclass(frozen=True)
class SensorSites:
    """Radars by (SAC, SIC), SAPIENT nodes by node id, and the live feeds to listen to."""

    radars: dict[tuple[int, int], RadarSite]
    sapient: dict[str, SapientSite]
    listeners: tuple[ListenerSpec, ...] = ()

    @classmethod
    def empty(cls) -> SensorSites:
        return cls({}, {})


def load_sensors(path: str | Path | None) -> SensorSites:
    """Read a sensors file; ``None`` gives no sites. Raises ``ConfigError`` naming the problem."""
    if path is None:
        return SensorSites.empty()
    p = Path(path)
    try:
        doc = msgspec.toml.decode(p.read_bytes(), type=_File)
    except OSError as exc:
        raise ConfigError(f"{p}: {exc.strerror or exc}") from exc
    except msgspec.ValidationError as exc:
        raise ConfigError(f"{p}: {exc}") from exc
    except msgspec.DecodeError as exc:  # invalid UTF-8 too
        raise ConfigError(f"{p}: not valid TOML: {exc}") from exc
    except RecursionError:
        raise ConfigError(f"{p}: nested too deep") from None
    radars: dict[tuple[int, int], RadarSite] = {}
    for r in doc.radar:
        where = f"{p}: radar SAC {r.sac} SIC {r.sic}"
        if not (0 <= r.sac <= 255 and 0 <= r.sic <= 255):
            raise ConfigError(f"{where}: SAC and SIC are bytes (0-255)")
        if (r.sac, r.sic) in radars:
            raise ConfigError(f"{where}: listed twice")
        sigmas = {
            "sigma_range_m": r.sigma_range_m, "sigma_azimuth_deg": r.sigma_azimuth_deg,
            "sigma_elevation_deg": r.sigma_elevation_deg, "sigma_elevation_unknown_deg": r.sigma_elevation_unknown_deg,
            "sigma_m": r.sigma_m,
        }  # fmt: skip
        for name, v in sigmas.items():  # the bounds of the reports they will make (NaN fails)
            b = BOUNDS[name.replace("_unknown", "")]
            if not b.holds(v):
                raise ConfigError(f"{where}: {name} {v} is outside {b}")
        _check_site(where, r.lat, r.lon, r.alt)
        radars[(r.sac, r.sic)] = r
    nodes: dict[str, SapientSite] = {}
    for n in doc.sapient:
        where = f"{p}: sapient node {n.node_id!r}"
        if not n.node_id or n.node_id in nodes:
            raise ConfigError(f"{where}: node_id empty or listed twice")
        _check_site(where, n.lat, n.lon, n.alt)
        nodes[n.node_id] = n
    return SensorSites(radars, nodes, tuple(doc.listener))


def _check_site(where: str, lat: float, lon: float, alt: float) -> None:
    try:
        check_lat_lon(lat, lon)
    except CoordinateError as exc:
        raise ConfigError(f"{where}: {exc}") from exc
    if not -1000 <= alt <= 20000:  # (False for NaN)
        raise ConfigError(f"{where}: alt {alt} m is not a ground site's height")
