"""The whole default night through `skywarden demo`: what the duty officer is promised."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from skywarden import events as E
from skywarden.cli import app
from skywarden.log import SqliteLog
from skywarden.log.projections import fold


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory) -> Path:  # type: ignore[no-untyped-def]
    out = tmp_path_factory.mktemp("demo")
    res = CliRunner().invoke(app, ["demo", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "times faster than real time" in res.output
    return out


@pytest.fixture(scope="module")
def view(demo_out):  # type: ignore[no-untyped-def]
    log = SqliteLog(demo_out / "night.sqlite")
    assert log.verify().records > 10_000
    v = fold(r.event() for r in log.read())
    log.close()
    return v


@pytest.mark.slow
def test_forty_numbered_kills_the_31st_at_0310_near_the_capital(view, scenario):
    kills = view.kills_in_order()
    assert len(kills) >= 40
    assert [k.number for k in kills] == sorted({k.number for k in kills})
    k31 = next(k for k in kills if k.number == 31)
    assert k31.local_time == "03:10"
    assert k31.t.astimezone(scenario.tz).strftime("%H:%M") == "03:10"
    from skywarden.geo import distance_m

    assert distance_m(k31.lat, k31.lon, scenario.spec.city.lat, scenario.spec.city.lon) < 40_000


@pytest.mark.slow
def test_tracks_classified_and_threats_raised(view):
    classes = view.classes()
    assert classes["drone"] >= 30 and classes["bird"] >= 1 and classes["manned_aircraft"] >= 1
    assert len(view.threatened_tracks) >= 30


@pytest.mark.slow
def test_an_airport_restricted_and_lifted(view):
    closed = [st for st in view.airports.values() if any(b is not None for _, b in st.intervals)]
    assert closed, "no airport was restricted and lifted"


@pytest.mark.slow
def test_crash_sites_crews_queue_and_recovery(view):
    assert len(view.debris) >= 40
    assert len(view.dispatches) >= 10
    assert view.queued, "crews never ran short"
    assert view.recovered_sites()
    k31 = next(k for k in view.kills_in_order() if k.number == 31)
    site = next(d for d in view.debris if d.kill_number == 31)
    assert any(d.site_id == site.site_id for d in view.dispatches)
    assert view.crew_status[site.site_id].status in ("wreckage_recovered", "site_closed")
    assert k31.incident_id == site.incident_id


@pytest.mark.slow
def test_statements_approved_and_published_and_alerts(view, demo_out):
    assert view.published
    for p in view.published:
        assert p.approved_by
        assert p.delay_s >= 0
    assert any("31st" in p.text_en for p in view.published)
    types = {a.msg_type for a in view.alerts}
    assert {"Alert", "Cancel"} <= types
    assert len(list((demo_out / "statements").glob("*.txt"))) == len(view.published)
    assert len(list((demo_out / "alerts").glob("*.xml"))) == len(view.alerts)


@pytest.mark.slow
def test_outside_claims_get_every_verdict(view, scenario):
    assert set(view.assessments) == {c.id for c in scenario.spec.claims}
    assert {a.outcome for a in view.assessments.values()} == {"confirmed", "unconfirmed", "contradicted"}


@pytest.mark.slow
def test_report_has_pictures_and_tables(demo_out, view):
    html = (demo_out / "report.html").read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") == 2
    assert "Kills" in html and "03:10" in html
    assert (demo_out / "map.png").stat().st_size > 50_000
    assert view.counts[E.kind(E.Tick(t=view.first_t))] == view.ticks  # type: ignore[arg-type]
