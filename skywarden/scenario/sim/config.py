"""Settings of the simulator: one frozen record with the defaults the shipped night is tuned for."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SimConfig:
    """Everything the simulator needs beyond the scenario file. Units: s, m, m/s, deg, dBsm.

    The scenario file says *what* happens in the night (waves, flocks, flights, sensors, crews,
    officers); this says *how* it is played (integration step, manoeuvres, noise levels, the
    scripted corrections of the air-defence command).
    """

    # --- truth
    grid_dt_s: float = 1.0  # trajectories are piecewise linear between samples this far apart
    bird_dt_s: float = 5.0  # birds are integrated on a coarser step, then interpolated
    dogleg_p: float = 0.25  # chance that an attack drone flies a dog-leg (a turning target)
    dogleg_offset_m: tuple[float, float] = (6_000.0, 15_000.0)  # lateral offset of the turn point
    weave_deg: tuple[float, float] = (4.0, 12.0)  # heading weave amplitude
    weave_period_s: tuple[float, float] = (90.0, 240.0)
    turn_rate_dps: float = 3.0  # attack-drone turn-rate limit (deg/s)
    climb_ms: float = 4.0  # attack-drone climb rate after launch
    launch_alt_m: float = 100.0
    hobby_drone: bool = True  # one lawful drone with Remote ID in the centre, early in the night
    hobby_window: tuple[str, str] = ("00:12", "00:32")  # local times
    impact_dt_s: float = 0.1  # step of the true ballistic fall after a kill

    # --- radar cross-sections (dBsm): class mean, per-object spread, per-plot fluctuation
    rcs_bird_dbsm: float = -25.0
    rcs_aircraft_dbsm: float = 18.0
    rcs_hobby_dbsm: float = -20.0
    rcs_object_sigma_db: float = 2.0
    rcs_plot_sigma_db: float = 2.5
    rcs_clutter_dbsm: tuple[float, float] = (-8.0, 8.0)  # mean, sigma of clutter plots
    clutter_max_elev_deg: float = 0.8  # clutter lies at low elevation, uniform in [0, this]
    clutter_radial_sigma_ms: float = 1.5
    radial_speed_sigma_ms: float = 0.5
    adsb_sigma_m: float = 10.0
    remote_id_sigma_m: float = 5.0
    rf_alt_sigma_factor: float = 1.0  # RF height error = factor * sigma_m
    emit_empty_scans: bool = True  # a scan that saw nothing is still a fact a tracker can use
    # sensor outages: (sensor id, from, to) in scenario times ("01:30"); the sensor reports
    # SensorStatus "down" at the start, makes no scans, and reports "up" at the end
    outages: tuple[tuple[str, str, str], ...] = ()

    # --- the air-defence command
    report_jitter_s: tuple[float, float] = (0.0, 10.0)  # added to each wave's report_delay_s
    report_offset_m: tuple[float, float] = (100.0, 300.0)  # reported vs true kill position
    duplicates_of: tuple[int, ...] = (9, 37)  # these kills (1-based, report order) are reported twice
    duplicate_lag_s: tuple[float, float] = (20.0, 60.0)
    false_report_after: int = 31  # one report, after this kill, is later withdrawn (0: none)
    false_report_lead_s: float = 150.0  # how long before its real kill the decoy report comes
    withdraw_after_s: tuple[float, float] = (180.0, 360.0)

    # --- crews and officers
    crew_ack_s: tuple[float, float] = (5.0, 20.0)  # dispatch -> "en route"
    crew_eta_factor: tuple[float, float] = (0.9, 1.25)  # actual / predicted travel time
    crew_recover_s: tuple[float, float] = (1_200.0, 2_700.0)  # on site -> wreckage recovered
    crew_close_s: tuple[float, float] = (300.0, 900.0)  # recovered -> site closed
    # the scenario's publishers approve each draft by script; off when people do it (serve)
    scripted_officers: bool = True
