// One incident's whole story (GET /api/incidents/{id}): the drawer over the right column.
import { h, clear } from "../dom.js";
import { t, tOr } from "../i18n.js";
import { localTime } from "../format.js";
import { get } from "../api.js";

export async function showIncident(drawer, app, incidentId) {
  drawer.hidden = false;
  drawer.dataset.incident = incidentId;
  const body = h("div", { class: "drawer-body" }, h("div", { class: "muted" }, t("incident_loading")));
  clear(drawer).append(
    h(
      "header",
      null,
      h("h3", null, t("incident", { id: incidentId })),
      h("span", { class: "grow" }),
      h("button", { type: "button", class: "btn ghost small", "data-testid": "incident-close", onclick: () => app.closeIncident() }, `${t("close")} ✕`),
    ),
    body,
  );
  let story;
  try {
    story = await get(`/api/incidents/${encodeURIComponent(incidentId)}`, app.replay?.at);
  } catch (err) {
    if (drawer.dataset.incident !== incidentId) return;
    clear(body).append(h("div", { class: "error" }, t("error_generic", { detail: err.detail || err.message })));
    return;
  }
  if (drawer.dataset.incident !== incidentId) return;
  const timeline = story.timeline || [];
  const tracks = story.track_ids?.length ? story.track_ids : story.track_id ? [story.track_id] : [];
  const facts = [
    tracks.length ? [t("incident_track"), `${tracks.join(", ")}${story.cls ? ` · ${tOr("cls_", story.cls)}` : ""}`] : null,
    story.status ? [t("incident_status"), story.status] : null,
    story.kill_number ? [t("incident_kill"), `#${story.kill_number}${story.kill_time ? ` · ${story.kill_time}` : ""}`] : null,
    story.crews?.length ? [t("panel_crews"), story.crews.join(", ")] : null,
    story.statements?.length ? [t("panel_statements"), story.statements.join(", ")] : null,
  ].filter(Boolean);
  clear(body);
  if (facts.length) body.append(h("dl", { class: "facts" }, facts.map(([k, v]) => [h("dt", null, k), h("dd", null, v)])));
  body.append(
    timeline.length
      ? h(
          "ol",
          { class: "timeline", "data-testid": "incident-timeline" },
          timeline.map((e) =>
            h(
              "li",
              { class: `tl k-${e.kind || kindOf(e.text)}` },
              h("span", { class: "mono tl-time" }, e.local_time || localTime(e.t)),
              e.kind ? h("span", { class: "tl-kind" }, String(e.kind).replaceAll("_", " ")) : null,
              h("span", { class: "tl-text" }, e.text),
            ),
          ),
        )
      : h("div", { class: "muted" }, t("incident_empty")),
  );
}

/** A timeline line's kind from its first word, for the dot's colour. */
function kindOf(text) {
  const w = String(text || "").toLowerCase();
  for (const [k, words] of [["threat", ["threat"]], ["kill", ["kill", "destroyed", "shot"]], ["site", ["debris", "crash", "site"]], ["crew", ["crew"]], ["statement", ["statement", "published", "draft"]], ["airport", ["airport", "restrict"]]]) {
    if (words.some((x) => w.startsWith(x) || w.includes(` ${x}`))) return k;
  }
  return "track";
}
