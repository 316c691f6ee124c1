"""Regenerate the district sectors of the shipped Moscow scenario (prints TOML tables).

The districts are simplified: the Central okrug as a disc, the eight other okrugs inside the ring
road as 45-degree sectors, and four quadrants of the surrounding region. Run:
    python tools/make_moscow_city.py > /tmp/districts.toml
"""

from pyproj import Geod

G = Geod(ellps="WGS84")
LAT0, LON0 = 55.7539, 37.6208


def pt(bearing: float, r: float) -> tuple[float, float]:
    lon, lat, _ = G.fwd(LON0, LAT0, bearing, r)
    return round(lat, 5), round(lon, 5)


def ring(points):
    pts = list(points)
    return "[" + ", ".join(f"[{a}, {b}]" for a, b in pts + [pts[0]]) + "]"


def sector(b0, b1, r0, r1, step=5.0):
    out, b = [], b0
    while b <= b1 + 1e-9:
        out.append(pt(b, r1))
        b += step
    b = b1
    while b >= b0 - 1e-9:
        out.append(pt(b, r0))
        b -= step
    return out


okrugs = [
    ("north", "Northern", "Северный", -22.5),
    ("north_east", "North-Eastern", "Северо-Восточный", 22.5),
    ("east", "Eastern", "Восточный", 67.5),
    ("south_east", "South-Eastern", "Юго-Восточный", 112.5),
    ("south", "Southern", "Южный", 157.5),
    ("south_west", "South-Western", "Юго-Западный", 202.5),
    ("west", "Western", "Западный", 247.5),
    ("north_west", "North-Western", "Северо-Западный", 292.5),
]
print("[[districts]]")
print('id = "central"\nname = "Central district"\nname_ru = "Центральный округ"')
print("polygon = " + ring(pt(b, 4500) for b in range(0, 360, 15)))
for ident, en, ru, b0 in okrugs:
    print(f'\n[[districts]]\nid = "{ident}"\nname = "{en} district"\nname_ru = "{ru} округ"')
    print("polygon = " + ring(sector(b0, b0 + 45, 4500, 18000)))
for ident, en, ru, b0 in [
    ("region_north", "Moscow Region, north", "Московская область, север", -45),
    ("region_east", "Moscow Region, east", "Московская область, восток", 45),
    ("region_south", "Moscow Region, south", "Московская область, юг", 135),
    ("region_west", "Moscow Region, west", "Московская область, запад", 225),
]:
    print(f'\n[[districts]]\nid = "{ident}"\nname = "{en}"\nname_ru = "{ru}"')
    print("polygon = " + ring(sector(b0, b0 + 90, 18000, 100000, step=7.5)))
