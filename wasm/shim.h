/*
 * The one ABI between OpenSSL and TypeScript. Every export is named ow_<object>_<verb> and
 * marked OW_API; bindings/abi.ts mirrors this file and test/abi.test.js checks the two agree.
 *
 * Conventions (after rustls-ffi's):
 * - Objects are made by ow_<object>_new and freed exactly once by ow_<object>_free; freeing
 *   NULL does nothing.
 * - Calls that can fail return an int: >= 0 is success (a count, or 1), < 0 is failure. For
 *   the TLS I/O calls a failure is minus OpenSSL's SSL_get_error() code (-2 want read, -3 want
 *   write, -1 protocol error, -5 transport error, -6 peer closed), so the nonblocking contract
 *   of SSL_connect/SSL_read/SSL_write reaches TypeScript unchanged.
 * - Details of a failure are left on OpenSSL's error queue; ow_err_get drains it.
 * - A byte buffer argument is always followed by its length. Out-parameters are written only
 *   on success.
 * - "Borrowed" pointers (const char * returned) point into OpenSSL's static data or into the
 *   object asked about; read them before the next call. "Owned" results are documented as
 *   such and freed with ow_free.
 * - Nothing here trusts its arguments: every pointer that may be NULL and every OpenSSL return
 *   value is checked, since a NULL read in wasm does not trap, it just reads address 0.
 */
#ifndef OPENSSL_WASM_SHIM_H
#define OPENSSL_WASM_SHIM_H

#include <stddef.h>
#include <stdint.h>

#include <emscripten/emscripten.h>

#define OW_API EMSCRIPTEN_KEEPALIVE

/* Installs the host entropy seed source (seed.c) in the default library context, with the
 * default provider. Returns 1, or 0 with the error queue set. */
int ow_seed_install(void);
/* The same in another library context (make kat runs OpenSSL's tests in their own, as
 * OpenSSL does: wasm/kat/kat.c). */
struct ossl_lib_ctx_st;
int ow_seed_install_in(struct ossl_lib_ctx_st *libctx);

#endif
