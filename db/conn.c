/* One pooled connection on the wire: the non-blocking connect, preparing every registered
 * statement, pipelined sends in sync segments, results matched to queries in order, ROLLBACK of a
 * transaction left open, and failure (fail what is in flight, reconnect after a backoff).
 *
 * Segments: everything between two syncs runs as one implicit transaction, and an error aborts the
 * rest of it (PGRES_PIPELINE_ABORTED) and rolls back its earlier writes. So only DB_STMT_READONLY
 * statements share a segment (one sync per loop turn); any other statement is sent alone, and
 * nothing more is sent on its connection until its sync is back and the transaction status was
 * checked. A write is thus never undone behind its caller's back, and nothing runs inside a
 * transaction that a statement left open. */
#include <stdio.h>
#include <string.h>
#include "db/log.h"
#include "db/pool_internal.h"

static void on_io(uv_poll_t *h, int status, int events);
static void on_timer(uv_timer_t *t);
static int watch(db_conn_t *c, int events);

/* Server notices can quote user data, and nothing on a request path reads them. */
static void drop_notice(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* False once a callback run from here closed the pool or made this connection fail. */
static int alive(const db_conn_t *c, const PGconn *pg)
{
    return !c->pool->closing && c->pg == pg;
}

static void schedule_connect(db_conn_t *c)
{
    uv_timer_start(&c->timer, on_timer, db_backoff_ms(c->failures, &c->pool->rng), 0);
}

static void on_timer_closed(uv_handle_t *h)
{
    db_conn_t *c = h->data;
    db_pool_handle_closed(c->pool);
}

static void on_poll_closed(uv_handle_t *h)
{
    db_conn_t *c = h->data;

    c->poll_state = DB_POLL_NONE;
    if (db_pool_handle_closed(c->pool))
        return;
    if (c->pg == NULL) /* the connection failed */
        schedule_connect(c);
    else if (watch(c, c->events) < 0) /* libpq moved to another socket while connecting */
        db_conn_fail(c, "cannot poll the socket");
}

/* Polls PQsocket for `events`. libpq can change socket while connecting (next host or address,
 * retry without SSL), and a uv_poll_t is bound to one fd: the handle is then re-created, which
 * takes a loop turn (on_poll_closed resumes). */
static int watch(db_conn_t *c, int events)
{
    int fd = PQsocket(c->pg);

    c->events = events;
    if (fd < 0)
        return -1;
    if (c->poll_state == DB_POLL_OPEN && fd != c->poll_fd) {
        uv_close((uv_handle_t *)&c->poll, on_poll_closed);
        c->poll_state = DB_POLL_CLOSING;
    }
    if (c->poll_state == DB_POLL_CLOSING)
        return 0;
    if (c->poll_state == DB_POLL_NONE) {
        if (uv_poll_init(c->pool->loop, &c->poll, fd) != 0)
            return -1;
        c->poll.data = c;
        c->poll_state = DB_POLL_OPEN;
        c->poll_fd = fd;
        c->pool->handles++;
    }
    return uv_poll_start(&c->poll, events, on_io) == 0 ? 0 : -1;
}

/* PQflush; while it leaves data behind, also wait for WRITABLE. */
static int flush(db_conn_t *c)
{
    int r = PQflush(c->pg);

    if (r < 0)
        return -1;
    if (c->flushing != (r == 1)) {
        c->flushing = r == 1;
        return watch(c, UV_READABLE | (c->flushing ? UV_WRITABLE : 0));
    }
    return 0;
}

void db_conn_fail(db_conn_t *c, const char *why)
{
    db_pool_t *pool = c->pool;
    db_link_t lost;

    /* `why` may live in c->pg: log it before PQfinish. The first line says it all. */
    db_log_warn("db %s[%u]: %s: %.*s", pool->conf.application_name, c->index,
                c->state == DB_CONN_READY ? "connection lost" : "connect failed", (int)strcspn(why, "\n"), why);
    pool->errors++;
    if (c->state == DB_CONN_READY)
        pool->nready--;
    c->state = DB_CONN_DOWN;
    c->failures++;
    uv_timer_stop(&c->timer);
    if (c->poll_state == DB_POLL_OPEN) {
        uv_close((uv_handle_t *)&c->poll, on_poll_closed);
        c->poll_state = DB_POLL_CLOSING;
    }
    PQclear(c->cur);
    c->cur = NULL;
    PQfinish(c->pg);
    c->pg = NULL;
    db_list_move(&c->inflight, &lost);
    c->ninflight = c->nstale = c->open_readers = c->syncs = c->internal = 0;
    c->barrier = c->flushing = 0;
    if (c->poll_state == DB_POLL_NONE) /* else on_poll_closed schedules it */
        schedule_connect(c);
    /* Their outcome is unknown (a write may have committed): never report them as done. */
    db_queries_fail(&lost);
    if (!pool->closing && db_pool_outage(pool))
        db_pool_fail_waiting(pool);
}

static void connect_start(db_conn_t *c)
{
    db_pool_t *pool = c->pool;

    c->state = DB_CONN_CONNECTING;
    c->pg = PQconnectStartParams(pool->keywords, pool->values, 0);
    if (c->pg == NULL || PQstatus(c->pg) == CONNECTION_BAD) {
        db_conn_fail(c, c->pg != NULL ? PQerrorMessage(c->pg) : "out of memory");
        return;
    }
    PQsetNoticeProcessor(c->pg, drop_notice, NULL);
    if (pool->conf.connect_timeout_ms != 0)
        uv_timer_start(&c->timer, on_timer, pool->conf.connect_timeout_ms, 0);
    /* As if PQconnectPoll had said PGRES_POLLING_WRITING (libpq's documented start). */
    if (watch(c, UV_WRITABLE) < 0)
        db_conn_fail(c, "cannot poll the socket");
}

/* Connected: pipeline mode, and every registered statement prepared in one segment. The connect
 * timer keeps running until the PREPAREs are confirmed. */
static void start_pipeline(db_conn_t *c)
{
    const db_stmts_t *stmts = c->pool->stmts;
    size_t n = db_stmts_count(stmts);

    if (PQsetnonblocking(c->pg, 1) != 0 || !PQenterPipelineMode(c->pg))
        goto fail;
    for (size_t i = 0; i < n; i++) {
        const db_stmt_t *s = db_stmts_at(stmts, i);
        if (!PQsendPrepare(c->pg, s->name, s->sql, s->nparams, NULL))
            goto fail;
    }
    if (!PQpipelineSync(c->pg))
        goto fail;
    c->state = DB_CONN_PREPARING;
    c->internal = (unsigned)n;
    c->syncs = 1;
    c->progress_at = uv_now(c->pool->loop);
    if (watch(c, UV_READABLE) < 0 || flush(c) < 0)
        goto fail;
    return;
fail:
    db_conn_fail(c, PQerrorMessage(c->pg));
}

static void connect_step(db_conn_t *c)
{
    /* Stopped and started again below, so the fd is registered afresh with epoll even if libpq
     * closed it during the step and got the same number back for a new socket. */
    uv_poll_stop(&c->poll);
    switch (PQconnectPoll(c->pg)) {
    case PGRES_POLLING_READING:
        if (watch(c, UV_READABLE) < 0)
            db_conn_fail(c, "cannot poll the socket");
        break;
    case PGRES_POLLING_WRITING:
        if (watch(c, UV_WRITABLE) < 0)
            db_conn_fail(c, "cannot poll the socket");
        break;
    case PGRES_POLLING_OK:
        start_pipeline(c);
        break;
    default:
        db_conn_fail(c, PQerrorMessage(c->pg));
        break;
    }
}

static void on_timer(uv_timer_t *t)
{
    db_conn_t *c = t->data;

    if (c->state == DB_CONN_DOWN)
        connect_start(c);
    else
        db_conn_fail(c, "connect timed out");
}

/* Ends the transaction a statement left open (BEGIN without COMMIT, or BEGIN then an error):
 * anything sent next would run inside it. */
static void rollback(db_conn_t *c)
{
    db_log_warn("db %s[%u]: a statement left a transaction open; rolling it back", c->pool->conf.application_name,
                c->index);
    if (!PQsendQueryParams(c->pg, "ROLLBACK", 0, NULL, NULL, NULL, NULL, 0) || !PQpipelineSync(c->pg)) {
        db_conn_fail(c, PQerrorMessage(c->pg));
        return;
    }
    c->internal = 1;
    c->syncs = 1;
    c->barrier = 1;
    if (flush(c) < 0)
        db_conn_fail(c, PQerrorMessage(c->pg));
}

static void segment_done(db_conn_t *c)
{
    PGTransactionStatusType ts;

    if (c->syncs > 0 || c->ninflight > 0) /* the pipeline has not drained yet */
        return;
    c->barrier = 0;
    if (c->state == DB_CONN_PREPARING) {
        c->state = DB_CONN_READY;
        c->failures = 0;
        c->pool->nready++;
        uv_timer_stop(&c->timer);
        return;
    }
    /* libpq reports the real status only now, with nothing queued (else PQTRANS_ACTIVE). */
    ts = PQtransactionStatus(c->pg);
    if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR)
        rollback(c);
}

/* An error that ends the session rather than the statement: FATAL or PANIC from the server (say,
 * pg_terminate_backend; PQstatus is still OK at that point), or one libpq raised itself. */
static int session_error(const PGconn *pg, const PGresult *r)
{
    const char *severity = PQresultErrorField(r, PG_DIAG_SEVERITY_NONLOCALIZED);

    if (PQstatus(pg) != CONNECTION_OK || PQresultErrorField(r, PG_DIAG_SQLSTATE) == NULL)
        return 1;
    return severity != NULL && (strcmp(severity, "FATAL") == 0 || strcmp(severity, "PANIC") == 0);
}

static void internal_result(db_conn_t *c, PGresult *r)
{
    char why[512];

    if (PQresultStatus(r) != PGRES_COMMAND_OK) {
        if (c->state == DB_CONN_PREPARING)
            snprintf(why, sizeof(why), "preparing %s: %s",
                     db_stmts_at(c->pool->stmts, db_stmts_count(c->pool->stmts) - c->internal)->name,
                     PQresultErrorMessage(r));
        else
            snprintf(why, sizeof(why), "ROLLBACK: %s", PQresultErrorMessage(r));
        db_conn_fail(c, why);
    }
    PQclear(r);
}

/* q was not executed: it goes again, alone in its segment and ahead of the waiting queries. Once
 * only; should that fail the same way, the caller answers it. */
static int retry_alone(db_conn_t *c, db_query_t *q, PGresult *r)
{
    if (q->solo || q->detached)
        return 0;
    q->solo = 1;
    PQclear(r);
    db_pool_requeue(c->pool, q);
    return 1;
}

/* The oldest query's results are complete: answer it, or send it again if it was not executed. */
static void finish_head(db_conn_t *c)
{
    PGresult *r = c->cur;
    db_status_t status = DB_ERR_UNAVAILABLE;
    const char *sqlstate;
    db_query_t *q;

    c->cur = NULL;
    if (db_list_empty(&c->inflight)) {
        PQclear(r);
        db_conn_fail(c, "a result came for no query");
        return;
    }
    q = db_container_of(c->inflight.next, db_query_t, link);
    db_list_remove(&q->link);
    c->ninflight--;
    if (q->expired)
        c->nstale--;
    q->conn = NULL;
    switch (PQresultStatus(r)) {
    case PGRES_TUPLES_OK:
    case PGRES_COMMAND_OK:
    case PGRES_EMPTY_QUERY:
        status = DB_OK;
        break;
    case PGRES_PIPELINE_ABORTED: /* an earlier reader of its segment failed */
        if (retry_alone(c, q, r))
            return;
        break; /* alone, it cannot be aborted: should it be, DB_ERR_UNAVAILABLE */
    default:
        sqlstate = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        if (sqlstate == NULL) /* no result at all */
            break;
        /* 25P02: an earlier segment left the transaction failed (a BEGIN flagged read-only). Send
         * nothing more until the pipeline drains, when segment_done sees INERROR and rolls back. */
        if (strcmp(sqlstate, "25P02") == 0) {
            c->barrier = 1;
            if (retry_alone(c, q, r))
                return;
        }
        /* 57014: the server's statement_timeout cancelled it, the same deadline enforced there */
        status = strcmp(sqlstate, "57014") == 0 ? DB_ERR_TIMEOUT : DB_ERR_QUERY;
        if (status == DB_ERR_TIMEOUT && !q->detached)
            c->pool->errors++;
        break;
    }
    db_query_finish(q, status, r);
    PQclear(r);
}

static void conn_read(db_conn_t *c)
{
    PGconn *pg = c->pg;

    if (!PQconsumeInput(pg)) {
        db_conn_fail(c, PQerrorMessage(pg));
        return;
    }
    c->progress_at = uv_now(c->pool->loop);
    /* Past the last outstanding sync PQgetResult returns NULL forever: only read up to it. */
    while (c->syncs > 0 && !PQisBusy(pg)) {
        PGresult *r = PQgetResult(pg);
        if (r == NULL) { /* the end of one statement's results */
            if (c->internal > 0)
                c->internal--;
            else
                finish_head(c);
        } else if (PQresultStatus(r) == PGRES_PIPELINE_SYNC) {
            PQclear(r);
            c->syncs--;
            segment_done(c);
        } else if (PQresultStatus(r) == PGRES_FATAL_ERROR && session_error(pg, r)) {
            db_conn_fail(c, PQresultErrorMessage(r));
            PQclear(r);
            return;
        } else if (c->internal > 0) {
            internal_result(c, r);
        } else {
            PQclear(c->cur);
            c->cur = r;
        }
        if (!alive(c, pg))
            return;
    }
}

static void on_io(uv_poll_t *h, int status, int events)
{
    db_conn_t *c = h->data;
    PGconn *pg = c->pg;

    if (c->state == DB_CONN_CONNECTING) { /* a socket error shows up in PQconnectPoll */
        connect_step(c);
        return;
    }
    if (status < 0) { /* POLLERR (libuv says EBADF and stops polling); libpq may know more */
        PQconsumeInput(pg);
        db_conn_fail(c, *PQerrorMessage(pg) ? PQerrorMessage(pg) : "connection reset");
        return;
    }
    if (events & UV_READABLE) {
        conn_read(c);
        if (!alive(c, pg))
            return;
    }
    if (c->flushing && flush(c) < 0) {
        db_conn_fail(c, PQerrorMessage(pg));
        return;
    }
    db_pool_dispatch(c->pool);
}

int db_conn_send(db_conn_t *c, db_query_t *q)
{
    PGconn *pg = c->pg;
    int reader = (q->stmt->flags & DB_STMT_READONLY) != 0, alone = !reader || q->solo;

    if (c->ninflight == 0 && c->syncs == 0) /* the stuck-connection clock starts now */
        c->progress_at = uv_now(c->pool->loop);
    if (alone && c->open_readers > 0) {
        if (!PQpipelineSync(pg))
            return -1;
        c->syncs++;
        c->open_readers = 0;
    }
    if (!PQsendQueryPrepared(pg, q->stmt->name, q->nvalues, (const char *const *)q->values, NULL, NULL, 0))
        return -1;
    /* Were the sync below to fail, q could still go elsewhere: without its sync nothing commits. */
    if (alone) {
        if (!PQpipelineSync(pg))
            return -1;
        c->syncs++;
        c->barrier = !reader;
    } else {
        c->open_readers++;
    }
    db_list_push_back(&c->inflight, &q->link);
    c->ninflight++;
    q->conn = c;
    db_pool_want_flush(c->pool);
    return 0;
}

void db_conn_flush(db_conn_t *c)
{
    if (c->state != DB_CONN_READY)
        return;
    if (c->open_readers > 0) {
        if (!PQpipelineSync(c->pg)) {
            db_conn_fail(c, PQerrorMessage(c->pg));
            return;
        }
        c->syncs++;
        c->open_readers = 0;
    }
    if (flush(c) < 0)
        db_conn_fail(c, PQerrorMessage(c->pg));
}

void db_conn_init(db_pool_t *pool, db_conn_t *c, unsigned index)
{
    c->pool = pool;
    c->index = index;
    db_list_init(&c->inflight);
    uv_timer_init(pool->loop, &c->timer);
    c->timer.data = c;
    pool->handles++;
    connect_start(c);
}

void db_conn_close(db_conn_t *c)
{
    db_link_t lost;

    if (c->poll_state == DB_POLL_OPEN) {
        uv_close((uv_handle_t *)&c->poll, on_poll_closed);
        c->poll_state = DB_POLL_CLOSING;
    }
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
    PQclear(c->cur);
    c->cur = NULL;
    PQfinish(c->pg);
    c->pg = NULL;
    c->state = DB_CONN_DOWN;
    db_list_move(&c->inflight, &lost);
    c->ninflight = 0;
    db_queries_fail(&lost);
}
