// A few DOM helpers: build elements without a framework, and keep keyed lists in place so a
// re-render leaves unchanged rows (and any focus or text selection inside them) alone.

/**
 * h("div", {class: "row", onclick: fn, dataset: {id: "x"}}, child, "text", [more, children])
 * Attributes starting with "on" become listeners; `false`, `null` and `undefined` are skipped.
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === false || v === null || v === undefined) continue;
      if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(el.dataset, v);
      else if (k === "class") el.className = v;
      else if (k === "text") el.textContent = v;
      else if (k === "value") el.value = v;
      else if (k === "checked" || k === "disabled" || k === "selected") el[k] = Boolean(v);
      else el.setAttribute(k, v === true ? "" : String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/**
 * Render `items` into `container` by key: a row whose signature is unchanged is kept as it is;
 * a changed one is rebuilt by `render(item)`; rows for vanished keys are removed; order follows
 * `items`. `pinned(key)` true keeps a row untouched whatever its signature (e.g. being edited).
 */
export function renderKeyed(container, items, key, render, signature, pinned = () => false) {
  const old = new Map();
  for (const child of Array.from(container.children)) {
    if (child.dataset.key !== undefined) old.set(child.dataset.key, child);
    else child.remove();
  }
  let prev = null;
  for (const item of items) {
    const k = String(key(item));
    const sig = signature(item);
    let el = old.get(k);
    if (el && (el.dataset.sig !== sig && !pinned(k))) {
      const fresh = render(item);
      el.replaceWith(fresh);
      el = fresh;
    } else if (!el) {
      el = render(item);
    }
    el.dataset.key = k;
    if (!pinned(k) || !el.dataset.sig) el.dataset.sig = sig;
    old.delete(k);
    const want = prev ? prev.nextSibling : container.firstChild;
    if (want !== el) container.insertBefore(el, want);
    prev = el;
  }
  for (const el of old.values()) el.remove();
}
