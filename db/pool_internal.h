/* Private to db/pool.c, db/conn.c and db/stmts.c: the pool, its connections and its queries.
 *
 * A query lives in exactly one place: the pool's FIFO wait queue (conn == NULL) or the in-flight
 * FIFO of the connection it was sent on, where results are matched to queries in order. Whoever
 * takes it out of there answers it (unless detached) and frees it. */
#ifndef db_pool_internal_h
#define db_pool_internal_h

#include "db/db.h"
#include "db/list.h"
#include "db/timing.h"

typedef struct db_conn db_conn_t;

struct db_query {
    db_link_t link;
    db_deadline_t deadline;
    db_pool_t *pool;
    db_conn_t *conn; /* NULL while waiting */
    const db_stmt_t *stmt;
    db_result_cb cb;
    void *arg;
    unsigned char detached; /* answered (timeout) or cancelled: whatever comes later is dropped */
    unsigned char expired;  /* the deadline passed while in flight: now it watches for a stuck connection */
    unsigned char solo;     /* re-sent in a segment of its own after its segment was aborted */
    int nvalues;
    char *values[];         /* the copied parameter strings follow in the same allocation */
};

enum db_conn_state {
    DB_CONN_DOWN,       /* waiting for the backoff timer */
    DB_CONN_CONNECTING, /* PQconnectPoll */
    DB_CONN_PREPARING,  /* pipeline mode, the PREPAREs are out */
    DB_CONN_READY,
};

enum db_poll_state { DB_POLL_NONE, DB_POLL_OPEN, DB_POLL_CLOSING };

struct db_conn {
    db_pool_t *pool;
    unsigned index;
    int state;
    unsigned failures; /* consecutive failed attempts, 0 once ready: drives the backoff */
    PGconn *pg;
    uv_timer_t timer;  /* connect timeout while connecting, backoff while down */
    uv_poll_t poll;    /* on PQsocket; re-created when libpq changes socket */
    int poll_state, poll_fd, events;
    db_link_t inflight; /* queries sent, oldest first */
    unsigned ninflight;
    unsigned nstale;        /* in flight, but their deadline passed */
    unsigned open_readers;  /* readers sent since the last sync: the flusher syncs them */
    unsigned syncs;         /* syncs sent whose PGRES_PIPELINE_SYNC has not come back */
    unsigned internal;      /* our own statements (PREPAREs, ROLLBACK) at the head of the pipeline */
    unsigned char barrier;  /* a write or ROLLBACK segment is out: send nothing until it is back */
    unsigned char flushing; /* PQflush left data behind: also wait for WRITABLE */
    PGresult *cur;          /* the oldest query's result, until the NULL that ends it */
    uint64_t progress_at;   /* loop time bytes last arrived, or the connection last became busy */
};

struct db_pool {
    uv_loop_t *loop;
    const db_stmts_t *stmts;
    db_pool_config_t conf;
    /* PQconnectStartParams arguments: the parsed conninfo plus our application_name and options */
    PQconninfoOption *parsed;
    const char **keywords, **values;
    uint64_t stuck_ms;   /* the server's statement_timeout: a busy connection silent this long is dead */
    db_link_t waiting;
    unsigned nwaiting;
    unsigned nready;
    uint64_t errors;
    uint64_t rng;
    db_deadlines_t deadlines;
    uv_prepare_t flusher; /* runs once per loop turn when something was sent: syncs and flushes */
    int flush_wanted;
    unsigned handles;     /* initialised uv handles not yet closed */
    int closing;
    void (*done)(void *arg);
    void *done_arg;
    db_conn_t conns[];
};

/* stmts.c */
size_t db_stmts_count(const db_stmts_t *stmts);
const db_stmt_t *db_stmts_at(const db_stmts_t *stmts, size_t i);

/* conn.c */
void db_conn_init(db_pool_t *pool, db_conn_t *c, unsigned index); /* and starts connecting */
/* Sends q on a ready connection. -1: q was not taken because the connection is broken (the caller
 * fails it); nothing here calls back into user code. */
int db_conn_send(db_conn_t *c, db_query_t *q);
void db_conn_flush(db_conn_t *c);           /* the end-of-turn sync and flush */
void db_conn_fail(db_conn_t *c, const char *why);
void db_conn_close(db_conn_t *c); /* pool close: fails what is in flight, closes the handles */

/* pool.c */
void db_pool_dispatch(db_pool_t *pool);
void db_pool_want_flush(db_pool_t *pool); /* something was sent: sync and flush before the loop sleeps */
void db_pool_requeue(db_pool_t *pool, db_query_t *q);
int db_pool_outage(const db_pool_t *pool);
void db_pool_fail_waiting(db_pool_t *pool);
int db_pool_handle_closed(db_pool_t *pool); /* 1 if the pool is closing: the caller must stop */
void db_query_finish(db_query_t *q, db_status_t status, PGresult *r); /* answers and frees */
void db_queries_fail(db_link_t *list);

#endif
