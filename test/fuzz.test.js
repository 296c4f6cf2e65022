// Record-layer fuzzing, a bounded run: mutated and random records at every flight of TLS 1.2
// and 1.3, reaching the client and the server, in both flavors (test/fuzz.js says what a case
// does and checks). Node runs 288 cases, Deno and Bun 72 (every flight of both versions in
// both flavors, every kind of mutation, in each). The seed is fixed so that make test is
// reproducible; OPENSSL_WASM_FUZZ_SEED picks another, and scripts/fuzz.mjs runs long.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import process from 'node:process';
import { runtime } from './helpers.js';
import { FLAVORS, FLIGHTS, OPS, VERSIONS, runBatch, runFuzz } from './fuzz.js';

const t = suite('fuzz');
const SEED = process.env.OPENSSL_WASM_FUZZ_SEED || 'make-test';
const { cases: CASES, batchSize: BATCH } = runtime === 'node' ? { cases: 288, batchSize: 72 } : { cases: 72, batchSize: 36 };

const summary = (failures) => failures.slice(0, 8).map((f) => f.message).join('\n') +
  (failures.length > 8 ? `\n... and ${failures.length - 8} more` : '');

t(`${CASES} fuzzed cases at every flight, both versions, both flavors: no trap, only TlsError, a usable instance, a flat heap`, async () => {
  const seen = new Set();
  const totals = await runFuzz({
    seed: SEED, cases: CASES, batchSize: BATCH,
    onBatch: ({ cases }) => { for (const c of cases) seen.add(`${c.flavor} ${c.version} ${c.flight}`); },
  });
  assert.is(totals.failures.length, 0, `seed ${SEED}: ${totals.failures.length} failing:\n${summary(totals.failures)}`);
  assert.is(totals.cases, CASES);
  for (const flavor of FLAVORS) {
    for (const version of VERSIONS) {
      for (const flight of FLIGHTS) assert.ok(seen.has(`${flavor} ${version} ${flight}`), `no case of ${flavor} ${version} ${flight}`);
    }
  }
  for (const op of OPS) assert.ok(totals.ops[op] > 0, `no case used ${op}`);
  // The mutations reach OpenSSL's checks: many different failures, and the legal re-cuts succeed.
  const codes = Object.keys(totals.verdicts).filter((v) => v.startsWith('ERR_'));
  assert.ok(codes.length >= 10, `only ${codes.length} kinds of failure: ${codes.join(', ')}`);
  assert.ok(totals.verdicts.ok > 0, 'some cases complete cleanly');
  for (const h of totals.heap) assert.ok(h.after <= h.baseline + h.tolerance, `batch ${h.batch}: ${h.after} against ${h.baseline}`);
});

t('a case is reproducible from its seed: the same outcome on a second run and on a replay that starts at it', async () => {
  const run = (from, to) => runBatch({ seed: 'replay-check', batch: 0, flavor: 'small', from, to, batchSize: 12 });
  const a = await run(0, 12);
  const b = await run(0, 12);
  const key = (c) => `${c.index} ${c.flight} ${c.verdict} [${c.applied?.join('; ')}]`;
  assert.equal(b.cases.map(key), a.cases.map(key));
  assert.ok(a.cases.every((c) => c.applied?.length > 0), 'every case applied its mutation');
  // runFuzz starting at case 9 (what --replay 9 does) runs the batch from its start to 9.
  const replay = [];
  await runFuzz({ seed: 'replay-check', start: 9, cases: 1, batchSize: 12, flavors: ['small'], onBatch: ({ cases }) => replay.push(...cases) });
  assert.is(replay.at(-1).index, 9);
  assert.is(key(replay.at(-1)), key(a.cases[9]));
});

// The checks can fail: each planted defect must be reported, with the seed, the flight and a
// replay command.
for (const [plant, expected] of [
  ['throw', /TypeError: planted: feed\(\) threw a TypeError/],
  ['trap', /wasm trap \(RuntimeError\): (memory access out of bounds|Out of bounds memory access)/],
  ['leak', /the heap did not come back: \d+ bytes in use against a baseline of \d+ \(\+\d+, tolerance 1024\)/],
  ['break', /a clean handshake after the case failed: the client failed: CERT_NOT_YET_VALID/],
]) {
  t(`self-check: a planted ${plant} is caught and reported with its seed and replay`, async () => {
    const { failures } = await runBatch({ seed: `plant-${plant}`, batch: 0, flavor: 'small', from: 0, to: 8, batchSize: 8, plant });
    assert.ok(failures.length > 0, `the planted ${plant} went unnoticed`);
    const hit = failures.find((f) => expected.test(f.message));
    assert.ok(hit, `no failure reports the planted ${plant} as expected:\n${summary(failures)}`);
    assert.match(hit.message, `replay: node scripts/fuzz.mjs --seed "plant-${plant}" --batch-size 8 --replay `);
    if (plant !== 'leak') assert.match(hit.message, /^case \d+: small tls1[23]-\S+ .*flight=\S+ ops=\[.+\]: /);
  });
}

t.run();
