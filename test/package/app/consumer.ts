// A strict TypeScript consumer of every entry: compiled with moduleResolution node16 and
// bundler, with and without the DOM lib (Node's types only), skipLibCheck off.
import net from 'node:net';
import {
  connect, createServer, getOpenSSL, OpenSSL, TlsError, fromWebSocket, memoryPair, WispClient,
  type ConnectOptions, type LoadOptions, type PeerCertificate, type TlsStream, type WasmSource,
} from 'openssl-tls-wasm';
import { connectDuplex, TlsDuplex } from 'openssl-tls-wasm/node';
import { createRelay, type Relay } from 'openssl-tls-wasm/relay';
import { Link, Sandbox, TestPki, loadTestingOpenSSL } from 'openssl-tls-wasm/testing';
import { rootCertificates } from 'openssl-tls-wasm/root-certificates';

export async function main(port: number, ca: string): Promise<string> {
  const options: ConnectOptions = { servername: 'localhost', ca, ALPNProtocols: ['http/1.1'], timeout: 5000 };
  const tls: TlsStream = await connect(net.connect(port, '127.0.0.1'), options);
  const cert: PeerCertificate | Record<string, never> = tls.getPeerCertificate(true);
  const key: Uint8Array = tls.exportKeyingMaterial(32, 'EXPORTER-test', undefined);
  const wasm: WasmSource = new URL('file:///openssl.wasm');
  const load: LoadOptions = { flavor: 'full', wasm };
  const openssl: OpenSSL = await OpenSSL.load(load);
  const server = await createServer({ cert: '', key: '', handshakeTimeout: 1000, openssl });
  const [a] = memoryPair();
  const duplex: TlsDuplex = connectDuplex(a, options);
  const relay: Relay = await createRelay({ port: 0, allow: ['localhost:443'] });
  const sandbox = await Sandbox.create({ seed: 'x' });
  const pki = new TestPki(await loadTestingOpenSSL());
  void [cert, key, server, duplex, relay, sandbox, pki, Link, WispClient, fromWebSocket, getOpenSSL, rootCertificates];
  try {
    await tls.close();
  } catch (e) {
    if (e instanceof TlsError) return e.code;
  }
  return tls.getProtocol() ?? '';
}
