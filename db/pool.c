/* The per-thread PostgreSQL pool: queries in, dispatch to the least busy ready connection or a
 * bounded FIFO wait queue, deadlines, the once-per-loop-turn flush, statistics and shutdown.
 * What happens on the wire of each connection is in conn.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "db/log.h"
#include "db/pool_internal.h"

enum {
    /* The server's statement_timeout is the pool's query timeout plus this: runaway statements die
     * on the server too, just after the caller stopped waiting. */
    STATEMENT_MARGIN_MS = 1000,
};

static void answer(db_query_t *q, db_status_t status, PGresult *r)
{
    db_result_t res = {status, NULL, NULL};

    if (q->detached)
        return;
    q->detached = 1;
    if (status == DB_OK || status == DB_ERR_QUERY)
        res.pg = r;
    if (status == DB_ERR_QUERY)
        res.sqlstate = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    q->cb(q->arg, &res);
}

void db_query_finish(db_query_t *q, db_status_t status, PGresult *r)
{
    db_deadline_clear(&q->deadline);
    answer(q, status, r);
    free(q);
}

void db_queries_fail(db_link_t *list)
{
    while (!db_list_empty(list)) {
        db_query_t *q = db_container_of(list->next, db_query_t, link);
        db_list_remove(&q->link);
        q->conn = NULL;
        db_query_finish(q, DB_ERR_UNAVAILABLE, NULL);
    }
}

void db_pool_fail_waiting(db_pool_t *pool)
{
    while (!db_list_empty(&pool->waiting)) {
        db_query_t *q = db_container_of(pool->waiting.next, db_query_t, link);
        db_list_remove(&q->link);
        pool->nwaiting--;
        db_query_finish(q, DB_ERR_UNAVAILABLE, NULL);
    }
}

/* No connection is up and none is still on its first attempt: queueing would only turn a fast
 * 503 into a slow 504, so queries fail at once until a connection is ready again. */
int db_pool_outage(const db_pool_t *pool)
{
    if (pool->nready > 0)
        return 0;
    for (unsigned i = 0; i < pool->conf.connections; i++)
        if (pool->conns[i].failures == 0)
            return 0;
    return 1;
}

/* A ready connection with room, fewest in flight first. */
static db_conn_t *pick(db_pool_t *pool)
{
    db_conn_t *best = NULL;

    for (unsigned i = 0; i < pool->conf.connections; i++) {
        db_conn_t *c = &pool->conns[i];
        if (c->state != DB_CONN_READY || c->barrier || c->ninflight >= pool->conf.max_inflight)
            continue;
        if (best == NULL || c->ninflight < best->ninflight)
            best = c;
    }
    return best;
}

void db_pool_requeue(db_pool_t *pool, db_query_t *q)
{
    q->conn = NULL;
    db_list_push_front(&pool->waiting, &q->link);
    pool->nwaiting++;
}

void db_pool_dispatch(db_pool_t *pool)
{
    db_conn_t *c;

    while (!pool->closing && !db_list_empty(&pool->waiting) && (c = pick(pool)) != NULL) {
        db_query_t *q = db_container_of(pool->waiting.next, db_query_t, link);
        db_list_remove(&q->link);
        pool->nwaiting--;
        if (db_conn_send(c, q) < 0) {
            db_pool_requeue(pool, q);
            db_conn_fail(c, PQerrorMessage(c->pg));
        }
    }
}

/* Returns q, or NULL when q was answered already (its callback ran). */
static db_query_t *submit(db_pool_t *pool, db_query_t *q)
{
    db_conn_t *c;

    /* Waiting queries go first, so a new one may only skip the queue when it is empty. */
    while (!pool->closing && db_list_empty(&pool->waiting) && (c = pick(pool)) != NULL) {
        if (db_conn_send(c, q) == 0)
            return q;
        db_conn_fail(c, PQerrorMessage(c->pg));
    }
    if (pool->closing || db_pool_outage(pool)) {
        db_query_finish(q, DB_ERR_UNAVAILABLE, NULL);
        return NULL;
    }
    if (pool->nwaiting >= pool->conf.max_queue) {
        db_query_finish(q, DB_ERR_BUSY, NULL);
        return NULL;
    }
    db_list_push_back(&pool->waiting, &q->link);
    pool->nwaiting++;
    return q;
}

db_query_t *db_pool_query(db_pool_t *pool, const db_stmt_t *stmt, const char *const *values, int nvalues,
                          uint64_t timeout_ms, db_result_cb cb, void *arg)
{
    size_t bytes = 0;
    db_query_t *q;
    char *p;

    for (int i = 0; i < nvalues; i++)
        if (values[i] != NULL)
            bytes += strlen(values[i]) + 1;
    q = malloc(sizeof(*q) + (size_t)nvalues * sizeof(char *) + bytes);
    if (q == NULL) {
        db_result_t res = {DB_ERR_UNAVAILABLE, NULL, NULL};
        cb(arg, &res);
        return NULL;
    }
    memset(q, 0, sizeof(*q));
    db_list_init(&q->link);
    db_deadline_init(&q->deadline);
    q->pool = pool;
    q->stmt = stmt;
    q->cb = cb;
    q->arg = arg;
    q->nvalues = nvalues;
    p = (char *)&q->values[nvalues];
    for (int i = 0; i < nvalues; i++) {
        q->values[i] = NULL;
        if (values[i] != NULL) {
            size_t n = strlen(values[i]) + 1;
            memcpy(p, values[i], n);
            q->values[i] = p;
            p += n;
        }
    }
    if (timeout_ms == 0)
        timeout_ms = pool->conf.query_timeout_ms;
    if (timeout_ms != 0)
        db_deadline_set(&pool->deadlines, &q->deadline, uv_now(pool->loop) + timeout_ms);
    return submit(pool, q);
}

void db_query_cancel(db_query_t *q)
{
    if (q->detached)
        return;
    if (q->conn != NULL) { /* in flight: freed when its result arrives or the connection fails */
        q->detached = 1;
        return;
    }
    db_list_remove(&q->link);
    q->pool->nwaiting--;
    db_deadline_clear(&q->deadline);
    free(q);
}

/* A deadline fires twice for a query in flight: first it answers DB_ERR_TIMEOUT (the query stays
 * in the FIFO: PQcancel would block, so the late result is dropped), then, one statement timeout
 * later, it checks the connection still makes progress; if not, the connection is dead. */
static void on_deadline(db_deadlines_t *dl, db_deadline_t *d)
{
    db_pool_t *pool = db_container_of(dl, db_pool_t, deadlines);
    db_query_t *q = db_container_of(d, db_query_t, deadline);
    db_conn_t *c = q->conn;
    uint64_t now = uv_now(pool->loop);

    if (c == NULL) { /* never sent */
        db_list_remove(&q->link);
        pool->nwaiting--;
        pool->errors++;
        db_query_finish(q, DB_ERR_TIMEOUT, NULL);
        return;
    }
    if (q->expired) {
        if (now - c->progress_at >= pool->stuck_ms)
            db_conn_fail(c, "no reply within the statement timeout");
        else
            db_deadline_set(dl, d, c->progress_at + pool->stuck_ms);
        return;
    }
    q->expired = 1;
    c->nstale++;
    if (pool->stuck_ms != 0)
        db_deadline_set(dl, d, now + pool->stuck_ms);
    if (!q->detached) {
        PGconn *pg = c->pg;
        pool->errors++;
        answer(q, DB_ERR_TIMEOUT, NULL);
        if (pool->closing || c->pg != pg) /* the callback closed the pool or broke the connection */
            return;
    }
    /* Half its pipeline is work nobody waits for: a fresh connection serves better. */
    if (c->nstale * 2 >= pool->conf.max_inflight)
        db_conn_fail(c, "too many timed-out queries in flight");
}

/* Once per loop turn, before the loop sleeps: one sync for the readers sent during the turn on each
 * connection, then a flush. Repeats if callbacks run from here sent more. */
static void on_flush(uv_prepare_t *p)
{
    db_pool_t *pool = p->data;

    while (pool->flush_wanted && !pool->closing) {
        pool->flush_wanted = 0;
        for (unsigned i = 0; i < pool->conf.connections && !pool->closing; i++)
            db_conn_flush(&pool->conns[i]);
    }
    uv_prepare_stop(p);
}

void db_pool_want_flush(db_pool_t *pool)
{
    pool->flush_wanted = 1;
    uv_prepare_start(&pool->flusher, on_flush);
}

void db_pool_stats(const db_pool_t *pool, db_pool_stats_t *out)
{
    memset(out, 0, sizeof(*out));
    out->size = pool->conf.connections;
    for (unsigned i = 0; i < pool->conf.connections; i++) {
        const db_conn_t *c = &pool->conns[i];
        if (c->state != DB_CONN_READY)
            continue;
        if (c->ninflight > 0 || c->syncs > 0)
            out->busy++;
        else
            out->idle++;
    }
    out->waiting = pool->nwaiting;
    out->errors = pool->errors;
}

/* The connection parameters: the caller's conninfo, with our application_name and the server-side
 * statement_timeout appended to whatever options it already had. */
static int build_params(db_pool_t *pool, const db_pool_config_t *conf)
{
    const char *app = conf->application_name, *options = "";
    size_t n = 0, i = 0;
    char *text;

    for (PQconninfoOption *o = pool->parsed; o->keyword != NULL; o++) {
        if (o->val == NULL)
            continue;
        if (strcmp(o->keyword, "application_name") == 0 && app == NULL)
            app = o->val;
        else if (strcmp(o->keyword, "options") == 0)
            options = o->val;
        n++;
    }
    if (app == NULL)
        app = "hellosales";
    size_t room = strlen(app) + strlen(options) + 48;
    pool->keywords = malloc(2 * (n + 3) * sizeof(char *) + room);
    if (pool->keywords == NULL)
        return -1;
    pool->values = pool->keywords + n + 3;
    text = (char *)(pool->values + n + 3);
    for (PQconninfoOption *o = pool->parsed; o->keyword != NULL; o++) {
        if (o->val == NULL || strcmp(o->keyword, "application_name") == 0 || strcmp(o->keyword, "options") == 0)
            continue;
        pool->keywords[i] = o->keyword;
        pool->values[i++] = o->val;
    }
    pool->keywords[i] = "application_name";
    pool->values[i++] = pool->conf.application_name = strcpy(text, app);
    text += strlen(app) + 1;
    if (pool->stuck_ms != 0)
        snprintf(text, room - strlen(app) - 1, "%s%s-c statement_timeout=%llu", options, *options ? " " : "",
                 (unsigned long long)pool->stuck_ms);
    else
        strcpy(text, options);
    pool->keywords[i] = "options";
    pool->values[i++] = text;
    pool->keywords[i] = pool->values[i] = NULL;
    return 0;
}

static void on_closed(uv_handle_t *h)
{
    db_pool_handle_closed(h->data);
}

db_pool_t *db_pool_new(uv_loop_t *loop, const db_pool_config_t *conf, const db_stmts_t *stmts)
{
    db_pool_t *pool;
    char *err = NULL;

    if (conf->conninfo == NULL || conf->connections == 0 || conf->max_inflight == 0)
        return NULL;
    pool = calloc(1, sizeof(*pool) + conf->connections * sizeof(db_conn_t));
    if (pool == NULL)
        return NULL;
    pool->parsed = PQconninfoParse(conf->conninfo, &err);
    if (pool->parsed == NULL) {
        /* libpq's message can quote the string, password included: keep it out of the log */
        db_log_warn("db: the database URL is not a valid connection string");
        PQfreemem(err);
        free(pool);
        return NULL;
    }
    pool->loop = loop;
    pool->stmts = stmts;
    pool->conf = *conf;
    pool->conf.conninfo = NULL;
    pool->stuck_ms = conf->query_timeout_ms != 0 ? conf->query_timeout_ms + STATEMENT_MARGIN_MS : 0;
    if (build_params(pool, conf) < 0) {
        PQconninfoFree(pool->parsed);
        free(pool);
        return NULL;
    }
    db_list_init(&pool->waiting);
    pool->rng = db_backoff_seed(pool);
    uv_prepare_init(loop, &pool->flusher);
    pool->flusher.data = pool;
    db_deadlines_init(loop, &pool->deadlines, on_deadline);
    pool->deadlines.timer.data = pool;
    pool->handles = 2;
    for (unsigned i = 0; i < conf->connections; i++)
        db_conn_init(pool, &pool->conns[i], i);
    return pool;
}

int db_pool_handle_closed(db_pool_t *pool)
{
    pool->handles--;
    if (!pool->closing)
        return 0;
    if (pool->handles == 0) {
        void (*done)(void *) = pool->done;
        void *arg = pool->done_arg;
        PQconninfoFree(pool->parsed);
        free(pool->keywords);
        free(pool);
        if (done != NULL)
            done(arg);
    }
    return 1;
}

void db_pool_close(db_pool_t *pool, void (*done)(void *arg), void *arg)
{
    if (pool->closing)
        return;
    pool->closing = 1;
    pool->done = done;
    pool->done_arg = arg;
    uv_close((uv_handle_t *)&pool->flusher, on_closed);
    uv_close((uv_handle_t *)&pool->deadlines.timer, on_closed);
    for (unsigned i = 0; i < pool->conf.connections; i++)
        db_conn_close(&pool->conns[i]);
    db_pool_fail_waiting(pool);
}
