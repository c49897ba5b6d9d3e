/* Private to db/redis.c: hiredis's libuv adapter lives in db/redis_uv.c alone, because its header
 * defines static functions (one of them named on_close) that must not meet any other code. */
#ifndef db_redis_uv_h
#define db_redis_uv_h

#include <hiredis/async.h>
#include <uv.h>

/* Whoever attached a context is told when hiredis has freed it and the adapter's poll handle is
 * closed: from then on the loop refers to nothing of that connection. */
typedef struct redis_uv_owner {
    void (*closed)(struct redis_uv_owner *owner);
} redis_uv_owner_t;

/* Attaches ac to loop and points ac->data at owner. -1 on failure (ac is then the caller's to free). */
int redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop, redis_uv_owner_t *owner);

#endif
