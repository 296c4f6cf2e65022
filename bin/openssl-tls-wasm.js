#!/usr/bin/env node
// openssl-tls-wasm: OpenSSL's s_client and s_server, run by the WebAssembly build over real TCP
// sockets. Works under Node, Deno (`deno run -A`) and Bun.
//   openssl-tls-wasm s_client -connect example.com:443 -brief
//   openssl-tls-wasm s_server -accept 8443 -cert chain.pem -key key.pem -www
import process from 'node:process';
import * as api from '../dist/index.js';
import { Exit, PROG, UsageError, write } from './cli/common.js';
import { sClient, usage as clientUsage } from './cli/s_client.js';
import { sServer, usage as serverUsage } from './cli/s_server.js';

const USAGE = `Usage: ${PROG} command [options]

Commands:
 s_client    A TLS client, like openssl s_client
 s_server    A TLS server, like openssl s_server
 version     Print the OpenSSL version of the wasm build
 help        Show this summary

'${PROG} command -help' lists a command's options.
`;

async function main(argv) {
  const [cmd, ...args] = argv;
  try {
    switch (cmd) {
      case 's_client':
        return await sClient(api, args);
      case 's_server':
        return await sServer(api, args, { commandLine: ['s_server', ...args] });
      case 'version': {
        const openssl = await api.getOpenSSL();
        await write(process.stdout, `${openssl.version} (WebAssembly)\n`);
        return 0;
      }
      case 'help': case '-help': case '--help': case '-h':
        await write(process.stdout, USAGE);
        return 0;
      case undefined:
        await write(process.stderr, USAGE);
        return 1;
      default:
        await write(process.stderr, `${PROG}: Invalid command '${cmd}'\n${USAGE}`);
        return 1;
    }
  } catch (e) {
    if (e instanceof Exit) return e.code;
    if (e instanceof UsageError) {
      const usage = cmd === 's_client' ? clientUsage : cmd === 's_server' ? serverUsage : USAGE;
      await write(process.stderr, `${e.message}\n${usage}`);
      return 1;
    }
    await write(process.stderr, `${PROG} ${cmd}: ${e?.stack ?? e}\n`);
    return 1;
  }
}

// A closed stdout or stderr (say, `| head`) must not crash the tool: writes report it instead.
process.stdout.on('error', () => {});
process.stderr.on('error', () => {});

const code = await main(process.argv.slice(2));
// Let stdout and stderr drain (they are asynchronous pipes in some runtimes), then exit even
// if stdin is still open.
await write(process.stdout, '');
await write(process.stderr, '');
process.exit(code);
