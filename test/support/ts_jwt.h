/* Minting bearer tokens for integration tests: HS256 and RS256 through libjwt, as an identity
 * provider would, and unsigned (`alg: none`) ones built by hand, which libjwt should not make. */
#ifndef test_support_ts_jwt_h
#define test_support_ts_jwt_h

#include <stddef.h>
#include <stdint.h>

/* The claims to put in a token; NULL strings and 0 times are left out. */
typedef struct ts_claims {
    const char *sub, *org_id, *role, *email, *name, *iss, *aud;
    int64_t exp, nbf, iat;
} ts_claims_t;

/* base64url without padding, malloc'd. */
char *ts_b64url(const void *data, size_t len);

/* HS256 with secret. malloc'd; the caller frees. Exits the test when libjwt fails. */
char *ts_jwt_hs256(const char *secret, const ts_claims_t *c);

/* RS256 with the private key in PEM text, `kid` in the header (NULL: none). malloc'd. */
char *ts_jwt_rs256(const char *private_pem, const char *kid, const ts_claims_t *c);

/* {"alg":"none","typ":"JWT"} + the claims + an empty signature. malloc'd. */
char *ts_jwt_none(const ts_claims_t *c);

/* "Authorization: Bearer <token>" in a static ring of buffers (valid for the next 7 calls),
 * for a ts_req_t header list. */
const char *ts_jwt_bearer(const char *token);

/* A token-unique-enough suffix for external ids ("<pid>-<n>"), so reruns against the same
 * database never meet an earlier run's users. Static ring buffer, valid for 7 calls. */
const char *ts_jwt_unique(const char *prefix);

#endif
