// Runs OpenSSL's evp_test (wasm/build/kat/evp_test-<flavor>.wasm) once, in this worker thread,
// over one data file, and posts back what it printed and how it ended. A worker per file so
// the runner (test/kat/run.mjs) can stop a hung run (worker.terminate()) and go on.
//
// The module is a WASI program (main, through _start). This is the part of WASI it uses:
// arguments, an empty environment, output on fd 1 and 2, the clock, entropy and exit. Its
// own imports, kat.file_size and kat.file_read (wasm/kat/kat.c), hand it the data file's bytes,
// which the runner read. Any other import is answered by a function that fails loudly.
import { parentPort, workerData } from 'node:worker_threads';
import { webcrypto } from 'node:crypto';

const { module, args, files, plant } = workerData;
const encoder = new TextEncoder();
const decoder = new TextDecoder(); // the output: one stream, fd 1 and 2 in the order written
const names = new TextDecoder();

/** Thrown by proc_exit to unwind the wasm stack; not an error. */
class Exit {
  constructor(code) { this.code = code; }
}

let memory;
const view = () => new DataView(memory.buffer);
const bytes = (ptr, len) => new Uint8Array(memory.buffer, ptr, len);
const output = [];
const ERRNO_SUCCESS = 0, ERRNO_BADF = 8, ERRNO_NOSYS = 52;

/** argv (or environ) as WASI lays it out: pointers into one NUL-separated buffer. */
function putStrings(list, ptrs, buf) {
  let at = buf;
  for (const [i, s] of list.entries()) {
    view().setUint32(ptrs + 4 * i, at, true);
    const b = encoder.encode(`${s}\0`);
    bytes(at, b.length).set(b);
    at += b.length;
  }
  return ERRNO_SUCCESS;
}
function sizes(list, countPtr, sizePtr) {
  view().setUint32(countPtr, list.length, true);
  view().setUint32(sizePtr, list.reduce((n, s) => n + encoder.encode(s).length + 1, 0), true);
  return ERRNO_SUCCESS;
}

const wasi = {
  args_sizes_get: (countPtr, sizePtr) => sizes(args, countPtr, sizePtr),
  args_get: (ptrs, buf) => putStrings(args, ptrs, buf),
  // No environment: in particular no EVP_TEST_EXTENDED, as in OpenSSL's own `make test`.
  environ_sizes_get: (countPtr, sizePtr) => sizes([], countPtr, sizePtr),
  environ_get: () => ERRNO_SUCCESS,
  fd_write(fd, iovs, iovsLen, writtenPtr) {
    if (fd !== 1 && fd !== 2) return ERRNO_BADF;
    let n = 0;
    for (let i = 0; i < iovsLen; i++) {
      const ptr = view().getUint32(iovs + 8 * i, true);
      const len = view().getUint32(iovs + 8 * i + 4, true);
      output.push(decoder.decode(bytes(ptr, len), { stream: true }));
      n += len;
    }
    view().setUint32(writtenPtr, n, true);
    return ERRNO_SUCCESS;
  },
  fd_close: () => ERRNO_SUCCESS,
  fd_seek: () => ERRNO_NOSYS,
  fd_fdstat_get: (fd) => (fd <= 2 ? ERRNO_SUCCESS : ERRNO_BADF),
  clock_time_get(id, precision, timePtr) {
    view().setBigUint64(timePtr, BigInt(Date.now()) * 1_000_000n, true);
    return ERRNO_SUCCESS;
  },
  random_get(ptr, len) {
    for (let at = 0; at < len; at += 65536) webcrypto.getRandomValues(bytes(ptr + at, Math.min(65536, len - at)));
    return ERRNO_SUCCESS;
  },
  proc_exit(code) { throw new Exit(code); },
};

// What libcrypto asks of the system, answered as bindings/loader.ts answers it: the ids (for
// its "is this setuid?" check) are 0, and there are no directories to list or stat.
const env = {
  emscripten_notify_memory_growth: () => {}, // view() and bytes() take memory.buffer afresh
  __syscall_getuid32: () => 0,
  __syscall_geteuid32: () => 0,
  __syscall_getgid32: () => 0,
  __syscall_getegid32: () => 0,
  __syscall_getdents64: () => -ERRNO_NOSYS,
  __syscall_stat64: () => -ERRNO_NOSYS,
};

/** The data file's bytes by the name evp_test was given; undefined if the runner has none. */
function file(namePtr, nameLen) {
  const name = names.decode(bytes(namePtr, nameLen).slice());
  return Object.hasOwn(files, name) ? files[name] : undefined;
}
const kat = {
  file_size(namePtr, nameLen) {
    const f = file(namePtr, nameLen);
    return f === undefined ? -1 : f.length;
  },
  file_read(namePtr, nameLen, buf, cap) {
    const f = file(namePtr, nameLen);
    if (f === undefined || f.length > cap) return -1;
    bytes(buf, f.length).set(f);
    return f.length;
  },
};

const imports = {};
for (const { module: mod, name, kind } of WebAssembly.Module.imports(module)) {
  if (kind !== 'function') continue;
  const given = { wasi_snapshot_preview1: wasi, kat, env }[mod]?.[name];
  (imports[mod] ??= {})[name] = given ?? (() => {
    throw new Error(`evp_test called the import ${mod}.${name}, which this runner does not provide`);
  });
}

let result;
try {
  const instance = await WebAssembly.instantiate(module, imports);
  memory = instance.exports.memory;
  if (plant === 'trap') {
    // Self-check only: every function pointer becomes null, so the first indirect call (OpenSSL
    // calls its providers through them) traps inside the wasm.
    const table = instance.exports.__indirect_function_table;
    for (let i = 1; i < table.length; i++) table.set(i, null);
  }
  try {
    instance.exports._start();
    result = { exit: 0 };
  } catch (e) {
    if (!(e instanceof Exit)) throw e;
    result = { exit: e.code };
  }
} catch (e) {
  const trap = e instanceof WebAssembly.RuntimeError;
  result = { error: `${trap ? 'wasm trap' : 'error'}: ${e?.message ?? e}`, trap };
}
output.push(decoder.decode());
parentPort.postMessage({ ...result, output: output.join('') });
