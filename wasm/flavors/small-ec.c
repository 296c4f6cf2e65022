/*
 * The small flavor's P-224 and P-521: OpenSSL's generic Montgomery code instead of the
 * 64-bit-limb "nistp" code that enable-ec_nistp_64_gcc_128 builds for them.
 *
 * P-256 (the common certificate and key-exchange curve) and P-384 (web PKI intermediates)
 * keep their fast nistp code. P-224 is in no TLS default list and P-521 is rarely negotiated
 * or seen in certificates, so their nistp code (about 12 KB of the gzipped module) is left out:
 * these definitions are linked before libcrypto.a, so the archive members that define the same
 * symbols (ecp_nistp224.o, ecp_nistp521.o) are never pulled in. The curves still work, at the
 * speed of a default OpenSSL build, which uses the Montgomery code for them too.
 *
 * The precomputation hooks below are what crypto/ec/ec_lib.c calls for a group whose
 * precomputed table is of the nistp224/nistp521 kind. A group made with the Montgomery method
 * never has one, so they are never called; they exist only to satisfy the linker.
 */
typedef struct ec_method_st EC_METHOD;
typedef struct nistp224_pre_comp_st NISTP224_PRE_COMP;
typedef struct nistp521_pre_comp_st NISTP521_PRE_COMP;

/* Declared here: the public declarations are deprecated, and this build hides them. */
const EC_METHOD *EC_GFp_mont_method(void);
const EC_METHOD *EC_GFp_nistp224_method(void);
const EC_METHOD *EC_GFp_nistp521_method(void);
void EC_nistp224_pre_comp_free(NISTP224_PRE_COMP *pre);
void EC_nistp521_pre_comp_free(NISTP521_PRE_COMP *pre);
NISTP224_PRE_COMP *EC_nistp224_pre_comp_dup(NISTP224_PRE_COMP *pre);
NISTP521_PRE_COMP *EC_nistp521_pre_comp_dup(NISTP521_PRE_COMP *pre);

/* The curve table (crypto/ec/ec_curve.c) asks these for P-224's and P-521's method. */
const EC_METHOD *EC_GFp_nistp224_method(void)
{
    return EC_GFp_mont_method();
}

const EC_METHOD *EC_GFp_nistp521_method(void)
{
    return EC_GFp_mont_method();
}

void EC_nistp224_pre_comp_free(NISTP224_PRE_COMP *pre)
{
    (void)pre;
}

void EC_nistp521_pre_comp_free(NISTP521_PRE_COMP *pre)
{
    (void)pre;
}

/* Were one ever called, a group copy would go without the table (slower, never unsafe). */
NISTP224_PRE_COMP *EC_nistp224_pre_comp_dup(NISTP224_PRE_COMP *pre)
{
    (void)pre;
    return 0;
}

NISTP521_PRE_COMP *EC_nistp521_pre_comp_dup(NISTP521_PRE_COMP *pre)
{
    (void)pre;
    return 0;
}
