/* JWKS loading: which keys are kept or skipped, exact n/e decoding (checked against the fixture's
 * PEM), modulus size bounds, bad documents, and the RS256 check against the built keys. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "pipeline/auth.h"
#include "test/support/check.h"
#include "test/support/env.h"
#include "test/support/ts_jwt.h"

static char *key1_pem, *key2_pem, *key1_pub, *key2_pub, *n1, *n2;

/* The "n" of the first key in a fixture JWKS, malloc'd. */
static char *fixture_n(const char *jwks)
{
    const char *p = strstr(jwks, "\"n\":\"");
    REQUIRE(p != NULL);
    p += 5;
    return strndup(p, strcspn(p, "\""));
}

static auth_keys_t *load(const char *json, char *err)
{
    err[0] = '\0';
    return auth_keys_from_jwks(json, strlen(json), err, 256);
}

/* {"keys":[{"kty":"RSA","kid":kid,"n":n,"e":e <extra>}]} */
static auth_keys_t *load_one(const char *kid, const char *n, const char *e, const char *extra, char *err)
{
    char *json = malloc(strlen(n) + 512);
    sprintf(json, "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"%s\",\"n\":\"%s\",\"e\":\"%s\"%s}]}", kid, n, e, extra);
    auth_keys_t *k = load(json, err);
    free(json);
    return k;
}

static void test_fixture_jwks(void)
{
    char err[256];
    char *json = ts_fixture_text("auth/jwks.json");
    auth_keys_t *k = load(json, err);
    REQUIRE(k != NULL);
    CHECK_INT(auth_keys_count(k), 1);
    CHECK_STR(auth_keys_pem(k, "test-key-1"), key1_pub); /* n/e decoded exactly */
    CHECK_STR(auth_keys_pem(k, NULL), key1_pub);          /* the only key */
    CHECK(auth_keys_pem(k, "test-key-2") == NULL);
    CHECK(auth_keys_pem(k, "test-key-") == NULL);
    CHECK(auth_keys_pem(k, "test-key-10") == NULL);
    auth_keys_free(k);
    free(json);

    json = ts_fixture_text("auth/jwks-mixed.json");
    k = load(json, err);
    REQUIRE(k != NULL);
    CHECK_INT(auth_keys_count(k), 2); /* EC, use:enc and alg:RS512 skipped */
    CHECK_STR(auth_keys_pem(k, "test-key-1"), key1_pub);
    CHECK_STR(auth_keys_pem(k, "test-key-2"), key2_pub);
    CHECK(auth_keys_pem(k, "ec-key") == NULL);
    CHECK(auth_keys_pem(k, "enc-key") == NULL);
    CHECK(auth_keys_pem(k, "rs512-key") == NULL);
    CHECK(auth_keys_pem(k, NULL) == NULL); /* no kid is ambiguous among two */
    auth_keys_free(k);
    free(json);

    CHECK_INT(auth_keys_count(NULL), 0);
    auth_keys_free(NULL);
}

static void test_key_filters(void)
{
    char err[256];
    struct {
        const char *extra;
        int usable;
    } cases[] = {
        {"", 1},
        {",\"use\":\"sig\"", 1},
        {",\"alg\":\"RS256\"", 1},
        {",\"key_ops\":[\"verify\"]", 1},
        {",\"key_ops\":[\"sign\",\"verify\"]", 1},
        {",\"use\":\"enc\"", 0},
        {",\"use\":\"SIG\"", 0},
        {",\"use\":null", 0},
        {",\"alg\":\"RS512\"", 0},
        {",\"alg\":\"PS256\"", 0},
        {",\"alg\":\"HS256\"", 0},
        {",\"key_ops\":[\"encrypt\"]", 0},
        {",\"key_ops\":\"verify\"", 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        auth_keys_t *k = load_one("k", n1, "AQAB", cases[i].extra, err);
        if ((k != NULL) != cases[i].usable)
            fprintf(stderr, "case %zu (%s): %s\n", i, cases[i].extra, k != NULL ? "kept" : err);
        CHECK_INT(k != NULL, cases[i].usable);
        if (k == NULL)
            CHECK_CONTAINS(err, "no usable RSA signing key");
        auth_keys_free(k);
    }
    /* kty must be RSA, exactly */
    const char *ktys[] = {"{\"keys\":[{\"kty\":\"rsa\",\"n\":\"%s\",\"e\":\"AQAB\"}]}",
                          "{\"keys\":[{\"kty\":\"EC\",\"n\":\"%s\",\"e\":\"AQAB\"}]}",
                          "{\"keys\":[{\"n\":\"%s\",\"e\":\"AQAB\"}]}"};
    for (size_t i = 0; i < sizeof(ktys) / sizeof(ktys[0]); i++) {
        char json[2048];
        snprintf(json, sizeof(json), ktys[i], n1);
        auth_keys_t *k = load(json, err);
        CHECK(k == NULL);
        CHECK_CONTAINS(err, "kty");
    }

    /* a key without kid is kept; it serves only kid-less tokens of a one-key set */
    char json[2048];
    snprintf(json, sizeof(json), "{\"keys\":[{\"kty\":\"RSA\",\"n\":\"%s\",\"e\":\"AQAB\"}]}", n1);
    auth_keys_t *k = load(json, err);
    REQUIRE(k != NULL);
    CHECK_STR(auth_keys_pem(k, NULL), key1_pub);
    CHECK(auth_keys_pem(k, "") == NULL);
    auth_keys_free(k);

    /* a repeated kid keeps the first key */
    snprintf(json, sizeof(json),
             "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"a\",\"n\":\"%s\",\"e\":\"AQAB\"},"
             "{\"kty\":\"RSA\",\"kid\":\"a\",\"n\":\"%s\",\"e\":\"AQAB\"}]}",
             n1, n2);
    k = load(json, err);
    REQUIRE(k != NULL);
    CHECK_INT(auth_keys_count(k), 1);
    CHECK_STR(auth_keys_pem(k, "a"), key1_pub);
    auth_keys_free(k);

    /* kid must be a non-empty string */
    CHECK(load_one("", n1, "AQAB", "", err) == NULL);
    snprintf(json, sizeof(json), "{\"keys\":[{\"kty\":\"RSA\",\"kid\":7,\"n\":\"%s\",\"e\":\"AQAB\"}]}", n1);
    CHECK(load(json, err) == NULL);
}

static void test_encodings(void)
{
    char err[256];
    /* padding and a leading zero byte (as a signed big-endian encoder writes it) decode to the same key */
    char *padded = malloc(strlen(n1) + 4), *zeros = malloc(strlen(n1) + 8);
    sprintf(padded, "%s==", n1);
    sprintf(zeros, "AAAA%s", n1); /* three 0x00 bytes: a whole base64 group */
    auth_keys_t *k = load_one("k", padded, "AQAB", "", err);
    REQUIRE(k != NULL);
    CHECK_STR(auth_keys_pem(k, "k"), key1_pub);
    auth_keys_free(k);
    k = load_one("k", zeros, "AQAB", "", err);
    REQUIRE(k != NULL);
    CHECK_STR(auth_keys_pem(k, "k"), key1_pub);
    auth_keys_free(k);
    unsigned char *raw = malloc(300);
    size_t rawlen;
    REQUIRE(auth_b64url_decode(n1, strlen(n1), raw + 1, 299, &rawlen) == 0);
    raw[0] = 0;
    char *with_zero = ts_b64url(raw, rawlen + 1);
    k = load_one("k", with_zero, "AQAB", "", err);
    REQUIRE(k != NULL);
    CHECK_STR(auth_keys_pem(k, "k"), key1_pub);
    auth_keys_free(k);
    free(with_zero);
    free(raw);
    free(padded);
    free(zeros);

    /* bad base64url in n or e, or missing */
    const char *bad_n[] = {"!!!!", "vtz6KJ2Hk0N0JeMcvnkwlWg94CGjrD24W0UXekIS4N/kkFvc", "", "A"};
    for (size_t i = 0; i < sizeof(bad_n) / sizeof(bad_n[0]); i++) {
        k = load_one("k", bad_n[i], "AQAB", "", err);
        CHECK(k == NULL);
        CHECK_CONTAINS(err, "n is");
    }
    char *n_with_space = malloc(strlen(n1) + 2);
    sprintf(n_with_space, "%.10s %s", n1, n1 + 10);
    CHECK(load_one("k", n_with_space, "AQAB", "", err) == NULL);
    free(n_with_space);
    const char *bad_e[] = {"", "AQ!B", "AQABAQABAQABAQAB"};
    for (size_t i = 0; i < sizeof(bad_e) / sizeof(bad_e[0]); i++) {
        k = load_one("k", n1, bad_e[i], "", err);
        CHECK(k == NULL);
        CHECK_CONTAINS(err, "e is");
    }
    /* even or trivial exponents */
    CHECK(load_one("k", n1, "AQAA", "", err) == NULL); /* 65536 */
    CHECK_CONTAINS(err, "exponent");
    CHECK(load_one("k", n1, "AQ", "", err) == NULL); /* 1 */
    CHECK((k = load_one("k", n1, "Aw", "", err)) != NULL); /* 3 */
    auth_keys_free(k);
    char json[2048];
    snprintf(json, sizeof(json), "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k\",\"n\":\"%s\"}]}", n1);
    CHECK(load(json, err) == NULL);
    snprintf(json, sizeof(json), "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k\",\"n\":\"%s\",\"e\":65537}]}", n1);
    CHECK(load(json, err) == NULL);
}

/* n of exactly `bits` bits (top bit set, all others set too), base64url. */
static char *modulus_of_bits(int bits)
{
    size_t bytes = (size_t)(bits + 7) / 8;
    unsigned char *raw = malloc(bytes);
    memset(raw, 0xff, bytes);
    if (bits % 8)
        raw[0] = (unsigned char)((1u << (bits % 8)) - 1);
    char *s = ts_b64url(raw, bytes);
    free(raw);
    return s;
}

static void test_modulus_bounds(void)
{
    char err[256];
    struct {
        int bits, usable;
    } cases[] = {{1024, 0}, {2047, 0}, {2048, 1}, {4096, 1}, {8192, 1}, {8193, 0}, {16384, 0}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *n = modulus_of_bits(cases[i].bits);
        auth_keys_t *k = load_one("k", n, "AQAB", "", err);
        if ((k != NULL) != cases[i].usable)
            fprintf(stderr, "%d bits: %s\n", cases[i].bits, k != NULL ? "kept" : err);
        CHECK_INT(k != NULL, cases[i].usable);
        auth_keys_free(k);
        free(n);
    }
    /* the real fixture modulus cut to ~1032 bits */
    char *short_n = strndup(n1, 172);
    CHECK(load_one("k", short_n, "AQAB", "", err) == NULL);
    CHECK_CONTAINS(err, "modulus");
    free(short_n);
}

static void test_bad_documents(void)
{
    char err[256];
    const char *not_json[] = {"", "{", "keys", "{\"keys\":[}", "{'keys':[]}", "\xff"};
    for (size_t i = 0; i < sizeof(not_json) / sizeof(not_json[0]); i++) {
        CHECK(load(not_json[i], err) == NULL);
        CHECK_CONTAINS(err, "not JSON");
    }
    const char *no_keys[] = {"{}", "[]", "{\"keys\":[]}", "{\"keys\":{}}", "{\"keys\":null}", "{\"Keys\":[{}]}", "7"};
    for (size_t i = 0; i < sizeof(no_keys) / sizeof(no_keys[0]); i++) {
        CHECK(load(no_keys[i], err) == NULL);
        CHECK_CONTAINS(err, "\"keys\"");
    }
    CHECK(load("{\"keys\":[1,\"x\",null,[]]}", err) == NULL);
    CHECK_CONTAINS(err, "not an object");
    /* a NULL or tiny error buffer is allowed */
    CHECK(auth_keys_from_jwks("{", 1, NULL, 0) == NULL);
    CHECK(auth_keys_from_jwks("{}", 2, err, 1) == NULL);
    CHECK_STR(err, "");
    /* the length given is honoured: the text after it is not read */
    char *json = ts_fixture_text("auth/jwks.json");
    CHECK(auth_keys_from_jwks(json, strlen(json) - 10, err, sizeof(err)) == NULL);
    free(json);
}

static void test_key_count_bound(void)
{
    char err[256];
    for (int total = 64; total <= 65; total++) {
        size_t cap = (size_t)total * (strlen(n1) + 80) + 32, off = 0;
        char *json = malloc(cap);
        off += (size_t)snprintf(json + off, cap - off, "{\"keys\":[");
        const char *jwk = "%s{\"kty\":\"RSA\",\"kid\":\"k%d\",\"n\":\"%s\",\"e\":\"AQAB\"}";
        for (int i = 0; i < total; i++)
            off += (size_t)snprintf(json + off, cap - off, jwk, i ? "," : "", i, n1);
        snprintf(json + off, cap - off, "]}");
        auth_keys_t *k = load(json, err);
        if (total == 64) {
            CHECK(k != NULL);
            CHECK_INT(auth_keys_count(k), 64);
            CHECK_STR(auth_keys_pem(k, "k63"), key1_pub);
        } else {
            CHECK(k == NULL);
            CHECK_CONTAINS(err, "more than 64");
        }
        auth_keys_free(k);
        free(json);
    }
}

static unsigned char *sign(const char *pem, const char *msg, int pss, size_t *siglen)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    REQUIRE(pkey != NULL);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_PKEY_CTX *pctx = NULL;
    unsigned char *sig = malloc(1024);
    *siglen = 1024;
    REQUIRE(EVP_DigestSignInit(md, &pctx, EVP_sha256(), NULL, pkey) == 1);
    if (pss)
        REQUIRE(EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1);
    REQUIRE(EVP_DigestSign(md, sig, siglen, (const unsigned char *)msg, strlen(msg)) == 1);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    return sig;
}

static void test_verify_rs256(void)
{
    char err[256];
    char *json = ts_fixture_text("auth/jwks-mixed.json");
    auth_keys_t *k = load(json, err);
    free(json);
    REQUIRE(k != NULL);
    const char *msg = "header.payload";
    size_t len;
    unsigned char *sig1 = sign(key1_pem, msg, 0, &len);
    CHECK_INT(len, 256);
    CHECK_INT(auth_keys_verify_rs256(k, "test-key-1", 10, msg, strlen(msg), sig1, len), AUTH_OK);
    CHECK_INT(auth_keys_verify_rs256(k, "test-key-2", 10, msg, strlen(msg), sig1, len), AUTH_ERR_SIGNATURE);
    CHECK_INT(auth_keys_verify_rs256(k, "test-key-3", 10, msg, strlen(msg), sig1, len), AUTH_ERR_UNKNOWN_KID);
    CHECK_INT(auth_keys_verify_rs256(k, "test-key-1", 9, msg, strlen(msg), sig1, len), AUTH_ERR_UNKNOWN_KID);
    CHECK_INT(auth_keys_verify_rs256(k, NULL, 0, msg, strlen(msg), sig1, len), AUTH_ERR_UNKNOWN_KID);
    CHECK_INT(auth_keys_verify_rs256(NULL, "test-key-1", 10, msg, strlen(msg), sig1, len), AUTH_ERR_UNKNOWN_KID);
    CHECK_INT(auth_keys_verify_rs256(k, "test-key-1", 10, msg, strlen(msg) - 1, sig1, len), AUTH_ERR_SIGNATURE);
    CHECK_INT(auth_keys_verify_rs256(k, "test-key-1", 10, msg, strlen(msg), sig1, len - 1), AUTH_ERR_SIGNATURE);
    sig1[100] ^= 1;
    CHECK_INT(auth_keys_verify_rs256(k, "test-key-1", 10, msg, strlen(msg), sig1, len), AUTH_ERR_SIGNATURE);
    sig1[100] ^= 1;
    CHECK_INT(auth_keys_verify_rs256(k, "test-key-1", 10, msg, strlen(msg), sig1, len), AUTH_OK);

    /* RS256 is PKCS#1 v1.5 only: a valid PSS signature by the same key is refused */
    unsigned char *pss = sign(key1_pem, msg, 1, &len);
    CHECK_INT(auth_keys_verify_rs256(k, "test-key-1", 10, msg, strlen(msg), pss, len), AUTH_ERR_SIGNATURE);
    free(pss);

    unsigned char *sig2 = sign(key2_pem, msg, 0, &len);
    CHECK_INT(auth_keys_verify_rs256(k, "test-key-2", 10, msg, strlen(msg), sig2, len), AUTH_OK);
    CHECK_INT(auth_keys_verify_rs256(k, "test-key-1", 10, msg, strlen(msg), sig2, len), AUTH_ERR_SIGNATURE);
    free(sig2);
    auth_keys_free(k);

    /* one key: a kid-less signature selects it */
    json = ts_fixture_text("auth/jwks.json");
    k = load(json, err);
    free(json);
    REQUIRE(k != NULL);
    CHECK_INT(auth_keys_verify_rs256(k, NULL, 0, msg, strlen(msg), sig1, 256), AUTH_OK);
    auth_keys_free(k);
    free(sig1);
}

int main(void)
{
    key1_pem = ts_fixture_text("auth/key1.pem");
    key2_pem = ts_fixture_text("auth/key2.pem");
    key1_pub = ts_fixture_text("auth/key1.pub.pem");
    key2_pub = ts_fixture_text("auth/key2.pub.pem");
    char *j1 = ts_fixture_text("auth/jwks.json"), *jm = ts_fixture_text("auth/jwks-mixed.json");
    n1 = fixture_n(j1);
    n2 = fixture_n(strstr(jm, "test-key-2"));
    free(j1);
    free(jm);

    test_fixture_jwks();
    test_key_filters();
    test_encodings();
    test_modulus_bounds();
    test_bad_documents();
    test_key_count_bound();
    test_verify_rs256();

    free(key1_pem);
    free(key2_pem);
    free(key1_pub);
    free(key2_pub);
    free(n1);
    free(n2);
    return check_done("auth_jwks");
}
