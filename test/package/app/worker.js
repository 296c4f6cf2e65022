// A Cloudflare Worker (run by workerd) that uses the installed package: TLS over
// cloudflare:sockets' connect() to the test's loopback server, the module found through the
// package's workerd export condition. GET /?port=N; GET /testing loads the testing module.
import { connect as tcp } from 'cloudflare:sockets';
import { connect, getOpenSSL } from 'openssl-tls-wasm';
import { loadTestingOpenSSL } from 'openssl-tls-wasm/testing';

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    try {
      if (url.pathname === '/testing') {
        const testing = await loadTestingOpenSSL();
        const full = await getOpenSSL({ flavor: 'full' }).then(() => 'loaded', (e) => `${e.code}: ${e.message}`);
        return Response.json({ testing: testing.flavor, full });
      }
      const socket = tcp({ hostname: '127.0.0.1', port: Number(url.searchParams.get('port')) });
      const tls = await connect(socket, { servername: 'localhost', ca: env.CA });
      const writer = tls.writable.getWriter();
      await writer.write(new TextEncoder().encode('GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n'));
      let text = '';
      for await (const chunk of tls.readable) text += new TextDecoder().decode(chunk);
      return Response.json({
        version: (await getOpenSSL()).version, protocol: tls.getProtocol(), group: tls.getEphemeralKeyInfo().name,
        authorized: tls.authorized, body: text.slice(text.indexOf('\r\n\r\n') + 4),
      });
    } catch (e) {
      return Response.json({ error: e.message, code: e.code }, { status: 500 });
    }
  },
};
