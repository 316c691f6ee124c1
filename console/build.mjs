// Builds the console into skywarden/service/static/ (served by `skywarden serve`).
//
//   index.html                 the page
//   assets/app.js, app-style.css   the bundle (MapLibre GL JS included)
//   assets/maplibre-gl-worker.mjs   MapLibre's tile worker, loaded beside app.js
//   assets/fonts/*.woff2       IBM Plex (latin + cyrillic), for the page and the map's labels
//
// Nothing is fetched at run time from anywhere but the serving process.
import * as esbuild from "esbuild";
import { cp, mkdir, readdir, rm } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(here, "..", "skywarden", "service", "static");
const assets = path.join(out, "assets");
const modules = path.join(here, "node_modules");

await rm(out, { recursive: true, force: true });
await mkdir(path.join(assets, "fonts"), { recursive: true });

await esbuild.build({
  entryPoints: { app: path.join(here, "src", "main.js"), "app-style": path.join(here, "src", "style.css") },
  outdir: assets,
  entryNames: "[name]",
  bundle: true,
  format: "esm",
  minify: true,
  sourcemap: false,
  target: ["chrome111", "firefox115", "safari16.4"],
  external: ["./fonts/*"],
  legalComments: "linked",
  logLevel: "warning",
});

// MapLibre starts its tile workers from this module, resolved beside app.js.
await cp(path.join(modules, "maplibre-gl", "dist", "maplibre-gl-worker.mjs"), path.join(assets, "maplibre-gl-worker.mjs"));

const fonts = [
  ["ibm-plex-sans", ["400", "500", "600"]],
  ["ibm-plex-mono", ["400", "500"]],
];
for (const [family, weights] of fonts) {
  const dir = path.join(modules, "@fontsource", family, "files");
  const files = await readdir(dir);
  for (const w of weights) {
    for (const subset of ["latin", "cyrillic"]) {
      const name = `${family}-${subset}-${w}-normal.woff2`;
      if (!files.includes(name)) throw new Error(`missing font file ${name}`);
      await cp(path.join(dir, name), path.join(assets, "fonts", name));
    }
  }
  await cp(path.join(modules, "@fontsource", family, "LICENSE"), path.join(assets, "fonts", `${family}.LICENSE`)).catch(() => {});
}

await cp(path.join(here, "src", "favicon.svg"), path.join(assets, "favicon.svg"));
await cp(path.join(here, "src", "index.html"), path.join(out, "index.html"));
console.log(`console built into ${path.relative(process.cwd(), out) || out}`);
