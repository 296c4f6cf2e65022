// The relay (dist/relay.js) in a Node child process, for the Deno and Bun runs of
// relay-wisp.test.js (the relay is a Node server; those runs test their own clients against it).
//   node test/relay-child.mjs '<options as JSON>'
// The options are createRelay's, less its functions, plus `resolveMap`: { name: [addresses] }
// answered by a resolver that counts its calls ("hang" never answers; a missing name is
// ENOTFOUND). Prints one JSON line, { port, url }, then answers commands on stdin, one a line:
//   events     every event so far, as a JSON array
//   calls      how many times each name was resolved, as a JSON object
//   memory     process.memoryUsage() after a garbage collection (with node --expose-gc)
// It exits when stdin ends, so it never outlives the test.
import { createInterface } from 'node:readline';
import process from 'node:process';
import { createRelay } from '../dist/relay.js';

const options = JSON.parse(process.argv[2]);
const events = [];
const calls = {};
if (options.resolveMap) {
  const map = options.resolveMap;
  delete options.resolveMap;
  options.resolve = async (name) => {
    calls[name] = (calls[name] ?? 0) + 1;
    if (map[name] === 'hang') return new Promise(() => {});
    if (!map[name]) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${name}`), { code: 'ENOTFOUND' });
    return map[name];
  };
}
const relay = await createRelay({ port: 0, ...options, onEvent: (e) => events.push(e) });
process.stdout.write(`${JSON.stringify({ port: relay.port, url: relay.url })}\n`);
const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'memory') globalThis.gc?.();
  const answer = cmd === 'events' ? events : cmd === 'calls' ? calls : cmd === 'memory' ? process.memoryUsage()
    : { error: `unknown command ${cmd}` };
  process.stdout.write(`${JSON.stringify(answer)}\n`);
});
lines.on('close', async () => {
  await relay.close();
  process.exit(0);
});
