import { test } from "node:test";
import assert from "node:assert/strict";
import { DICTIONARIES } from "../src/i18n.js";

test("English and Russian have the same keys, and every placeholder in both", () => {
  const { en, ru } = DICTIONARIES;
  assert.deepEqual(Object.keys(ru).sort(), Object.keys(en).sort());
  const vars = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  for (const key of Object.keys(en)) assert.deepEqual(vars(ru[key]), vars(en[key]), key);
});
