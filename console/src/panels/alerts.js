// CAP alerts by district: for each district its latest message (in force unless a Cancel) and,
// folded, the earlier ones; each links to its CAP document.
import { h, renderKeyed } from "../dom.js";
import { t, getLang } from "../i18n.js";
import { localHM } from "../format.js";
import { chip, emptyLine } from "../ui.js";

const EARLIER_SHOWN = 40;

export function renderAlerts(container, app) {
  const alerts = app.view().alerts || [];
  if (!alerts.length) {
    emptyLine(container, t("alerts_none"));
    return;
  }
  if (container.querySelector(".empty")) container.textContent = "";
  const byDistrict = new Map();
  for (const a of alerts) {
    const key = a.district || "—";
    if (!byDistrict.has(key)) byDistrict.set(key, []);
    byDistrict.get(key).push(a);
  }
  const groups = [...byDistrict.entries()].map(([district, list]) => {
    list.sort((a, b) => String(b.t).localeCompare(String(a.t)));
    return { district, list, inForce: list[0].msg_type !== "Cancel" };
  });
  groups.sort((a, b) => Number(b.inForce) - Number(a.inForce) || app.placeName(a.district).localeCompare(app.placeName(b.district)));
  const lang = getLang();
  renderKeyed(
    container,
    groups,
    (g) => g.district,
    (g) => group(g, app),
    (g) => JSON.stringify([g.district, g.list.length, g.list[0].alert_id, lang]),
  );
}

function line(a) {
  return h(
    "div",
    { class: "row alert" },
    h("span", { class: "mono" }, localHM(a.t)),
    chip(a.msg_type, `msg-${String(a.msg_type).toLowerCase()}`),
    h("span", { class: "ellipsis grow", title: a.headline }, a.headline),
    h("a", { href: `/api/alerts/${encodeURIComponent(a.alert_id)}.xml`, target: "_blank", rel: "noopener", class: "cap-link", title: a.alert_id }, t("alert_cap")),
  );
}

function group(g, app) {
  const [latest, ...earlier] = g.list;
  return h(
    "section",
    { class: `group${g.inForce ? " in-force" : ""}`, "data-testid": "alert-group" },
    h("h4", null, app.placeName(g.district), h("span", { class: "grow" }), h("span", { class: g.inForce ? "status bad" : "status ok" }, g.inForce ? t("alert_in_force") : t("alert_cancelled"))),
    line(latest),
    earlier.length
      ? h(
          "details",
          { class: "earlier" },
          h("summary", null, t("alert_earlier", { n: earlier.length })),
          earlier.slice(0, EARLIER_SHOWN).map(line),
          earlier.length > EARLIER_SHOWN ? h("div", { class: "muted empty" }, t("alert_more", { n: earlier.length - EARLIER_SHOWN })) : null,
        )
      : null,
  );
}
