// Runs uvu test files the same way in Node, Deno and Bun:
//   node test/run.js | deno run -A test/run.js | bun test/run.js   [file ...]
// With no files it runs every test/*.test.js. uvu's summary ends the output; the exit code is
// non-zero when any test failed.
import { readdirSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';

globalThis.UVU_DEFER = 1;
globalThis.UVU_QUEUE = [];

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2).filter((a) => a.endsWith('.js'));
const files = args.length > 0
  ? args.map((f) => resolve(f))
  : readdirSync(here).filter((f) => f.endsWith('.test.js')).sort().map((f) => join(here, f));

for (const [i, file] of files.entries()) {
  globalThis.UVU_QUEUE.push([file.slice(here.length + 1)]);
  globalThis.UVU_INDEX = i;
  await import(pathToFileURL(file).href);
}
const { exec } = await import('uvu');
await exec();
process.exit(process.exitCode ?? 0);
