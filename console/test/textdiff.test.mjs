import { test } from "node:test";
import assert from "node:assert/strict";
import { cutSpans, diffWords } from "../src/textdiff.js";

test("flagged spans cut the text by code points, as the server counts them", () => {
  // "𝐏" is one code point and two UTF-16 units: the span after it must still fall on "scene"
  const text = "𝐏 at the scene now";
  assert.deepEqual(cutSpans(text, [{ start: 9, end: 14 }]), [[false, "𝐏 at the "], [true, "scene"], [false, " now"]]);
  assert.deepEqual(cutSpans("plain", []), [[false, "plain"]]);
  assert.deepEqual(cutSpans("ab cd", [{ start: 3, end: 5 }, { start: 0, end: 2 }]), [[true, "ab"], [false, " "], [true, "cd"]]);
});

test("word differences rebuild both texts", () => {
  const a = "03:10. The 31st drone has been destroyed. Area: Central district.";
  const b = "03:10. The 31st drone has been destroyed. A fire crew is at the scene.";
  const d = diffWords(a, b);
  const side = (keep) => d.filter(([op]) => op === "=" || op === keep).map(([, s]) => s).join("");
  assert.equal(side("-"), a);
  assert.equal(side("+"), b);
  assert.ok(d.some(([op, s]) => op === "+" && s.includes("scene")));
  assert.ok(d.some(([op, s]) => op === "-" && s.includes("Central")));
  assert.deepEqual(diffWords("same text", "same text"), [["=", "same text"]]);
});
