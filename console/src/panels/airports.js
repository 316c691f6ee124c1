// The airport board ("Carpet"): open or restricted, since when, the quiet period left before
// the restriction lifts, and how long each has been closed tonight.
import { h, renderKeyed } from "../dom.js";
import { t, getLang } from "../i18n.js";
import { duration, localHM } from "../format.js";
import { emptyLine } from "../ui.js";

export function renderAirports(container, app) {
  const airports = app.view().airports || [];
  if (!airports.length) {
    emptyLine(container, t("airports_none"));
    return;
  }
  if (container.querySelector(".empty")) container.textContent = "";
  const lang = getLang();
  renderKeyed(
    container,
    airports,
    (a) => a.airport_id,
    (a) => airportRow(a, app),
    (a) => JSON.stringify([a, lang]),
  );
}

function airportRow(a, app) {
  const r = Boolean(a.restricted);
  return h(
    "div",
    { class: `row airport${r ? " restricted" : ""}`, "data-testid": "airport-row", onclick: () => app.flyTo(a.lon, a.lat, 8.5) },
    h("div", { class: "apt-code mono" }, a.airport_id),
    h(
      "div",
      { class: "row-main" },
      h(
        "div",
        { class: "row-line" },
        h("span", { class: "ellipsis" }, app.airportName(a)),
        h("span", { class: "grow" }),
        h("span", { class: `status ${r ? "bad" : "ok"}` }, r ? t("airport_restricted") : t("airport_open")),
      ),
      h(
        "div",
        { class: "row-line sub" },
        r && a.restricted_since ? h("span", { class: "mono" }, t("airport_since", { time: localHM(a.restricted_since) })) : null,
        r && Number.isFinite(a.quiet_left_s) ? h("span", { class: "mono" }, t("airport_quiet_left", { d: duration(a.quiet_left_s) })) : null,
        h("span", { class: "grow" }),
        !r && Number.isFinite(a.closed_s) && a.closed_s > 0 ? h("span", { class: "muted mono", title: t("airport_closed_title") }, t("airport_closed_total", { d: duration(a.closed_s) })) : null,
      ),
    ),
  );
}
