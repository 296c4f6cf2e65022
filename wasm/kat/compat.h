/*
 * Force-included (-include) into every file of OpenSSL's test program that make kat compiles
 * (test/evp_test.c and test/testutil/, from the unpacked tree; never copied into this repo).
 *
 * The libraries are built no-stdio and this module has no file system, so the three stdio
 * calls the test program makes are redirected, by -D on the compiler's command line
 * (wasm/kat/kat.mk), to this harness's own functions in wasm/kat/kat.c:
 *   BIO_new_fp          (the TAP output streams)  -> kat_bio_new_fp: a BIO over stdout/stderr
 *   BIO_new_file        (each data file)          -> kat_bio_new_file: bytes from the JS host
 *   ERR_print_errors_fp (error dumps)             -> kat_err_print_errors_fp
 * and OpenSSL's test_get_libctx (evp_test.c only) -> kat_get_libctx: the module's own
 * start-up (ow_init in wasm/shim/core.c), then OpenSSL's, plus the host's entropy source.
 * no-stdio leaves BIO_new_fp and ERR_print_errors_fp undeclared, so they are declared here
 * (through the macros, under their kat_ names).
 */
#ifndef KAT_COMPAT_H
#define KAT_COMPAT_H

#include <stdio.h>
#include <openssl/bio.h>
#include <openssl/types.h>

BIO *BIO_new_fp(FILE *stream, int close_flag);
void ERR_print_errors_fp(FILE *fp);
int kat_get_libctx(OSSL_LIB_CTX **libctx, OSSL_PROVIDER **default_null_prov,
                   const char *config_file, OSSL_PROVIDER **provider,
                   const char *module_name);

#endif
