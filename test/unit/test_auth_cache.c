/* Verified-token cache: hits and misses, expiry exactly at exp, no cross-talk between tokens of
 * one set, LRU eviction, the fixed memory bound, clearing. */
#include <malloc.h>

#include "pipeline/auth.h"
#include "test/support/check.h"

#define NOW 1700000000LL

#if defined(__SANITIZE_ADDRESS__)
/* From ASan's runtime; Debian's gcc ships no <sanitizer/allocator_interface.h> to declare it. */
size_t __sanitizer_get_current_allocated_bytes(void);
#endif

/* Bytes the process has allocated and not freed, whichever allocator is in use. */
static size_t heap_in_use(void)
{
#if defined(__SANITIZE_ADDRESS__)
    return __sanitizer_get_current_allocated_bytes();
#else
    return mallinfo2().uordblks;
#endif
}

static auth_claims_t claims_for(int i, int64_t exp)
{
    auth_claims_t c = {.exp = exp, .iat = NOW - i};
    snprintf(c.sub, sizeof(c.sub), "user_%d", i);
    snprintf(c.org_id, sizeof(c.org_id), "org_%d", i);
    snprintf(c.role, sizeof(c.role), "%s", i % 2 ? "admin" : "member");
    snprintf(c.email, sizeof(c.email), "u%d@example.com", i);
    return c;
}

/* Distinct token-like strings (the cache does not parse them). */
static const char *token(char *buf, size_t cap, int i)
{
    snprintf(buf, cap, "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyXyVkIn0.sig-%08d", i);
    return buf;
}

static int get(auth_cache_t *c, const char *tok, int64_t now, auth_claims_t *out)
{
    return auth_cache_get(c, tok, strlen(tok), now, out);
}

static void put(auth_cache_t *c, const char *tok, const auth_claims_t *claims)
{
    auth_cache_put(c, tok, strlen(tok), claims);
}

static void test_hit_miss_expiry(void)
{
    auth_cache_t *c = auth_cache_new(4096);
    REQUIRE(c != NULL);
    CHECK_INT(auth_cache_capacity(c), 4096);
    CHECK_INT(auth_cache_size(c), 0);
    char a[128], b[128];
    token(a, sizeof(a), 1);
    token(b, sizeof(b), 2);
    auth_claims_t out, ca = claims_for(1, NOW + 300);
    CHECK_INT(get(c, a, NOW, &out), 0);

    put(c, a, &ca);
    CHECK_INT(auth_cache_size(c), 1);
    memset(&out, 0, sizeof(out));
    CHECK_INT(get(c, a, NOW, &out), 1);
    CHECK(memcmp(&out, &ca, sizeof(out)) == 0);
    CHECK_INT(get(c, b, NOW, &out), 0);
    CHECK_INT(auth_cache_get(c, a, strlen(a) - 1, NOW, &out), 0); /* a prefix is another token */
    CHECK_INT(auth_cache_get(c, a, strlen(a) + 1, NOW, &out), 0); /* so is one with its NUL */

    /* the copy handed out is the caller's */
    out.sub[0] = 'X';
    CHECK_INT(get(c, a, NOW, &out), 1);
    CHECK_STR(out.sub, "user_1");

    /* valid until exp, never beyond (no leeway here: verification already applied it) */
    CHECK_INT(get(c, a, NOW + 299, &out), 1);
    CHECK_INT(get(c, a, NOW + 300, &out), 0);
    CHECK_INT(auth_cache_size(c), 0); /* the expired slot was freed... */
    CHECK_INT(get(c, a, NOW, &out), 0); /* ...so it is gone even for an earlier clock */

    /* a put of already-expired claims never hits */
    auth_claims_t old = claims_for(3, NOW - 1);
    put(c, b, &old);
    CHECK_INT(get(c, b, NOW, &out), 0);

    /* overwriting refreshes the claims without using another slot */
    put(c, a, &ca);
    auth_claims_t ca2 = claims_for(9, NOW + 600);
    size_t before = auth_cache_size(c);
    put(c, a, &ca2);
    CHECK_INT(auth_cache_size(c), before);
    CHECK_INT(get(c, a, NOW + 400, &out), 1);
    CHECK_STR(out.sub, "user_9");

    auth_cache_clear(c);
    CHECK_INT(auth_cache_size(c), 0);
    CHECK_INT(get(c, a, NOW, &out), 0);
    auth_cache_free(c);
    auth_cache_free(NULL);
}

/* The smallest cache is one set: every token shares it, which is where cross-talk would show. */
static void test_one_set_no_crosstalk_lru(void)
{
    auth_cache_t *c = auth_cache_new(1);
    REQUIRE(c != NULL);
    size_t cap = auth_cache_capacity(c);
    CHECK_INT(cap, 8);
    char tok[128];
    auth_claims_t out;
    for (int i = 0; i < (int)cap; i++) {
        auth_claims_t ci = claims_for(i, NOW + 100 + i);
        put(c, token(tok, sizeof(tok), i), &ci);
    }
    CHECK_INT(auth_cache_size(c), cap);
    for (int i = 0; i < (int)cap; i++) {
        char want[32];
        snprintf(want, sizeof(want), "user_%d", i);
        CHECK_INT(get(c, token(tok, sizeof(tok), i), NOW, &out), 1);
        CHECK_STR(out.sub, want);
        CHECK_INT(out.exp, NOW + 100 + i);
    }
    CHECK_INT(get(c, token(tok, sizeof(tok), 1000), NOW, &out), 0); /* a full set still misses strangers */

    /* touch all but token 3: it becomes the least recently used and is the one evicted */
    for (int i = 0; i < (int)cap; i++)
        if (i != 3)
            CHECK_INT(get(c, token(tok, sizeof(tok), i), NOW, &out), 1);
    auth_claims_t fresh = claims_for(100, NOW + 300);
    put(c, token(tok, sizeof(tok), 100), &fresh);
    CHECK_INT(auth_cache_size(c), cap);
    CHECK_INT(get(c, token(tok, sizeof(tok), 3), NOW, &out), 0);
    CHECK_INT(get(c, token(tok, sizeof(tok), 100), NOW, &out), 1);
    CHECK_STR(out.sub, "user_100");
    for (int i = 0; i < (int)cap; i++)
        if (i != 3)
            CHECK_INT(get(c, token(tok, sizeof(tok), i), NOW, &out), 1);

    /* an expired entry's slot is reused before any live one is evicted */
    CHECK_INT(get(c, token(tok, sizeof(tok), 0), NOW + 100, &out), 0); /* token 0 expires at NOW+100 */
    auth_claims_t more = claims_for(101, NOW + 300);
    put(c, token(tok, sizeof(tok), 101), &more);
    for (int i = 1; i < (int)cap; i++)
        if (i != 3)
            CHECK_INT(get(c, token(tok, sizeof(tok), i), NOW, &out), 1);
    CHECK_INT(get(c, token(tok, sizeof(tok), 100), NOW, &out), 1);
    CHECK_INT(get(c, token(tok, sizeof(tok), 101), NOW, &out), 1);
    auth_cache_free(c);
}

static void test_capacity_rounding(void)
{
    size_t asked[] = {0, 1, 8, 9, 4096, 5000, (size_t)1 << 30};
    size_t got[] = {8, 8, 8, 16, 4096, 8192, (size_t)1 << 20};
    for (size_t i = 0; i < sizeof(asked) / sizeof(asked[0]); i++) {
        auth_cache_t *c = auth_cache_new(asked[i]);
        REQUIRE(c != NULL);
        CHECK_INT(auth_cache_capacity(c), got[i]);
        auth_cache_free(c);
    }
}

/* Many more tokens than slots: the entry count stays within capacity, the heap does not grow,
 * recent tokens are served, and every hit carries its own token's claims. */
static void test_capacity_bound(void)
{
    auth_cache_t *c = auth_cache_new(64);
    REQUIRE(c != NULL);
    char tok[128];
    auth_claims_t out, ci = claims_for(0, NOW + 300);
    put(c, token(tok, sizeof(tok), -1), &ci); /* warm-up: OpenSSL's lazy per-thread state */
    get(c, tok, NOW, &out);
    size_t heap_before = heap_in_use();
    int wrong = 0, hits = 0;
    for (int i = 0; i < 100000; i++) {
        ci = claims_for(i, NOW + 300);
        put(c, token(tok, sizeof(tok), i), &ci);
        if (auth_cache_size(c) > auth_cache_capacity(c))
            wrong++;
        /* look back at a few earlier tokens: a hit must be that token's own claims */
        for (int back = 0; back < 80 && back <= i; back += 7) {
            char want[32];
            snprintf(want, sizeof(want), "user_%d", i - back);
            if (get(c, token(tok, sizeof(tok), i - back), NOW, &out)) {
                hits++;
                wrong += strcmp(out.sub, want) != 0;
            }
        }
    }
    size_t heap_after = heap_in_use();
    CHECK_INT(wrong, 0);
    CHECK(hits > 100000); /* at least the just-inserted token always hits */
    CHECK_INT(auth_cache_capacity(c), 64);
    CHECK(auth_cache_size(c) <= 64);
    CHECK(auth_cache_size(c) > 32); /* and the slots are actually used */
    if (heap_after != heap_before)
        fprintf(stderr, "heap grew from %zu to %zu bytes\n", heap_before, heap_after);
    CHECK(heap_after == heap_before);
    auth_cache_free(c);
}

int main(void)
{
    test_hit_miss_expiry();
    test_one_set_no_crosstalk_lru();
    test_capacity_rounding();
    test_capacity_bound();
    return check_done("auth_cache");
}
