/**
 * Trust stores: sets of CA certificates that many contexts share. The bundled Mozilla roots are
 * one, parsed once per instance on first use ({@link rootStore}), so that a program that brings
 * its own `ca` never carries them.
 * @module
 */
import { NULL, type StorePtr } from './abi.js';
import type { Instance } from './loader.js';
import { outOfMemory, toBytes } from './memory.js';
import { NativeHandle, openSSLFailure } from './native.js';

/** PEM text (one or many certificates), or DER/PEM bytes. */
export type CertificateInput = string | Uint8Array | ArrayBuffer;

/**
 * A set of trusted CA certificates, to pass as `ca` to any number of contexts of the same
 * instance. Contexts keep what they need: freeing the store does not affect them.
 *
 * @example
 * ```ts
 * const store = openssl.createTrustStore([caPem, otherCaPem]);
 * const a = openssl.createSecureContext({ ca: store });
 * const b = openssl.createSecureContext({ ca: store, minVersion: 'TLSv1.3' });
 * ```
 */
export class TrustStore extends NativeHandle<StorePtr> {
  /** How many certificates it holds. */
  readonly size: number;

  /** @internal Use `openssl.createTrustStore()`. */
  constructor(inst: Instance, certificates: readonly CertificateInput[]) {
    super(inst, 'TrustStore');
    const parts = certificates.map(toBytes); // validated before anything is allocated
    const { exports: x, heap } = inst;
    const ptr = x.ow_store_new();
    if (ptr === NULL) throw outOfMemory(0);
    this.adopt(ptr, (x, p) => x.ow_store_free(p));
    let size = 0;
    try {
      for (const [i, b] of parts.entries()) {
        const n = heap.withBytes(b, false, (p, len) => x.ow_store_add(ptr, p, len));
        if (n < 0) throw openSSLFailure(inst, `ca[${i}]`);
        size += n;
      }
    } catch (e) {
      this.free();
      throw e;
    }
    this.size = size;
  }
}

const roots = new WeakMap<Instance, Promise<TrustStore>>();

/** The bundled Mozilla root certificates as a store of `inst`, parsed on first use. */
export function rootStore(inst: Instance): Promise<TrustStore> {
  let pending = roots.get(inst);
  if (!pending) {
    pending = import('./root-certificates-der.js').then(({ rootCertificateDer }) => {
      const certs = rootCertificateDer();
      const store = new TrustStore(inst, certs);
      if (store.size !== certs.length) {
        throw openSSLFailure(inst, `loading the bundled root certificates: ${store.size} of ${certs.length}`);
      }
      return store;
    });
    roots.set(inst, pending);
    pending.catch(() => roots.delete(inst));
  }
  return pending;
}
