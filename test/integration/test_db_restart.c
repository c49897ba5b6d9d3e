/* The pool survives a real PostgreSQL stop and start (PG_CTL, PGDATA from the test harness): it
 * fails fast with DB_ERR_UNAVAILABLE during the outage and serves again after, by itself.
 * It stops the shared server, hence an integration test: those run one at a time. */
#include <libpq-fe.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>
#include "db/db.h"
#include "test/support/check.h"

static const db_stmt_t s_add = {"t_add", "SELECT $1::int + 1", 1, DB_STMT_READONLY};

typedef struct probe {
    db_pool_t *pool;
    int calls, ok, unavailable, other;
    int sync_unavailable; /* answered before db_pool_query returned: the fail-fast path */
    int in_call;
} probe_t;

static void on_reply(void *arg, const db_result_t *res)
{
    probe_t *p = arg;
    p->calls++;
    if (res->status == DB_OK)
        p->ok++;
    else if (res->status == DB_ERR_UNAVAILABLE) {
        p->unavailable++;
        p->sync_unavailable += p->in_call;
    } else
        p->other++;
}

static void send_one(probe_t *p)
{
    const char *values[1] = {"1"};
    p->in_call = 1;
    db_pool_query(p->pool, &s_add, values, 1, 2000, on_reply, p);
    p->in_call = 0;
}

static void on_tick(uv_timer_t *t)
{
    send_one(t->data);
}

static void on_wake(uv_timer_t *t)
{
    *(int *)t->data = 1;
}

/* Runs the loop, sending a query every tick_ms (0: none), until cond(p) or `ms` pass. */
static int probe_until(uv_loop_t *loop, probe_t *p, int tick_ms, int (*cond)(const probe_t *), uint64_t ms)
{
    uv_timer_t tick, limit;
    int expired = 0;

    uv_timer_init(loop, &tick);
    uv_timer_init(loop, &limit);
    tick.data = p;
    limit.data = &expired;
    if (tick_ms)
        uv_timer_start(&tick, on_tick, 0, (uint64_t)tick_ms);
    uv_timer_start(&limit, on_wake, ms, 0);
    while (!cond(p) && !expired)
        uv_run(loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&tick, NULL);
    uv_close((uv_handle_t *)&limit, NULL);
    uv_run(loop, UV_RUN_NOWAIT);
    return cond(p);
}

static int got_ok(const probe_t *p)
{
    return p->ok > 0;
}

static int got_fast_failure(const probe_t *p)
{
    return p->sync_unavailable > 0;
}

static int answered(const probe_t *p)
{
    return p->calls > 0;
}

static void on_done(void *arg)
{
    *(int *)arg = 1;
}

/* pg_ctl refuses to run as root: run it as the owner of PGDATA then. */
static int pg_ctl(const char *action)
{
    const char *bin = getenv("PG_CTL"), *data = getenv("PGDATA");
    char cmd[2048], prefix[128] = "";
    struct stat st;

    REQUIRE(stat(data, &st) == 0);
    if (geteuid() == 0) {
        struct passwd *pw = getpwuid(st.st_uid);
        REQUIRE(pw != NULL);
        snprintf(prefix, sizeof(prefix), "runuser -u '%s' -- ", pw->pw_name);
    }
    /* restart on a stopped server starts it with the options it last ran with (postmaster.opts) */
    snprintf(cmd, sizeof(cmd), "cd / && %s'%s' -D '%s' -l '%s/server.log' -m fast -w %s >/dev/null 2>&1", prefix, bin,
             data, data, action);
    return system(cmd);
}

int main(void)
{
    const char *url = getenv("DATABASE_URL");
    uv_loop_t loop;
    db_stmts_t *stmts = db_stmts_new();
    char app[64];
    int done = 0;

    REQUIRE(url != NULL && *url);
    REQUIRE(getenv("PG_CTL") != NULL && getenv("PGDATA") != NULL);
    REQUIRE(db_stmts_add(stmts, &s_add) == 0);
    REQUIRE(uv_loop_init(&loop) == 0);
    snprintf(app, sizeof(app), "hs_test_restart_%d", (int)getpid());
    db_pool_config_t conf = {url, 2, 16, 16, 2000, 1000, app};
    db_pool_t *pool = db_pool_new(&loop, &conf, stmts);
    REQUIRE(pool != NULL);

    probe_t up = {.pool = pool};
    CHECK(probe_until(&loop, &up, 20, got_ok, 5000));

    CHECK_INT(pg_ctl("stop"), 0);
    /* Sent before the pool noticed: its connection is gone, it fails as unavailable. */
    probe_t first = {.pool = pool};
    send_one(&first);
    CHECK(probe_until(&loop, &first, 0, answered, 3000));
    CHECK_INT(first.calls, 1);
    CHECK_INT(first.unavailable, 1);
    /* Once the reconnects fail, queries are refused at once rather than left to time out. */
    probe_t down = {.pool = pool};
    CHECK(probe_until(&loop, &down, 20, got_fast_failure, 3000));
    CHECK_INT(down.ok, 0);
    CHECK_INT(down.other, 0);

    CHECK_INT(pg_ctl("restart"), 0);
    probe_t back = {.pool = pool};
    CHECK(probe_until(&loop, &back, 20, got_ok, 15000)); /* the backoff is at most 5 s */
    CHECK_INT(back.other, 0);

    db_pool_close(pool, on_done, &done);
    while (!done)
        uv_run(&loop, UV_RUN_ONCE);
    CHECK_INT(uv_loop_close(&loop), 0);
    db_stmts_free(stmts);
    return check_done("test_db_restart");
}
