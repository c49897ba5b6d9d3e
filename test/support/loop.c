/* Bounded loop driving for tests. */
#include "test/support/loop.h"

static void on_wake(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

int ts_run_until(uv_loop_t *loop, int (*cond)(void *), void *arg, uint64_t ms)
{
    uv_timer_t t;
    int fired = 0;

    uv_timer_init(loop, &t);
    t.data = &fired;
    uv_timer_start(&t, on_wake, ms, 0);
    while (!(cond != NULL && cond(arg)) && !fired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return cond != NULL && cond(arg);
}
