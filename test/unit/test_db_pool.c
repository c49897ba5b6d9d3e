/* The PostgreSQL pool against a real server (DATABASE_URL), in a throwaway database of its own:
 * results, pipelining, the wait queue cap, timeouts, cancel, sync segments, ROLLBACK of a
 * transaction left open, outages and recovery, and a clean close. */
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include "db/db.h"
#include "test/support/check.h"
#include "test/support/loop.h"
#include "test/support/pg.h"

typedef struct reply {
    int calls;
    db_status_t status;
    int null;
    char value[64];
    char sqlstate[6];
    uint64_t at;
    uv_loop_t *loop;
} reply_t;

typedef struct env {
    uv_loop_t loop;
    const char *url;   /* DATABASE_URL: the maintenance connection */
    char dbname[64];
    char app[64];
    char *conninfo;    /* the throwaway database */
    PGconn *db;        /* a plain connection to it, to look behind the pool's back */
    db_stmts_t *stmts;
} env_t;

static const db_stmt_t s_add = {"t_add", "SELECT $1::int + 1", 1, DB_STMT_READONLY};
static const db_stmt_t s_echo = {"t_echo", "SELECT $1::text", 1, DB_STMT_READONLY};
static const db_stmt_t s_sleep = {"t_sleep", "SELECT 'slept' FROM pg_sleep($1::float8)", 1, DB_STMT_READONLY};
static const db_stmt_t s_div = {"t_div", "SELECT 1 / $1::int", 1, DB_STMT_READONLY};
static const db_stmt_t s_insert = {"t_insert", "INSERT INTO items (id) VALUES ($1::int)", 1, 0};
static const db_stmt_t s_count = {"t_count", "SELECT count(*) FROM items WHERE id = $1::int", 1, DB_STMT_READONLY};
static const db_stmt_t s_begin = {"t_begin", "BEGIN", 0, 0};
/* BEGIN flagged read-only on purpose: lets a failing reader share its segment (INERROR). */
static const db_stmt_t s_begin_shared = {"t_begin_shared", "BEGIN", 0, DB_STMT_READONLY};
static const db_stmt_t s_later = {"t_later", "SELECT count(*) FROM later_table", 0, DB_STMT_READONLY};
static const db_stmt_t s_setting = {"t_setting", "SELECT current_setting($1)", 1, DB_STMT_READONLY};
static const db_stmt_t s_length = {"t_length", "SELECT length($1)", 1, DB_STMT_READONLY};
/* lifts the session's statement_timeout: lets a statement outlive the pool's stuck limit */
static const db_stmt_t s_no_limit = {"t_no_limit", "SELECT set_config('statement_timeout', '0', false)", 0, 0};

/* ---- helpers --------------------------------------------------------------------------------- */

static void on_reply(void *arg, const db_result_t *res)
{
    reply_t *r = arg;

    r->calls++;
    r->status = res->status;
    r->at = uv_now(r->loop);
    r->value[0] = r->sqlstate[0] = '\0';
    r->null = 0;
    if (res->status == DB_OK && PQntuples(res->pg) > 0 && PQnfields(res->pg) > 0) {
        r->null = PQgetisnull(res->pg, 0, 0);
        snprintf(r->value, sizeof(r->value), "%s", PQgetvalue(res->pg, 0, 0));
    }
    if (res->status == DB_ERR_QUERY) {
        CHECK(res->pg != NULL);
        CHECK(res->sqlstate != NULL);
        if (res->sqlstate != NULL)
            snprintf(r->sqlstate, sizeof(r->sqlstate), "%s", res->sqlstate);
    } else if (res->status != DB_OK) {
        CHECK(res->pg == NULL);
    }
}

static db_query_t *query(db_pool_t *pool, const db_stmt_t *stmt, const char *value, uint64_t timeout_ms, reply_t *r,
                         uv_loop_t *loop)
{
    const char *values[1] = {value};
    r->loop = loop;
    return db_pool_query(pool, stmt, values, stmt->nparams, timeout_ms, on_reply, r);
}


static void run_for(uv_loop_t *loop, uint64_t ms)
{
    ts_run_until(loop, NULL, NULL, ms);
}

static int answered(void *arg)
{
    return ((reply_t *)arg)->calls > 0;
}

typedef struct many {
    reply_t *replies;
    int n;
} many_t;

static int all_answered(void *arg)
{
    many_t *m = arg;
    for (int i = 0; i < m->n; i++)
        if (m->replies[i].calls == 0)
            return 0;
    return 1;
}

static int flag_set(void *arg)
{
    return *(int *)arg != 0;
}

typedef struct ready_wait {
    db_pool_t *pool;
    unsigned want;
} ready_wait_t;

static int pool_ready(void *arg)
{
    ready_wait_t *w = arg;
    db_pool_stats_t st;
    db_pool_stats(w->pool, &st);
    return st.idle + st.busy >= w->want;
}

static db_pool_t *open_pool(env_t *env, unsigned connections, unsigned max_inflight, unsigned max_queue)
{
    db_pool_config_t conf = {env->conninfo, connections, max_inflight, max_queue, 5000, 2000, env->app};
    db_pool_t *pool = db_pool_new(&env->loop, &conf, env->stmts);
    REQUIRE(pool != NULL);
    ready_wait_t w = {pool, connections};
    REQUIRE(ts_run_until(&env->loop, pool_ready, &w, 5000));
    return pool;
}

static void on_done(void *arg)
{
    *(int *)arg = 1;
}

static void close_pool(env_t *env, db_pool_t *pool)
{
    int done = 0;
    db_pool_close(pool, on_done, &done);
    CHECK(ts_run_until(&env->loop, flag_set, &done, 5000));
}


static long long scalar(PGconn *c, const char *sql)
{
    PGresult *r = PQexec(c, sql);
    REQUIRE(PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1);
    long long v = atoll(PQgetvalue(r, 0, 0));
    PQclear(r);
    return v;
}

/* Terminates the pool's backends from outside, as an operator or a failover would. */
static int terminate_backends(env_t *env)
{
    PGconn *admin = PQconnectdb(env->url);
    const char *params[1] = {env->app};
    REQUIRE(PQstatus(admin) == CONNECTION_OK);
    PGresult *r = PQexecParams(admin,
                               "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                               "WHERE application_name = $1) t",
                               1, NULL, params, NULL, NULL, 0);
    REQUIRE(PQresultStatus(r) == PGRES_TUPLES_OK);
    int n = atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(admin);
    return n;
}

/* Sends s_add every 20 ms (one at a time) until one succeeds. */
typedef struct prober {
    db_pool_t *pool;
    uv_timer_t timer;
    int pending, ok, unavailable, other;
} prober_t;

static void probe_reply(void *arg, const db_result_t *res)
{
    prober_t *p = arg;
    p->pending = 0;
    if (res->status == DB_OK)
        p->ok++;
    else if (res->status == DB_ERR_UNAVAILABLE)
        p->unavailable++;
    else
        p->other++;
}

static void probe_tick(uv_timer_t *t)
{
    prober_t *p = t->data;
    const char *values[1] = {"1"};
    if (p->pending || p->ok)
        return;
    p->pending = 1;
    db_pool_query(p->pool, &s_add, values, 1, 1000, probe_reply, p);
}

static int probe_ok(void *arg)
{
    return ((prober_t *)arg)->ok > 0;
}

static int probe(env_t *env, prober_t *p, db_pool_t *pool, uint64_t ms)
{
    memset(p, 0, sizeof(*p));
    p->pool = pool;
    uv_timer_init(&env->loop, &p->timer);
    p->timer.data = p;
    uv_timer_start(&p->timer, probe_tick, 0, 20);
    int ok = ts_run_until(&env->loop, probe_ok, p, ms);
    uv_close((uv_handle_t *)&p->timer, NULL);
    uv_run(&env->loop, UV_RUN_NOWAIT);
    return ok;
}

/* ---- tests ----------------------------------------------------------------------------------- */

static void test_results(env_t *env)
{
    db_pool_config_t conf = {env->conninfo, 2, 64, 64, 5000, 2000, env->app};
    db_pool_t *pool = db_pool_new(&env->loop, &conf, env->stmts);
    reply_t r[3] = {{0}}, *a = &r[0], *b = &r[1], *n = &r[2];
    many_t m = {r, 3};
    char buf[32];
    db_pool_stats_t st;

    REQUIRE(pool != NULL);
    /* Sent while the connections are still starting: they wait in the queue. */
    strcpy(buf, "41");
    CHECK(query(pool, &s_add, buf, 0, a, &env->loop) != NULL);
    strcpy(buf, "clobbered"); /* parameters are copied before db_pool_query returns */
    db_pool_stats(pool, &st);
    CHECK_INT(st.size, 2);
    CHECK_INT(st.waiting, 1);
    query(pool, &s_echo, "héllo 'quoted'", 0, b, &env->loop);
    query(pool, &s_echo, NULL, 0, n, &env->loop);
    CHECK(ts_run_until(&env->loop, all_answered, &m, 5000));
    CHECK_INT(a->calls, 1);
    CHECK_INT(a->status, DB_OK);
    CHECK_STR(a->value, "42");
    CHECK_STR(b->value, "héllo 'quoted'");
    CHECK_INT(n->status, DB_OK);
    CHECK_INT(n->null, 1);

    ready_wait_t w = {pool, 2};
    CHECK(ts_run_until(&env->loop, pool_ready, &w, 5000));
    db_pool_stats(pool, &st);
    CHECK_INT(st.idle, 2);
    CHECK_INT(st.busy, 0);
    CHECK_INT(st.waiting, 0);
    CHECK_INT(st.errors, 0);

    /* The session is ours: named, and with the server-side statement timeout (5 s + 1 s). */
    reply_t settings[2] = {{0}};
    many_t both = {settings, 2};
    query(pool, &s_setting, "application_name", 0, &settings[0], &env->loop);
    query(pool, &s_setting, "statement_timeout", 0, &settings[1], &env->loop);
    CHECK(ts_run_until(&env->loop, all_answered, &both, 5000));
    CHECK_STR(settings[0].value, env->app);
    CHECK_STR(settings[1].value, "6s");

    /* A statement error carries the server's SQLSTATE and the PGresult. */
    reply_t e = {0};
    query(pool, &s_div, "0", 0, &e, &env->loop);
    CHECK(ts_run_until(&env->loop, answered, &e, 5000));
    CHECK_INT(e.status, DB_ERR_QUERY);
    CHECK_STR(e.sqlstate, "22012");
    close_pool(env, pool);
}

static void test_many_pipelined(env_t *env)
{
    enum { N = 2000 };
    db_pool_t *pool = open_pool(env, 2, 256, 4096);
    many_t m = {calloc(N, sizeof(reply_t)), N};
    db_pool_stats_t st;
    char v[16];

    for (int i = 0; i < N; i++) {
        snprintf(v, sizeof(v), "%d", i);
        CHECK(query(pool, &s_add, v, 0, &m.replies[i], &env->loop) != NULL);
    }
    db_pool_stats(pool, &st);
    CHECK_INT(st.busy, 2); /* both connections took their share... */
    CHECK_INT(st.waiting, N - 2 * 256); /* ...and the rest waits its turn */
    CHECK(ts_run_until(&env->loop, all_answered, &m, 20000));
    run_for(&env->loop, 50);
    int wrong = 0;
    for (int i = 0; i < N; i++) {
        snprintf(v, sizeof(v), "%d", i + 1);
        if (m.replies[i].calls != 1 || m.replies[i].status != DB_OK || strcmp(m.replies[i].value, v) != 0)
            wrong++;
    }
    CHECK_INT(wrong, 0);
    free(m.replies);
    close_pool(env, pool);
}

/* 32 MB of parameters in one turn behind a sleeping statement (the backend reads no more input
 * meanwhile): the socket fills, PQflush leaves data behind, and the pool must wait for WRITABLE
 * and finish flushing later. */
static void test_large_writes(env_t *env)
{
    enum { N = 32, SIZE = 1 << 20 };
    db_pool_t *pool = open_pool(env, 1, N + 1, N);
    reply_t *r = calloc(N, sizeof(reply_t)), sleeper = {0};
    char *big = malloc(SIZE + 1);
    many_t m = {r, N};

    memset(big, 'x', SIZE);
    big[SIZE] = '\0';
    query(pool, &s_sleep, "0.3", 0, &sleeper, &env->loop);
    for (int i = 0; i < N; i++)
        query(pool, &s_length, big, 0, &r[i], &env->loop);
    free(big); /* copied */
    CHECK(ts_run_until(&env->loop, all_answered, &m, 20000));
    int wrong = 0;
    for (int i = 0; i < N; i++)
        wrong += r[i].status != DB_OK || strcmp(r[i].value, "1048576") != 0;
    CHECK_INT(wrong, 0);
    CHECK_STR(sleeper.value, "slept");
    free(r);
    close_pool(env, pool);
}

static void test_queue_cap(env_t *env)
{
    db_pool_t *pool = open_pool(env, 1, 1, 2);
    reply_t r[4] = {{0}};
    db_pool_stats_t st;

    CHECK(query(pool, &s_sleep, "0.2", 0, &r[0], &env->loop) != NULL);
    CHECK(query(pool, &s_add, "1", 0, &r[1], &env->loop) != NULL);
    CHECK(query(pool, &s_add, "2", 0, &r[2], &env->loop) != NULL);
    /* The queue is full: refused at once, the callback before db_pool_query returns. */
    CHECK(query(pool, &s_add, "3", 0, &r[3], &env->loop) == NULL);
    CHECK_INT(r[3].calls, 1);
    CHECK_INT(r[3].status, DB_ERR_BUSY);
    db_pool_stats(pool, &st);
    CHECK_INT(st.waiting, 2);
    CHECK_INT(st.busy, 1);
    CHECK(ts_run_until(&env->loop, answered, &r[2], 5000));
    CHECK_INT(r[0].status, DB_OK);
    CHECK_STR(r[0].value, "slept");
    CHECK_STR(r[1].value, "2");
    CHECK_STR(r[2].value, "3");
    CHECK_INT(r[3].calls, 1);
    close_pool(env, pool);
}

static void test_timeout(env_t *env)
{
    db_pool_t *pool = open_pool(env, 1, 8, 8);
    reply_t slow = {0}, after = {0}, waiting = {0}, blocker = {0};
    db_pool_stats_t st;
    uint64_t start = uv_now(&env->loop);

    query(pool, &s_sleep, "1", 100, &slow, &env->loop);
    CHECK(ts_run_until(&env->loop, answered, &slow, 2000));
    CHECK_INT(slow.status, DB_ERR_TIMEOUT);
    CHECK(slow.at - start >= 90 && slow.at - start < 900);
    /* The late result arrives and is dropped: still one call. */
    run_for(&env->loop, 1200);
    CHECK_INT(slow.calls, 1);
    query(pool, &s_add, "6", 0, &after, &env->loop);
    CHECK(ts_run_until(&env->loop, answered, &after, 2000));
    CHECK_INT(after.status, DB_OK);
    CHECK_STR(after.value, "7");
    db_pool_stats(pool, &st);
    CHECK(st.errors >= 1);
    close_pool(env, pool);

    /* A query that times out while still waiting in the queue is never sent. */
    pool = open_pool(env, 1, 1, 8);
    start = uv_now(&env->loop);
    query(pool, &s_sleep, "1", 3000, &blocker, &env->loop);
    query(pool, &s_add, "1", 100, &waiting, &env->loop);
    CHECK(ts_run_until(&env->loop, answered, &waiting, 2000));
    CHECK_INT(waiting.status, DB_ERR_TIMEOUT);
    CHECK(waiting.at - start < 900);
    CHECK(ts_run_until(&env->loop, answered, &blocker, 2000));
    CHECK_INT(blocker.status, DB_OK);
    db_pool_stats(pool, &st);
    CHECK_INT(st.waiting, 0);
    close_pool(env, pool);
}

/* The server enforces the pool's timeout too (statement_timeout = 300 ms + 1 s here): a runaway
 * statement dies there soon after its caller gave up, freeing the connection for what is behind
 * it, and a caller allowing longer than the pool's limit gets DB_ERR_TIMEOUT from the server. */
static void test_server_timeout(env_t *env)
{
    db_pool_config_t conf = {env->conninfo, 1, 8, 8, 300, 2000, env->app};
    db_pool_t *pool = db_pool_new(&env->loop, &conf, env->stmts);
    reply_t limit = {0}, runaway = {0}, behind = {0}, patient = {0};

    REQUIRE(pool != NULL);
    ready_wait_t w = {pool, 1};
    REQUIRE(ts_run_until(&env->loop, pool_ready, &w, 5000));
    query(pool, &s_setting, "statement_timeout", 5000, &limit, &env->loop); /* not the 300 ms default */
    CHECK(ts_run_until(&env->loop, answered, &limit, 5000));
    CHECK_STR(limit.value, "1300ms");
    uint64_t start = uv_now(&env->loop);
    query(pool, &s_sleep, "4", 0, &runaway, &env->loop);
    query(pool, &s_add, "1", 6000, &behind, &env->loop);
    CHECK(ts_run_until(&env->loop, answered, &behind, 6000));
    CHECK_INT(runaway.status, DB_ERR_TIMEOUT);
    CHECK(runaway.at - start < 1000);
    CHECK_INT(behind.status, DB_OK);
    CHECK(behind.at - start >= 1000 && behind.at - start < 3500); /* not 4 s: the server cancelled it */
    start = uv_now(&env->loop);
    query(pool, &s_sleep, "4", 6000, &patient, &env->loop);
    CHECK(ts_run_until(&env->loop, answered, &patient, 6000));
    CHECK_INT(patient.status, DB_ERR_TIMEOUT);
    CHECK(patient.at - start < 3500);
    close_pool(env, pool);
}

/* A connection with work outstanding that stays silent past the server's statement timeout is
 * dead (think of a network partition: no RST ever comes). Simulated with a session that lifted its
 * own statement_timeout: the pool gives up on it at timeout + stuck limit, and reconnects. */
static void test_stuck_connection(env_t *env)
{
    db_pool_config_t conf = {env->conninfo, 1, 8, 8, 200, 2000, env->app};
    db_pool_t *pool = db_pool_new(&env->loop, &conf, env->stmts);
    reply_t lift = {0}, sleeper = {0}, behind = {0};
    prober_t p;

    REQUIRE(pool != NULL);
    ready_wait_t w = {pool, 1};
    REQUIRE(ts_run_until(&env->loop, pool_ready, &w, 5000));
    query(pool, &s_no_limit, NULL, 5000, &lift, &env->loop); /* not the 200 ms default */
    CHECK(ts_run_until(&env->loop, answered, &lift, 5000));
    CHECK_INT(lift.status, DB_OK);
    uint64_t start = uv_now(&env->loop);
    query(pool, &s_sleep, "5", 0, &sleeper, &env->loop);
    query(pool, &s_add, "1", 10000, &behind, &env->loop);
    CHECK(ts_run_until(&env->loop, answered, &behind, 6000));
    CHECK_INT(sleeper.status, DB_ERR_TIMEOUT);
    CHECK_INT(behind.status, DB_ERR_UNAVAILABLE);
    /* 200 ms deadline, then 1.2 s (200 ms + 1 s margin) without a byte from the server; not 5 s */
    CHECK(behind.at - start >= 1300 && behind.at - start < 4000);
    CHECK(probe(env, &p, pool, 5000));
    close_pool(env, pool);
}

/* When half a connection's pipeline has timed out it is recycled; what else it carried fails. */
static void test_stale_recycle(env_t *env)
{
    db_pool_t *pool = open_pool(env, 1, 4, 8);
    reply_t s1 = {0}, s2 = {0}, behind = {0};
    prober_t p;

    query(pool, &s_sleep, "1", 100, &s1, &env->loop);
    query(pool, &s_sleep, "1", 100, &s2, &env->loop);
    query(pool, &s_add, "1", 3000, &behind, &env->loop);
    CHECK(ts_run_until(&env->loop, answered, &behind, 2000));
    CHECK_INT(s1.status, DB_ERR_TIMEOUT);
    CHECK_INT(s2.status, DB_ERR_TIMEOUT);
    CHECK_INT(behind.status, DB_ERR_UNAVAILABLE);
    CHECK(behind.at - s2.at < 50);
    CHECK(probe(env, &p, pool, 5000));
    CHECK_INT(s1.calls + s2.calls + behind.calls, 3);
    close_pool(env, pool);
}

static void test_cancel(env_t *env)
{
    db_pool_t *pool = open_pool(env, 1, 1, 8);
    reply_t inflight = {0}, queued = {0}, instant = {0}, after = {0};
    db_pool_stats_t st;

    db_query_t *q1 = query(pool, &s_sleep, "0.3", 0, &inflight, &env->loop);
    db_query_t *q2 = query(pool, &s_add, "1", 0, &queued, &env->loop);
    REQUIRE(q1 != NULL && q2 != NULL);
    db_pool_stats(pool, &st);
    CHECK_INT(st.waiting, 1);
    db_query_cancel(q2); /* waiting: freed at once */
    db_pool_stats(pool, &st);
    CHECK_INT(st.waiting, 0);
    db_query_cancel(q1); /* in flight: its result will be dropped */
    run_for(&env->loop, 600);
    CHECK_INT(inflight.calls, 0);
    CHECK_INT(queued.calls, 0);

    /* Cancelled in the same turn it was sent, before any byte left. */
    db_query_t *q3 = query(pool, &s_add, "2", 0, &instant, &env->loop);
    REQUIRE(q3 != NULL);
    db_query_cancel(q3);
    query(pool, &s_add, "9", 0, &after, &env->loop);
    CHECK(ts_run_until(&env->loop, answered, &after, 2000));
    CHECK_INT(instant.calls, 0);
    CHECK_STR(after.value, "10");
    close_pool(env, pool);
}

/* Readers share a segment; a write gets its own, so a failing statement never takes down (or rolls
 * back) another caller's statement. All of this goes out in one loop turn on one connection. */
static void test_segments(env_t *env)
{
    db_pool_t *pool = open_pool(env, 1, 64, 64);
    reply_t r[12] = {{0}};

    query(pool, &s_add, "1", 0, &r[0], &env->loop);
    query(pool, &s_insert, "100", 0, &r[1], &env->loop);
    query(pool, &s_div, "0", 0, &r[2], &env->loop);
    query(pool, &s_add, "3", 0, &r[3], &env->loop);
    query(pool, &s_insert, "100", 0, &r[4], &env->loop); /* duplicate key */
    query(pool, &s_add, "4", 0, &r[5], &env->loop);
    query(pool, &s_insert, "x", 0, &r[6], &env->loop); /* not an int */
    query(pool, &s_count, "100", 0, &r[7], &env->loop);
    /* readers only: the one that fails aborts its segment; the others are re-sent and succeed */
    query(pool, &s_add, "10", 0, &r[8], &env->loop);
    query(pool, &s_div, "0", 0, &r[9], &env->loop);
    query(pool, &s_add, "11", 0, &r[10], &env->loop);
    query(pool, &s_add, "12", 0, &r[11], &env->loop);
    many_t m = {r, 12};
    CHECK(ts_run_until(&env->loop, all_answered, &m, 5000));

    CHECK_STR(r[0].value, "2");
    CHECK_INT(r[1].status, DB_OK);
    CHECK_INT(r[2].status, DB_ERR_QUERY);
    CHECK_STR(r[2].sqlstate, "22012");
    CHECK_INT(r[3].status, DB_OK);
    CHECK_STR(r[3].value, "4");
    CHECK_INT(r[4].status, DB_ERR_QUERY);
    CHECK_STR(r[4].sqlstate, "23505");
    CHECK_STR(r[5].value, "5");
    CHECK_INT(r[6].status, DB_ERR_QUERY);
    CHECK_STR(r[6].sqlstate, "22P02");
    CHECK_STR(r[7].value, "1");
    CHECK_STR(r[8].value, "11");
    CHECK_STR(r[9].sqlstate, "22012");
    CHECK_STR(r[10].value, "12");
    CHECK_STR(r[11].value, "13");
    for (int i = 0; i < 12; i++)
        CHECK_INT(r[i].calls, 1);
    /* The first insert stayed committed despite the failures after it. */
    CHECK_INT(scalar(env->db, "SELECT count(*) FROM items WHERE id = 100"), 1);
    close_pool(env, pool);
}

static void test_rollback(env_t *env)
{
    db_pool_t *pool = open_pool(env, 1, 8, 8);
    reply_t begin = {0}, insert = {0}, begin2 = {0}, fail = {0}, next = {0};

    /* BEGIN leaves a transaction open: the pool rolls it back before sending anything else, so
     * the insert after it commits on its own (else it would hide in the open transaction). */
    query(pool, &s_begin, NULL, 0, &begin, &env->loop);
    CHECK(ts_run_until(&env->loop, answered, &begin, 2000));
    CHECK_INT(begin.status, DB_OK);
    query(pool, &s_insert, "200", 0, &insert, &env->loop);
    CHECK(ts_run_until(&env->loop, answered, &insert, 2000));
    CHECK_INT(insert.status, DB_OK);
    CHECK_INT(scalar(env->db, "SELECT count(*) FROM items WHERE id = 200"), 1);

    /* BEGIN then an error in the same segment leaves the transaction failed (INERROR). */
    query(pool, &s_begin_shared, NULL, 0, &begin2, &env->loop);
    query(pool, &s_div, "0", 0, &fail, &env->loop);
    CHECK(ts_run_until(&env->loop, answered, &fail, 2000));
    CHECK_INT(begin2.status, DB_OK);
    CHECK_INT(fail.status, DB_ERR_QUERY);
    CHECK_STR(fail.sqlstate, "22012");
    query(pool, &s_add, "5", 0, &next, &env->loop);
    CHECK(ts_run_until(&env->loop, answered, &next, 2000));
    CHECK_INT(next.status, DB_OK); /* not 25P02: the failed transaction was rolled back */
    CHECK_STR(next.value, "6");

    /* A write pipelined behind such a segment meets the failed transaction (25P02): it was not
     * executed, so it goes again after the ROLLBACK, and commits. */
    reply_t begin3 = {0}, fail3 = {0}, write3 = {0};
    query(pool, &s_begin_shared, NULL, 0, &begin3, &env->loop);
    query(pool, &s_div, "0", 0, &fail3, &env->loop);
    query(pool, &s_insert, "300", 0, &write3, &env->loop);
    CHECK(ts_run_until(&env->loop, answered, &write3, 2000));
    CHECK_STR(fail3.sqlstate, "22012");
    CHECK_INT(write3.status, DB_OK);
    CHECK_INT(write3.calls, 1);
    CHECK_INT(scalar(env->db, "SELECT count(*) FROM items WHERE id = 300"), 1);
    close_pool(env, pool);
}

static void test_terminated(env_t *env)
{
    db_pool_t *pool = open_pool(env, 2, 8, 8);
    reply_t sleeping = {0};
    prober_t p;

    query(pool, &s_sleep, "5", 10000, &sleeping, &env->loop);
    run_for(&env->loop, 200);
    CHECK(terminate_backends(env) >= 2); /* and any backend still sleeping from an earlier test */
    uint64_t start = uv_now(&env->loop);
    /* In flight when its connection died: the outcome is unknown, so UNAVAILABLE, at once. */
    CHECK(ts_run_until(&env->loop, answered, &sleeping, 3000));
    CHECK_INT(sleeping.status, DB_ERR_UNAVAILABLE);
    CHECK(sleeping.at - start < 1000);
    /* The pool reconnects by itself. */
    CHECK(probe(env, &p, pool, 5000));
    CHECK_INT(p.other, 0);
    close_pool(env, pool);
}

/* Nothing listens: after the first attempts fail, queries fail at once instead of waiting. */
static void test_outage_fails_fast(env_t *env)
{
    db_pool_config_t conf = {"host=127.0.0.1 port=1 dbname=x user=x", 2, 8, 8, 5000, 1000, env->app};
    db_pool_t *pool = db_pool_new(&env->loop, &conf, env->stmts);
    reply_t first = {0}, later = {0};
    db_pool_stats_t st;

    REQUIRE(pool != NULL);
    uint64_t start = uv_now(&env->loop);
    query(pool, &s_add, "1", 0, &first, &env->loop); /* starting up: it may wait */
    CHECK(ts_run_until(&env->loop, answered, &first, 3000));
    CHECK_INT(first.status, DB_ERR_UNAVAILABLE);
    CHECK(first.at - start < 1000);
    CHECK(query(pool, &s_add, "1", 0, &later, &env->loop) == NULL);
    CHECK_INT(later.calls, 1);
    CHECK_INT(later.status, DB_ERR_UNAVAILABLE);
    db_pool_stats(pool, &st);
    CHECK(st.errors >= 2);
    CHECK_INT(st.idle + st.busy, 0);
    close_pool(env, pool);

    CHECK(db_pool_new(&env->loop, &(db_pool_config_t){"host=x no_such_option=1", 1, 1, 1, 0, 0, NULL}, env->stmts) ==
          NULL);
}

/* A statement that cannot be prepared keeps its connection from becoming ready; once the schema
 * is there, the retried connection prepares it and the pool serves. */
static void test_prepare_retry(env_t *env)
{
    db_stmts_t *stmts = db_stmts_new();
    REQUIRE(db_stmts_add(stmts, &s_add) == 0);
    REQUIRE(db_stmts_add(stmts, &s_later) == 0);
    db_pool_config_t conf = {env->conninfo, 1, 8, 8, 5000, 2000, env->app};
    db_pool_t *pool = db_pool_new(&env->loop, &conf, stmts);
    reply_t r = {0};
    prober_t p;

    REQUIRE(pool != NULL);
    query(pool, &s_later, NULL, 0, &r, &env->loop);
    CHECK(ts_run_until(&env->loop, answered, &r, 3000));
    CHECK_INT(r.status, DB_ERR_UNAVAILABLE);
    ts_pg_exec_ok(env->db, "CREATE TABLE later_table (id int)");
    CHECK(probe(env, &p, pool, 8000));
    close_pool(env, pool);
    db_stmts_free(stmts);
}

static void test_close(env_t *env)
{
    db_pool_t *pool = open_pool(env, 1, 1, 8);
    reply_t inflight = {0}, queued = {0}, cancelled = {0};
    int done = 0;

    query(pool, &s_sleep, "1", 0, &inflight, &env->loop);
    query(pool, &s_add, "1", 0, &queued, &env->loop);
    db_query_cancel(query(pool, &s_add, "2", 0, &cancelled, &env->loop));
    run_for(&env->loop, 50);
    db_pool_close(pool, on_done, &done);
    CHECK_INT(inflight.calls, 1);
    CHECK_INT(inflight.status, DB_ERR_UNAVAILABLE);
    CHECK_INT(queued.status, DB_ERR_UNAVAILABLE);
    CHECK_INT(done, 0); /* only once every handle is closed */
    CHECK(ts_run_until(&env->loop, flag_set, &done, 5000));
    CHECK_INT(cancelled.calls, 0);
}

/* Registry rules. */
static void test_stmts(void)
{
    db_stmts_t *s = db_stmts_new();
    CHECK_INT(db_stmts_add(s, &s_add), 0);
    CHECK_INT(db_stmts_add(s, &s_add), -1);
    CHECK_INT(db_stmts_add(s, &(db_stmt_t){"Bad-Name", "SELECT 1", 0, 0}), -1);
    CHECK_INT(db_stmts_add(s, &(db_stmt_t){"", "SELECT 1", 0, 0}), -1);
    db_stmts_free(s);
}

int main(void)
{
    env_t env = {0};
    char sql[160];

    env.url = getenv("DATABASE_URL");
    REQUIRE(env.url != NULL && *env.url);
    snprintf(env.dbname, sizeof(env.dbname), "hs_test_pool_%d", (int)getpid());
    snprintf(env.app, sizeof(env.app), "hs_test_pool_%d", (int)getpid());
    PGconn *admin = PQconnectdb(env.url);
    REQUIRE(PQstatus(admin) == CONNECTION_OK);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", env.dbname);
    ts_pg_exec_ok(admin, sql);
    env.conninfo = ts_pg_conninfo_for(env.url, env.dbname);
    env.db = PQconnectdb(env.conninfo);
    REQUIRE(PQstatus(env.db) == CONNECTION_OK);
    ts_pg_exec_ok(env.db, "CREATE TABLE items (id int PRIMARY KEY)");

    env.stmts = db_stmts_new();
    const db_stmt_t *all[] = {&s_add,   &s_echo,  &s_sleep,        &s_div,     &s_insert,  &s_count,
                              &s_begin, &s_begin_shared, &s_setting, &s_length, &s_no_limit};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        REQUIRE(db_stmts_add(env.stmts, all[i]) == 0);
    REQUIRE(uv_loop_init(&env.loop) == 0);

    test_stmts();
    test_results(&env);
    test_many_pipelined(&env);
    test_large_writes(&env);
    test_queue_cap(&env);
    test_timeout(&env);
    test_server_timeout(&env);
    test_stuck_connection(&env);
    test_stale_recycle(&env);
    test_cancel(&env);
    test_segments(&env);
    test_rollback(&env);
    test_terminated(&env);
    test_outage_fails_fast(&env);
    test_prepare_retry(&env);
    test_close(&env);

    CHECK_INT(uv_loop_close(&env.loop), 0); /* every handle was closed */
    db_stmts_free(env.stmts);
    PQfinish(env.db);
    snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", env.dbname);
    ts_pg_exec_ok(admin, sql);
    PQfinish(admin);
    free(env.conninfo);
    return check_done("test_db_pool");
}
