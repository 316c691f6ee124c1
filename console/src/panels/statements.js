// Statements: each draft beside what the disclosure policy withheld or coarsened, the approvals
// it has and needs, its history; approve / reject / edit shown only to the roles that may.
import { h, renderKeyed } from "../dom.js";
import { t, tOr, getLang } from "../i18n.js";
import { localHM } from "../format.js";
import { may } from "../roles.js";
import { button, chip, emptyLine } from "../ui.js";
import { cutSpans, diffWords } from "../textdiff.js";

const STATE_ORDER = { drafted: 0, partially_approved: 1, approved: 2, published: 3, rejected: 4 };

export function renderStatements(container, app) {
  const list = [...(app.view().statements || [])].sort(
    (a, b) => (STATE_ORDER[a.state] ?? 9) - (STATE_ORDER[b.state] ?? 9) || String(b.drafted_at).localeCompare(String(a.drafted_at)),
  );
  if (!list.length) {
    emptyLine(container, t("statements_none"));
    return;
  }
  if (container.querySelector(".empty")) container.textContent = "";
  const role = app.me.role;
  const rights = {
    approve: may(role, "approve_statement") && !app.replay,
    reject: may(role, "reject_statement") && !app.replay,
    edit: may(role, "edit_statement") && !app.replay,
  };
  const lang = getLang();
  renderKeyed(
    container,
    list,
    (s) => s.statement_id,
    (s) => card(s, app, rights),
    (s) => JSON.stringify([s, lang, rights, app.me.user]),
    (key) => app.editingStatement === key,
  );
}

/** What the disclosure policy would do to this text now: when it may go out, what it redacts. */
function policyBox(p, app) {
  const now = Date.parse(app.replay ? app.replay.at : app.lastT || "");
  const release = Date.parse(p.release_at || "");
  const held = Number.isFinite(release) && Number.isFinite(now) && release > now;
  const redacted = Array.isArray(p.redacted) ? p.redacted : [];
  return h(
    "div",
    { class: "withheld", "data-testid": "statement-policy" },
    h("div", { class: "withheld-title" }, t("st_policy_title")),
    p.release_at ? h("div", null, held ? t("st_held_until", { time: localHM(p.release_at) }) : t("st_release_at", { time: localHM(p.release_at) })) : null,
    redacted.length
      ? h("ul", null, redacted.map((r) => h("li", null, h("span", { class: "muted" }, `${redactLabel(r)}: `), `“${r.found}”`)))
      : h("div", { class: "muted" }, t("st_redact_none")),
  );
}

/** A redaction's name: the kind of word (sensor, unit, weapon) or the kind of detail (time, position). */
function redactLabel(r) {
  return ["sensor", "unit", "effector"].includes(r.category) ? tOr("redact_", r.category) : tOr("redact_", r.kind);
}

/** The policy in force, in a few lines, above the statements (from GET /api/policy). */
export function renderPolicySummary(container, policy) {
  container.replaceChildren();
  if (!policy) return;
  const lines = [];
  if (policy.place?.mode) lines.push(t("policy_place", { mode: tOr("policy_place_", policy.place.mode) }));
  if (policy.time) {
    if (Number.isFinite(policy.time.round_min)) lines.push(t("policy_round", { n: policy.time.round_min }));
    if (Number.isFinite(policy.time.release_delay_s)) lines.push(t("policy_delay", { n: Math.round(policy.time.release_delay_s / 60) }));
  }
  const w = policy.withhold || {};
  const kinds = ["sensors", "units", "effectors", "airborne_count"].filter((k) => w[k]).map((k) => tOr("redact_", k));
  if (Array.isArray(w.terms) && w.terms.length) kinds.push(t("policy_terms", { n: w.terms.length }));
  if (kinds.length) lines.push(`${t("policy_withholds")}: ${kinds.join(", ")}`);
  if (policy.approval) {
    const extra = Object.entries(policy.approval.by_topic || {}).map(([topic, n]) => `${tOr("st_topic_", topic)} ${n}`);
    lines.push(t("policy_approvers", { n: policy.approval.approvers ?? "?" }) + (extra.length ? ` (${extra.join(", ")})` : ""));
  }
  container.append(h("details", { class: "policy-summary", "data-testid": "policy-summary" }, h("summary", null, t("policy_title")), h("ul", null, lines.map((l) => h("li", null, l)))));
}

/** True when the text now differs from the machine's draft (someone edited it). */
function edited(s, lang) {
  const draft = lang === "ru" ? s.draft_ru : s.draft_en;
  const text = lang === "ru" ? s.text_ru : s.text_en;
  return typeof draft === "string" && draft !== "" && draft !== text;
}

/** The text with its flagged spans marked (offsets in code points, see textdiff.js). */
function markedText(text, spans) {
  return cutSpans(text, spans).map(([marked, part]) => (marked ? h("mark", { class: "flagged", "data-testid": "flagged-span" }, part) : part));
}

function diffView(draft, text) {
  return h("p", { class: "st-diff" }, diffWords(draft, text).map(([op, s]) => (op === "+" ? h("ins", null, s) : op === "-" ? h("del", null, s) : s)));
}

function card(s, app, rights) {
  const open = s.state !== "published" && s.state !== "rejected";
  const lang = getLang();
  const text = lang === "ru" ? s.text_ru || s.text_en : s.text_en || s.text_ru;
  const other = lang === "ru" ? s.text_en : s.text_ru;
  const approvedBy = s.approved_by || [];
  const flagged = Array.isArray(s.flagged) ? s.flagged : [];
  const textLang = lang === "ru" && s.text_ru ? "ru" : "en";
  const otherLang = textLang === "ru" ? "en" : "ru";
  const spansOf = (which) => flagged.filter((x) => x.lang === which);
  const mine = approvedBy.includes(app.me.user);
  const actions = [];
  if (open && rights.approve) {
    actions.push(button(t("st_approve"), () => app.approveStatement(s), { kind: "primary small", testid: "st-approve", disabled: mine }));
  }
  if (open && rights.reject) actions.push(button(t("st_reject"), () => app.rejectStatement(s), { kind: "danger small", testid: "st-reject" }));
  if (open && rights.edit) actions.push(button(t("st_edit"), () => app.editStatement(s), { kind: "ghost small", testid: "st-edit" }));
  return h(
    "article",
    { class: `card statement s-${s.state}`, "data-testid": "statement", "data-statement": s.statement_id, "data-state": s.state, "data-topic": s.topic },
    h(
      "header",
      null,
      h("span", { class: "strong" }, tOr("st_topic_", s.topic)),
      h("span", { class: "mono muted" }, s.statement_id),
      h("span", { class: "grow" }),
      chip(tOr("st_state_", s.state), `state-${s.state}`, { "data-testid": "statement-state" }),
    ),
    h("p", { class: "st-text", lang: textLang }, ...markedText(text || "", spansOf(textLang))),
    flagged.length ? h("div", { class: "st-flag", "data-testid": "statement-flagged" }, t("st_flagged")) : null,
    other
      ? h("details", { class: "st-other", open: flagged.some((x) => x.lang === otherLang) || null }, h("summary", null, lang === "ru" ? t("st_text_en") : t("st_text_ru")), h("p", null, ...markedText(other, spansOf(otherLang))))
      : null,
    s.policy ? policyBox(s.policy, app) : null,
    Array.isArray(s.withheld)
      ? h(
          "div",
          { class: "withheld", "data-testid": "statement-withheld" },
          h("div", { class: "withheld-title" }, t("st_withheld")),
          s.withheld.length ? h("ul", null, s.withheld.map((w) => h("li", null, w))) : h("div", { class: "muted" }, t("st_withheld_none")),
        )
      : null,
    edited(s, lang)
      ? h(
          "details",
          { class: "st-other", open: flagged.length ? true : null, "data-testid": "statement-changes" },
          h("summary", null, t("st_changes")),
          diffView(lang === "ru" ? s.draft_ru || s.draft_en : s.draft_en || s.draft_ru, text || ""),
        )
      : null,
    h(
      "div",
      { class: "row-line sub" },
      h("span", { "data-testid": "statement-approvals" }, t("st_approvals", { n: approvedBy.length, need: s.approvals_needed ?? "?" })),
      approvedBy.length ? h("span", { class: "muted" }, t("st_approved_by", { who: approvedBy.join(", ") })) : null,
      h("span", { class: "grow" }),
      s.published_at ? h("span", { class: "mono" }, t("st_published_at", { time: localHM(s.published_at) })) : h("span", { class: "mono muted" }, t("st_drafted_at", { time: localHM(s.drafted_at) })),
    ),
    s.editor ? h("div", { class: "row-line sub muted" }, t("st_edited_by", { who: s.editor })) : null,
    s.history?.length
      ? h(
          "details",
          { class: "history" },
          h("summary", null, `${t("st_history")} (${s.history.length})`),
          h("ol", null, s.history.map((a) => h("li", null, h("span", { class: "mono" }, localHM(a.t)), ` ${a.action} — ${a.officer}${a.role ? ` (${tOr("role_", a.role)})` : ""}`))),
        )
      : null,
    actions.length ? h("footer", null, actions) : null,
  );
}
