// CAP alerts by district: each district's alerts, newest first, with a link to the CAP document.
import { h, clear } from "../dom.js";
import { t } from "../i18n.js";
import { localHM } from "../format.js";
import { chip, emptyLine } from "../ui.js";

export function renderAlerts(container, app) {
  const alerts = app.view().alerts || [];
  if (!alerts.length) {
    emptyLine(container, t("alerts_none"));
    return;
  }
  const byDistrict = new Map();
  for (const a of alerts) {
    const key = a.district || "—";
    if (!byDistrict.has(key)) byDistrict.set(key, []);
    byDistrict.get(key).push(a);
  }
  const groups = [...byDistrict.entries()].sort((a, b) => app.placeName(a[0]).localeCompare(app.placeName(b[0])));
  clear(container);
  for (const [district, list] of groups) {
    list.sort((a, b) => String(b.t).localeCompare(String(a.t)));
    container.append(
      h(
        "section",
        { class: "group", "data-testid": "alert-group" },
        h("h4", null, app.placeName(district), h("span", { class: "count" }, String(list.length))),
        list.map((a) =>
          h(
            "div",
            { class: "row alert" },
            h("span", { class: "mono" }, localHM(a.t)),
            chip(a.msg_type, `msg-${String(a.msg_type).toLowerCase()}`),
            h("span", { class: "ellipsis grow", title: a.headline }, a.headline),
            h("a", { href: `/api/alerts/${encodeURIComponent(a.alert_id)}.xml`, target: "_blank", rel: "noopener", class: "cap-link" }, t("alert_cap")),
          ),
        ),
      ),
    );
  }
}
