/* Timing shared by the PostgreSQL pool and the Redis client: many deadlines served by one uv timer,
 * and the reconnect backoff. Private to db/. */
#ifndef db_timing_h
#define db_timing_h

#include <stdint.h>
#include <uv.h>
#include "db/list.h"

typedef struct db_deadline {
    db_link_t link;
    uint64_t at; /* loop time (uv_now), in ms */
} db_deadline_t;

typedef struct db_deadlines db_deadlines_t;
/* `d` is already unlinked; it may be set again from here. */
typedef void (*db_deadline_cb)(db_deadlines_t *dl, db_deadline_t *d);

/* Deadlines sorted by time. Almost all are added in time order (one default timeout), so an insert
 * walks back from the tail a step or two, and the timer only moves when the head changes. */
struct db_deadlines {
    uv_timer_t timer; /* the owner uv_close()s it */
    db_link_t list;
    db_deadline_cb expired;
};

int db_deadlines_init(uv_loop_t *loop, db_deadlines_t *dl, db_deadline_cb expired);
void db_deadline_init(db_deadline_t *d);
/* (Re)arms d to expire at loop time `at`. */
void db_deadline_set(db_deadlines_t *dl, db_deadline_t *d, uint64_t at);
/* Disarms d; harmless if it is not armed. */
void db_deadline_clear(db_deadline_t *d);

/* The wait before the next connect attempt after `failures` consecutive failures: at once after
 * the first (a dropped connection is usually just re-opened), then 100 ms doubling to 5 s, each
 * drawn from [d/2, d] so that many clients do not retry in step. `rng` is the caller's state. */
uint64_t db_backoff_ms(unsigned failures, uint64_t *rng);
/* A non-zero seed for db_backoff_ms, distinct per object. */
uint64_t db_backoff_seed(const void *owner);

#endif
