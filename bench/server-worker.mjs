// The benchmark's servers, in a worker thread so that they run on their own core and event
// loop and the client being measured (in the main thread) is never queued behind them.
//
// Every client, whatever its implementation, talks to the same kind of server:
// - 'native': node:tls (Node's own OpenSSL), for almost every figure;
// - 'wasm': this package's server over a TCP socket, only where node:tls cannot serve (Node 20's
//   OpenSSL 3.0 has no X25519MLKEM768), and as a same-server reference beside it.
//
// After the handshake a client may send requests; each is a 5-byte header, a command byte and a
// big-endian u32 `n`:
//   'S' n  the server sends n bytes (the client measures receiving);
//   'K' n  the server swallows n bytes, then sends one byte 'k' (the client measures sending);
//   'P' n  the server reads n bytes and sends them straight back (ping/pong).
import net from 'node:net';
import tls from 'node:tls';
import { parentPort, workerData } from 'node:worker_threads';

const CHUNK = 64 * 1024;
const payload = new Uint8Array(CHUNK).map((_, i) => (i * 131 + 7) & 0xff);

/** Runs the request protocol over a byte stream: `write(bytes)` returns a promise when it must wait. */
function requestHandler(write) {
  let head = Buffer.alloc(0);
  let mode = null; // { cmd, left }
  let busy = Promise.resolve();
  const handle = (data) => {
    let off = 0;
    while (off < data.length) {
      if (mode === null) {
        const need = 5 - head.length;
        head = Buffer.concat([head, data.subarray(off, off + need)]);
        off += Math.min(need, data.length - off);
        if (head.length < 5) return;
        const cmd = String.fromCharCode(head[0]);
        const n = head.readUInt32BE(1);
        head = Buffer.alloc(0);
        if (cmd === 'S') {
          busy = busy.then(async () => {
            let left = n;
            while (left > 0) {
              const k = Math.min(left, CHUNK);
              left -= k;
              const w = write(k === CHUNK ? payload : payload.subarray(0, k));
              if (w) await w;
            }
          });
        } else if (cmd === 'K' || cmd === 'P') {
          mode = { cmd, left: n, echo: [] };
          if (n === 0) finish();
        }
        continue;
      }
      const k = Math.min(mode.left, data.length - off);
      if (mode.cmd === 'P') mode.echo.push(data.subarray(off, off + k));
      mode.left -= k;
      off += k;
      if (mode.left === 0) finish();
    }
  };
  const finish = () => {
    const m = mode;
    mode = null;
    const reply = m.cmd === 'K' ? Buffer.from('k') : Buffer.concat(m.echo);
    busy = busy.then(() => write(reply));
  };
  return handle;
}

function nativeServer(options) {
  const server = tls.createServer({ ...options }, (socket) => {
    socket.setNoDelay(true);
    socket.on('error', () => {});
    const onData = requestHandler((bytes) => {
      if (socket.destroyed) return undefined;
      if (socket.write(bytes)) return undefined;
      return new Promise((resolve) => {
        const done = () => { socket.off('drain', done); socket.off('close', done); resolve(); };
        socket.on('drain', done);
        socket.on('close', done);
      });
    });
    socket.on('data', onData);
  });
  server.on('tlsClientError', () => {});
  return server;
}

let wasmModule;
async function wasmServer(options) {
  wasmModule ??= await import('../dist/index.js');
  const openssl = await wasmModule.OpenSSL.load({ flavor: workerData?.flavor ?? 'small' });
  const tlsServer = await wasmModule.createServer({ ...options, openssl });
  return net.createServer((socket) => {
    socket.on('error', () => {});
    (async () => {
      const conn = await tlsServer.accept(socket);
      const writer = conn.writable.getWriter();
      const onData = requestHandler((bytes) => writer.write(bytes));
      for await (const chunk of conn.readable) onData(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    })().catch(() => socket.destroy());
  });
}

const servers = [];
parentPort.on('message', async (msg) => {
  if (msg.type === 'listen') {
    try {
      const server = msg.kind === 'wasm' ? await wasmServer(msg.options) : nativeServer(msg.options);
      await new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', resolve);
      });
      servers.push(server);
      parentPort.postMessage({ id: msg.id, port: server.address().port });
    } catch (e) {
      parentPort.postMessage({ id: msg.id, error: String(e?.stack ?? e) });
    }
  } else if (msg.type === 'close') {
    for (const s of servers) s.close();
    parentPort.close();
  }
});
