// Bundles src/index.js and src/jornada.css into ../static/dist (jornada.js, jornada.css and any font files):
// everything the pages need is served by Jornada itself, no CDN.
import { build } from 'esbuild';
import { rmSync } from 'node:fs';

const outdir = new URL('../static/dist/', import.meta.url).pathname;

rmSync(outdir, { recursive: true, force: true });

await build({
  entryPoints: { jornada: 'src/index.js' },
  bundle: true,
  minify: true,
  sourcemap: false,
  format: 'iife',
  target: ['es2020'],
  outdir,
  loader: { '.json': 'json' },
  jsx: 'automatic',
  jsxImportSource: '@bpmn-io/properties-panel/preact',
  logLevel: 'warning',
  legalComments: 'linked'
});

await build({
  entryPoints: { jornada: 'src/jornada.css' },
  bundle: true,
  minify: true,
  outdir,
  loader: { '.woff': 'file', '.woff2': 'file', '.ttf': 'file', '.eot': 'file', '.svg': 'file' },
  assetNames: 'fonts/[name]-[hash]',
  logLevel: 'warning'
});
