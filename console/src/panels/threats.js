// Threats, soonest to their zone first; the selected one is the target of the duty officer's
// keys (a: acknowledge, Enter: incident, f: centre on the map).
import { h, renderKeyed } from "../dom.js";
import { t, tOr, getLang } from "../i18n.js";
import { duration, km, pct, localHM } from "../format.js";
import { may } from "../roles.js";
import { button, emptyLine } from "../ui.js";

export function sortedThreats(threats) {
  const ttz = (x) => (Number.isFinite(x.time_to_zone_s) ? x.time_to_zone_s : Infinity);
  return [...(threats || [])].sort((a, b) => ttz(a) - ttz(b) || String(a.incident_id).localeCompare(String(b.incident_id)));
}

/** Who acknowledged a threat: the API gives a list of users (older forms: one name). */
export function ackedBy(x) {
  const a = x.acknowledged_by;
  if (Array.isArray(a)) return a.length ? a.join(", ") : "";
  return a ? String(a) : "";
}

export function renderThreats(container, app) {
  const view = app.view();
  const threats = sortedThreats(view.threats);
  app.threatOrder = threats.map((x) => x.incident_id);
  if (!threats.length) {
    emptyLine(container, t("threats_none"));
    return;
  }
  if (container.querySelector(".empty")) container.textContent = "";
  const cls = new Map((view.tracks?.features || []).map((f) => [f.properties.track_id, f.properties.cls]));
  const canAck = may(app.me.role, "ack_threat") && !app.replay;
  const lang = getLang();
  renderKeyed(
    container,
    threats,
    (x) => x.incident_id,
    (x) => threatRow(x, app, cls.get(x.track_id), canAck),
    (x) => JSON.stringify([x, cls.get(x.track_id), canAck, lang, app.selectedThreat === x.incident_id]),
  );
}

function threatRow(x, app, cls, canAck) {
  const selected = app.selectedThreat === x.incident_id;
  const acked = ackedBy(x);
  return h(
    "div",
    {
      class: `row threat lvl-${x.level}${selected ? " selected" : ""}${acked ? " acked" : ""}`,
      "data-testid": "threat-row",
      "data-incident": x.incident_id,
      onclick: () => app.selectThreat(x.incident_id, { fly: true }),
      ondblclick: () => app.openIncident(x.incident_id),
    },
    h("div", { class: "lvl-bar", title: tOr("level_", x.level) }),
    h(
      "div",
      { class: "row-main" },
      h(
        "div",
        { class: "row-line" },
        h("span", { class: "mono strong" }, x.track_id),
        cls ? h("span", { class: `cls cls-${cls}` }, tOr("cls_", cls)) : null,
        h("span", { class: "arrow" }, "→"),
        h("span", { class: "zone ellipsis", title: app.placeName(x.zone_id) }, app.placeName(x.zone_id)),
        h("span", { class: "ttz mono", title: t("threat_to_zone") }, duration(x.time_to_zone_s)),
      ),
      h(
        "div",
        { class: "row-line sub" },
        h("span", { class: `lvl-text lvl-${x.level}` }, tOr("level_", x.level)),
        h("span", null, `${t("threat_entry")} ${pct(x.p_entry)}`),
        h("span", { class: "ellipsis", title: t("threat_cpa_title") }, `${t("threat_cpa")} ${km(x.cpa_m)}`),
        h("span", { class: "grow" }),
        acked
          ? h("span", { class: "acked-by ellipsis", "data-testid": "threat-acked", title: t("threat_acked_by", { who: acked }) }, `✓ ${acked}`)
          : canAck
            ? button(t("threat_ack"), (e) => {
                e.stopPropagation();
                app.ackThreat(x.incident_id);
              }, { kind: "small", testid: "threat-ack", title: t("threat_ack_title") })
            : h("span", { class: "muted", title: t("threat_unacked") }, "—"),
      ),
      h(
        "div",
        { class: "row-line reasons muted" },
        x.since ? h("span", { class: "mono", title: t("threat_since") }, localHM(x.since)) : null,
        x.reasons?.length ? h("span", { class: "ellipsis", title: x.reasons.join("; ") }, x.reasons.join("; ")) : null,
      ),
    ),
  );
}
