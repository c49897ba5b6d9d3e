/* Per-client rate limits for app.rate-limit: a fixed-size table shared by all threads (a client's
 * connections land on different threads), GCRA so each key costs one timestamp. Redis-backed limits
 * for several instances come with the Redis work; this one covers a single instance. */
#ifndef pipeline_ratelimit_h
#define pipeline_ratelimit_h

#include <stddef.h>
#include <stdint.h>

#include "pipeline/app.h"

typedef struct ratelimit ratelimit_t;

ratelimit_t *ratelimit_new(void);
void ratelimit_free(ratelimit_t *rl);

/* Counts one request of `key` (e.g. path + client address) against `rate`. Returns 0 when it is
 * allowed, else the whole seconds after which it would be (for Retry-After, at least 1). */
uint32_t ratelimit_take(ratelimit_t *rl, const void *key, size_t keylen, app_rate_t rate, uint64_t now_us);

#endif
