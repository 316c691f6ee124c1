"""Kill matching and numbering: nearest track, corrections, duplicates, per-day numbers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from skywarden.errors import TransitionError
from skywarden.events import (
    InputRefused,
    KillDuplicate,
    KillNumbered,
    KillReported,
    KillRetracted,
    KillWithdrawn,
    ThreatRaised,
    TrackPicture,
)
from skywarden.response.kills import KillConfig, KillStage, check_transition


def picture(scenario, t, tracks, cls=None):
    """{track_id: (east, north, ve, vn)} local metres -> TrackPicture; ``cls`` {id: class}."""
    ids = sorted(tracks)
    lat, lon = [], []
    for tid in ids:
        a, b = scenario.frame.latlon(tracks[tid][0], tracks[tid][1])
        lat.append(a)
        lon.append(b)
    n = len(ids)
    cls = cls or {}
    return TrackPicture(
        t=t, track_id=ids, lat=lat, lon=lon, alt=[500.0] * n,
        ve=[tracks[k][2] for k in ids], vn=[tracks[k][3] for k in ids], vu=[0.0] * n,
        sigma_m=[60.0] * n, cls=[cls.get(k, "drone") for k in ids], p_cls=[0.9] * n,
    )  # fmt: skip


def report(scenario, t, rid, east, north, track_ref=None):
    lat, lon = scenario.frame.latlon(east, north)
    return KillReported(t=t, report_id=rid, lat=lat, lon=lon, alt=300.0, track_ref=track_ref, unit="u1", effector="e1")


def fly(stage, scenario, t0, seconds, tracks_at, cls=None):
    """Feed a second-by-second track picture; ``tracks_at(k)`` gives positions at second k."""
    for k in range(seconds):
        t = t0 + timedelta(seconds=k)
        assert stage.step(t, [picture(scenario, t, tracks_at(k), cls)]) == []


def two_tracks(k):
    # A flies west 10 km north of the centre, B flies north 10 km west of it; 40 m/s each
    return {"A": (20_000.0 - 40.0 * k, 10_000.0, -40.0, 0.0), "B": (-10_000.0, -20_000.0 + 40.0 * k, 0.0, 40.0)}


def test_kill_is_matched_to_the_nearest_track_at_its_time(scenario):
    stage = KillStage(scenario)
    t0 = scenario.start
    fly(stage, scenario, t0, 100, two_tracks)
    # B was killed at second 60; the command reports it 25 s later, 250 m to the side, while the
    # tracker still coasts B along (A is 30 km away)
    b_then = two_tracks(60)["B"]
    t_rep = t0 + timedelta(seconds=85)
    (ev,) = stage.step(t0 + timedelta(seconds=100), [report(scenario, t_rep, "R1", b_then[0] + 250.0, b_then[1])])
    assert isinstance(ev, KillNumbered)
    assert ev.track_id == "B" and ev.matched_by == "nearest_track" and ev.incident_id == "INC-B"
    assert ev.number == 1 and ev.day_number == 1
    # the kill time is when B passed the reported point, not the report's time
    assert ev.t == t0 + timedelta(seconds=60)
    assert ev.local_time == ev.t.astimezone(scenario.tz).strftime("%H:%M")


def test_nearest_of_two_tracks_that_both_passed_by(scenario):
    """Two tracks crossed the kill point within the look-back; the one that passed nearer wins."""
    t0 = scenario.start

    def crossing(k):
        return {"E": (-4_000.0 + 40.0 * k, 5_000.0, 40.0, 0.0), "F": (200.0, 1_000.0 + 40.0 * k, 0.0, 40.0)}

    stage = KillStage(scenario)
    fly(stage, scenario, t0, 120, crossing)
    # E passes (0, 5000) at second 100; F passes x=200 at (200, 5000) at second 100 too
    (ev,) = stage.step(t0, [report(scenario, t0 + timedelta(seconds=110), "R1", 50.0, 5_020.0)])
    assert ev.track_id == "E"
    (ev,) = stage.step(t0, [report(scenario, t0 + timedelta(seconds=119), "R2", 260.0, 3_000.0)])
    assert ev.track_id == "F" and ev.t == t0 + timedelta(seconds=50)


def test_matching_respects_the_gate_and_the_class(scenario):
    t0 = scenario.start
    stage = KillStage(scenario, KillConfig(gate_m=1_000.0))
    fly(stage, scenario, t0, 10, two_tracks, cls={"B": "bird"})
    b = two_tracks(9)["B"]
    (ev,) = stage.step(t0 + timedelta(seconds=10), [report(scenario, t0 + timedelta(seconds=9), "R1", b[0], b[1])])
    # B is a bird and A is 30 km away: unmatched, its incident named after the report
    assert ev.matched_by == "unmatched" and ev.track_id is None and ev.incident_id == "INC-R1"


def test_track_ref_from_the_command_wins(scenario):
    t0 = scenario.start
    stage = KillStage(scenario)
    fly(stage, scenario, t0, 10, two_tracks)
    b = two_tracks(9)["B"]
    (ev,) = stage.step(t0 + timedelta(seconds=10), [report(scenario, t0 + timedelta(seconds=9), "R1", b[0], b[1], track_ref="A")])
    assert ev.track_id == "A" and ev.matched_by == "track_ref"


def numbered(out):
    return [(e.report_id, e.number) for e in out if isinstance(e, KillNumbered)]


def test_withdrawn_number_is_never_reused(scenario):
    stage = KillStage(scenario)
    t = scenario.start
    far = [(i * 10_000.0 - 40_000.0, 30_000.0) for i in range(6)]  # far apart: not duplicates
    out = []
    for i, (e, n) in enumerate(far[:3]):
        out += stage.step(t, [report(scenario, t + timedelta(minutes=i), f"R{i + 1}", e, n)])
    out += stage.step(t, [KillWithdrawn(t=t + timedelta(minutes=4), report_id="R2", reason="double count")])
    for i, (e, n) in enumerate(far[3:5], start=3):
        out += stage.step(t, [report(scenario, t + timedelta(minutes=2 * i), f"R{i + 1}", e, n)])
    assert numbered(out) == [("R1", 1), ("R2", 2), ("R3", 3), ("R4", 4), ("R5", 5)]
    (retracted,) = [e for e in out if isinstance(e, KillRetracted)]
    assert retracted.report_id == "R2" and retracted.number == 2 and retracted.reason == "double count"
    assert stage.numbered() == [(1, "R1"), (3, "R3"), (4, "R4"), (5, "R5")]
    # withdrawing again, or an unknown report, is refused and counted, not a crash
    again = stage.step(t, [KillWithdrawn(t=t, report_id="R2"), KillWithdrawn(t=t, report_id="nope")])
    assert [type(e) for e in again] == [InputRefused, InputRefused]
    assert again[1].ref == "nope" and again[1].input_kind == "kill_withdrawn" and again[1].stage == "kills"


def test_duplicates_are_not_numbered(scenario):
    t0 = scenario.start
    stage = KillStage(scenario)
    fly(stage, scenario, t0, 30, two_tracks)
    a = two_tracks(20)["A"]
    b = two_tracks(20)["B"]
    tk = t0 + timedelta(seconds=20)
    out = stage.step(tk, [report(scenario, tk, "R1", a[0], a[1])])
    # another unit reports the same kill 40 s later, 1 km off, naming the same track
    out += stage.step(tk, [report(scenario, tk + timedelta(seconds=40), "R2", a[0] + 1_000.0, a[1], track_ref="A")])
    # an unmatched report within 90 s and 2 km of R1
    out += stage.step(tk, [report(scenario, tk + timedelta(seconds=60), "R3", a[0] + 1_500.0, a[1] + 500.0)])
    # a kill of B: far from R1, numbered
    out += stage.step(tk, [report(scenario, tk + timedelta(seconds=5), "R4", b[0], b[1])])
    # a report outside the window: a new kill (unmatched: no track passed there lately)
    out += stage.step(tk, [report(scenario, tk + timedelta(seconds=200), "R5", a[0], a[1])])
    dups = [(e.report_id, e.duplicate_of) for e in out if isinstance(e, KillDuplicate)]
    assert dups == [("R2", "R1"), ("R3", "R1")]
    assert numbered(out) == [("R1", 1), ("R4", 2), ("R5", 3)]
    # a duplicate withdrawn has no number to retract: applied silently
    assert stage.step(tk, [KillWithdrawn(t=tk, report_id="R3")]) == []


def test_a_false_report_withdrawn_later_does_not_swallow_the_real_kill(scenario):
    """The command reports a decoy hit near drone D, which flies on and is killed 150 s later; the
    real kill is numbered (not a duplicate of the false one), and the false one is retracted."""
    t0 = scenario.start

    def d_flies(k):
        return {"D": (-20_000.0 + 40.0 * k, 0.0, 40.0, 0.0)}

    stage = KillStage(scenario)
    fly(stage, scenario, t0, 400, d_flies)
    false_at = d_flies(100)["D"]
    real_at = d_flies(250)["D"]
    out = stage.step(t0, [report(scenario, t0 + timedelta(seconds=100), "RF", false_at[0], false_at[1] + 200.0)])
    out += stage.step(t0, [report(scenario, t0 + timedelta(seconds=270), "RK", real_at[0], real_at[1] + 200.0)])
    out += stage.step(t0, [KillWithdrawn(t=t0 + timedelta(seconds=330), report_id="RF", reason="decoy")])
    assert [(e.report_id, e.track_id, e.number) for e in out if isinstance(e, KillNumbered)] == [
        ("RF", "D", 1),
        ("RK", "D", 2),
    ]
    assert [(e.report_id, e.number) for e in out if isinstance(e, KillRetracted)] == [("RF", 1)]
    assert stage.numbered() == [(2, "RK")]


def test_two_tracks_killed_close_together_are_two_kills(scenario):
    t0 = scenario.start

    def pair(k):
        return {"P": (0.0 + 40.0 * k, 20_000.0, 40.0, 0.0), "Q": (0.0 + 40.0 * k, 21_200.0, 40.0, 0.0)}

    stage = KillStage(scenario)
    fly(stage, scenario, t0, 10, pair)
    tk = t0 + timedelta(seconds=9)
    p, q = pair(9)["P"], pair(9)["Q"]
    out = stage.step(tk, [report(scenario, tk, "R1", p[0], p[1]), report(scenario, tk + timedelta(seconds=3), "R2", q[0], q[1])])
    assert [(e.report_id, e.track_id, e.number) for e in out] == [("R1", "P", 1), ("R2", "Q", 2)]


def test_retracted_kill_frees_its_track(scenario):
    t0 = scenario.start
    stage = KillStage(scenario)
    fly(stage, scenario, t0, 10, two_tracks)
    a = two_tracks(9)["A"]
    tk = t0 + timedelta(seconds=9)
    stage.step(tk, [report(scenario, tk, "R1", a[0], a[1])])
    stage.step(tk, [KillWithdrawn(t=tk + timedelta(seconds=30), report_id="R1", reason="not confirmed")])
    fly(stage, scenario, t0 + timedelta(seconds=10), 100, lambda k: two_tracks(k + 10))
    a = two_tracks(100)["A"]
    (ev,) = stage.step(tk, [report(scenario, t0 + timedelta(seconds=100), "R2", a[0], a[1])])
    assert isinstance(ev, KillNumbered) and ev.track_id == "A" and ev.number == 2


def test_day_numbers_restart_at_local_midnight(scenario):
    stage = KillStage(scenario)
    # Moscow is UTC+3: 20:58 UTC is 23:58 local on the 10th, 21:02 UTC is 00:02 on the 11th
    times = [datetime(2025, 3, 10, 20, 50, tzinfo=UTC), datetime(2025, 3, 10, 20, 58, tzinfo=UTC)]
    times += [datetime(2025, 3, 10, 21, 2, tzinfo=UTC), datetime(2025, 3, 10, 21, 30, tzinfo=UTC)]
    out = []
    for i, t in enumerate(times):
        out += stage.step(t, [report(scenario, t, f"R{i}", i * 10_000.0, -30_000.0)])
    assert [(e.number, e.day_number, e.local_time) for e in out] == [
        (1, 1, "23:50"),
        (2, 2, "23:58"),
        (3, 1, "00:02"),
        (4, 2, "00:30"),
    ]


def test_the_31st_kill_at_0310(scenario):
    stage = KillStage(scenario)
    t_end = scenario.at("03:10")
    out = []
    for i in range(31):
        t = t_end - timedelta(minutes=5 * (30 - i))
        out += stage.step(t, [report(scenario, t, f"K{i + 1:02d}", (i % 6) * 8_000.0 - 20_000.0, (i // 6) * 8_000.0 - 20_000.0)])
    last = out[-1]
    assert isinstance(last, KillNumbered) and last.number == 31 and last.local_time == "03:10"
    assert [e.number for e in out] == list(range(1, 32))


def test_near_and_toward(scenario):
    t0 = scenario.start
    stage = KillStage(scenario)
    c = scenario.zone_shapes["centre"].centroid

    def inbound(k):
        return {"Z": (c.x + 8_000.0 - 40.0 * k, c.y, -40.0, 0.0)}

    fly(stage, scenario, t0, 5, inbound)
    zt = ThreatRaised(
        t=t0, incident_id="INC-Z", track_id="Z", level="high", zone_id="government",
        time_to_zone_s=200.0, p_entry=0.9, cpa_m=0.0, reasons=[],
    )  # fmt: skip
    z = inbound(4)["Z"]
    (ev,) = stage.step(t0, [zt, report(scenario, t0 + timedelta(seconds=4), "R1", z[0], z[1])])
    assert ev.near == "centre" and ev.toward == "government"
    # far from every zone: the district it fell in
    (ev2,) = stage.step(t0, [report(scenario, t0 + timedelta(seconds=400), "R2", 0.0, 60_000.0)])
    assert ev2.near == "region_north"


def test_bad_reports_are_refused(scenario):
    stage = KillStage(scenario)
    t = scenario.start
    bad = KillReported(t=t, report_id="X", lat=95.0, lon=37.0)
    (ev,) = stage.step(t, [bad])
    assert isinstance(ev, InputRefused) and ev.ref == "X" and "latitude" in ev.reason
    stage.step(t, [report(scenario, t, "R1", 0.0, 0.0)])
    (ev,) = stage.step(t, [report(scenario, t + timedelta(hours=1), "R1", 50_000.0, 0.0)])
    assert isinstance(ev, InputRefused) and "already used" in ev.reason


def test_kill_lifecycle_table():
    check_transition("reported", "numbered")
    check_transition("numbered", "retracted")
    with pytest.raises(TransitionError):
        check_transition("retracted", "numbered")


def trail(k, killed_at=None):
    """Two drones of a wave on one path, 40 s apart (1.6 km), flying east at 40 m/s; the lead is
    killed at ``killed_at`` (its track ends there)."""
    out = {"LEAD": (0.0 + 40.0 * k, 20_000.0, 40.0, 0.0), "NEXT": (-1_600.0 + 40.0 * k, 20_000.0, 40.0, 0.0)}
    if killed_at is not None and k > killed_at:
        del out["LEAD"]
    return out


def test_the_track_that_ended_beats_the_next_drone_passing_the_spot(scenario):
    t0 = scenario.start
    stage = KillStage(scenario)
    fly(stage, scenario, t0, 80, lambda k: trail(k, killed_at=30))
    # the lead was killed at second 30 at x = 1200; reported 40 s later, 250 m off, just as the
    # next drone flies over the reported point
    (ev,) = stage.step(t0, [report(scenario, t0 + timedelta(seconds=70), "R1", 1_200.0 + 150.0, 20_200.0)])
    assert ev.track_id == "LEAD"
    # the point lies 150 m along the path past the track's end: dead-reckoned, 3.75 s late
    assert abs((ev.t - (t0 + timedelta(seconds=30))).total_seconds()) <= 5.0


def test_a_second_unit_reporting_the_same_kill_is_a_duplicate_even_near_the_next_drone(scenario):
    t0 = scenario.start
    stage = KillStage(scenario)
    fly(stage, scenario, t0, 100, lambda k: trail(k, killed_at=30))
    out = stage.step(t0, [report(scenario, t0 + timedelta(seconds=60), "R1", 1_200.0, 20_150.0)])
    out += stage.step(t0, [report(scenario, t0 + timedelta(seconds=99), "R2", 1_300.0, 19_800.0)])
    assert [type(e) for e in out] == [KillNumbered, KillDuplicate]
    assert out[1].duplicate_of == "R1"


def test_two_drones_killed_at_the_same_spot_are_two_kills(scenario):
    t0 = scenario.start

    def both(k):
        out = trail(k, killed_at=80)
        if k > 120:
            del out["NEXT"]  # the next one is killed 40 s later where the lead fell
        return out

    stage = KillStage(scenario)
    fly(stage, scenario, t0, 150, both)
    out = stage.step(t0, [report(scenario, t0 + timedelta(seconds=105), "R1", 3_200.0, 20_150.0)])
    out += stage.step(t0, [report(scenario, t0 + timedelta(seconds=145), "R2", 3_250.0, 19_850.0)])
    assert [(type(e), e.track_id) for e in out] == [(KillNumbered, "LEAD"), (KillNumbered, "NEXT")]


def test_a_broken_track_does_not_turn_a_duplicate_into_a_kill(scenario):
    """The tracker lost one drone and picked it up again under a new id: the old fragment ended
    near the kill too. Another unit's report of the same kill is still a duplicate."""
    t0 = scenario.start

    def broken(k):
        x = -4_000.0 + 40.0 * k
        if k < 50:
            return {"OLD": (x, 20_000.0, 40.0, 0.0)}
        if k <= 100:
            return {"NEW": (x, 20_000.0, 40.0, 0.0)}
        return {}

    stage = KillStage(scenario)
    fly(stage, scenario, t0, 130, broken)
    # killed at second 100 (x = 0); reported at 120, and again by another unit at 150
    out = stage.step(t0, [report(scenario, t0 + timedelta(seconds=120), "R1", 100.0, 20_200.0)])
    out += stage.step(t0, [report(scenario, t0 + timedelta(seconds=150), "R2", -700.0, 19_800.0)])
    assert [type(e) for e in out] == [KillNumbered, KillDuplicate]
    assert out[0].track_id == "NEW" and out[1].duplicate_of == "R1"


def test_history_is_kept_for_history_s_and_late_pictures_add_nothing(scenario):
    """The stage keeps the pictures of the last ``history_s`` only (a night's memory stays
    bounded), forgets a track with no sample left, and ignores a picture older than the latest."""
    cfg = KillConfig(history_s=60.0)
    stage = KillStage(scenario, cfg)
    t0 = scenario.start
    fly(stage, scenario, t0, 30, lambda k: two_tracks(k))
    fly(stage, scenario, t0 + timedelta(seconds=30), 100, lambda k: {"A": two_tracks(30 + k)["A"]})
    assert len(stage.kept) == 61  # the pictures of the last 60 s, both ends included
    assert set(stage.last_seen) == {"A"}  # B's last sample is 100 s old: forgotten
    late = picture(scenario, t0 + timedelta(seconds=50), {"C": (0.0, 0.0, 10.0, 0.0)})
    stage.step(t0 + timedelta(seconds=130), [late])
    assert "C" not in stage.last_seen and len(stage.kept) == 61


def test_the_pictures_local_positions_are_used_when_they_come_with_it(scenario):
    """A picture that carries east/north (as the tracker's do) is matched on those; one without
    them on its lat/lon: the same kill, the same track."""
    for local in (False, True):
        stage = KillStage(scenario)
        t0 = scenario.start
        for k in range(100):
            t = t0 + timedelta(seconds=k)
            pic = picture(scenario, t, two_tracks(k))
            if local:
                ids = sorted(two_tracks(k))
                pic = msgspec.structs.replace(
                    pic, east_m=[two_tracks(k)[i][0] for i in ids], north_m=[two_tracks(k)[i][1] for i in ids]
                )
            stage.step(t, [pic])
        b_then = two_tracks(60)["B"]
        (ev,) = stage.step(
            t0 + timedelta(seconds=100), [report(scenario, t0 + timedelta(seconds=85), "R1", b_then[0] + 250.0, b_then[1])]
        )
        assert isinstance(ev, KillNumbered) and ev.track_id == "B" and ev.t == t0 + timedelta(seconds=60)
