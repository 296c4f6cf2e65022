// make kat: runs OpenSSL's own known-answer tests, test/evp_test.c built for each flavor
// (wasm/kat/kat.mk), over OpenSSL's data files (test/recipes/30-test_evp_data/*.txt), one
// fresh wasm instance per file in a worker thread (test/kat/worker.mjs). Prints a line per data
// file and ends with exactly one line "N passed, N failed", counting test cases (stanzas);
// exits non-zero on any failure.
//
//   node test/kat/run.mjs [--flavor small,full] [--files a.txt,b.txt] [--data DIR]
//                         [--timeout SECONDS] [--jobs N] [--verbose]
//
// Every data file runs, for each flavor, unless --files names some. What a flavor is expected
// not to run is in test/kat/skips.txt, each with its reason: a skip not listed there is a
// failure, and so is a listed skip that no longer happens.
// Before the data files, self-checks show the harness can fail: a planted wrong expected
// value, a garbage file, a file cut short, a missing file, a trap and a hang must each be
// reported as a failure naming the file.
import { Worker } from 'node:worker_threads';
import { readFileSync, readdirSync, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join, relative } from 'node:path';
import { availableParallelism, cpus } from 'node:os';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const here = join(root, 'test', 'kat');
const version = readFileSync(join(root, 'openssl-src/VERSION'), 'utf8').trim();

const argv = process.argv.slice(2);
const flag = (name) => argv.includes(name);
const option = (name, def) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : def);
const dataDir = option('--data', join(root, `openssl-src/openssl-${version}/test/recipes/30-test_evp_data`));
const flavors = option('--flavor', 'small,full').split(',');
const timeoutSeconds = Number(option('--timeout', 240));
const jobs = Number(option('--jobs', Math.min(2, availableParallelism?.() ?? cpus().length)));
const verbose = flag('--verbose');
const rel = (p) => relative(root, p) || '.';

/** Exits with a message, no stack: for the runner's own usage and set-up errors. */
function die(message) {
  console.error(`kat: ${message}`);
  console.log('0 passed, 1 failed');
  process.exit(2);
}

// ---------------------------------------------------------------- the lists

/** Lines of a committed list, without comments and blank lines, with their line numbers. */
function listLines(file) {
  return readFileSync(join(here, file), 'utf8').split('\n')
    .map((text, i) => ({ text: text.replace(/#.*/, '').trim(), line: i + 1 }))
    .filter((l) => l.text !== '');
}

/** A glob (only *) as a whole-string regular expression. */
const glob = (g) => new RegExp(`^${g.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i');

/**
 * test/kat/skips.txt: "flavor | file | what | reason", where flavor is a flavor or * (both),
 * file is a glob (* for any file) and what is one of:
 *   whole file           the file is not run for that flavor;
 *   removed: KEY = GLOB  stanzas with a matching line (e.g. "Cipher = AES-*-CCM" or "Ctrl =
 *                        digest:MD5-SHA1") are taken out before the run, their lines kept as
 *                        comments so line numbers stay OpenSSL's: evp_test skips only what a
 *                        Configure option removed, and fails on any other algorithm its
 *                        provider lacks, such as one the small flavor's provider leaves out;
 *   skipped: GLOB        evp_test's own skip message (the text after "skipping", e.g.
 *                        "'BF-ECB' is disabled") is expected;
 *   silent: N            evp_test skips exactly N tests of the file without saying why (it
 *                        does so for a key that did not load, or a digest configured out);
 *   printed: GLOB        an "ERROR:" line evp_test prints in a test it then counts as passed
 *                        is expected (any other fails the file: evp_test passes some tests
 *                        whose set-up failed, e.g. key generation for an absent algorithm).
 * Globs take * only and ignore case.
 */
const skips = listLines('skips.txt').map(({ text, line }) => {
  const parts = text.split('|').map((s) => s.trim());
  if (parts.length !== 4 || parts.some((p) => p === '')) die(`test/kat/skips.txt:${line}: want "flavor | file | what | reason"`);
  const [flavor, file, what, reason] = parts;
  const entry = { flavor, file, what, reason, line, fileRe: glob(file), used: 0 };
  let m;
  if (what === 'whole file') entry.kind = 'file';
  else if ((m = what.match(/^removed:\s*([\w-]+)\s*=\s*(.+)$/))) Object.assign(entry, { kind: 'removed', key: m[1], valueRe: glob(m[2]) });
  else if ((m = what.match(/^skipped:\s*(.+)$/))) Object.assign(entry, { kind: 'skipped', whatRe: glob(m[1]) });
  else if ((m = what.match(/^printed:\s*(.+)$/))) Object.assign(entry, { kind: 'printed', whatRe: glob(m[1]) });
  else if ((m = what.match(/^silent:\s*(\d+)$/))) Object.assign(entry, { kind: 'silent', count: Number(m[1]) });
  else die(`test/kat/skips.txt:${line}: what must be "whole file", "removed: KEY = GLOB", "skipped: GLOB", "silent: N" or "printed: GLOB"`);
  return entry;
});
const forFlavor = (s, flavor) => s.flavor === '*' || s.flavor === flavor;
const entries = (flavor, file, kind) => skips.filter((s) => forFlavor(s, flavor) && s.kind === kind && s.fileRe.test(file));

/**
 * The data file with the stanzas that skips.txt removes for this flavor turned into comments
 * (line for line, so evp_test's line numbers are the file's). Returns the text and how many
 * stanzas were removed.
 */
function removeStanzas(flavor, file, text) {
  const rules = entries(flavor, file, 'removed');
  if (rules.length === 0) return { text, removed: 0 };
  const lines = text.split('\n');
  let removed = 0;
  for (let start = 0; start < lines.length;) {
    let end = start;
    while (end < lines.length && lines[end].trim() !== '') end++;
    const pairs = [];
    for (let i = start; i < end; i++) {
      const m = lines[i].match(/^([^#=][^=]*?)\s*=\s*(.*?)\s*$/);
      if (m && m[1].trim() !== 'Title') pairs.push([m[1].trim(), m[2]]);
    }
    const rule = rules.find((r) => pairs.some(([k, v]) => k === r.key && r.valueRe.test(v)));
    if (rule) {
      rule.used++;
      removed++;
      for (let i = start; i < end; i++) if (!/^\s*Title\s*=/.test(lines[i])) lines[i] = `# kat: removed (skips.txt:${rule.line}) ${lines[i]}`;
    }
    start = end + 1;
  }
  return { text: lines.join('\n'), removed };
}

if (!existsSync(dataDir)) die(`no data directory ${rel(dataDir)} (make fetches OpenSSL's sources)`);
const allFiles = readdirSync(dataDir).filter((f) => f.endsWith('.txt')).sort();
const chosen = option('--files', null)?.split(',') ?? allFiles;

// ---------------------------------------------------------------- running one file

const modules = {};
function moduleFor(flavor) {
  const path = join(root, `wasm/build/kat/evp_test-${flavor}.wasm`);
  if (!existsSync(path)) die(`${rel(path)} is missing: run make kat`);
  return (modules[flavor] ??= new WebAssembly.Module(readFileSync(path)));
}

/**
 * Runs evp_test over one file and resolves to { exit, output } or { error, output }, never
 * rejects. files maps the names evp_test may open to their bytes; plant is for self-checks.
 */
function runOnce(flavor, name, files, { timeout = timeoutSeconds, plant = null } = {}) {
  return new Promise((resolve) => {
    const worker = new Worker(join(here, 'worker.mjs'), {
      workerData: { module: moduleFor(flavor), args: ['evp_test', name], files, plant },
      stdout: false, stderr: false,
    });
    let done = false;
    const finish = (r) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      worker.terminate();
      resolve(r);
    };
    const timer = setTimeout(() => finish({ error: `timed out after ${timeout} s`, output: '' }), timeout * 1000);
    worker.on('message', finish);
    worker.on('error', (e) => finish({ error: `worker error: ${e?.message ?? e}`, output: '' }));
    worker.on('exit', (code) => finish({ error: `worker exited (${code}) without a result`, output: '' }));
  });
}

/** The text after "skipping" in one of evp_test's skip lines, without a trailing file:line. */
function skipMessages(output) {
  const out = [];
  for (const m of output.matchAll(/^\s*# skipping,? ?(.*)$/gm)) out.push(m[1].replace(/:\s*\S+:\d+\s*$/, '').trim());
  return out;
}

/**
 * Judges one run. Counts test cases as evp_test does ("Completed N tests with E errors and S
 * skipped"): passed = N - E, failed = E, skipped = S; a run that did not complete, or exited
 * non-zero, or skipped what skips.txt does not expect, counts one more failure. Marks the
 * skips.txt entries it used, unless told not to (the self-checks).
 */
function judge(flavor, file, r, { track = true } = {}) {
  const use = (s) => { if (track) s.used++; };
  const problems = [];
  const done = r.output.match(/Completed (\d+) tests with (\d+) errors and (\d+) skipped/);
  let passed = 0, failed = 0, skipped = 0;
  if (done) {
    const [tests, errors] = [Number(done[1]), Number(done[2])];
    skipped = Number(done[3]);
    passed = Math.max(0, tests - errors);
    failed = errors;
    if (errors > 0) problems.push(`${errors} test case${errors === 1 ? '' : 's'} failed`);
  }
  if (r.error) problems.push(r.error);
  else if (!done) problems.push(`evp_test stopped before the end of the file (exit ${r.exit})`);
  else if (r.exit !== 0 && failed === 0) problems.push(`evp_test exited ${r.exit}`);

  const messages = skipMessages(r.output);
  const unexpected = new Map();
  for (const msg of messages) {
    const s = entries(flavor, file, 'skipped').find((k) => k.whatRe.test(msg));
    if (s) use(s);
    else unexpected.set(msg, (unexpected.get(msg) ?? 0) + 1);
  }
  const shown = [...unexpected].slice(0, 8);
  for (const [msg, n] of shown) problems.push(`unexpected skip${n > 1 ? ` (x${n})` : ''}: ${msg}`);
  if (unexpected.size > shown.length) problems.push(`and ${unexpected.size - shown.length} more kinds of unexpected skip`);

  // evp_test's TEST_* checks print "ERROR: <check> failed @ file:line". In a file with no
  // failed test case every such line must be one skips.txt expects.
  if (done && failed === 0) {
    const printed = [...r.output.matchAll(/^\s*# ERROR:\s*(.*?)(?:\s*@ \S+:\d+)?\s*$/gm)].map((m) => m[1]);
    const tolerated = entries(flavor, file, 'printed');
    const stray = printed.filter((msg) => {
      const s = tolerated.find((k) => k.whatRe.test(msg));
      if (s) use(s);
      return !s;
    });
    if (stray.length > 0) problems.push(`evp_test printed ${stray.length} error(s) in tests it counted as passed, e.g. ${stray[0]}`);
  }
  // A few skips happen while a test runs (MAC tests whose digest or cipher is configured out),
  // after evp_test counted it as run: those are moved from passed to skipped. Fewer messages
  // than skips would be skips without a reason, which are not accepted.
  if (done && messages.length > skipped) {
    passed -= messages.length - skipped;
    skipped = messages.length;
  }
  if (done) {
    const silent = Math.max(0, skipped - messages.length);
    const expected = entries(flavor, file, 'silent');
    const want = expected.reduce((n, s) => n + s.count, 0);
    if (silent !== want) problems.push(`${silent} test(s) skipped without a message, ${want} expected (silent: in skips.txt)`);
    else expected.forEach(use);
  }

  if (problems.length > 0 && failed === 0) failed = 1;
  return { passed, failed, skipped, problems, ok: problems.length === 0 };
}

// ---------------------------------------------------------------- self-checks

/** The first "Output = <hex>" value with its last hex digit changed. */
function plantWrongOutput(text) {
  const m = text.match(/^(Output\s*=\s*[0-9a-fA-F]*)([0-9a-fA-F])\s*$/m);
  if (!m) die('self-check: no "Output = <hex>" line to corrupt');
  const flipped = m[2].toLowerCase() === '0' ? '1' : '0';
  return text.replace(m[0], `${m[1]}${flipped}`);
}

/** Each must be judged a failure, with a problem matching `expect`, or the harness is broken. */
async function selfChecks(flavor) {
  const read = (f) => readFileSync(join(dataDir, f));
  const sha = read('evpmd_sha.txt').toString('latin1');
  const rsa = read('evppkey_rsa.txt').toString('latin1');
  const cut = rsa.slice(0, rsa.indexOf('-----BEGIN', rsa.indexOf('-----BEGIN') + 1) + 200);
  const garbage = Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256));
  const checks = [
    { what: 'a wrong expected digest', name: 'planted-wrong-output.txt',
      files: { 'planted-wrong-output.txt': Buffer.from(plantWrongOutput(sha), 'latin1') }, expect: /1 test case failed/ },
    { what: 'a file of garbage bytes', name: 'garbage.txt', files: { 'garbage.txt': garbage }, expect: /failed|stopped/ },
    { what: 'a file cut inside a PEM key', name: 'cut.txt', files: { 'cut.txt': Buffer.from(cut, 'latin1') }, expect: /failed|stopped/ },
    { what: 'a data file the host does not have', name: 'no-such-file.txt', files: {}, expect: /stopped/,
      output: /the host has no data file named no-such-file\.txt/ },
    { what: 'a trap inside the wasm', name: 'evpmd_sha.txt', files: { 'evpmd_sha.txt': read('evpmd_sha.txt') },
      plant: 'trap', expect: /wasm trap/ },
    { what: 'a run that does not end in time', name: 'evppkey_rsa.txt', files: { 'evppkey_rsa.txt': read('evppkey_rsa.txt') },
      timeout: 0.05, expect: /timed out/ },
  ];
  let passed = 0, failed = 0;
  for (const c of checks) {
    const r = await runOnce(flavor, c.name, c.files, { plant: c.plant, timeout: c.timeout });
    const j = judge(flavor, c.name, r, { track: false });
    const good = !j.ok && j.failed > 0 && j.problems.some((p) => c.expect.test(p)) && (!c.output || c.output.test(r.output));
    console.log(`${flavor.padEnd(5)} self-check: ${c.what} ${good ? 'is reported' : 'was NOT reported as expected'}` +
      ` (${c.name}: ${j.problems.join('; ') || 'passed'})`);
    if (good) passed++;
    else failed++;
  }
  return { passed, failed };
}

// ---------------------------------------------------------------- the data files

async function pool(items, n, fn) {
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  }));
  return results;
}

const totals = { passed: 0, failed: 0, skipped: 0, files: 0, selfChecks: 0, failedFiles: [] };
const started = Date.now();
for (const flavor of flavors) {
  moduleFor(flavor);
  const self = await selfChecks(flavor);
  totals.passed += self.passed;
  totals.selfChecks += self.passed + self.failed;
  totals.failed += self.failed;
  if (self.failed > 0) totals.failedFiles.push(`${flavor} self-checks`);

  const files = [];
  for (const f of chosen) {
    if (!allFiles.includes(f)) die(`no data file ${f} in ${rel(dataDir)}`);
    const whole = entries(flavor, f, 'file')[0];
    if (whole) {
      whole.used++;
      console.log(`${flavor.padEnd(5)} ${f.padEnd(40)} not run: ${whole.reason}`);
    } else files.push(f);
  }
  const notRun = chosen.length - files.length;
  await pool(files, jobs, async (f) => {
    const t0 = Date.now();
    const { text, removed } = removeStanzas(flavor, f, readFileSync(join(dataDir, f), 'latin1'));
    const r = await runOnce(flavor, f, { [f]: Buffer.from(text, 'latin1') });
    const j = judge(flavor, f, r);
    j.skipped += removed;
    const secs = ((Date.now() - t0) / 1000).toFixed(1);
    console.log(`${flavor.padEnd(5)} ${f.padEnd(40)} ${j.ok ? 'ok  ' : 'FAIL'} ${j.passed} passed, ${j.failed} failed, ` +
      `${j.skipped} skipped (${secs} s)`);
    if (!j.ok) {
      for (const p of j.problems) console.log(`      ${p}`);
      // The lines that say what went wrong; after a trap or a timeout, the last ones printed.
      const lines = r.output.split('\n').filter((l) => l.trim() !== '');
      const shown = r.error ? lines.slice(-8) : lines.filter((l) => /error|fail|ERROR|not ok|Line \d+|kat:/.test(l)).slice(0, 20);
      for (const l of shown) console.log(`      | ${l}`);
      totals.failedFiles.push(`${flavor} ${f}`);
    }
    if (verbose) process.stdout.write(r.output);
    totals.passed += j.passed;
    totals.failed += j.failed;
    totals.skipped += j.skipped;
    totals.files++;
  });
  if (notRun > 0) console.log(`${flavor.padEnd(5)} ${notRun} data file(s) not run for this flavor (test/kat/skips.txt says why)`);
}

// A listed skip that never happened is stale: the list must say what is true today. It can be
// judged only when every data file it names ran.
for (const s of skips) {
  if (!flavors.some((f) => forFlavor(s, f)) || s.used > 0) continue;
  if (allFiles.filter((f) => s.fileRe.test(f)).every((f) => chosen.includes(f))) {
    console.log(`stale: test/kat/skips.txt:${s.line} (${s.flavor} | ${s.file} | ${s.what}) matched nothing`);
    totals.failed++;
    totals.failedFiles.push(`skips.txt:${s.line}`);
  }
}

const secs = Math.round((Date.now() - started) / 1000);
console.log(`\n${totals.files} data file runs and ${totals.selfChecks} self-checks (counted as passed) in ${secs} s`);
if (totals.failedFiles.length > 0) console.log(`failed: ${totals.failedFiles.join(', ')}`);
console.log(`${totals.skipped} skipped, as test/kat/skips.txt expects`);
console.log(`${totals.passed} passed, ${totals.failed} failed`);
process.exit(totals.failed > 0 ? 1 : 0);
