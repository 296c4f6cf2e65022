/**
 * Reading OpenSSL's error queue out of the module. Private to the package.
 * @module
 */
import type { ShimExports } from './abi.js';
import type { OpenSSLError } from './errors.js';
import type { Heap } from './memory.js';

/** The most entries kept from one failure; OpenSSL's own queue holds 16. */
const MAX_ERRORS = 16;

/** Empties OpenSSL's error queue, oldest entry first. */
export function drainErrors(x: ShimExports, heap: Heap): OpenSSLError[] {
  const errors: OpenSSLError[] = [];
  for (;;) {
    const [packed, [lib, reason, data]] = heap.withOut(3, (p) => x.ow_err_get(p, p + 4, p + 8) >>> 0);
    if (packed === 0) break;
    if (errors.length < MAX_ERRORS) {
      errors.push({ packed, library: heap.cstring(lib), reason: heap.cstring(reason), data: heap.cstring(data) });
    }
  }
  return errors;
}
