/* Per-thread cache of verified tokens, so an RS256 token is checked once per thread, not per
 * request: 8-way set-associative on the token's SHA-256, LRU inside a set, fixed memory. */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "pipeline/auth.h"

#define AUTH_CACHE_WAYS 8
#define AUTH_CACHE_MIN AUTH_CACHE_WAYS
#define AUTH_CACHE_MAX ((size_t)1 << 20)

/* Tags are kept apart from the (1 KiB) claims so a lookup scans one set in four cache lines. */
struct auth_cache_tag {
    unsigned char digest[32];
    int64_t exp;
    uint64_t used; /* tick of the last put or hit; 0: empty */
};

struct auth_cache {
    EVP_MD *sha256;
    EVP_MD_CTX *md; /* reused: one per cache, and a cache belongs to one thread */
    size_t nsets, size;
    uint64_t tick;
    struct auth_cache_tag *tags; /* nsets * WAYS */
    auth_claims_t *claims;       /* same index as tags */
};

auth_cache_t *auth_cache_new(size_t capacity)
{
    size_t cap = AUTH_CACHE_MIN;
    while (cap < capacity && cap < AUTH_CACHE_MAX)
        cap *= 2;
    auth_cache_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->nsets = cap / AUTH_CACHE_WAYS;
    c->tags = calloc(cap, sizeof(*c->tags));
    c->claims = calloc(cap, sizeof(*c->claims));
    c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    c->md = EVP_MD_CTX_new();
    if (c->tags == NULL || c->claims == NULL || c->sha256 == NULL || c->md == NULL) {
        auth_cache_free(c);
        return NULL;
    }
    return c;
}

void auth_cache_free(auth_cache_t *c)
{
    if (c == NULL)
        return;
    EVP_MD_CTX_free(c->md);
    EVP_MD_free(c->sha256);
    free(c->tags);
    free(c->claims);
    free(c);
}

/* Hashes the token and returns its set's first slot index, or SIZE_MAX if hashing failed. */
static size_t locate(auth_cache_t *c, const char *token, size_t len, unsigned char digest[32])
{
    unsigned int n = 0;
    if (EVP_DigestInit_ex2(c->md, c->sha256, NULL) != 1 || EVP_DigestUpdate(c->md, token, len) != 1 ||
        EVP_DigestFinal_ex(c->md, digest, &n) != 1 || n != 32)
        return SIZE_MAX;
    uint64_t h;
    memcpy(&h, digest, sizeof(h));
    return (size_t)(h & (c->nsets - 1)) * AUTH_CACHE_WAYS;
}

/* The slot in set `base` holding digest, or SIZE_MAX. */
static size_t find(const auth_cache_t *c, size_t base, const unsigned char digest[32])
{
    for (size_t i = base; i < base + AUTH_CACHE_WAYS; i++)
        if (c->tags[i].used != 0 && CRYPTO_memcmp(c->tags[i].digest, digest, 32) == 0)
            return i;
    return SIZE_MAX;
}

int auth_cache_get(auth_cache_t *c, const char *token, size_t len, int64_t now, auth_claims_t *out)
{
    unsigned char digest[32];
    size_t base = locate(c, token, len, digest), i;
    if (base == SIZE_MAX || (i = find(c, base, digest)) == SIZE_MAX)
        return 0;
    if (now >= c->tags[i].exp) { /* expired: free the slot so the next put takes it first */
        c->tags[i].used = 0;
        c->size--;
        return 0;
    }
    c->tags[i].used = ++c->tick;
    *out = c->claims[i];
    return 1;
}

void auth_cache_put(auth_cache_t *c, const char *token, size_t len, const auth_claims_t *claims)
{
    unsigned char digest[32];
    size_t base = locate(c, token, len, digest);
    if (base == SIZE_MAX)
        return;
    size_t slot = find(c, base, digest);
    if (slot == SIZE_MAX) { /* an empty slot, else the least recently used one */
        slot = base;
        for (size_t i = base; i < base + AUTH_CACHE_WAYS && c->tags[slot].used != 0; i++)
            if (c->tags[i].used < c->tags[slot].used)
                slot = i;
        if (c->tags[slot].used == 0)
            c->size++;
    }
    memcpy(c->tags[slot].digest, digest, 32);
    c->tags[slot].exp = claims->exp;
    c->tags[slot].used = ++c->tick;
    c->claims[slot] = *claims;
}

void auth_cache_clear(auth_cache_t *c)
{
    memset(c->tags, 0, c->nsets * AUTH_CACHE_WAYS * sizeof(*c->tags));
    memset(c->claims, 0, c->nsets * AUTH_CACHE_WAYS * sizeof(*c->claims));
    c->size = 0;
}

size_t auth_cache_capacity(const auth_cache_t *c)
{
    return c->nsets * AUTH_CACHE_WAYS;
}

size_t auth_cache_size(const auth_cache_t *c)
{
    return c->size;
}
