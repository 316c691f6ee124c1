// One incident's whole story (GET /api/incidents/{id}): the drawer over the right column.
import { h, clear } from "../dom.js";
import { t } from "../i18n.js";
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
  clear(body).append(
    story.track_ids?.length ? h("div", { class: "muted" }, t("incident_tracks", { ids: story.track_ids.join(", ") })) : null,
    timeline.length
      ? h(
          "ol",
          { class: "timeline", "data-testid": "incident-timeline" },
          timeline.map((e) =>
            h(
              "li",
              { class: `tl k-${e.kind}` },
              h("span", { class: "mono tl-time" }, e.local_time || localTime(e.t)),
              h("span", { class: "tl-kind" }, String(e.kind).replaceAll("_", " ")),
              h("span", { class: "tl-text" }, e.text),
            ),
          ),
        )
      : h("div", { class: "muted" }, t("incident_empty")),
  );
}
