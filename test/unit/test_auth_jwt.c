/* JWT verification: pinned algorithm (none, confusion, wrong alg), shape, signatures and kid
 * selection, time claims with leeway, iss/aud, required and bounded claims, role handling. */
#include <jwt.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "pipeline/auth.h"
#include "test/support/check.h"
#include "test/support/env.h"
#include "test/support/ts_jwt.h"

#define NOW 1700000000LL
#define SECRET "test-secret-for-unit-tests-only-0123456789"
#define ISSUER "https://api.workos.com/user_management/client_test"

static char *key1_pem, *key2_pem, *key1_pub_pem, *jwks_one, *jwks_mixed;
static auth_keys_t *keys_one, *keys_mixed;

/* ---- helpers ------------------------------------------------------------------------------ */

enum signer { SIGN_NONE, SIGN_HS256, SIGN_HS256_WITH_KEY1_PEM, SIGN_RS256_KEY1, SIGN_RS256_KEY2 };

static char *rsa_sign(const char *pem, const char *msg, size_t *siglen)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    REQUIRE(pkey != NULL);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char *sig = malloc(1024);
    *siglen = 1024;
    REQUIRE(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, pkey) == 1);
    REQUIRE(EVP_DigestSign(md, sig, siglen, (const unsigned char *)msg, strlen(msg)) == 1);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(pkey);
    BIO_free(bio);
    return (char *)sig;
}

/* A token with exactly this header and payload text, signed by hand (so tests can build what
 * libjwt refuses to: odd headers, duplicate members, no typ). Caller frees. */
static char *mint_raw(const char *header, const char *payload, enum signer s)
{
    char *h = ts_b64url(header, strlen(header)), *p = ts_b64url(payload, strlen(payload));
    size_t n = strlen(h) + strlen(p) + 2048;
    char *tok = malloc(n);
    snprintf(tok, n, "%s.%s", h, p);
    unsigned char mac[32];
    unsigned int maclen = 0;
    char *sig = NULL, *sigb = NULL;
    size_t siglen = 0;
    switch (s) {
    case SIGN_NONE:
        sigb = strdup("");
        break;
    case SIGN_HS256:
    case SIGN_HS256_WITH_KEY1_PEM: {
        const char *key = s == SIGN_HS256 ? SECRET : key1_pub_pem;
        HMAC(EVP_sha256(), key, (int)strlen(key), (unsigned char *)tok, strlen(tok), mac, &maclen);
        sigb = ts_b64url(mac, maclen);
        break;
    }
    case SIGN_RS256_KEY1:
    case SIGN_RS256_KEY2:
        sig = rsa_sign(s == SIGN_RS256_KEY1 ? key1_pem : key2_pem, tok, &siglen);
        sigb = ts_b64url(sig, siglen);
        break;
    }
    strcat(tok, ".");
    strcat(tok, sigb);
    free(h);
    free(p);
    free(sig);
    free(sigb);
    return tok;
}

/* The same through libjwt, as other services would mint them (adds typ "JWT"). */
static char *mint_libjwt(jwt_alg_t alg, const char *key, const char *kid, const char *grants_json)
{
    jwt_t *jwt = NULL;
    REQUIRE(jwt_new(&jwt) == 0);
    REQUIRE(jwt_add_grants_json(jwt, grants_json) == 0);
    if (kid != NULL)
        REQUIRE(jwt_add_header(jwt, "kid", kid) == 0);
    REQUIRE(jwt_set_alg(jwt, alg, (const unsigned char *)key, (int)strlen(key)) == 0);
    char *tok = jwt_encode_str(jwt);
    REQUIRE(tok != NULL);
    jwt_free(jwt);
    return tok;
}

static auth_config_t hs_cfg(void)
{
    return (auth_config_t){.alg = AUTH_ALG_HS256,
                           .hs256_secret = (const unsigned char *)SECRET,
                           .hs256_secret_len = strlen(SECRET),
                           .leeway_s = 60};
}

static auth_config_t rs_cfg(void)
{
    return (auth_config_t){.alg = AUTH_ALG_RS256, .issuer = ISSUER, .leeway_s = 60};
}

static auth_status_t verify(const auth_config_t *cfg, const auth_keys_t *keys, const char *tok, auth_claims_t *out)
{
    auth_claims_t scratch;
    return auth_jwt_verify(cfg, keys, tok, strlen(tok), NOW, out != NULL ? out : &scratch);
}

#define HS_HEADER "{\"alg\":\"HS256\",\"typ\":\"JWT\"}"
#define RS_HEADER "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"test-key-1\"}"
#define BASE_CLAIMS "\"sub\":\"user_01\",\"org_id\":\"org_01\",\"iss\":\"" ISSUER "\""

/* Status of `payload` under HS256 (our secret) and RS256 (key1 via the JWKS): both paths must
 * apply the same claim rules, so every claim test runs through both. */
static void check_claims_both(const char *payload, auth_status_t want, int line)
{
    auth_config_t hs = hs_cfg(), rs = rs_cfg();
    char *a = mint_raw(HS_HEADER, payload, SIGN_HS256), *b = mint_raw(RS_HEADER, payload, SIGN_RS256_KEY1);
    auth_status_t sa = verify(&hs, NULL, a, NULL), sb = verify(&rs, keys_one, b, NULL);
    if (sa != want || sb != want)
        fprintf(stderr, "line %d: %s -> HS256 %s, RS256 %s, expected %s\n", line, payload, auth_status_text(sa),
                auth_status_text(sb), auth_status_text(want));
    CHECK_INT(sa, want);
    CHECK_INT(sb, want);
    free(a);
    free(b);
}
#define CLAIMS_BOTH(want, ...)                                                                                         \
    do {                                                                                                               \
        char payload_[4096];                                                                                           \
        snprintf(payload_, sizeof(payload_), __VA_ARGS__);                                                             \
        check_claims_both(payload_, want, __LINE__);                                                                   \
    } while (0)

/* ---- tests -------------------------------------------------------------------------------- */

static void test_valid_hs256(void)
{
    auth_config_t cfg = hs_cfg();
    char *tok = mint_libjwt(JWT_ALG_HS256, SECRET, NULL,
                            "{\"sub\":\"user_01\",\"org_id\":\"org_01\",\"role\":\"admin\",\"email\":\"a@b.c\","
                            "\"name\":\"Ann\",\"exp\":1700000300,\"iat\":1699999990,\"nbf\":1699999990}");
    auth_claims_t c;
    CHECK_INT(verify(&cfg, NULL, tok, &c), AUTH_OK);
    CHECK_STR(c.sub, "user_01");
    CHECK_STR(c.org_id, "org_01");
    CHECK_STR(c.role, "admin");
    CHECK_STR(c.email, "a@b.c");
    CHECK_STR(c.name, "Ann");
    CHECK_INT(c.exp, 1700000300);
    CHECK_INT(c.iat, 1699999990);
    CHECK_INT(c.nbf, 1699999990);

    /* the wrong secret fails, and *out is left zeroed, not half-filled */
    auth_config_t wrong = cfg;
    wrong.hs256_secret = (const unsigned char *)"another-secret-another-secret-another";
    wrong.hs256_secret_len = strlen((const char *)wrong.hs256_secret);
    CHECK_INT(verify(&wrong, NULL, tok, &c), AUTH_ERR_SIGNATURE);
    CHECK_STR(c.sub, "");
    CHECK_INT(c.exp, 0);
    free(tok);

    /* hand-minted without typ (other libraries omit it) and without optional claims */
    tok = mint_raw("{\"alg\":\"HS256\"}", "{\"sub\":\"u\",\"org_id\":\"o\",\"exp\":1700000300}", SIGN_HS256);
    CHECK_INT(verify(&cfg, NULL, tok, &c), AUTH_OK);
    CHECK_STR(c.role, "member");
    CHECK_STR(c.email, "");
    CHECK_STR(c.name, "");
    CHECK_INT(c.nbf, 0);
    free(tok);
}

/* libjwt verifies nothing with a NULL or empty key; the wrapper must never hand it one. */
static void test_hs256_never_without_key(void)
{
    char *tok = mint_raw(HS_HEADER, "{\"sub\":\"u\",\"org_id\":\"o\",\"exp\":1700000300}", SIGN_HS256);
    jwt_t *jwt = NULL;
    CHECK_INT(jwt_decode(&jwt, tok, NULL, 0), 0); /* the hazard is real in this libjwt */
    jwt_free(jwt);

    auth_config_t cfg = hs_cfg();
    cfg.hs256_secret = NULL;
    auth_status_t st = verify(&cfg, NULL, tok, NULL);
    CHECK(st != AUTH_OK);
    CHECK_INT(st, AUTH_ERR_CONFIG);
    cfg.hs256_secret = (const unsigned char *)SECRET;
    cfg.hs256_secret_len = 0;
    st = verify(&cfg, NULL, tok, NULL);
    CHECK(st != AUTH_OK);
    CHECK_INT(st, AUTH_ERR_CONFIG);
    free(tok);

    auth_config_t bad = {.alg = (auth_alg_t)7};
    tok = mint_raw(HS_HEADER, "{}", SIGN_HS256);
    CHECK_INT(verify(&bad, NULL, tok, NULL), AUTH_ERR_CONFIG);
    CHECK_INT(verify(NULL, NULL, tok, NULL), AUTH_ERR_CONFIG);
    free(tok);
}

static void test_valid_rs256(void)
{
    auth_config_t cfg = rs_cfg();
    auth_claims_t c;
    char *tok = mint_libjwt(JWT_ALG_RS256, key1_pem, "test-key-1",
                            "{\"sub\":\"user_01\",\"org_id\":\"org_01\",\"role\":\"member\",\"iss\":\"" ISSUER "\","
                            "\"exp\":1700000300,\"iat\":1699999990,\"roles\":[\"member\"],\"permissions\":[]}");
    CHECK_INT(verify(&cfg, keys_one, tok, &c), AUTH_OK);
    CHECK_STR(c.sub, "user_01");
    CHECK_STR(c.org_id, "org_01");
    CHECK_STR(c.role, "member");
    CHECK_INT(c.exp, 1700000300);
    CHECK_INT(verify(&cfg, keys_mixed, tok, &c), AUTH_OK); /* found by kid among several keys */
    CHECK_INT(verify(&cfg, NULL, tok, &c), AUTH_ERR_UNKNOWN_KID); /* no JWKS yet: fetch and retry */
    free(tok);

    /* key2 under its own kid in the mixed set */
    tok = mint_raw("{\"alg\":\"RS256\",\"kid\":\"test-key-2\"}", "{" BASE_CLAIMS ",\"exp\":1700000300}",
                   SIGN_RS256_KEY2);
    CHECK_INT(verify(&cfg, keys_mixed, tok, &c), AUTH_OK);
    CHECK_INT(verify(&cfg, keys_one, tok, &c), AUTH_ERR_UNKNOWN_KID);
    free(tok);
}

static void test_kid_selection(void)
{
    auth_config_t cfg = rs_cfg();
    const char *claims = "{" BASE_CLAIMS ",\"exp\":1700000300}";
    char *tok = mint_raw("{\"alg\":\"RS256\",\"kid\":\"rotated-away\"}", claims, SIGN_RS256_KEY1);
    CHECK_INT(verify(&cfg, keys_one, tok, NULL), AUTH_ERR_UNKNOWN_KID);
    free(tok);

    /* the second, unrelated key claiming the first key's kid */
    tok = mint_raw(RS_HEADER, claims, SIGN_RS256_KEY2);
    CHECK_INT(verify(&cfg, keys_one, tok, NULL), AUTH_ERR_SIGNATURE);
    CHECK_INT(verify(&cfg, keys_mixed, tok, NULL), AUTH_ERR_SIGNATURE);
    free(tok);

    /* no kid: fine against a one-key set, ambiguous (so unknown) against several */
    tok = mint_raw("{\"alg\":\"RS256\"}", claims, SIGN_RS256_KEY1);
    CHECK_INT(verify(&cfg, keys_one, tok, NULL), AUTH_OK);
    CHECK_INT(verify(&cfg, keys_mixed, tok, NULL), AUTH_ERR_UNKNOWN_KID);
    free(tok);
    tok = mint_raw("{\"alg\":\"RS256\"}", claims, SIGN_RS256_KEY2);
    CHECK_INT(verify(&cfg, keys_one, tok, NULL), AUTH_ERR_SIGNATURE);
    free(tok);

    /* kids the JWKS loader skipped are not reachable */
    tok = mint_raw("{\"alg\":\"RS256\",\"kid\":\"enc-key\"}", claims, SIGN_RS256_KEY2);
    CHECK_INT(verify(&cfg, keys_mixed, tok, NULL), AUTH_ERR_UNKNOWN_KID);
    free(tok);

    /* a kid that is not a short string is malformed */
    const char *bad_kids[] = {"{\"alg\":\"RS256\",\"kid\":5}", "{\"alg\":\"RS256\",\"kid\":\"\"}",
                              "{\"alg\":\"RS256\",\"kid\":\"test-key-1\\u0000\"}"};
    for (size_t i = 0; i < sizeof(bad_kids) / sizeof(bad_kids[0]); i++) {
        tok = mint_raw(bad_kids[i], claims, SIGN_RS256_KEY1);
        CHECK_INT(verify(&cfg, keys_one, tok, NULL), AUTH_ERR_MALFORMED);
        free(tok);
    }
}

static void test_alg_none(void)
{
    auth_config_t hs = hs_cfg(), rs = rs_cfg();
    /* {"alg":"none"} . {"sub":"u","org_id":"o","exp":1700000300,"iss":ISSUER} . (empty) */
    char *tok = mint_raw("{\"alg\":\"none\"}", "{" BASE_CLAIMS ",\"exp\":1700000300}", SIGN_NONE);
    CHECK(strncmp(tok, "eyJhbGciOiJub25lIn0.", 20) == 0);
    CHECK(tok[strlen(tok) - 1] == '.');
    CHECK_INT(verify(&hs, NULL, tok, NULL), AUTH_ERR_ALGORITHM);
    CHECK_INT(verify(&rs, keys_one, tok, NULL), AUTH_ERR_ALGORITHM);
    free(tok);
    /* none with a signature attached, and other spellings */
    const char *headers[] = {"{\"alg\":\"none\",\"typ\":\"JWT\"}", "{\"alg\":\"None\"}", "{\"alg\":\"hs256\"}",
                             "{\"alg\":\"HS256 \"}", "{\"alg\":\"HS384\"}", "{\"alg\":\"HS512\"}",
                             "{\"alg\":\"ES256\"}"};
    for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
        tok = mint_raw(headers[i], "{" BASE_CLAIMS ",\"exp\":1700000300}", SIGN_HS256);
        CHECK_INT(verify(&hs, NULL, tok, NULL), AUTH_ERR_ALGORITHM);
        free(tok);
    }
    /* alg missing or not a string is malformed */
    const char *bad[] = {"{}", "{\"alg\":null}", "{\"alg\":[\"HS256\"]}", "{\"typ\":\"JWT\"}"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        tok = mint_raw(bad[i], "{" BASE_CLAIMS ",\"exp\":1700000300}", SIGN_HS256);
        CHECK_INT(verify(&hs, NULL, tok, NULL), AUTH_ERR_MALFORMED);
        free(tok);
    }
}

/* HS256 signed with the RSA public key's PEM as the HMAC secret: libjwt alone accepts it. */
static void test_alg_confusion(void)
{
    auth_config_t cfg = rs_cfg();
    const char *pem = auth_keys_pem(keys_one, "test-key-1");
    REQUIRE(pem != NULL);
    char *tok = mint_libjwt(JWT_ALG_HS256, pem, "test-key-1",
                            "{\"sub\":\"attacker\",\"org_id\":\"victim\",\"role\":\"admin\",\"iss\":\"" ISSUER
                            "\",\"exp\":1700000300}");
    jwt_t *jwt = NULL;
    CHECK_INT(jwt_decode(&jwt, tok, (const unsigned char *)pem, (int)strlen(pem)), 0); /* the hazard */
    jwt_free(jwt);
    auth_claims_t c;
    CHECK_INT(verify(&cfg, keys_one, tok, &c), AUTH_ERR_ALGORITHM);
    CHECK_STR(c.sub, "");
    free(tok);

    /* the same with the PEM exactly as the fixture file holds it, hand-minted */
    tok = mint_raw("{\"alg\":\"HS256\",\"typ\":\"JWT\",\"kid\":\"test-key-1\"}", "{" BASE_CLAIMS ",\"exp\":1700000300}",
                   SIGN_HS256_WITH_KEY1_PEM);
    CHECK_INT(verify(&cfg, keys_one, tok, NULL), AUTH_ERR_ALGORITHM);
    free(tok);

    /* and the other way round: an RS256 token where HS256 is configured */
    auth_config_t hs = hs_cfg();
    tok = mint_raw(RS_HEADER, "{" BASE_CLAIMS ",\"exp\":1700000300}", SIGN_RS256_KEY1);
    CHECK_INT(verify(&hs, NULL, tok, NULL), AUTH_ERR_ALGORITHM);
    free(tok);
}

static void test_bad_signature(void)
{
    auth_config_t hs = hs_cfg(), rs = rs_cfg();
    char *toks[2] = {mint_raw(HS_HEADER, "{" BASE_CLAIMS ",\"exp\":1700000300}", SIGN_HS256),
                     mint_raw(RS_HEADER, "{" BASE_CLAIMS ",\"exp\":1700000300}", SIGN_RS256_KEY1)};
    const auth_config_t *cfgs[2] = {&hs, &rs};
    const auth_keys_t *keys[2] = {NULL, keys_one};
    for (int t = 0; t < 2; t++) {
        char *tok = toks[t];
        size_t len = strlen(tok);
        CHECK_INT(verify(cfgs[t], keys[t], tok, NULL), AUTH_OK);
        char *sig = strrchr(tok, '.') + 1;
        size_t mid = (size_t)(sig - tok) + strlen(sig) / 2;
        char saved = tok[mid];
        tok[mid] = saved == 'A' ? 'B' : 'A'; /* one flipped signature byte */
        CHECK_INT(verify(cfgs[t], keys[t], tok, NULL), AUTH_ERR_SIGNATURE);
        tok[mid] = saved;
        /* the last character: its unused low bits must not be a free second encoding */
        char last = tok[len - 1];
        tok[len - 1] = (char)(last ^ 1);
        CHECK(verify(cfgs[t], keys[t], tok, NULL) != AUTH_OK);
        tok[len - 1] = last;
        /* every truncation fails */
        for (size_t cut = 0; cut < len; cut++) {
            auth_claims_t c;
            auth_status_t st = auth_jwt_verify(cfgs[t], keys[t], tok, cut, NOW, &c);
            if (st == AUTH_OK)
                fprintf(stderr, "truncated to %zu bytes verified\n", cut);
            CHECK(st != AUTH_OK);
        }
        CHECK_INT(verify(cfgs[t], keys[t], tok, NULL), AUTH_OK);
    }
    /* payload swapped for another org while keeping the signature */
    char *other = mint_raw(HS_HEADER, "{\"sub\":\"user_01\",\"org_id\":\"org_02\",\"exp\":1700000300}", SIGN_HS256);
    char spliced[4096];
    for (int t = 0; t < 2; t++) {
        const char *p1 = strchr(other, '.'), *p2 = strrchr(other, '.');
        const char *q1 = strchr(toks[t], '.'), *q2 = strrchr(toks[t], '.');
        snprintf(spliced, sizeof(spliced), "%.*s.%.*s%s", (int)(q1 - toks[t]), toks[t], (int)(p2 - p1 - 1), p1 + 1, q2);
        CHECK_INT(verify(cfgs[t], keys[t], spliced, NULL), AUTH_ERR_SIGNATURE);
    }
    free(other);
    free(toks[0]);
    free(toks[1]);
}

static void test_shape(void)
{
    auth_config_t hs = hs_cfg();
    char *tok = mint_raw(HS_HEADER, "{" BASE_CLAIMS ",\"exp\":1700000300}", SIGN_HS256);
    char buf[10000];
    const char *p1 = strchr(tok, '.'), *p2 = strrchr(tok, '.');

    CHECK_INT(verify(&hs, NULL, "", NULL), AUTH_ERR_MALFORMED);
    CHECK_INT(verify(&hs, NULL, "..", NULL), AUTH_ERR_MALFORMED);
    snprintf(buf, sizeof(buf), "%.*s", (int)(p2 - tok), tok); /* two segments */
    CHECK_INT(verify(&hs, NULL, buf, NULL), AUTH_ERR_MALFORMED);
    snprintf(buf, sizeof(buf), "%s.", tok); /* four segments */
    CHECK_INT(verify(&hs, NULL, buf, NULL), AUTH_ERR_MALFORMED);
    snprintf(buf, sizeof(buf), "%s.abc", tok);
    CHECK_INT(verify(&hs, NULL, buf, NULL), AUTH_ERR_MALFORMED);
    snprintf(buf, sizeof(buf), "%s%s", p1, ""); /* empty header */
    CHECK_INT(verify(&hs, NULL, buf, NULL), AUTH_ERR_MALFORMED);
    snprintf(buf, sizeof(buf), "%.*s.%s", (int)(p1 - tok), tok, p2); /* empty payload */
    CHECK_INT(verify(&hs, NULL, buf, NULL), AUTH_ERR_MALFORMED);
    snprintf(buf, sizeof(buf), "%.*s", (int)(p2 - tok + 1), tok); /* empty signature */
    CHECK_INT(verify(&hs, NULL, buf, NULL), AUTH_ERR_SIGNATURE);

    /* whitespace, padding and standard-base64 characters anywhere */
    const char *inserts[] = {" ", "\n", "\t", "=", "+", "/", "%"};
    for (size_t i = 0; i < sizeof(inserts) / sizeof(inserts[0]); i++) {
        snprintf(buf, sizeof(buf), "%s%s", tok, inserts[i]);
        CHECK_INT(verify(&hs, NULL, buf, NULL), AUTH_ERR_MALFORMED);
        snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p1 - tok), tok, inserts[i], p1);
        CHECK_INT(verify(&hs, NULL, buf, NULL), AUTH_ERR_MALFORMED);
    }
    snprintf(buf, sizeof(buf), " %s", tok);
    CHECK_INT(verify(&hs, NULL, buf, NULL), AUTH_ERR_MALFORMED);
    auth_claims_t c;
    CHECK_INT(auth_jwt_verify(&hs, NULL, tok, strlen(tok) + 1, NOW, &c), AUTH_ERR_MALFORMED); /* with its NUL */

    /* length bound: a validly signed token just over 8 KiB is refused unread */
    char big[6200], payload[6400];
    memset(big, 'x', 6100);
    big[6100] = '\0';
    snprintf(payload, sizeof(payload), "{" BASE_CLAIMS ",\"exp\":1700000300,\"pad\":\"%s\"}", big);
    char *large = mint_raw(HS_HEADER, payload, SIGN_HS256);
    CHECK(strlen(large) > AUTH_MAX_TOKEN_LEN);
    CHECK_INT(verify(&hs, NULL, large, NULL), AUTH_ERR_MALFORMED);
    free(large);
    big[5900] = '\0';
    snprintf(payload, sizeof(payload), "{" BASE_CLAIMS ",\"exp\":1700000300,\"pad\":\"%s\"}", big);
    large = mint_raw(HS_HEADER, payload, SIGN_HS256);
    CHECK(strlen(large) <= AUTH_MAX_TOKEN_LEN);
    CHECK_INT(verify(&hs, NULL, large, NULL), AUTH_OK);
    free(large);

    /* header or payload that is not a JSON object (payload signed, so only its content is wrong) */
    char *t2 = mint_raw("[\"HS256\"]", "{" BASE_CLAIMS ",\"exp\":1700000300}", SIGN_HS256);
    CHECK_INT(verify(&hs, NULL, t2, NULL), AUTH_ERR_MALFORMED);
    free(t2);
    t2 = mint_raw("{\"alg\":\"HS256\"", "{" BASE_CLAIMS ",\"exp\":1700000300}", SIGN_HS256);
    CHECK_INT(verify(&hs, NULL, t2, NULL), AUTH_ERR_MALFORMED);
    free(t2);
    auth_config_t rs = rs_cfg();
    const char *payloads[] = {"[1]", "\"x\"", "{\"sub\":", "not json"};
    for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
        t2 = mint_raw(RS_HEADER, payloads[i], SIGN_RS256_KEY1);
        CHECK_INT(verify(&rs, keys_one, t2, NULL), AUTH_ERR_MALFORMED);
        free(t2);
    }

    /* duplicate header members (a second parser could pick the other one) and crit */
    t2 = mint_raw("{\"alg\":\"none\",\"alg\":\"HS256\"}", "{" BASE_CLAIMS ",\"exp\":1700000300}", SIGN_HS256);
    CHECK_INT(verify(&hs, NULL, t2, NULL), AUTH_ERR_MALFORMED);
    free(t2);
    t2 = mint_raw("{\"alg\":\"RS256\",\"kid\":\"x\",\"kid\":\"test-key-1\"}", "{" BASE_CLAIMS ",\"exp\":1700000300}",
                  SIGN_RS256_KEY1);
    CHECK_INT(verify(&rs, keys_one, t2, NULL), AUTH_ERR_MALFORMED);
    free(t2);
    t2 = mint_raw("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", "{" BASE_CLAIMS ",\"exp\":1700000300}", SIGN_HS256);
    CHECK_INT(verify(&hs, NULL, t2, NULL), AUTH_ERR_MALFORMED);
    free(t2);
    free(tok);
}

static void test_time_claims(void)
{
    /* leeway 60: valid while NOW < exp + 60 */
    CLAIMS_BOTH(AUTH_OK, "{" BASE_CLAIMS ",\"exp\":%lld}", NOW + 1);
    CLAIMS_BOTH(AUTH_OK, "{" BASE_CLAIMS ",\"exp\":%lld}", NOW - 30); /* expired, within leeway */
    CLAIMS_BOTH(AUTH_OK, "{" BASE_CLAIMS ",\"exp\":%lld}", NOW - 59);
    CLAIMS_BOTH(AUTH_ERR_EXPIRED, "{" BASE_CLAIMS ",\"exp\":%lld}", NOW - 60);
    CLAIMS_BOTH(AUTH_ERR_EXPIRED, "{" BASE_CLAIMS ",\"exp\":%lld}", NOW - 3600);
    CLAIMS_BOTH(AUTH_OK, "{" BASE_CLAIMS ",\"exp\":%lld.75}", NOW); /* fractions are allowed */
    /* exp is required and must be a non-negative number of seconds */
    CLAIMS_BOTH(AUTH_ERR_CLAIMS, "{" BASE_CLAIMS "}");
    CLAIMS_BOTH(AUTH_ERR_CLAIMS, "{" BASE_CLAIMS ",\"exp\":\"%lld\"}", NOW + 300);
    CLAIMS_BOTH(AUTH_ERR_CLAIMS, "{" BASE_CLAIMS ",\"exp\":null}");
    CLAIMS_BOTH(AUTH_ERR_CLAIMS, "{" BASE_CLAIMS ",\"exp\":-1}");
    CLAIMS_BOTH(AUTH_ERR_CLAIMS, "{" BASE_CLAIMS ",\"exp\":1.7e9}");
    /* beyond int64: ours says CLAIMS; under HS256 libjwt's jansson refuses the payload first,
     * which reads as a signature failure (libjwt reports no reason): not OK either way */
    char *huge = mint_raw(RS_HEADER, "{" BASE_CLAIMS ",\"exp\":99999999999999999999}", SIGN_RS256_KEY1);
    auth_config_t rs = rs_cfg(), hs = hs_cfg();
    CHECK_INT(verify(&rs, keys_one, huge, NULL), AUTH_ERR_CLAIMS);
    free(huge);
    huge = mint_raw(HS_HEADER, "{" BASE_CLAIMS ",\"exp\":99999999999999999999}", SIGN_HS256);
    CHECK(verify(&hs, NULL, huge, NULL) != AUTH_OK);
    free(huge);
    CLAIMS_BOTH(AUTH_ERR_CLAIMS, "{" BASE_CLAIMS ",\"exp\":10000000000001}"); /* over the 13-digit bound */
    /* nbf: valid once NOW >= nbf - 60 */
    CLAIMS_BOTH(AUTH_OK, "{" BASE_CLAIMS ",\"exp\":%lld,\"nbf\":%lld}", NOW + 300, NOW + 60);
    CLAIMS_BOTH(AUTH_ERR_NOT_YET_VALID, "{" BASE_CLAIMS ",\"exp\":%lld,\"nbf\":%lld}", NOW + 300, NOW + 61);
    CLAIMS_BOTH(AUTH_ERR_NOT_YET_VALID, "{" BASE_CLAIMS ",\"exp\":%lld,\"nbf\":%lld}", NOW + 9000, NOW + 3600);
    CLAIMS_BOTH(AUTH_ERR_CLAIMS, "{" BASE_CLAIMS ",\"exp\":%lld,\"nbf\":\"soon\"}", NOW + 300);
    CLAIMS_BOTH(AUTH_ERR_CLAIMS, "{" BASE_CLAIMS ",\"exp\":%lld,\"iat\":true}", NOW + 300);

    /* leeway 0: exp is exclusive */
    auth_config_t cfg = hs_cfg();
    cfg.leeway_s = 0;
    char payload[256];
    snprintf(payload, sizeof(payload), "{\"sub\":\"u\",\"org_id\":\"o\",\"exp\":%lld}", NOW);
    char *tok = mint_raw(HS_HEADER, payload, SIGN_HS256);
    CHECK_INT(verify(&cfg, NULL, tok, NULL), AUTH_ERR_EXPIRED);
    cfg.leeway_s = -100; /* negative counts as 0, never as extra strictness past exp */
    CHECK_INT(verify(&cfg, NULL, tok, NULL), AUTH_ERR_EXPIRED);
    CHECK_INT(auth_jwt_verify(&cfg, NULL, tok, strlen(tok), NOW - 1, &(auth_claims_t){.exp = 0}), AUTH_OK);
    free(tok);
}

static void test_issuer_audience(void)
{
    CLAIMS_BOTH(AUTH_OK, "{" BASE_CLAIMS ",\"exp\":%lld}", NOW + 300); /* the configured ISSUER */
    auth_config_t cfg = rs_cfg();
    const char *bad_iss[] = {"\"iss\":\"https://evil.example\",", "\"iss\":\"https://api.workos.com\",",
                             "\"iss\":\"" ISSUER "/\",", "\"iss\":[\"" ISSUER "\"],", "\"iss\":null,", ""};
    for (size_t i = 0; i < sizeof(bad_iss) / sizeof(bad_iss[0]); i++) {
        char payload[512];
        snprintf(payload, sizeof(payload), "{%s\"sub\":\"u\",\"org_id\":\"o\",\"exp\":%lld}", bad_iss[i], NOW + 300);
        char *tok = mint_raw(RS_HEADER, payload, SIGN_RS256_KEY1);
        CHECK_INT(verify(&cfg, keys_one, tok, NULL), AUTH_ERR_ISSUER);
        cfg.issuer = NULL; /* not configured: not checked */
        CHECK_INT(verify(&cfg, keys_one, tok, NULL), AUTH_OK);
        cfg.issuer = ISSUER;
        free(tok);
    }

    cfg.audience = "hellosales";
    struct {
        const char *aud;
        auth_status_t want;
    } cases[] = {
        {"\"aud\":\"hellosales\",", AUTH_OK},
        {"\"aud\":[\"other\",\"hellosales\"],", AUTH_OK},
        {"\"aud\":\"other\",", AUTH_ERR_AUDIENCE},
        {"\"aud\":\"hellosales2\",", AUTH_ERR_AUDIENCE},
        {"\"aud\":[\"other\",\"hello\"],", AUTH_ERR_AUDIENCE},
        {"\"aud\":[],", AUTH_ERR_AUDIENCE},
        {"\"aud\":[[\"hellosales\"]],", AUTH_ERR_AUDIENCE},
        {"\"aud\":{\"hellosales\":1},", AUTH_ERR_AUDIENCE},
        {"", AUTH_ERR_AUDIENCE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char payload[512];
        snprintf(payload, sizeof(payload), "{%s" BASE_CLAIMS ",\"exp\":%lld}", cases[i].aud, NOW + 300);
        char *tok = mint_raw(RS_HEADER, payload, SIGN_RS256_KEY1);
        CHECK_INT(verify(&cfg, keys_one, tok, NULL), cases[i].want);
        char *hs = mint_raw(HS_HEADER, payload, SIGN_HS256);
        auth_config_t h = hs_cfg();
        h.audience = "hellosales";
        CHECK_INT(verify(&h, NULL, hs, NULL), cases[i].want);
        h.audience = NULL;
        CHECK_INT(verify(&h, NULL, hs, NULL), AUTH_OK); /* HS256 without JWT_AUDIENCE: aud ignored */
        free(tok);
        free(hs);
    }
}

static void test_required_claims(void)
{
    CLAIMS_BOTH(AUTH_ERR_CLAIMS, "{\"org_id\":\"o\",\"iss\":\"" ISSUER "\",\"exp\":%lld}", NOW + 300);
    CLAIMS_BOTH(AUTH_ERR_CLAIMS, "{\"sub\":\"u\",\"iss\":\"" ISSUER "\",\"exp\":%lld}", NOW + 300);
    CLAIMS_BOTH(AUTH_ERR_CLAIMS, "{\"sub\":\"\",\"org_id\":\"o\",\"iss\":\"" ISSUER "\",\"exp\":%lld}", NOW + 300);
    CLAIMS_BOTH(AUTH_ERR_CLAIMS, "{\"sub\":\"u\",\"org_id\":\"\",\"iss\":\"" ISSUER "\",\"exp\":%lld}", NOW + 300);
    CLAIMS_BOTH(AUTH_ERR_CLAIMS, "{\"sub\":42,\"org_id\":\"o\",\"iss\":\"" ISSUER "\",\"exp\":%lld}", NOW + 300);
    CLAIMS_BOTH(AUTH_ERR_CLAIMS, "{\"sub\":\"u\",\"org_id\":null,\"iss\":\"" ISSUER "\",\"exp\":%lld}", NOW + 300);
    CLAIMS_BOTH(AUTH_ERR_CLAIMS, "{\"sub\":\"u\",\"org_id\":[\"o\"],\"iss\":\"" ISSUER "\",\"exp\":%lld}", NOW + 300);
    /* repeated claims are refused, not resolved */
    CLAIMS_BOTH(AUTH_ERR_MALFORMED, "{" BASE_CLAIMS ",\"org_id\":\"org_02\",\"exp\":%lld}", NOW + 300);
    CLAIMS_BOTH(AUTH_ERR_MALFORMED, "{" BASE_CLAIMS ",\"exp\":%lld,\"exp\":%lld}", NOW + 300, NOW + 9999999);
    /* unknown claims are ignored */
    CLAIMS_BOTH(AUTH_OK, "{" BASE_CLAIMS ",\"exp\":%lld,\"sid\":\"s\",\"jti\":\"j\",\"x\":{\"y\":[1]}}", NOW + 300);

    /* an embedded NUL would truncate to another identity: RS256 path (libjwt's jansson refuses
     * \u0000 itself, so under HS256 it is a signature failure, also not OK) */
    auth_config_t rs = rs_cfg();
    char payload[512];
    snprintf(payload, sizeof(payload),
             "{\"sub\":\"admin\\u0000x\",\"org_id\":\"o\",\"iss\":\"" ISSUER "\",\"exp\":%lld}", NOW + 300);
    char *tok = mint_raw(RS_HEADER, payload, SIGN_RS256_KEY1);
    CHECK_INT(verify(&rs, keys_one, tok, NULL), AUTH_ERR_CLAIMS);
    free(tok);
}

static void test_role(void)
{
    struct {
        const char *role;
        auth_status_t want;
        const char *got;
    } cases[] = {
        {"", AUTH_OK, "member"},
        {",\"role\":null", AUTH_OK, "member"},
        {",\"role\":\"member\"", AUTH_OK, "member"},
        {",\"role\":\"admin\"", AUTH_OK, "admin"},
        {",\"role\":\"owner\"", AUTH_OK, "member"}, /* custom role slugs are members */
        {",\"role\":\"Admin\"", AUTH_OK, "member"},
        {",\"role\":\"admin \"", AUTH_OK, "member"},
        {",\"role\":\"\"", AUTH_OK, "member"},
        {",\"role\":[\"admin\"]", AUTH_ERR_CLAIMS, ""},
        {",\"role\":1", AUTH_ERR_CLAIMS, ""},
    };
    auth_config_t rs = rs_cfg();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CLAIMS_BOTH(cases[i].want, "{" BASE_CLAIMS ",\"exp\":%lld%s}", NOW + 300, cases[i].role);
        char payload[512];
        snprintf(payload, sizeof(payload), "{" BASE_CLAIMS ",\"exp\":%lld%s}", NOW + 300, cases[i].role);
        char *tok = mint_raw(RS_HEADER, payload, SIGN_RS256_KEY1);
        auth_claims_t c;
        verify(&rs, keys_one, tok, &c);
        CHECK_STR(c.role, cases[i].got);
        free(tok);
    }
}

/* Longest accepted value of each bounded claim, and one byte more (never truncated). */
static void test_claim_lengths(void)
{
    struct {
        const char *name;
        size_t max;
    } claims[] = {{"sub", 255}, {"org_id", 255}, {"email", 319}, {"name", 255}};
    static char value[400], payload[1024];
    auth_config_t rs = rs_cfg();
    for (size_t i = 0; i < sizeof(claims) / sizeof(claims[0]); i++) {
        for (size_t extra = 0; extra < 2; extra++) {
            memset(value, 'v', claims[i].max + extra);
            value[claims[i].max + extra] = '\0';
            /* the claim under test is written last, so it overrides nothing: others come first */
            int is_sub = strcmp(claims[i].name, "sub") == 0, is_org = strcmp(claims[i].name, "org_id") == 0;
            snprintf(payload, sizeof(payload), "{%s%s\"iss\":\"" ISSUER "\",\"exp\":%lld,\"%s\":\"%s\"}",
                     is_sub ? "" : "\"sub\":\"u\",", is_org ? "" : "\"org_id\":\"o\",", NOW + 300, claims[i].name,
                     value);
            check_claims_both(payload, extra ? AUTH_ERR_CLAIMS : AUTH_OK, __LINE__);
            char *tok = mint_raw(RS_HEADER, payload, SIGN_RS256_KEY1);
            auth_claims_t c;
            if (verify(&rs, keys_one, tok, &c) == AUTH_OK) {
                const char *got = is_sub ? c.sub : is_org ? c.org_id : i == 2 ? c.email : c.name;
                CHECK_INT(strlen(got), claims[i].max);
            }
            free(tok);
        }
    }
    CLAIMS_BOTH(AUTH_ERR_CLAIMS, "{" BASE_CLAIMS ",\"exp\":%lld,\"email\":7}", NOW + 300);
    CLAIMS_BOTH(AUTH_OK, "{" BASE_CLAIMS ",\"exp\":%lld,\"email\":null,\"name\":null}", NOW + 300);
    /* multi-byte UTF-8 counts in bytes */
    CLAIMS_BOTH(AUTH_OK, "{" BASE_CLAIMS ",\"exp\":%lld,\"name\":\"J\\u00fcrgen \\u00c5str\\u00f6m\"}", NOW + 300);
}

static void test_b64url(void)
{
    unsigned char out[16];
    size_t n = 99;
    CHECK_INT(auth_b64url_decode("", 0, out, sizeof(out), &n), 0);
    CHECK_INT(n, 0);
    CHECK_INT(auth_b64url_decode("QUJD", 4, out, sizeof(out), &n), 0);
    CHECK(n == 3 && memcmp(out, "ABC", 3) == 0);
    CHECK_INT(auth_b64url_decode("QUI", 3, out, sizeof(out), &n), 0);
    CHECK(n == 2 && memcmp(out, "AB", 2) == 0);
    CHECK_INT(auth_b64url_decode("QQ", 2, out, sizeof(out), &n), 0);
    CHECK(n == 1 && out[0] == 'A');
    CHECK_INT(auth_b64url_decode("-_-_", 4, out, sizeof(out), &n), 0);
    CHECK(n == 3 && out[0] == 0xfb && out[1] == 0xff && out[2] == 0xbf);
    CHECK_INT(auth_b64url_decode("QR", 2, out, sizeof(out), &n), -1);   /* non-zero unused bits */
    CHECK_INT(auth_b64url_decode("QUJ", 3, out, sizeof(out), &n), -1);  /* ditto */
    CHECK_INT(auth_b64url_decode("QUJDR", 5, out, sizeof(out), &n), -1); /* 4k+1 */
    CHECK_INT(auth_b64url_decode("QQ==", 4, out, sizeof(out), &n), -1);
    CHECK_INT(auth_b64url_decode("+/+/", 4, out, sizeof(out), &n), -1);
    CHECK_INT(auth_b64url_decode("QU D", 4, out, sizeof(out), &n), -1);
    CHECK_INT(auth_b64url_decode("QUJDQUJD", 8, out, 5, &n), -1); /* would overflow out */
    CHECK_INT(auth_b64url_decode("QUJDQUJD", 8, out, 6, &n), 0);
}

static void test_status_text(void)
{
    for (int s = AUTH_OK; s <= AUTH_ERR_CONFIG; s++) {
        const char *t = auth_status_text((auth_status_t)s);
        CHECK(t != NULL && t[0] != '\0' && strcmp(t, "unknown error") != 0);
        for (int o = AUTH_OK; o < s; o++)
            CHECK(strcmp(t, auth_status_text((auth_status_t)o)) != 0);
    }
    CHECK_STR(auth_status_text((auth_status_t)99), "unknown error");
}

int main(void)
{
    key1_pem = ts_fixture_text("auth/key1.pem");
    key2_pem = ts_fixture_text("auth/key2.pem");
    key1_pub_pem = ts_fixture_text("auth/key1.pub.pem");
    jwks_one = ts_fixture_text("auth/jwks.json");
    jwks_mixed = ts_fixture_text("auth/jwks-mixed.json");
    char err[256];
    keys_one = auth_keys_from_jwks(jwks_one, strlen(jwks_one), err, sizeof(err));
    keys_mixed = auth_keys_from_jwks(jwks_mixed, strlen(jwks_mixed), err, sizeof(err));
    REQUIRE(keys_one != NULL && keys_mixed != NULL);

    test_valid_hs256();
    test_hs256_never_without_key();
    test_valid_rs256();
    test_kid_selection();
    test_alg_none();
    test_alg_confusion();
    test_bad_signature();
    test_shape();
    test_time_claims();
    test_issuer_audience();
    test_required_claims();
    test_role();
    test_claim_lengths();
    test_b64url();
    test_status_text();

    auth_keys_free(keys_one);
    auth_keys_free(keys_mixed);
    free(key1_pem);
    free(key2_pem);
    free(key1_pub_pem);
    free(jwks_one);
    free(jwks_mixed);
    return check_done("auth_jwt");
}
