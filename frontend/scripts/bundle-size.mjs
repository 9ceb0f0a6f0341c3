// The gzip size of what each route loads, from the build's manifest (run after `npm run build`): the initial JS (the
// entry and its static imports) and, per route, the extra JS of its lazily loaded chunk and that chunk's own imports.
// Budget: 250 KB gzip of initial JS; the run fails above it.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const dist = new URL('../dist/', import.meta.url).pathname;
const manifest = JSON.parse(readFileSync(join(dist, '.vite/manifest.json'), 'utf8'));
const BUDGET_KB = 250;

const gz = new Map();
function gzipKb(file) {
  if (!gz.has(file)) gz.set(file, gzipSync(readFileSync(join(dist, file)), { level: 9 }).length / 1024);
  return gz.get(file);
}

/** Files of `key` and its static imports, transitively. */
function closure(key, seen = new Set()) {
  const chunk = manifest[key];
  if (!chunk || seen.has(chunk.file)) return seen;
  seen.add(chunk.file);
  for (const dep of chunk.imports ?? []) closure(dep, seen);
  return seen;
}

const entryKey = Object.keys(manifest).find((k) => manifest[k].isEntry);
const initial = closure(entryKey);
const css = (manifest[entryKey].css ?? []).reduce((sum, f) => sum + gzipKb(f), 0);
const sum = (files) => [...files].filter((f) => f.endsWith('.js')).reduce((s, f) => s + gzipKb(f), 0);
const initialKb = sum(initial);

const rows = [];
for (const key of manifest[entryKey].dynamicImports ?? []) {
  const files = [...closure(key)].filter((f) => !initial.has(f));
  const lazy = (manifest[key].dynamicImports ?? []).flatMap((k) => [...closure(k)]).filter((f) => !initial.has(f));
  const name = key.replace(/^src\/pages\//, '').replace(/\.tsx$/, '');
  rows.push({ route: name, routeKb: sum(files), lazyKb: sum(new Set(lazy)) });
}
const f = (n) => n.toFixed(1).padStart(7);
console.log(`initial JS (entry + static imports): ${initialKb.toFixed(1)} KB gzip; CSS ${css.toFixed(1)} KB gzip`);
console.log(`${'route chunk'.padEnd(16)}${'+ KB gz'.padStart(7)}  ${'total'.padStart(7)}  lazily inside (charts)`);
for (const r of rows) {
  console.log(`${r.route.padEnd(16)}${f(r.routeKb)}  ${f(initialKb + r.routeKb)}  ${r.lazyKb ? `${r.lazyKb.toFixed(1)} KB` : ''}`);
}
if (initialKb > BUDGET_KB) {
  console.error(`initial JS is ${initialKb.toFixed(1)} KB gzip, over the ${BUDGET_KB} KB budget`);
  process.exit(1);
}
