// The browser example: an HTTPS GET from the page, with TLS run by openssl-tls-wasm and the
// ciphertext carried by a WebSocket either to a relay (openssl-tls-wasm-relay, or createRelay()
// from 'openssl-tls-wasm/relay') or, when a Wisp server is given, to a Wisp server (wisp-js,
// wisp-server-node, ...) through WispClient; either one connects to the server over TCP.
//
// Settings come from ./config.json when it is served beside the page (serve.mjs does), then
// from the query string (?relay=&wisp=&target=&servername=&path=&run=1), then from the form.
// Bundle with build.mjs (esbuild); see README.md.
import { connect, getOpenSSL, WispClient } from '../../dist/index.js'; // in an application: from 'openssl-tls-wasm'

const $ = (id) => document.getElementById(id);
const FIELDS = ['relay', 'wisp', 'target', 'servername', 'path', 'ca'];

/** config.json (if any), then the query string. `run` says to connect at once. */
async function loadSettings() {
  const settings = {};
  try {
    const res = await fetch('./config.json', { cache: 'no-store' });
    if (res.ok) Object.assign(settings, await res.json());
  } catch {
    // No config beside the page: the form is filled by hand.
  }
  const query = new URLSearchParams(location.search);
  for (const f of FIELDS) if (query.has(f)) settings[f] = query.get(f);
  if (query.has('run')) settings.run = query.get('run') !== '0';
  return settings;
}

/** 'localhost:8443' → 'localhost'; '[::1]:443' → '::1'. */
function hostOf(target) {
  const m = /^\[([^\]]+)\]:\d+$/.exec(target) ?? /^([^:]+):\d+$/.exec(target);
  return m ? m[1] : target;
}

/** 'localhost:8443' → 8443. */
function portOf(target) {
  const m = /:(\d+)$/.exec(target);
  if (!m) throw new Error(`the target ${target} has no :port`);
  return Number(m[1]);
}

/** A ws: or wss: URL from what the form says (relative addresses are the page's). */
function wsUrl(address) {
  const url = new URL(address, location.href);
  url.protocol = url.protocol.replace(/^http/, 'ws');
  return url;
}

function concat(a, b) {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function indexOfHeadEnd(buf) {
  for (let i = 0; i + 3 < buf.length; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) return i;
  }
  return -1;
}

/** The body once `data` holds all of it (per Content-Length or chunked), else undefined. */
function completeBody(head, data) {
  if (head.chunked) {
    const parts = [];
    let i = 0;
    for (;;) {
      const eol = data.indexOf(10, i);
      if (eol < 0) return undefined;
      const size = parseInt(new TextDecoder().decode(data.subarray(i, eol)).split(';')[0].trim(), 16);
      if (Number.isNaN(size)) throw new Error('bad chunked encoding in the response');
      if (size === 0) return parts.reduce(concat, new Uint8Array(0));
      if (data.length < eol + 1 + size + 2) return undefined;
      parts.push(data.subarray(eol + 1, eol + 1 + size));
      i = eol + 1 + size + 2;
    }
  }
  if (head.contentLength !== undefined) {
    return data.length >= head.contentLength ? data.subarray(0, head.contentLength) : undefined;
  }
  return undefined; // delimited by the end of the connection
}

/** Reads one HTTP/1.1 response from the TLS connection: status line, headers and body. */
async function readResponse(readable) {
  const reader = readable.getReader();
  let buf = new Uint8Array(0);
  let head;
  try {
    for (;;) {
      if (!head) {
        const end = indexOfHeadEnd(buf);
        if (end >= 0) {
          const lines = new TextDecoder().decode(buf.subarray(0, end)).split('\r\n');
          const headers = new Map(lines.slice(1).map((l) => {
            const colon = l.indexOf(':');
            return [l.slice(0, colon).trim().toLowerCase(), l.slice(colon + 1).trim()];
          }));
          const length = headers.get('content-length');
          head = {
            statusLine: lines[0],
            headers,
            chunked: /\bchunked\b/i.test(headers.get('transfer-encoding') ?? ''),
            contentLength: length === undefined ? undefined : Number(length),
          };
          buf = buf.subarray(end + 4);
        }
      }
      if (head) {
        const body = completeBody(head, buf);
        if (body) return { ...head, body };
      }
      const { value, done } = await reader.read();
      if (done) break;
      buf = concat(buf, value);
    }
  } finally {
    reader.releaseLock();
  }
  if (!head) throw new Error('the server closed the connection before sending a response');
  if (head.chunked || head.contentLength !== undefined) throw new Error('the response was cut short');
  return { ...head, body: buf };
}

function show(fields) {
  for (const [id, value] of Object.entries(fields)) $(id).textContent = value;
}

let running = false;

async function run(settings) {
  if (running) return;
  running = true;
  $('connect').disabled = true;
  document.body.dataset.state = 'running';
  show({ state: 'loading OpenSSL...', via: '-', protocol: '-', cipher: '-', group: '-', authorized: '-', 'status-line': '-', 'ws-close': '-', error: '', body: '' });

  let ws;
  let wisp;
  let wsClosed = Promise.resolve();
  try {
    // Load the module first, so that connect() takes the WebSocket before its first event.
    await getOpenSSL(); // fetches ./openssl.wasm beside the bundle (see build.mjs)

    let transport;
    if (settings.wisp) {
      // Wisp: one WebSocket to the Wisp server carries the TCP stream (and could carry many).
      const url = wsUrl(settings.wisp);
      show({ state: `connecting to ${settings.target} through the Wisp server ${url.href}...` });
      wisp = new WispClient(url);
      transport = wisp.connect(hostOf(settings.target), portOf(settings.target));
      wisp.ready().then((info) => show({ via: `Wisp v${info.version} (${url.href})` }), () => {});
    } else {
      const url = wsUrl(settings.relay);
      url.searchParams.set('target', settings.target);
      show({ state: `connecting to ${settings.target} through ${url.origin}${url.pathname}...`, via: `relay (${url.origin}${url.pathname})` });
      ws = new WebSocket(url);
      wsClosed = new Promise((resolve) => ws.addEventListener('close', (ev) => {
        show({ 'ws-close': `${ev.code}${ev.reason ? ` ${ev.reason}` : ''}` });
        resolve(ev);
      }, { once: true }));
      transport = ws;
    }

    const servername = settings.servername || hostOf(settings.target);
    const tls = await connect(transport, {
      servername,
      ca: settings.ca?.trim() ? settings.ca : undefined,
      ALPNProtocols: ['http/1.1'],
    });
    show({
      state: 'TLS established; sending the request...',
      protocol: tls.getProtocol(),
      cipher: tls.getCipher()?.name ?? '-',
      group: tls.getEphemeralKeyInfo().name ?? '-',
      authorized: tls.authorized ? `verified for ${servername}` : `not verified: ${tls.authorizationError}`,
    });

    const writer = tls.writable.getWriter();
    const path = settings.path || '/';
    await writer.write(new TextEncoder().encode(
      `GET ${path} HTTP/1.1\r\nHost: ${settings.target}\r\nUser-Agent: openssl-tls-wasm-example\r\nConnection: close\r\n\r\n`));
    writer.releaseLock();

    const response = await readResponse(tls.readable);
    show({
      'status-line': response.statusLine,
      body: new TextDecoder().decode(response.body),
      state: 'done',
    });
    await tls.close();
    document.body.dataset.state = 'done';
  } catch (err) {
    // A relay's refusal is a WebSocket close code and reason: wait a moment for it.
    const closed = await Promise.race([wsClosed, new Promise((r) => setTimeout(r, 1000))]);
    let message = `${err?.code ? `${err.code}: ` : ''}${err?.message ?? err}`;
    if (closed && closed.code !== 1000 && closed.code !== 1005 && !(closed.reason && message.includes(closed.reason))) {
      message += `\n(the WebSocket closed with code ${closed.code}${closed.reason ? `: ${closed.reason}` : ''})`;
    }
    show({ state: 'failed', error: message });
    document.body.dataset.state = 'error';
    console.error(err);
  } finally {
    if (ws && ws.readyState < 2) ws.close();
    wisp?.close();
    running = false;
    $('connect').disabled = false;
  }
}

const formValues = () => Object.fromEntries(FIELDS.map((f) => [f, $(f).value.trim()]));

const settings = await loadSettings();
for (const f of FIELDS) if (settings[f] !== undefined) $(f).value = settings[f];
$('form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  run(formValues());
});
if (settings.run) run(formValues());
