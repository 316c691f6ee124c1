// The crew board: each crew's status, the site it is sent to, its ETA; the dispatcher may send a
// crew elsewhere (override) or recall it, and a crew sent to a kill later withdrawn is flagged.
import { h, renderKeyed } from "../dom.js";
import { t, tOr, getLang } from "../i18n.js";
import { duration } from "../format.js";
import { may } from "../roles.js";
import { button, emptyLine } from "../ui.js";

const ORDER = { en_route: 0, dispatched: 1, on_site: 2, wreckage_recovered: 3, site_closed: 4 };

export function renderCrews(container, app, crewsNow) {
  const crews = [...crewsNow].sort(
    (a, b) => Number(Boolean(b.recall_offered)) - Number(Boolean(a.recall_offered)) || (ORDER[a.status] ?? 9) - (ORDER[b.status] ?? 9) || String(a.crew_id).localeCompare(String(b.crew_id)),
  );
  if (!crews.length) {
    emptyLine(container, t("crews_none"));
    return;
  }
  if (container.querySelector(".empty")) container.textContent = "";
  const canAct = may(app.me.role, "crew_override") && !app.replay;
  const lang = getLang();
  renderKeyed(
    container,
    crews,
    (c) => c.crew_id,
    (c) => crewRow(c, app, canAct),
    (c) => JSON.stringify([c.crew_id, c.name, c.kind, c.status, c.site_id, Math.round(c.eta_left_s ?? -1), c.recall_offered, c.station, lang, canAct]),
  );
}

/** "→ #31" for the kill a crew is sent to, else the site's id. */
function siteLabel(c, app) {
  const site = (app.view().sites || []).find((x) => x.site_id === c.site_id);
  return site?.kill_number ? t("crew_to_kill", { n: site.kill_number }) : t("crew_site", { site: c.site_id });
}

function crewRow(c, app, canAct) {
  const busy = c.site_id && !["site_closed", "wreckage_recovered"].includes(c.status);
  const status = c.status || "available";
  return h(
    "div",
    {
      class: `row crew st-${status}${c.recall_offered ? " recall-offered" : ""}`,
      "data-testid": "crew-row",
      onclick: () => c.position && app.flyTo(c.position[0], c.position[1], 11),
    },
    h("div", { class: `crew-kind k-${c.kind}`, title: c.kind }, (c.kind || "?").slice(0, 3).toUpperCase()),
    h(
      "div",
      { class: "row-main" },
      h(
        "div",
        { class: "row-line" },
        h("span", { class: "strong ellipsis" }, c.name || c.crew_id),
        h("span", { class: "grow" }),
        h("span", { class: `status s-${status}` }, tOr("crew_status_", status)),
      ),
      h(
        "div",
        { class: "row-line sub" },
        c.site_id ? h("span", { class: "mono ellipsis", title: c.site_id }, siteLabel(c, app)) : h("span", { class: "muted ellipsis" }, app.placeName(c.station) || t("crew_idle")),
        busy && Number.isFinite(c.eta_left_s) && c.eta_left_s > 0 ? h("span", { class: "mono eta" }, t("crew_eta", { d: duration(c.eta_left_s) })) : null,
        h("span", { class: "grow" }),
        canAct ? button(t("crew_override"), (e) => {
          e.stopPropagation();
          app.overrideCrew(c);
        }, { kind: "small ghost", testid: "crew-override" }) : null,
        canAct && busy ? button(t("crew_recall"), (e) => {
          e.stopPropagation();
          app.recallCrew(c);
        }, { kind: `small ${c.recall_offered ? "warn" : "ghost"}`, testid: "crew-recall" }) : null,
      ),
      c.recall_offered ? h("div", { class: "row-line sub warn-text" }, `⚠ ${t("crew_recall_offered")}`) : null,
    ),
  );
}
