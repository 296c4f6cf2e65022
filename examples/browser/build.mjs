// Bundles the example for the browser: main.js (with the package's dist/index.js) into
// dist/bundle.js, an ES module, and copies openssl.wasm beside it, where the package's loader
// looks by default (new URL('./openssl.wasm', import.meta.url), which esbuild keeps as is).
// The bundled root certificates go into their own chunk, fetched only if `ca` is not given.
//   node examples/browser/build.mjs [--minify]        (after `make`, from anywhere)
import { build } from 'esbuild';
import { copyFile, mkdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';
import process from 'node:process';

const here = dirname(fileURLToPath(import.meta.url));
const pkgDist = join(here, '..', '..', 'dist');

/** Builds into `outdir` (default examples/browser/dist); resolves with esbuild's result. */
export async function buildExample({ outdir = join(here, 'dist'), minify = false, logLevel = 'warning' } = {}) {
  for (const f of ['index.js', 'openssl.wasm']) {
    if (!existsSync(join(pkgDist, f))) throw new Error(`dist/${f} is missing: run \`make\` first`);
  }
  await rm(outdir, { recursive: true, force: true });
  await mkdir(outdir, { recursive: true });
  const result = await build({
    entryPoints: { bundle: join(here, 'main.js') },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    splitting: true, // the dynamic import of the root certificates becomes a chunk of its own
    outdir,
    chunkNames: 'chunk-[name]-[hash]',
    sourcemap: true,
    minify,
    logLevel,
  });
  await copyFile(join(pkgDist, 'openssl.wasm'), join(outdir, 'openssl.wasm'));
  return result;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    await buildExample({ minify: process.argv.includes('--minify'), logLevel: 'info' });
  } catch (e) {
    console.error(`build.mjs: ${e.message}`);
    process.exit(1);
  }
}
