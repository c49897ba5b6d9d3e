/* GCRA ("generic cell rate algorithm") over a sharded, set-associative table. When a set is full
 * the key with the oldest theoretical arrival time is evicted: it is the one closest to having
 * its full burst back, so forgetting it costs the least accuracy. */
#include "pipeline/ratelimit.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define RL_SHARDS 16
#define RL_SETS 1024 /* per shard */
#define RL_WAYS 4

struct rl_entry {
    uint64_t key; /* 0: empty */
    uint64_t tat_us; /* theoretical arrival time of the next request */
};

struct rl_shard {
    pthread_mutex_t lock;
    struct rl_entry sets[RL_SETS][RL_WAYS];
};

struct ratelimit {
    struct rl_shard shards[RL_SHARDS];
};

ratelimit_t *ratelimit_new(void)
{
    ratelimit_t *rl = calloc(1, sizeof(*rl));
    if (rl == NULL)
        return NULL;
    for (int i = 0; i < RL_SHARDS; i++)
        pthread_mutex_init(&rl->shards[i].lock, NULL);
    return rl;
}

void ratelimit_free(ratelimit_t *rl)
{
    if (rl == NULL)
        return;
    for (int i = 0; i < RL_SHARDS; i++)
        pthread_mutex_destroy(&rl->shards[i].lock);
    free(rl);
}

/* FNV-1a, then a finaliser so shard and set bits are well mixed. */
static uint64_t hash_key(const void *key, size_t len)
{
    const unsigned char *p = key;
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 0x100000001b3ull;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return h | 1; /* never 0, which marks an empty way */
}

uint32_t ratelimit_take(ratelimit_t *rl, const void *key, size_t keylen, app_rate_t rate, uint64_t now_us)
{
    if (rate.count == 0)
        return 0;
    uint64_t h = hash_key(key, keylen);
    struct rl_shard *shard = &rl->shards[h % RL_SHARDS];
    struct rl_entry *set = shard->sets[(h / RL_SHARDS) % RL_SETS];
    uint64_t interval = (uint64_t)rate.per_ms * 1000 / rate.count; /* µs between requests */
    uint64_t burst = interval * rate.count;                          /* = the whole window */
    uint32_t wait = 0;

    pthread_mutex_lock(&shard->lock);
    struct rl_entry *e = NULL, *victim = &set[0];
    for (int i = 0; i < RL_WAYS; i++) {
        if (set[i].key == h) {
            e = &set[i];
            break;
        }
        if (set[i].key == 0 || set[i].tat_us < victim->tat_us)
            victim = &set[i];
    }
    if (e == NULL) {
        e = victim;
        *e = (struct rl_entry){h, now_us};
    }
    uint64_t tat = e->tat_us > now_us ? e->tat_us : now_us;
    if (tat + interval - now_us > burst) {
        uint64_t wait_us = tat + interval - now_us - burst;
        wait = (uint32_t)((wait_us + 999999) / 1000000);
    } else {
        e->tat_us = tat + interval;
    }
    pthread_mutex_unlock(&shard->lock);
    return wait;
}
