// Claims made elsewhere (press, witnesses, other agencies) and the ledger's verdict on each.
import { h, renderKeyed } from "../dom.js";
import { t, tOr, getLang } from "../i18n.js";
import { localHM } from "../format.js";
import { may } from "../roles.js";
import { button, chip, emptyLine } from "../ui.js";

export function renderClaims(container, toolbar, app) {
  const claims = [...(app.view().claims || [])].sort((a, b) => String(b.t).localeCompare(String(a.t)));
  const canAdd = may(app.me.role, "add_claim") && !app.replay;
  toolbar.replaceChildren(...(canAdd ? [button(t("claim_add"), () => app.addClaim(), { kind: "small ghost", testid: "claim-add" })] : []));
  if (!claims.length) {
    emptyLine(container, t("claims_none"));
    return;
  }
  if (container.querySelector(".empty")) container.textContent = "";
  const lang = getLang();
  renderKeyed(
    container,
    claims,
    (c) => c.claim_id,
    (c) =>
      h(
        "div",
        { class: `row claim o-${c.outcome}`, "data-testid": "claim-row" },
        h(
          "div",
          { class: "row-main" },
          h(
            "div",
            { class: "row-line" },
            h("span", { class: "mono" }, localHM(c.t)),
            h("span", { class: "strong ellipsis" }, c.source),
            h("span", { class: "muted" }, tOr("claim_what_", c.what)),
            c.where ? h("span", { class: "ellipsis" }, app.placeName(c.where)) : null,
            h("span", { class: "grow" }),
            c.outcome ? chip(tOr("claim_", c.outcome), `outcome-${c.outcome}`) : null,
          ),
          c.text ? h("div", { class: "row-line claim-text" }, `“${c.text}”`) : null,
          c.reason ? h("div", { class: "row-line sub muted" }, c.reason) : null,
        ),
      ),
    (c) => JSON.stringify([c, lang]),
  );
}
