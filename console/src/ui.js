// Small shared pieces: chips, buttons, the toast line, and a modal form (used instead of the
// browser's prompt(), so it is styled, translated and keyboard-driven).
import { h, clear } from "./dom.js";
import { t } from "./i18n.js";

export function chip(text, kind = "", attrs = {}) {
  return h("span", { class: `chip ${kind}`.trim(), ...attrs }, text);
}

export function button(label, onclick, { kind = "", title, testid, disabled } = {}) {
  return h("button", { type: "button", class: `btn ${kind}`.trim(), title, "data-testid": testid, disabled, onclick }, label);
}

let toastBox = null;

export function toast(message, kind = "info") {
  if (!toastBox) {
    toastBox = h("div", { class: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(toastBox);
  }
  const el = h("div", { class: `toast ${kind}` }, message);
  toastBox.append(el);
  setTimeout(() => el.classList.add("gone"), 4200);
  setTimeout(() => el.remove(), 4700);
}

let openModal = null;

export function closeModal() {
  if (openModal) {
    openModal.resolve(null);
    openModal.el.remove();
    openModal = null;
    return true;
  }
  return false;
}

/**
 * A modal form. fields: [{name, label, type: "text"|"textarea"|"select"|"number", value, options: [[value, label]], required}]
 * Resolves to {name: value} on submit, null on cancel/Esc.
 */
export function ask({ title, fields = [], submitLabel, message }) {
  closeModal();
  return new Promise((resolve) => {
    const inputs = {};
    const body = fields.map((f) => {
      let input;
      if (f.type === "textarea") input = h("textarea", { name: f.name, rows: f.rows || 5, required: f.required }, f.value ?? "");
      else if (f.type === "select") input = h("select", { name: f.name }, (f.options || []).map(([v, label]) => h("option", { value: v, selected: v === f.value }, label)));
      else input = h("input", { name: f.name, type: f.type || "text", value: f.value ?? "", required: f.required, autocomplete: "off" });
      inputs[f.name] = input;
      return h("label", { class: "field" }, h("span", null, f.label), input);
    });
    const form = h(
      "form",
      { class: "modal", role: "dialog", "aria-modal": "true", "aria-label": title },
      h("h3", null, title),
      message ? h("p", { class: "muted" }, message) : null,
      body,
      h(
        "div",
        { class: "modal-actions" },
        button(t("st_cancel"), () => closeModal(), { kind: "ghost", testid: "modal-cancel" }),
        h("button", { type: "submit", class: "btn primary", "data-testid": "modal-submit" }, submitLabel || t("submit")),
      ),
    );
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const values = Object.fromEntries(Object.entries(inputs).map(([k, el]) => [k, el.value]));
      const m = openModal;
      openModal = null;
      m.el.remove();
      resolve(values);
    });
    const backdrop = h("div", { class: "backdrop", onmousedown: (e) => e.target === backdrop && closeModal() }, form);
    openModal = { el: backdrop, resolve };
    document.body.append(backdrop);
    const first = form.querySelector("input, textarea, select, button[type=submit]");
    first?.focus();
  });
}

/** Replace a panel's body with a one-line empty message when there is nothing to list. */
export function emptyLine(container, text) {
  clear(container);
  container.append(h("div", { class: "empty" }, text));
}
