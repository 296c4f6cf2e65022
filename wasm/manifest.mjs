// Prints the JSON manifest that sits beside the built .wasm: what it is and how it was made.
// Usage: node wasm/manifest.mjs <file.wasm> <openssl version> <flavor> "<configure options>"
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';

const [file, opensslVersion, flavor, options] = process.argv.slice(2);
const bytes = readFileSync(file);
const module = new WebAssembly.Module(bytes);
let emcc = 'unknown';
try {
  emcc = execFileSync('emcc', ['--version'], { encoding: 'utf8' }).split('\n')[0];
} catch {}
const manifest = {
  file: file.split('/').pop(),
  openssl: opensslVersion,
  flavor,
  configure: options.split(/\s+/).filter(Boolean),
  emcc,
  bytes: bytes.length,
  gzipBytes: gzipSync(bytes, { level: 9 }).length,
  sha256: createHash('sha256').update(bytes).digest('hex'),
  imports: WebAssembly.Module.imports(module).map((i) => `${i.module}.${i.name}`),
  exports: WebAssembly.Module.exports(module).length,
};
console.log(JSON.stringify(manifest, null, 2));
