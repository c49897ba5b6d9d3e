/* JWKS → immutable RS256 key set, and the RS256 signature check against one of its keys. Keys are
 * built once from n/e (OSSL_PARAM_BLD → EVP_PKEY_fromdata) and kept parsed, so a verify costs one
 * RSA public operation instead of libjwt's PEM parse per call (~1.5k/s); the PEM is kept too. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "base/json.h"
#include "pipeline/auth.h"

#define AUTH_KEYS_MAX 64 /* an IdP publishes a handful; more is a broken or hostile document */
#define AUTH_KID_MAX 255
#define AUTH_RSA_MIN_BITS 2048
#define AUTH_RSA_MAX_BITS 8192

struct auth_key {
    char kid[AUTH_KID_MAX + 1];
    size_t kid_len;
    int has_kid;
    EVP_PKEY *pkey;
    char *pem;
};

struct auth_keys {
    EVP_MD *sha256; /* fetched once: an implicit fetch per verify takes a global lock */
    size_t count;
    struct auth_key keys[];
};

__attribute__((format(printf, 3, 4))) static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
    if (err == NULL || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static int str_is(const json_t *v, const char *s)
{
    return v != NULL && v->type == JSON_STRING && v->len == strlen(s) && memcmp(v->str, s, v->len) == 0;
}

/* JWKs are written by the identity provider, not the client, so padding is tolerated here. */
static BIGNUM *b64url_to_bn(const json_t *v, size_t maxbytes)
{
    if (v == NULL || v->type != JSON_STRING)
        return NULL;
    size_t len = v->len;
    while (len > 0 && v->str[len - 1] == '=' && v->len - len < 2)
        len--;
    unsigned char buf[AUTH_RSA_MAX_BITS / 8 + 1];
    size_t n;
    if (maxbytes > sizeof(buf) || auth_b64url_decode(v->str, len, buf, maxbytes, &n) != 0 || n == 0)
        return NULL;
    return BN_bin2bn(buf, (int)n, NULL);
}

static EVP_PKEY *rsa_public_key(const BIGNUM *n, const BIGNUM *e)
{
    EVP_PKEY *pkey = NULL;
    OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
    OSSL_PARAM *params = NULL;
    EVP_PKEY_CTX *ctx = NULL;
    if (bld == NULL || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
        !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e) || (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
        goto done;
    if ((ctx = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL)) == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
        EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1)
        pkey = NULL;
done:
    EVP_PKEY_CTX_free(ctx);
    OSSL_PARAM_free(params);
    OSSL_PARAM_BLD_free(bld);
    return pkey;
}

static char *pubkey_pem(EVP_PKEY *pkey)
{
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem = NULL, *data;
    if (bio != NULL && PEM_write_bio_PUBKEY(bio, pkey) == 1) {
        long n = BIO_get_mem_data(bio, &data);
        if (n > 0 && (pem = malloc((size_t)n + 1)) != NULL) {
            memcpy(pem, data, (size_t)n);
            pem[n] = '\0';
        }
    }
    BIO_free(bio);
    return pem;
}

/* Fills *key from one JWK. Returns NULL when the key is usable, else why it is skipped. */
static const char *load_key(const json_t *jwk, struct auth_key *key)
{
    if (jwk->type != JSON_OBJECT)
        return "not an object";
    if (!str_is(json_get(jwk, "kty"), "RSA"))
        return "kty is not RSA";
    const json_t *use = json_get(jwk, "use"), *alg = json_get(jwk, "alg"), *ops = json_get(jwk, "key_ops");
    if (use != NULL && !str_is(use, "sig"))
        return "use is not sig";
    if (alg != NULL && !str_is(alg, "RS256"))
        return "alg is not RS256";
    if (ops != NULL) {
        int verify = 0;
        for (size_t i = 0; ops->type == JSON_ARRAY && i < ops->len; i++)
            verify |= str_is(ops->items[i], "verify");
        if (!verify)
            return "key_ops lacks verify";
    }
    const json_t *kid = json_get(jwk, "kid");
    if (kid != NULL) {
        if (kid->type != JSON_STRING || kid->len == 0 || kid->len > AUTH_KID_MAX || memchr(kid->str, '\0', kid->len))
            return "kid is not a usable string";
        memcpy(key->kid, kid->str, kid->len);
        key->kid[kid->len] = '\0';
        key->kid_len = kid->len;
        key->has_kid = 1;
    }

    const char *why = NULL;
    /* one spare byte: some encoders keep the 0x00 that makes the big-endian value positive */
    BIGNUM *n = b64url_to_bn(json_get(jwk, "n"), AUTH_RSA_MAX_BITS / 8 + 1);
    BIGNUM *e = b64url_to_bn(json_get(jwk, "e"), 8);
    if (n == NULL) {
        why = "n is missing, not base64url or too long";
    } else if (e == NULL) {
        why = "e is missing, not base64url or too long";
    } else if (BN_num_bits(n) < AUTH_RSA_MIN_BITS || BN_num_bits(n) > AUTH_RSA_MAX_BITS) {
        why = "modulus is not 2048..8192 bits";
    } else if (!BN_is_odd(e) || BN_is_one(e)) {
        why = "exponent is not odd and > 1";
    } else if ((key->pkey = rsa_public_key(n, e)) == NULL || (key->pem = pubkey_pem(key->pkey)) == NULL) {
        why = "OpenSSL refused the key";
    }
    BN_free(n);
    BN_free(e);
    return why;
}

static void key_clear(struct auth_key *key)
{
    EVP_PKEY_free(key->pkey);
    free(key->pem);
    memset(key, 0, sizeof(*key));
}

static const struct auth_key *find_key(const auth_keys_t *k, const char *kid, size_t kid_len)
{
    if (k == NULL)
        return NULL;
    if (kid == NULL) /* a token without kid is only unambiguous against a single key */
        return k->count == 1 ? &k->keys[0] : NULL;
    for (size_t i = 0; i < k->count; i++)
        if (k->keys[i].has_kid && k->keys[i].kid_len == kid_len && memcmp(k->keys[i].kid, kid, kid_len) == 0)
            return &k->keys[i];
    return NULL;
}

auth_keys_t *auth_keys_from_jwks(const char *json, size_t len, char *err, size_t errlen)
{
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    auth_keys_t *k = NULL;
    char perr[128], skipped[192] = "";

    json_t *root = json_parse(&pool, json, len, perr, sizeof(perr));
    if (root == NULL) {
        set_err(err, errlen, "JWKS is not JSON: %s", perr);
        goto done;
    }
    const json_t *arr = json_get(root, "keys");
    if (arr == NULL || arr->type != JSON_ARRAY || arr->len == 0) {
        set_err(err, errlen, "JWKS has no \"keys\" array, or it is empty");
        goto done;
    }
    size_t cap = arr->len < AUTH_KEYS_MAX ? arr->len : AUTH_KEYS_MAX;
    if ((k = calloc(1, sizeof(*k) + cap * sizeof(k->keys[0]))) == NULL ||
        (k->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL) {
        set_err(err, errlen, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < arr->len; i++) {
        struct auth_key key = {0};
        const char *why = load_key(arr->items[i], &key);
        if (why == NULL && key.has_kid && find_key(k, key.kid, key.kid_len) != NULL)
            why = "kid repeats an earlier key"; /* first one wins: which one the IdP signs with is unknowable */
        if (why == NULL && k->count == cap) {
            key_clear(&key);
            set_err(err, errlen, "JWKS has more than %d usable keys", AUTH_KEYS_MAX);
            goto fail;
        }
        if (why != NULL) {
            if (skipped[0] == '\0')
                snprintf(skipped, sizeof(skipped), "key %zu: %s", i, why);
            key_clear(&key);
            continue;
        }
        k->keys[k->count++] = key;
    }
    if (k->count == 0) {
        set_err(err, errlen, "JWKS has no usable RSA signing key (%s)", skipped);
        goto fail;
    }
    goto done;

fail:
    auth_keys_free(k);
    k = NULL;
done:
    ERR_clear_error(); /* leave no stale errors for TLS code on this thread to misread */
    h2o_mem_clear_pool(&pool);
    return k;
}

void auth_keys_free(auth_keys_t *k)
{
    if (k == NULL)
        return;
    for (size_t i = 0; i < k->count; i++)
        key_clear(&k->keys[i]);
    EVP_MD_free(k->sha256);
    free(k);
}

size_t auth_keys_count(const auth_keys_t *k)
{
    return k != NULL ? k->count : 0;
}

const char *auth_keys_pem(const auth_keys_t *k, const char *kid)
{
    const struct auth_key *key = find_key(k, kid, kid != NULL ? strlen(kid) : 0);
    return key != NULL ? key->pem : NULL;
}

auth_status_t auth_keys_verify_rs256(const auth_keys_t *k, const char *kid, size_t kid_len, const void *msg,
                                     size_t msg_len, const unsigned char *sig, size_t sig_len)
{
    const struct auth_key *key = find_key(k, kid, kid_len);
    if (key == NULL)
        return AUTH_ERR_UNKNOWN_KID;
    /* PKCS#1 v1.5 signatures are exactly the modulus size; refuse anything else up front */
    if (sig_len != (size_t)EVP_PKEY_get_size(key->pkey))
        return AUTH_ERR_SIGNATURE;

    auth_status_t st = AUTH_ERR_SIGNATURE;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    if (md != NULL && EVP_DigestVerifyInit(md, &pctx, k->sha256, NULL, key->pkey) == 1 &&
        EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1 &&
        EVP_DigestVerify(md, sig, sig_len, msg, msg_len) == 1)
        st = AUTH_OK;
    EVP_MD_CTX_free(md);
    if (st != AUTH_OK)
        ERR_clear_error();
    return st;
}
