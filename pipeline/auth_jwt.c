/* Verification of one compact JWT against the configured algorithm, then its claims. libjwt trusts
 * the token's alg and checks no claims, so the header is parsed and pinned here before any key is
 * used. HS256 goes through libjwt (its compare is constant-time); RS256 goes through the key set's
 * pre-parsed OpenSSL key (auth_keys_verify_rs256): ~41k verifies/s here against ~2.6k/s through
 * libjwt, which parses the PEM on every call. Either way the claims are checked here, not by libjwt. */
#include <limits.h>
#include <string.h>

#include <jwt.h>
#include <openssl/err.h>

#include "base/json.h"
#include "pipeline/auth.h"

#define AUTH_KID_MAX 255
#define AUTH_RSA_MAX_SIG 1024 /* 8192-bit modulus, the largest auth_jwks accepts */
#define AUTH_MAX_DATE 10000000000000LL /* 13 digits: far beyond any real date, no overflow with leeway */
#define AUTH_MAX_LEEWAY 86400

static const char *const status_texts[] = {
    [AUTH_OK] = "ok",
    [AUTH_ERR_MALFORMED] = "malformed token",
    [AUTH_ERR_ALGORITHM] = "algorithm not allowed",
    [AUTH_ERR_UNKNOWN_KID] = "unknown key id",
    [AUTH_ERR_SIGNATURE] = "invalid signature",
    [AUTH_ERR_EXPIRED] = "token expired",
    [AUTH_ERR_NOT_YET_VALID] = "token not yet valid",
    [AUTH_ERR_ISSUER] = "wrong issuer",
    [AUTH_ERR_AUDIENCE] = "wrong audience",
    [AUTH_ERR_CLAIMS] = "missing or invalid claims",
    [AUTH_ERR_CONFIG] = "verifier misconfigured",
};

const char *auth_status_text(auth_status_t s)
{
    if ((unsigned)s < sizeof(status_texts) / sizeof(status_texts[0]) && status_texts[s] != NULL)
        return status_texts[s];
    return "unknown error";
}

static int b64url_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '-')
        return 62;
    if (c == '_')
        return 63;
    return -1;
}

int auth_b64url_decode(const char *in, size_t len, unsigned char *out, size_t outcap, size_t *outlen)
{
    if (len % 4 == 1 || len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0) > outcap)
        return -1;
    uint32_t acc = 0;
    int bits = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        int v = b64url_value((unsigned char)in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    /* leftover bits must be zero, so each byte string has exactly one accepted encoding */
    if (acc != 0)
        return -1;
    *outlen = o;
    return 0;
}

/* The member named `name`, NULL when absent; *dup is set when it appears more than once, which
 * is refused: two parsers (ours, libjwt's jansson) could otherwise read different values. */
static const json_t *member(const json_t *obj, const char *name, int *dup)
{
    const json_t *found = NULL;
    size_t n = strlen(name);
    for (size_t i = 0; i < obj->len; i++) {
        const json_member_t *m = &obj->members[i];
        if (m->key_len == n && memcmp(m->key, name, n) == 0) {
            if (found != NULL)
                *dup = 1;
            found = m->value;
        }
    }
    return found;
}

static int json_str_eq(const json_t *v, const char *s, size_t n)
{
    return v != NULL && v->type == JSON_STRING && v->len == n && memcmp(v->str, s, n) == 0;
}

/* base64url-decodes a segment into the pool and parses it; NULL unless it is a JSON object. */
static const json_t *decode_object(h2o_mem_pool_t *pool, const char *seg, size_t len)
{
    size_t cap = len / 4 * 3 + 3, n;
    unsigned char *buf = h2o_mem_alloc_pool(pool, cap);
    char err[8];
    if (auth_b64url_decode(seg, len, buf, cap, &n) != 0)
        return NULL;
    const json_t *v = json_parse(pool, (const char *)buf, n, err, sizeof(err));
    return v != NULL && v->type == JSON_OBJECT ? v : NULL;
}

/* NumericDate: a non-negative JSON number, fraction dropped. Exponents are refused rather than
 * parsed with strtod, whose decimal point depends on the locale. */
static int parse_date(const json_t *v, int64_t *out)
{
    if (v->type != JSON_NUMBER || v->len == 0)
        return -1;
    int64_t t = 0;
    size_t i = 0;
    for (; i < v->len && v->str[i] >= '0' && v->str[i] <= '9'; i++) {
        t = t * 10 + (v->str[i] - '0');
        if (t > AUTH_MAX_DATE)
            return -1;
    }
    if (i == 0)
        return -1; /* "-1" */
    if (i < v->len && v->str[i] == '.')
        for (i++; i < v->len && v->str[i] >= '0' && v->str[i] <= '9'; i++)
            ;
    if (i != v->len)
        return -1;
    *out = t;
    return 0;
}

/* Copies a string claim whole or not at all (no truncation, no embedded NUL). */
static int copy_str(const json_t *v, char *dst, size_t cap)
{
    if (v->type != JSON_STRING || v->len >= cap || memchr(v->str, '\0', v->len) != NULL)
        return -1;
    memcpy(dst, v->str, v->len);
    dst[v->len] = '\0';
    return 0;
}

static auth_status_t check_claims(const auth_config_t *cfg, const json_t *p, int64_t now, auth_claims_t *c)
{
    int dup = 0;
    const json_t *exp = member(p, "exp", &dup), *nbf = member(p, "nbf", &dup), *iat = member(p, "iat", &dup),
                 *iss = member(p, "iss", &dup), *aud = member(p, "aud", &dup), *sub = member(p, "sub", &dup),
                 *org = member(p, "org_id", &dup), *role = member(p, "role", &dup),
                 *email = member(p, "email", &dup), *name = member(p, "name", &dup);
    if (dup)
        return AUTH_ERR_MALFORMED;

    int64_t leeway = cfg->leeway_s < 0 ? 0 : cfg->leeway_s > AUTH_MAX_LEEWAY ? AUTH_MAX_LEEWAY : cfg->leeway_s;
    if (exp == NULL || parse_date(exp, &c->exp) != 0)
        return AUTH_ERR_CLAIMS;
    if (now >= c->exp + leeway)
        return AUTH_ERR_EXPIRED;
    if (nbf != NULL && parse_date(nbf, &c->nbf) != 0)
        return AUTH_ERR_CLAIMS;
    if (nbf != NULL && now < c->nbf - leeway)
        return AUTH_ERR_NOT_YET_VALID;
    if (iat != NULL && parse_date(iat, &c->iat) != 0)
        return AUTH_ERR_CLAIMS;

    if (cfg->issuer != NULL && !json_str_eq(iss, cfg->issuer, strlen(cfg->issuer)))
        return AUTH_ERR_ISSUER;
    if (cfg->audience != NULL) {
        size_t n = strlen(cfg->audience);
        int ok = json_str_eq(aud, cfg->audience, n);
        for (size_t i = 0; !ok && aud != NULL && aud->type == JSON_ARRAY && i < aud->len; i++)
            ok = json_str_eq(aud->items[i], cfg->audience, n);
        if (!ok)
            return AUTH_ERR_AUDIENCE;
    }

    if (sub == NULL || copy_str(sub, c->sub, sizeof(c->sub)) != 0 || c->sub[0] == '\0')
        return AUTH_ERR_CLAIMS;
    if (org == NULL || copy_str(org, c->org_id, sizeof(c->org_id)) != 0 || c->org_id[0] == '\0')
        return AUTH_ERR_CLAIMS;
    /* Only the exact "admin" grants admin. Any other role name (WorkOS lets organizations define
     * their own slugs) is a member: least privilege, without locking those users out. */
    if (role != NULL && role->type != JSON_NULL && role->type != JSON_STRING)
        return AUTH_ERR_CLAIMS;
    strcpy(c->role, role != NULL && json_str_eq(role, "admin", 5) ? "admin" : "member");
    if (email != NULL && email->type != JSON_NULL && copy_str(email, c->email, sizeof(c->email)) != 0)
        return AUTH_ERR_CLAIMS;
    if (name != NULL && name->type != JSON_NULL && copy_str(name, c->name, sizeof(c->name)) != 0)
        return AUTH_ERR_CLAIMS;
    return AUTH_OK;
}

/* HS256 through libjwt. Never with a NULL or empty key: libjwt then skips the check entirely. */
static auth_status_t verify_hs256(const auth_config_t *cfg, const char *token, size_t len)
{
    char buf[AUTH_MAX_TOKEN_LEN + 1]; /* jwt_decode wants a C string */
    memcpy(buf, token, len);
    buf[len] = '\0';
    jwt_t *jwt = NULL;
    int rc = jwt_decode(&jwt, buf, cfg->hs256_secret, (int)cfg->hs256_secret_len);
    ERR_clear_error(); /* leave no stale errors for TLS code on this thread to misread */
    if (rc != 0 || jwt == NULL) {
        if (jwt != NULL)
            jwt_free(jwt);
        return AUTH_ERR_SIGNATURE;
    }
    jwt_alg_t alg = jwt_get_alg(jwt);
    jwt_free(jwt);
    /* the header was pinned already; this guards against libjwt reading it differently */
    return alg == JWT_ALG_HS256 ? AUTH_OK : AUTH_ERR_ALGORITHM;
}

static auth_status_t verify_rs256(const auth_keys_t *keys, const json_t *kid, const char *token, size_t signed_len,
                                  const char *sig, size_t sig_len)
{
    if (keys == NULL)
        return AUTH_ERR_UNKNOWN_KID;
    unsigned char raw[AUTH_RSA_MAX_SIG];
    size_t raw_len;
    if (auth_b64url_decode(sig, sig_len, raw, sizeof(raw), &raw_len) != 0)
        return AUTH_ERR_SIGNATURE;
    return auth_keys_verify_rs256(keys, kid != NULL ? kid->str : NULL, kid != NULL ? kid->len : 0, token, signed_len,
                                  raw, raw_len);
}

static auth_status_t verify(const auth_config_t *cfg, const auth_keys_t *keys, const char *token, size_t len,
                            int64_t now, h2o_mem_pool_t *pool, auth_claims_t *c)
{
    if (cfg == NULL || (cfg->alg != AUTH_ALG_HS256 && cfg->alg != AUTH_ALG_RS256))
        return AUTH_ERR_CONFIG;
    if (cfg->alg == AUTH_ALG_HS256 &&
        (cfg->hs256_secret == NULL || cfg->hs256_secret_len == 0 || cfg->hs256_secret_len > INT_MAX))
        return AUTH_ERR_CONFIG;

    /* shape: header.payload.signature, base64url only (no padding, no whitespace) */
    if (token == NULL || len == 0 || len > AUTH_MAX_TOKEN_LEN)
        return AUTH_ERR_MALFORMED;
    size_t dot[2], ndots = 0;
    for (size_t i = 0; i < len; i++) {
        if (token[i] == '.') {
            if (ndots == 2)
                return AUTH_ERR_MALFORMED;
            dot[ndots++] = i;
        } else if (b64url_value((unsigned char)token[i]) < 0) {
            return AUTH_ERR_MALFORMED;
        }
    }
    if (ndots != 2 || dot[0] == 0 || dot[1] == dot[0] + 1)
        return AUTH_ERR_MALFORMED;
    const char *payload = token + dot[0] + 1, *sig = token + dot[1] + 1;
    size_t payload_len = dot[1] - dot[0] - 1, sig_len = len - dot[1] - 1;

    /* header first: pin alg before any key is involved */
    int dup = 0;
    const json_t *header = decode_object(pool, token, dot[0]);
    if (header == NULL)
        return AUTH_ERR_MALFORMED;
    const json_t *alg = member(header, "alg", &dup), *kid = member(header, "kid", &dup),
                 *crit = member(header, "crit", &dup);
    if (dup || alg == NULL || alg->type != JSON_STRING)
        return AUTH_ERR_MALFORMED;
    const char *want = cfg->alg == AUTH_ALG_HS256 ? "HS256" : "RS256";
    if (!json_str_eq(alg, want, 5))
        return AUTH_ERR_ALGORITHM;
    if (crit != NULL) /* RFC 7515 §4.1.11: extensions we do not implement must be refused */
        return AUTH_ERR_MALFORMED;
    if (kid != NULL &&
        (kid->type != JSON_STRING || kid->len == 0 || kid->len > AUTH_KID_MAX || memchr(kid->str, '\0', kid->len)))
        return AUTH_ERR_MALFORMED;
    if (sig_len == 0)
        return AUTH_ERR_SIGNATURE;

    auth_status_t st = cfg->alg == AUTH_ALG_HS256 ? verify_hs256(cfg, token, len)
                                                  : verify_rs256(keys, kid, token, dot[1], sig, sig_len);
    if (st != AUTH_OK)
        return st;

    const json_t *claims = decode_object(pool, payload, payload_len);
    if (claims == NULL)
        return AUTH_ERR_MALFORMED;
    return check_claims(cfg, claims, now, c);
}

auth_status_t auth_jwt_verify(const auth_config_t *cfg, const auth_keys_t *keys, const char *token, size_t len,
                              int64_t now, auth_claims_t *out)
{
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    auth_claims_t c = {.exp = 0};
    auth_status_t st = verify(cfg, keys, token, len, now, &pool, &c);
    h2o_mem_clear_pool(&pool);
    *out = st == AUTH_OK ? c : (auth_claims_t){.exp = 0};
    return st;
}
