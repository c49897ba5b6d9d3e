/* hiredis's own libuv adapter, in a file of its own (see redis_uv.h), with one change: the adapter's
 * cleanup frees its poll handle silently, so ours also tells the owner when the handle is closed. */
#include <stddef.h>
#include <hiredis/adapters/libuv.h>
#include "db/redis_uv.h"

static void on_poll_closed(uv_handle_t *handle)
{
    redis_uv_owner_t *owner = handle->data;

    free((char *)handle - offsetof(redisLibuvEvents, handle));
    owner->closed(owner);
}

/* hiredis calls this while freeing the context, which is still valid here. */
static void cleanup(void *privdata)
{
    redisLibuvEvents *p = privdata;
    redis_uv_owner_t *owner = p->context->data;

    p->context->ev.cleanup = NULL; /* newer hiredis may call it twice */
    p->context = NULL;             /* the adapter's poll callback checks this */
    p->handle.data = owner;
    uv_close((uv_handle_t *)&p->handle, on_poll_closed);
}

int redis_uv_attach(redisAsyncContext *ac, uv_loop_t *loop, redis_uv_owner_t *owner)
{
    if (redisLibuvAttach(ac, loop) != REDIS_OK)
        return -1;
    ac->data = owner;
    ac->ev.cleanup = cleanup;
    return 0;
}
