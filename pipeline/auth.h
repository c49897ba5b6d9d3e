/* Bearer-token verification: one compact JWT checked against a pinned algorithm (HS256 secret or
 * RS256 key set from a JWKS), its claims extracted, and a per-thread cache of verified tokens. */
#ifndef pipeline_auth_h
#define pipeline_auth_h

#include <stddef.h>
#include <stdint.h>

/* Longer tokens are AUTH_ERR_MALFORMED before any decoding (WorkOS tokens are ~1 KiB). */
#define AUTH_MAX_TOKEN_LEN 8192

typedef enum auth_alg { AUTH_ALG_HS256, AUTH_ALG_RS256 } auth_alg_t;

typedef struct auth_config {
    auth_alg_t alg; /* the only algorithm accepted; the token's header must name exactly it */
    const unsigned char *hs256_secret; /* HS256 only; NULL or empty is AUTH_ERR_CONFIG, never "no check" */
    size_t hs256_secret_len;
    const char *issuer;   /* NULL: not checked; else `iss` must equal it exactly (RS256/WorkOS: WORKOS_ISSUER) */
    const char *audience; /* NULL: not checked; else `aud` must be it or an array containing it */
    int64_t leeway_s;     /* clock skew allowed on exp/nbf, e.g. 60; clamped to 0..86400 */
} auth_config_t;

/* What a verified token says about its bearer. Every string is NUL-terminated and never truncated:
 * a claim that does not fit (or holds a NUL byte) fails verification with AUTH_ERR_CLAIMS. */
typedef struct auth_claims {
    char sub[256];    /* required, non-empty */
    char org_id[256]; /* required, non-empty */
    char role[16];    /* "admin" only for exactly "admin"; any other string, null or absent is "member" */
    char email[320];  /* optional: "" when absent or null */
    char name[256];   /* optional: "" when absent or null */
    int64_t exp;      /* required (seconds since the epoch) */
    int64_t nbf, iat; /* 0 when absent */
} auth_claims_t;

typedef enum auth_status {
    AUTH_OK,
    AUTH_ERR_MALFORMED,     /* not 3 base64url segments, too long, header/payload not a JSON object, crit,
                             * a header member or claim we read given twice */
    AUTH_ERR_ALGORITHM,     /* header alg is not the configured one (none, HS256 under RS256, ...) */
    AUTH_ERR_UNKNOWN_KID,   /* RS256: no key for the header's kid (refreshing the JWKS may help) */
    AUTH_ERR_SIGNATURE,     /* signature does not verify */
    AUTH_ERR_EXPIRED,       /* now >= exp + leeway */
    AUTH_ERR_NOT_YET_VALID, /* now < nbf - leeway */
    AUTH_ERR_ISSUER,        /* iss missing or different while an issuer is configured */
    AUTH_ERR_AUDIENCE,      /* aud missing or not containing the configured audience */
    AUTH_ERR_CLAIMS,        /* exp missing/not a date, sub/org_id missing, bad role, overlong value, ... */
    AUTH_ERR_CONFIG,        /* our side: no HS256 secret, unknown alg; log it, answer 401 */
} auth_status_t;

/* Short human text ("token expired", "unknown key id", ...) for logs and 401 details; never NULL. */
const char *auth_status_text(auth_status_t s);

/* ---- RS256 key set (auth_jwks.c) ------------------------------------------------------------ */

/* Immutable once built, so one set may be read by several threads at once. */
typedef struct auth_keys auth_keys_t;

/* Builds a key set from a JWKS document {"keys": [{"kty": "RSA", "kid", "n", "e", "use"?, "alg"?}]}.
 * Skips keys that are not RSA, not for signing (use != "sig", alg != "RS256", key_ops without
 * "verify"), repeat an earlier kid, or have a modulus under 2048 or over 8192 bits. Returns NULL
 * with a reason in err when the text is not a JWKS or no key is usable. */
auth_keys_t *auth_keys_from_jwks(const char *json, size_t len, char *err, size_t errlen);
void auth_keys_free(auth_keys_t *k);
size_t auth_keys_count(const auth_keys_t *k);

/* The SubjectPublicKeyInfo PEM of the key with this kid (NULL kid: the only key of a one-key set),
 * or NULL. For diagnostics and tests: verification does not go through PEM. */
const char *auth_keys_pem(const auth_keys_t *k, const char *kid);

/* RSASSA-PKCS1-v1_5 with SHA-256 over msg, by the key named kid (kid_len bytes). kid NULL: the
 * token had no kid, which selects the only key of a one-key set. Returns AUTH_OK,
 * AUTH_ERR_UNKNOWN_KID or AUTH_ERR_SIGNATURE. The alg pinning is the caller's job (auth_jwt_verify). */
auth_status_t auth_keys_verify_rs256(const auth_keys_t *k, const char *kid, size_t kid_len, const void *msg,
                                     size_t msg_len, const unsigned char *sig, size_t sig_len);

/* ---- one token (auth_jwt.c) ----------------------------------------------------------------- */

/* Verifies a compact JWT (no "Bearer " prefix) at time `now` (seconds since the epoch). The header
 * is parsed here first and its alg must equal cfg->alg; then the signature (HS256: libjwt with the
 * configured secret; RS256: `keys`, selected by the header's kid); then the claims. On AUTH_OK *out
 * holds the claims; on any error it is zeroed. For RS256 a NULL `keys` is AUTH_ERR_UNKNOWN_KID, so
 * a caller that has not fetched the JWKS yet does so and retries like for any unknown kid. */
auth_status_t auth_jwt_verify(const auth_config_t *cfg, const auth_keys_t *keys, const char *token, size_t len,
                              int64_t now, auth_claims_t *out);

/* Strict base64url without padding (RFC 7515 §2): only [A-Za-z0-9_-], no length of 4k+1, unused
 * trailing bits zero. Writes at most outcap bytes; returns 0 and *outlen, or -1. */
int auth_b64url_decode(const char *in, size_t len, unsigned char *out, size_t outcap, size_t *outlen);

/* ---- verified-token cache (auth_cache.c) ---------------------------------------------------- */

/* One per thread, not locked. Key: SHA-256 of the token, compared in constant time. Value: the
 * claims, served only while now < exp (never past exp, no leeway). Fixed size, set-associative
 * with LRU eviction inside a set; allocates nothing after auth_cache_new. A token stays valid here
 * until its exp even if its key is later removed from the JWKS: call auth_cache_clear then. */
typedef struct auth_cache auth_cache_t;

auth_cache_t *auth_cache_new(size_t capacity); /* rounded up to a power of two, 8..1<<20 entries */
void auth_cache_free(auth_cache_t *c);
int auth_cache_get(auth_cache_t *c, const char *token, size_t len, int64_t now, auth_claims_t *out); /* 1: hit */
void auth_cache_put(auth_cache_t *c, const char *token, size_t len, const auth_claims_t *claims);
void auth_cache_clear(auth_cache_t *c);
size_t auth_cache_capacity(const auth_cache_t *c);
size_t auth_cache_size(const auth_cache_t *c); /* entries holding a token (expired ones included until reused) */

#endif
