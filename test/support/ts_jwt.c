/* Token minting for the integration tests (see ts_jwt.h). */
#include "test/support/ts_jwt.h"

#include <jwt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <openssl/evp.h>

#include "test/support/check.h"

#define RING 8

static void add_claims(jwt_t *jwt, const ts_claims_t *c)
{
    const char *names[] = {"sub", "org_id", "role", "email", "name", "iss", "aud"};
    const char *values[] = {c->sub, c->org_id, c->role, c->email, c->name, c->iss, c->aud};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (values[i] != NULL)
            REQUIRE(jwt_add_grant(jwt, names[i], values[i]) == 0);
    if (c->exp != 0)
        REQUIRE(jwt_add_grant_int(jwt, "exp", (long)c->exp) == 0);
    if (c->nbf != 0)
        REQUIRE(jwt_add_grant_int(jwt, "nbf", (long)c->nbf) == 0);
    if (c->iat != 0)
        REQUIRE(jwt_add_grant_int(jwt, "iat", (long)c->iat) == 0);
}

static char *mint(jwt_alg_t alg, const char *key, const char *kid, const ts_claims_t *c)
{
    jwt_t *jwt = NULL;
    REQUIRE(jwt_new(&jwt) == 0);
    add_claims(jwt, c);
    if (kid != NULL)
        REQUIRE(jwt_add_header(jwt, "kid", kid) == 0);
    REQUIRE(jwt_set_alg(jwt, alg, (const unsigned char *)key, (int)strlen(key)) == 0);
    char *enc = jwt_encode_str(jwt);
    REQUIRE(enc != NULL);
    char *tok = strdup(enc);
    free(enc); /* libjwt 1.10 allocates it with plain malloc */
    jwt_free(jwt);
    return tok;
}

char *ts_jwt_hs256(const char *secret, const ts_claims_t *c)
{
    return mint(JWT_ALG_HS256, secret, NULL, c);
}

char *ts_jwt_rs256(const char *private_pem, const char *kid, const ts_claims_t *c)
{
    return mint(JWT_ALG_RS256, private_pem, kid, c);
}

char *ts_b64url(const void *data, size_t len)
{
    char *out = malloc(len / 3 * 4 + 8);
    REQUIRE(out != NULL);
    int n = EVP_EncodeBlock((unsigned char *)out, (const unsigned char *)data, (int)len);
    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = '\0';
    for (char *p = out; *p; p++)
        *p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
    return out;
}

char *ts_jwt_none(const ts_claims_t *c)
{
    /* the claims as libjwt would write them, but with no signature at all */
    char payload[2048];
    size_t n = 0;
    const char *names[] = {"sub", "org_id", "role", "email", "name", "iss", "aud"};
    const char *values[] = {c->sub, c->org_id, c->role, c->email, c->name, c->iss, c->aud};
    n += (size_t)snprintf(payload + n, sizeof(payload) - n, "{");
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (values[i] != NULL)
            n += (size_t)snprintf(payload + n, sizeof(payload) - n, "%s\"%s\":\"%s\"", n > 1 ? "," : "", names[i],
                                  values[i]);
    if (c->exp != 0)
        n += (size_t)snprintf(payload + n, sizeof(payload) - n, "%s\"exp\":%lld", n > 1 ? "," : "", (long long)c->exp);
    snprintf(payload + n, sizeof(payload) - n, "}");
    static const char header[] = "{\"alg\":\"none\",\"typ\":\"JWT\"}";
    char *h = ts_b64url(header, sizeof(header) - 1), *p = ts_b64url(payload, strlen(payload));
    size_t len = strlen(h) + strlen(p) + 3;
    char *tok = malloc(len);
    REQUIRE(tok != NULL);
    snprintf(tok, len, "%s.%s.", h, p);
    free(h);
    free(p);
    return tok;
}

const char *ts_jwt_bearer(const char *token)
{
    static char ring[RING][8400];
    static unsigned next;
    char *out = ring[next++ % RING];
    snprintf(out, sizeof(ring[0]), "Authorization: Bearer %s", token);
    return out;
}

const char *ts_jwt_unique(const char *prefix)
{
    static char ring[RING][128];
    static unsigned next, seq;
    static long salt;
    if (salt == 0)
        salt = (long)time(NULL) % 100000;
    char *out = ring[next++ % RING];
    snprintf(out, sizeof(ring[0]), "%s_%ld_%ld_%u", prefix, (long)getpid(), salt, ++seq);
    return out;
}
