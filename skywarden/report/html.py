"""report.html: the summary, the pictures and the tables of the night, in one self-contained file."""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Sequence
from datetime import datetime
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

from skywarden.log.projections import NightView
from skywarden.report.plots import draw_map, draw_timeline
from skywarden.report.vetting import vet_statements
from skywarden.scenario import LoadedScenario

if TYPE_CHECKING:
    from skywarden.events import Event
    from skywarden.response.incidents import Incident

CSS = """
body{font-family:system-ui,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1200px;color:#222}
h1{margin-bottom:.2em} h2{border-bottom:1px solid #ccc;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.9em;margin:.5em 0} td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3} img{max-width:100%;border:1px solid #ddd} .muted{color:#777}
.grid{display:grid;grid-template-columns:repeat(4,1fr);gap:.4em} .card{background:#f7f7f7;padding:.5em;border-radius:4px}
.card b{font-size:1.4em;display:block}
"""


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{escape(path.stem)}" src="data:image/png;base64,{data}">'


def _table(head: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    if not rows:
        return '<p class="muted">none</p>'
    th = "".join(f"<th>{escape(h)}</th>" for h in head)
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in r) + "</tr>" for r in rows)
    return f"<table><tr>{th}</tr>{body}</table>"


def write_report(
    view: NightView, scn: LoadedScenario, out_dir: Path, incidents: Sequence[Incident] = (), *, events: Sequence[Event]
) -> Path:
    """``incidents``: from ``skywarden.response.build_incidents`` over the same log (optional);
    ``events``: the log the view was folded from. Statements count as published only as far as
    the scenario's disclosure policy would have let them out (``skywarden.report.vetting``);
    the others are listed apart, never as published."""
    from skywarden.disclosure.policy import DisclosurePolicy

    out_dir.mkdir(parents=True, exist_ok=True)
    vetted = vet_statements(events, DisclosurePolicy.for_scenario(scn))
    view = dataclasses.replace(view, published=vetted.published)
    map_png = draw_map(view, scn, out_dir / "map.png")
    timeline_png = draw_timeline(view, scn, out_dir / "timeline.png")

    def lt(t: datetime | None) -> str:
        return t.astimezone(scn.tz).strftime("%H:%M:%S") if t else ""

    zones = {z.id: z.name for z in scn.spec.zones}
    districts = {d.id: d.name for d in scn.spec.districts}
    summary = view.summary()
    cards = "".join(f'<div class="card"><b>{escape(str(v))}</b>{escape(k)}</div>' for k, v in summary.items())
    kills = [
        [k.number, k.local_time, k.day_number, zones.get(k.near, districts.get(k.near, k.near)), zones.get(k.toward, k.toward), k.track_id or "-", k.matched_by, k.incident_id]
        for k in view.kills_in_order()
    ]
    airports = []
    for a in scn.spec.airports:
        st = view.airports.get(a.id)
        for start, end in st.intervals if st else []:
            dur = ((end or view.last_t or start) - start).total_seconds() / 60
            airports.append([a.id, a.name, lt(start), lt(end) or "(still restricted)", f"{dur:.0f} min"])
    debris = [
        [d.site_id, d.kill_number, ", ".join(districts.get(x, x) for x in d.districts), ", ".join(zones.get(x, x) for x in d.zones), f"{d.fall_time_s:.0f} s", d.samples]
        for d in view.debris
    ]
    crews = [[c.crew_id, c.crew_kind, c.site_id, lt(c.t), f"{c.eta_s / 60:.0f} min", c.method] for c in view.dispatches]
    status = [[s.site_id, s.crew_id, s.status, lt(s.t)] for s in sorted(view.crew_status.values(), key=lambda s: s.site_id)]
    statements = [
        [p.statement_id, lt(p.t), f"{p.delay_s / 60:.1f} min", ", ".join(p.approved_by), p.text_en, p.text_ru]
        for p in view.published
    ]
    held = [[p.statement_id, lt(p.t), why, p.text_en] for p, why in vetted.held]
    alerts = [[a.alert_id, districts.get(a.district, a.district), a.msg_type, lt(a.t), a.headline] for a in view.alerts]
    claims = [
        [c.claim_id, c.source, c.text or c.what, view.assessments[c.claim_id].outcome if c.claim_id in view.assessments else "-"]
        for c in view.claims.values()
    ]
    inc_rows = [
        [
            i.incident_id, i.cls, lt(i.first_t), ", ".join(zones.get(z, z) for z in i.zones), i.max_level,
            ", ".join(i.airports), i.kill_number or "", i.kill_time, ", ".join(i.sites), ", ".join(i.crews), i.status,
        ]
        for i in incidents
        if i.zones or i.kills
    ]
    closed_total = [
        [a.id, a.name, len(view.airports[a.id].intervals) if a.id in view.airports else 0,
         f"{(view.airports[a.id].closed_s(view.last_t) if a.id in view.airports else 0) / 60:.0f} min"]
        for a in scn.spec.airports
    ]  # fmt: skip
    rejected = [[lt(r.t), r.source, r.reason] for r in view.rejected[:200]]
    refused = [[lt(r.t), r.stage, r.input_kind, r.ref, r.reason] for r in view.refused[:200]]
    night = view.night
    meta = (
        f"scenario {escape(night.scenario)}, seed {night.seed}, digest {escape(night.scenario_digest)}"
        if night
        else "no night_opened record"
    )
    html = f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{escape(scn.name)}: night report</title><style>{CSS}</style></head><body>
<h1>{escape(scn.name)}</h1>
<p class="muted">{lt(scn.start)}–{lt(scn.end)} local ({escape(scn.spec.night.timezone)}); {meta}; {view.ticks} ticks; {sum(view.counts.values())} events.</p>
<h2>Summary</h2><div class="grid">{cards}</div>
<h2>Map</h2>{_img(map_png)}
<h2>Timeline</h2>{_img(timeline_png)}
<h2>Kills</h2>{_table(["#", "local time", "# today", "near", "toward", "track", "matched by", "incident"], kills)}
<h2>Incidents (threats and kills)</h2>{_table(["incident", "class", "first seen", "threatened", "max level", "airports", "kill #", "kill time", "crash sites", "crews", "status"], inc_rows)}
<h2>Airport restrictions ("Carpet")</h2>{_table(["airport", "name", "restrictions", "closed in all"], closed_total)}{_table(["airport", "name", "from", "to", "duration"], airports)}
<h2>Debris footprints</h2>{_table(["site", "kill #", "districts", "zones", "fall time", "samples"], debris)}
<h2>Crews dispatched</h2>{_table(["crew", "kind", "site", "dispatched", "ETA", "route"], crews)}
<h2>Crash sites, latest status</h2>{_table(["site", "crew", "status", "at"], status)}
<h2>Statements published</h2>{_table(["id", "published", "delay after the event", "approved by", "English", "Russian"], statements)}
{"<h2>Published in the log, not by the policy</h2>" + _table(["id", "logged at", "why the policy would not have let it out", "English"], held) if held else ""}
<h2>Air-danger alerts (CAP 1.2)</h2>{_table(["identifier", "district", "type", "sent", "headline"], alerts)}
<h2>Claims checked against the log</h2>{_table(["claim", "source", "claim", "verdict"], claims)}
<h2>Rejected reports and refused inputs</h2>{_table(["time", "source", "reason"], rejected)}{_table(["time", "stage", "input", "ref", "reason"], refused)}
</body></html>"""
    path = out_dir / "report.html"
    path.write_text(html, encoding="utf-8")
    return path
