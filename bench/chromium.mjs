// Runs a benchmark page in headless Chromium (Debian's, driven by playwright-core), for
// bench/wisp.mjs and bench/fetch.mjs: bundles `entry` with esbuild, serves it from loopback
// beside this package's .wasm files, opens it, waits for `window.benchReady`, and returns
// what `window[fn](config)` resolves with ({ error } when Chromium is missing).
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';

const root = fileURLToPath(new URL('../', import.meta.url));

/**
 * `entry`: the page's module; `fn`: the window function to call with `config` (plain data);
 * `log`: where the page's console goes.
 */
export async function runInChromium(entry, fn, config, { log = () => {} } = {}) {
  const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
  if (!existsSync(CHROMIUM)) return { error: `${CHROMIUM} is missing` };
  const closers = [];
  try {
    const dir = await mkdtemp(join(tmpdir(), 'openssl-tls-wasm-bench-'));
    closers.push(() => rm(dir, { recursive: true, force: true }));
    await build({
      entryPoints: [entry], outfile: join(dir, 'bench.js'), bundle: true, format: 'esm',
      platform: 'browser', target: 'es2022', logLevel: 'silent', loader: { '.wasm': 'binary' },
    });
    const page = createServer(async (req, res) => {
      const path = new URL(req.url, 'http://x').pathname;
      if (path === '/') { res.writeHead(200, { 'content-type': 'text/html' }); return res.end('<!doctype html><script type="module" src="/bench.js"></script>'); }
      if (path === '/bench.js') { res.writeHead(200, { 'content-type': 'text/javascript' }); return res.end(await readFile(join(dir, 'bench.js'))); }
      // This package's modules, as its loaders ask for them beside the bundle.
      if (path.endsWith('.wasm') && existsSync(join(root, 'dist', basename(path)))) {
        res.writeHead(200, { 'content-type': 'application/wasm' });
        return res.end(await readFile(join(root, 'dist', basename(path))));
      }
      res.writeHead(404);
      res.end();
    });
    await new Promise((r) => page.listen(0, '127.0.0.1', r));
    closers.push(() => new Promise((r) => page.close(r)));
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu'] });
    closers.push(() => browser.close());
    const tab = await browser.newPage();
    tab.on('console', (m) => log(`  [chromium] ${m.text()}`));
    await tab.goto(`http://127.0.0.1:${page.address().port}/`);
    await tab.waitForFunction(() => window.benchReady === true, null, { timeout: 60_000 });
    return await tab.evaluate(([name, c]) => window[name](c), [fn, config]);
  } catch (e) {
    return { error: String(e?.message ?? e) };
  } finally {
    for (const c of closers.reverse()) await Promise.resolve(c()).catch(() => {});
  }
}
