// The kill log: number in the night, local time, the district it came down near; a withdrawn
// report is struck through. A click opens the kill's incident.
import { h, renderKeyed } from "../dom.js";
import { t, getLang } from "../i18n.js";
import { localTime } from "../format.js";
import { may } from "../roles.js";
import { button, emptyLine } from "../ui.js";

export function renderKills(container, app) {
  const kills = [...(app.view().kills || [])].sort((a, b) => b.number - a.number);
  const canWithdraw = may(app.me.role, "withdraw_kill") && !app.replay;
  if (!kills.length) {
    emptyLine(container, t("kills_none"));
    return;
  }
  if (container.querySelector(".empty")) container.textContent = "";
  const lang = getLang();
  renderKeyed(
    container,
    kills,
    (k) => k.report_id ?? k.number,
    (k) => killRow(k, app, canWithdraw),
    (k) => JSON.stringify([k, lang, canWithdraw]),
  );
}

function killRow(k, app, canWithdraw) {
  return h(
    "div",
    {
      class: `row kill${k.withdrawn ? " withdrawn" : ""}`,
      "data-testid": "kill-row",
      onclick: () => {
        if (Number.isFinite(k.lon)) app.flyTo(k.lon, k.lat, 11);
        if (k.incident_id) app.openIncident(k.incident_id);
      },
    },
    h("div", { class: "kill-no mono" }, `#${k.number}`),
    h(
      "div",
      { class: "row-main" },
      h(
        "div",
        { class: "row-line" },
        h("span", { class: "mono" }, k.local_time || localTime(k.t)),
        h("span", { class: "ellipsis" }, k.near ? t("kill_near", { place: app.placeName(k.near) }) : ""),
        h("span", { class: "grow" }),
        k.withdrawn ? h("span", { class: "status muted" }, t("kill_withdrawn")) : null,
      ),
      h(
        "div",
        { class: "row-line sub" },
        k.toward ? h("span", { class: "ellipsis" }, t("kill_toward", { place: app.placeName(k.toward) })) : null,
        k.track_id ? h("span", { class: "mono muted" }, k.track_id) : null,
        h("span", { class: "grow" }),
        k.reported_by ? h("span", { class: "muted ellipsis", title: k.reported_by }, k.reported_by) : null,
        canWithdraw && !k.withdrawn && k.report_id
          ? button(t("kill_withdraw"), (e) => {
              e.stopPropagation();
              app.withdrawKill(k);
            }, { kind: "small ghost", testid: "kill-withdraw" })
          : null,
      ),
    ),
  );
}
