// Bundles src/index.js and src/jornada.css into ../static/dist (jornada.js, jornada.css and the font files they
// use): everything the pages need is served by Jornada itself, no CDN. Files a previous build left behind are
// removed afterwards (not before, so a running server never misses the bundle).
import { build } from 'esbuild';
import { readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';

const outdir = new URL('../static/dist/', import.meta.url).pathname;

const js = await build({
  entryPoints: { jornada: 'src/index.js' },
  bundle: true,
  minify: true,
  format: 'iife',
  target: ['es2020'],
  outdir,
  loader: { '.json': 'json' },
  jsx: 'automatic',
  jsxImportSource: '@bpmn-io/properties-panel/preact',
  legalComments: 'linked',
  metafile: true,
  logLevel: 'warning'
});

const css = await build({
  entryPoints: { jornada: 'src/jornada.css' },
  bundle: true,
  minify: true,
  outdir,
  loader: { '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.eot': 'file', '.svg': 'file' },
  assetNames: 'fonts/[name]-[hash]',
  metafile: true,
  logLevel: 'warning'
});

const built = new Set(
  [js, css].flatMap((result) => Object.keys(result.metafile.outputs)).map((path) => relative(outdir, path))
);
built.add('.built'); // the Makefile's stamp

function removeStale(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      removeStale(path);
    } else if (!built.has(relative(outdir, path))) {
      rmSync(path);
    }
  }
}

removeStale(outdir);
