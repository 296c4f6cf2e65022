// Runs every test suite in every runtime, and OpenSSL's own known-answer tests (make kat), and
// ends with one line, "N passed, N failed", that totals them all; exits non-zero if anything
// failed. This is `make test` and .ci/run.
//   node test/all.mjs [--only node,deno,bun,chromium,package,kat]
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);

/**
 * Each run: a name, a command, how many minutes it may take before it counts as hung, and the
 * runtime it runs the suites in (told to them as OPENSSL_WASM_TEST_RUNTIME, which abi.test.js checks),
 * and the summary its output ends with: uvu's ("Total:", "Passed:", "Skipped:") unless `counts`, a
 * last line "N passed, N failed" (with "N skipped" on a line before it, if any were).
 */
const runs = [
  { name: 'node', cmd: [process.execPath, 'test/run.js'], minutes: 10, runtime: 'node' },
  { name: 'deno', cmd: [bin('deno'), 'run', '-A', 'test/run.js'], minutes: 10, runtime: 'deno' },
  { name: 'bun', cmd: [bin('bun'), 'test/run.js'], minutes: 10, runtime: 'bun' },
  // The browser: headless Chromium drives the example page (Node runs the servers).
  { name: 'chromium', cmd: [process.execPath, 'test/run.js', 'test/browser/chromium.test.js'], minutes: 10,
    when: () => existsSync(join(root, 'test/browser/chromium.test.js')) },
  // The package as users get it: npm pack, installed from the tarball into a fresh project and
  // used from Node (ESM, require), Deno, Bun, TypeScript, esbuild and Vite pages in Chromium,
  // and workerd.
  { name: 'package', cmd: [process.execPath, 'test/run.js', 'test/package/package.test.js'], minutes: 6 },
  // OpenSSL's evp_test over its data files, in both flavors (builds what is missing first).
  { name: 'kat', cmd: ['make', '--no-print-directory', 'kat'], minutes: 15, counts: true },
];

const only = process.argv.includes('--only') ? process.argv[process.argv.indexOf('--only') + 1].split(',') : null;
const strip = (s) => s.replace(/\x1b\[[0-9;]*m/g, '');

/** { total, passed, skipped } from uvu's summary, or NaNs if there is none. */
function uvuSummary(text) {
  const num = (label) => Number((text.match(new RegExp(`^\\s*${label}:\\s*(\\d+)`, 'm')) ?? [])[1] ?? NaN);
  return { total: num('Total'), passed: num('Passed'), skipped: num('Skipped') || 0 };
}

/** The same from a run that ends with "N passed, N failed" (test/kat/run.mjs). */
function countsSummary(text) {
  const last = [...text.matchAll(/^(\d+) passed, (\d+) failed\s*$/gm)].pop();
  if (!last) return { total: NaN, passed: NaN, skipped: 0 };
  const skipped = Number([...text.matchAll(/^(\d+) skipped\b/gm)].pop()?.[1] ?? 0);
  const passed = Number(last[1]);
  return { total: passed + Number(last[2]) + skipped, passed, skipped };
}

function run({ name, cmd, minutes, runtime, counts }) {
  return new Promise((resolve) => {
    console.log(`\n=== ${name}: ${cmd.map((c) => c.replace(root + '/', '')).join(' ')}`);
    const child = spawn(cmd[0], cmd.slice(1), { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...(runtime ? { OPENSSL_WASM_TEST_RUNTIME: runtime } : {}) } });
    let out = '';
    const take = (stream, sink) => stream.on('data', (d) => { out += d; sink.write(d); });
    take(child.stdout, process.stdout);
    take(child.stderr, process.stderr);
    const timer = setTimeout(() => { out += `\n${name}: timed out after ${minutes} minutes\n`; child.kill('SIGKILL'); }, minutes * 60_000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const text = strip(out);
      const { total, passed, skipped } = counts ? countsSummary(text) : uvuSummary(text);
      if (Number.isNaN(total) || Number.isNaN(passed)) {
        // The runner died before its summary: count the whole run as one failure.
        resolve({ name, passed: 0, failed: 1, skipped: 0, note: `no summary (exit ${code})` });
      } else {
        const failed = Math.max(total - passed - skipped, code === 0 ? 0 : 1);
        resolve({ name, passed, failed, skipped, note: `exit ${code}` });
      }
    });
  });
}

const results = [];
for (const r of runs) {
  if (only && !only.includes(r.name)) continue;
  if (r.when && !r.when()) continue;
  results.push(await run(r));
}
console.log('\n=== summary');
for (const r of results) console.log(`${r.name.padEnd(8)} ${r.passed} passed, ${r.failed} failed, ${r.skipped} skipped (${r.note})`);
const passed = results.reduce((n, r) => n + r.passed, 0);
const failed = results.reduce((n, r) => n + r.failed, 0);
const skipped = results.reduce((n, r) => n + r.skipped, 0);
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 || results.length === 0 ? 1 : 0);
