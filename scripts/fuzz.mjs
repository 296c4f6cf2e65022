#!/usr/bin/env node
// Record-layer fuzzing, as long as you like: the cases test/fuzz.test.js runs a few hundred of
// in make test (test/fuzz.js has what a case does and checks), by the thousand. Needs `make`.
//
//   node scripts/fuzz.mjs [--cases 100000] [--seed S] [--batch-size 100] [--flavors small,full]
//                         [--minutes M] [--verbose]
//   node scripts/fuzz.mjs --seed S --batch-size 100 --replay 1234     # one case again, in detail
//
// Without --seed it picks one and prints it. Every failing case is printed with the command
// that replays it; a replay runs the case's batch from its start (the instance's state at a case
// depends on the cases before it) and shows the case's flights, outcome and wire log. Ends with
// "N passed, N failed" (cases, plus one failure per batch whose heap did not come back) and
// exits 1 if anything failed. Runs in Deno and Bun too (deno run -A / bun scripts/fuzz.mjs).
import process from 'node:process';
import { FLAVORS, runFuzz } from '../test/fuzz.js';

function parse(argv) {
  const o = { cases: 10_000, seed: undefined, batchSize: 100, flavors: FLAVORS, minutes: Infinity, verbose: false, replay: undefined, start: 0 };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} needs a value`);
      return argv[++i];
    };
    const count = (name, v, min = 1) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < min) throw new Error(`${name} must be an integer from ${min}, got ${v}`);
      return n;
    };
    if (a === '--cases') o.cases = count(a, value());
    else if (a === '--seed') o.seed = value();
    else if (a === '--batch-size') o.batchSize = count(a, value());
    else if (a === '--start') o.start = count(a, value(), 0);
    else if (a === '--flavors') {
      o.flavors = value().split(',');
      for (const f of o.flavors) if (!FLAVORS.includes(f)) throw new Error(`unknown flavor ${f}: ${FLAVORS.join(', ')}`);
    } else if (a === '--minutes') o.minutes = count(a, value());
    else if (a === '--verbose') o.verbose = true;
    else if (a === '--replay') o.replay = count(a, value(), 0);
    else if (a === '--help' || a === '-h') {
      console.log('node scripts/fuzz.mjs [--cases N] [--seed S] [--batch-size N] [--flavors small,full] [--start N] [--minutes M] [--verbose] [--replay N]');
      process.exit(0);
    } else throw new Error(`unknown option ${a} (--help lists them)`);
  }
  if (o.replay !== undefined && o.seed === undefined) throw new Error('--replay needs the --seed of the run that failed');
  return o;
}

let options;
try {
  options = parse(process.argv.slice(2));
} catch (e) {
  console.error(`fuzz: ${e.message}`);
  process.exit(2);
}
const seed = options.seed ?? crypto.getRandomValues(new Uint32Array(1))[0].toString(16).padStart(8, '0');
const { batchSize, flavors } = options;
const [start, cases, verbose] = options.replay !== undefined
  ? [options.replay, 1, options.replay]
  : [options.start, options.cases, options.verbose];
const deadline = Date.now() + options.minutes * 60_000;

console.log(`fuzz: seed ${seed}, cases ${start} to ${start + cases - 1}, batches of ${batchSize}, flavors ${flavors.join(',')}` +
  `${Number.isFinite(options.minutes) ? `, at most ${options.minutes} min` : ''} (${process.release?.name ?? 'runtime'} ${process.version})`);
const began = performance.now();
const elapsed = () => `${((performance.now() - began) / 1000).toFixed(1)} s`;
let failed = 0;

const totals = await runFuzz({
  seed, cases, start, batchSize, flavors, verbose, deadline, log: (line) => console.log(line),
  onBatch: ({ batch, flavor, from, to, failures, heap }) => {
    failed += failures.length;
    for (const f of failures) console.log(`FAIL ${f.message}`);
    if (options.replay === undefined) {
      console.log(`batch ${batch} (${flavor}) cases ${from}-${to - 1}: ${failures.length} failing; heap ${heap.baseline} -> ${heap.after} ` +
        `(${heap.after - heap.baseline > 0 ? '+' : ''}${heap.after - heap.baseline}), memory ${heap.memorySize}; ${failed} failing so far, ${elapsed()}`);
    }
  },
});

const top = (table) => Object.entries(table).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`).join(', ');
if (options.replay === undefined) {
  console.log(`\noutcomes: ${top(totals.verdicts)}`);
  console.log(`flights: ${top(totals.flights)}`);
  console.log(`mutations: ${top(totals.ops)}`);
  const deltas = totals.heap.map((h) => h.after - h.baseline);
  const signed = (n) => `${n > 0 ? '+' : ''}${n}`;
  if (deltas.length > 0) console.log(`heap after each batch, against its baseline: ${signed(Math.min(...deltas))} to ${signed(Math.max(...deltas))} bytes (tolerance ${totals.heap[0].tolerance})`);
}
if (totals.stoppedEarly) console.log(`stopped at the time limit after ${totals.cases} cases`);
const failingCases = new Set(totals.failures.filter((f) => f.index !== undefined).map((f) => f.index)).size;
const heapFailures = totals.failures.filter((f) => f.index === undefined).length;
console.log(`seed ${seed}: ${totals.cases} cases in ${elapsed()}`);
console.log(`${totals.cases - failingCases} passed, ${failingCases + heapFailures} failed`);
process.exit(totals.failures.length > 0 ? 1 : 0);
