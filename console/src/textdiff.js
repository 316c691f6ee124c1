// Pure text helpers of the statements panel (no DOM): the flagged spans of an edited text, and
// its word-level differences from the draft.

/**
 * ``text`` cut at ``spans`` ({start, end} offsets): [[marked, part], ...]. The server counts
 * offsets in code points (Python strings), so the text is cut by code points, not by
 * JavaScript's UTF-16 units (an emoji or a mathematical letter is one code point, two units).
 */
export function cutSpans(text, spans) {
  if (!spans.length) return [[false, text]];
  const cps = Array.from(text);
  const out = [];
  let at = 0;
  for (const sp of [...spans].sort((a, b) => a.start - b.start)) {
    if (sp.start < at || sp.end <= sp.start) continue;
    if (sp.start > at) out.push([false, cps.slice(at, sp.start).join("")]);
    out.push([true, cps.slice(sp.start, sp.end).join("")]);
    at = sp.end;
  }
  if (at < cps.length) out.push([false, cps.slice(at).join("")]);
  return out;
}

/**
 * Word-level differences from ``a`` to ``b`` (a longest common subsequence of words and the
 * spaces between them): [[op, text], ...] with op "=", "+" or "-". Texts are at most a few
 * thousand characters (the policy's edit cap), so the quadratic table stays small.
 */
export function diffWords(a, b) {
  const x = a.split(/(\s+)/).filter((w) => w !== "");
  const y = b.split(/(\s+)/).filter((w) => w !== "");
  const n = x.length;
  const m = y.length;
  const L = Array.from({ length: n + 1 }, () => new Uint16Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) L[i][j] = x[i] === y[j] ? L[i + 1][j + 1] + 1 : Math.max(L[i + 1][j], L[i][j + 1]);
  }
  const out = [];
  const push = (op, s) => {
    if (out.length && out[out.length - 1][0] === op) out[out.length - 1][1] += s;
    else out.push([op, s]);
  };
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (x[i] === y[j]) {
      push("=", x[i]);
      i++;
      j++;
    } else if (L[i + 1][j] >= L[i][j + 1]) push("-", x[i++]);
    else push("+", y[j++]);
  }
  while (i < n) push("-", x[i++]);
  while (j < m) push("+", y[j++]);
  return out;
}
