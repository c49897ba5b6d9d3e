/* Deadline lists on one uv timer, and the reconnect backoff (see timing.h). */
#include "db/timing.h"

enum {
    BACKOFF_MIN_MS = 100,
    BACKOFF_MAX_MS = 5000,
};

static void on_timer(uv_timer_t *t);

static void arm(db_deadlines_t *dl)
{
    if (db_list_empty(&dl->list) || uv_is_closing((uv_handle_t *)&dl->timer))
        return;
    uint64_t at = db_container_of(dl->list.next, db_deadline_t, link)->at, now = uv_now(dl->timer.loop);
    uv_timer_start(&dl->timer, on_timer, at > now ? at - now : 0, 0);
}

static void on_timer(uv_timer_t *t)
{
    db_deadlines_t *dl = db_container_of(t, db_deadlines_t, timer);
    uint64_t now = uv_now(t->loop);

    while (!db_list_empty(&dl->list)) {
        db_deadline_t *d = db_container_of(dl->list.next, db_deadline_t, link);
        if (d->at > now)
            break;
        db_list_remove(&d->link);
        dl->expired(dl, d);
        if (uv_is_closing((uv_handle_t *)t)) /* the owner closed itself from the callback */
            return;
    }
    arm(dl);
}

int db_deadlines_init(uv_loop_t *loop, db_deadlines_t *dl, db_deadline_cb expired)
{
    db_list_init(&dl->list);
    dl->expired = expired;
    return uv_timer_init(loop, &dl->timer);
}

void db_deadline_init(db_deadline_t *d)
{
    db_list_init(&d->link);
    d->at = 0;
}

void db_deadline_set(db_deadlines_t *dl, db_deadline_t *d, uint64_t at)
{
    db_link_t *pos = dl->list.prev;

    db_list_remove(&d->link);
    d->at = at;
    while (pos != &dl->list && db_container_of(pos, db_deadline_t, link)->at > at)
        pos = pos->prev;
    db_list_insert_after(pos, &d->link);
    /* A later head only makes the timer fire early and re-arm, so only an earlier one restarts it. */
    if (pos == &dl->list)
        arm(dl);
}

void db_deadline_clear(db_deadline_t *d)
{
    db_list_remove(&d->link);
}

uint64_t db_backoff_ms(unsigned failures, uint64_t *rng)
{
    if (failures <= 1)
        return 0;
    unsigned shift = failures - 2 < 6 ? failures - 2 : 6;
    uint64_t ms = (uint64_t)BACKOFF_MIN_MS << shift;
    if (ms > BACKOFF_MAX_MS)
        ms = BACKOFF_MAX_MS;
    /* xorshift64: jitter needs no quality, only a state per object */
    *rng ^= *rng << 13;
    *rng ^= *rng >> 7;
    *rng ^= *rng << 17;
    return ms / 2 + *rng % (ms / 2 + 1);
}

uint64_t db_backoff_seed(const void *owner)
{
    return (uv_hrtime() ^ (uint64_t)(uintptr_t)owner) | 1;
}
