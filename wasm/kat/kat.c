/*
 * make kat's harness: what OpenSSL's own test/evp_test.c needs from its surroundings that this
 * build does not have. The test program itself is compiled unchanged from the unpacked tree;
 * wasm/kat/compat.h says which of its calls are redirected here, and why.
 *
 * - Output: the test framework prints through BIOs it makes with BIO_new_fp(stdout/stderr).
 *   Here they are BIOs that write straight to WASI fd 1 and 2 (unbuffered, so that a trap
 *   loses none of what came before it); test/kat/worker.mjs collects the text.
 * - Data files: there is no file system. kat_bio_new_file asks the host for the file's bytes
 *   (the kat.file_size and kat.file_read imports) and hands back a read-only memory BIO, which
 *   OpenSSL's stanza reader uses as it would a file BIO.
 * - Providers: no config file. The module's own start-up runs (ow_init in wasm/shim/core.c), then
 *   OpenSSL's set-up of the test's library context, which also gets the host's entropy (the
 *   only source this build has) and, where the flavor has it, the legacy provider.
 *
 * Every failure is reported in words on stderr and returned as a failure: the runner must never
 * see a trap or a hang from bad input.
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/provider.h>

#include "compat.h"
#include "../shim/internal.h"

/* test/testutil/provider.c: OpenSSL's own, which kat_get_libctx wraps. */
int test_get_libctx(OSSL_LIB_CTX **libctx, OSSL_PROVIDER **default_null_prov,
                    const char *config_file, OSSL_PROVIDER **provider,
                    const char *module_name);

/* The host's data files, by the name the test program was given. Both return -1 if unknown. */
__attribute__((import_module("kat"), import_name("file_size")))
extern int32_t host_file_size(const char *name, size_t name_len);
__attribute__((import_module("kat"), import_name("file_read")))
extern int32_t host_file_read(const char *name, size_t name_len, uint8_t *buf, size_t cap);

static void say(int fd, const char *s)
{
    size_t n = strlen(s);

    while (n > 0) {
        ssize_t w = write(fd, s, n);

        if (w <= 0)
            return;
        s += w;
        n -= (size_t)w;
    }
}

/* ---------------------------------------------------------------- stdout/stderr BIOs */

static int fd_bio_write(BIO *b, const char *buf, int len)
{
    int fd = (int)(intptr_t)BIO_get_data(b);
    int done = 0;

    while (done < len) {
        ssize_t w = write(fd, buf + done, (size_t)(len - done));

        if (w <= 0)
            return done > 0 ? done : -1;
        done += (int)w;
    }
    return done;
}

static int fd_bio_puts(BIO *b, const char *s)
{
    size_t n = strlen(s);

    return n > INT_MAX ? -1 : fd_bio_write(b, s, (int)n);
}

static long fd_bio_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    (void)b, (void)num, (void)ptr;
    /* Nothing is buffered, so a flush has nothing to do; other controls are not supported. */
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int fd_bio_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static BIO_METHOD *fd_method;

/* Replaces BIO_new_fp for stdout and stderr, the only streams the test framework opens. */
BIO *BIO_new_fp(FILE *stream, int close_flag)
{
    BIO *b;

    (void)close_flag; /* the standard streams are never closed */
    if (stream != stdout && stream != stderr)
        return NULL;
    if (fd_method == NULL) {
        if ((fd_method = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                                      "kat fd")) == NULL
            || !BIO_meth_set_write(fd_method, fd_bio_write)
            || !BIO_meth_set_puts(fd_method, fd_bio_puts)
            || !BIO_meth_set_ctrl(fd_method, fd_bio_ctrl)
            || !BIO_meth_set_create(fd_method, fd_bio_create)) {
            BIO_meth_free(fd_method);
            fd_method = NULL;
            return NULL;
        }
    }
    if ((b = BIO_new(fd_method)) == NULL)
        return NULL;
    BIO_set_data(b, (void *)(intptr_t)(stream == stdout ? 1 : 2));
    return b;
}

static int print_error_line(const char *str, size_t len, void *u)
{
    (void)len;
    say(*(int *)u, str);
    return 1;
}

void ERR_print_errors_fp(FILE *fp)
{
    int fd = fp == stdout ? 1 : 2;

    ERR_print_errors_cb(print_error_line, &fd);
}

/* ---------------------------------------------------------------- data files */

/* Replaces BIO_new_file: a memory BIO holding the data file's bytes, for reading only. */
BIO *BIO_new_file(const char *filename, const char *mode)
{
    size_t name_len = strlen(filename);
    int32_t size;
    uint8_t *buf;
    BIO *b;

    if (mode[0] != 'r') {
        say(2, "kat: files can only be read here, not written: ");
        say(2, filename);
        say(2, "\n");
        return NULL;
    }
    if ((size = host_file_size(filename, name_len)) < 0) {
        say(2, "kat: the host has no data file named ");
        say(2, filename);
        say(2, "\n");
        return NULL;
    }
    if ((buf = malloc(size > 0 ? (size_t)size : 1)) == NULL) {
        say(2, "kat: out of memory reading ");
        say(2, filename);
        say(2, "\n");
        return NULL;
    }
    if (host_file_read(filename, name_len, buf, (size_t)size) != size) {
        say(2, "kat: the host gave a different size than it announced for ");
        say(2, filename);
        say(2, "\n");
        free(buf);
        return NULL;
    }
    b = BIO_new(BIO_s_mem());
    if (b == NULL || (size > 0 && BIO_write(b, buf, (int)size) != size)) {
        say(2, "kat: out of memory reading ");
        say(2, filename);
        say(2, "\n");
        BIO_free(b);
        free(buf);
        return NULL;
    }
    free(buf);
    /* At the end, reads return 0 (end of file), as a file BIO's do, not -1 ("retry"). */
    BIO_set_mem_eof_return(b, 0);
    return b;
}

/* ---------------------------------------------------------------- providers */

/*
 * Wraps OpenSSL's test_get_libctx (test/testutil/provider.c) for evp_test.c. First the
 * product's own start-up (ow_init), as the module does it; then OpenSSL's: a library context
 * of the test's own with the provider it names. This build has no entropy but the host's, so
 * that context gets the host seed source too (ow_entropy_install_in), and, in a flavor built with
 * the legacy provider, that provider, as OpenSSL's test/default-and-legacy.cnf gives it.
 * A context of its own matters: OpenSSL treats some keys of the default (NULL) context as
 * legacy ones, e.g. DSA then ignores the RFC 6979 nonce type that evppkey_dsa_rfc6979.txt asks for.
 */
int kat_get_libctx(OSSL_LIB_CTX **libctx, OSSL_PROVIDER **default_null_prov,
                   const char *config_file, OSSL_PROVIDER **provider,
                   const char *module_name)
{
    if (config_file != NULL) {
        say(2, "kat: -config is not supported: there are no files here\n");
        return 0;
    }
    if (libctx == NULL) {
        say(2, "kat: evp_test asked for no library context of its own\n");
        return 0;
    }
    if (ow_init() != OW_OK) {
        say(2, "kat: ow_init (the module's start-up) failed\n");
        ERR_print_errors_fp(stderr);
        return 0;
    }
    if (!test_get_libctx(libctx, default_null_prov, NULL, provider, module_name))
        return 0;
    if (!ow_entropy_install_in(*libctx)) {
        say(2, "kat: cannot install the host seed source in the test's library context\n");
        ERR_print_errors_fp(stderr);
        return 0;
    }
#ifdef KAT_LEGACY
    /* Loaded once and kept: evp_test unloads only the provider it asked for. */
    if (OSSL_PROVIDER_load(*libctx, "legacy") == NULL) {
        say(2, "kat: this flavor was built with the legacy provider, but it does not load\n");
        ERR_print_errors_fp(stderr);
        return 0;
    }
#endif
    return 1;
}
