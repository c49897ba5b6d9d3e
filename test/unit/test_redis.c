/* The Redis client against a real server (REDIS_URL): commands, SELECT, AUTH failure, timeouts with
 * the late reply dropped, cancel, reconnect after the server kills the connection, fail-fast while
 * down, and a clean close. Keys are prefixed with the pid; only our own connections are killed. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>
#include "db/redis.h"
#include "test/support/check.h"
#include "test/support/loop.h"

typedef struct rreply {
    int calls;
    int null;
    int type;
    char str[128];
    size_t len;
    long long integer;
    uint64_t at;
    int sync; /* answered before redis_client_command returned */
    int in_call;
    uv_loop_t *loop;
    /* on a failure callback, send this client one more command and record it here */
    redis_client_t *then;
    struct rreply *then_reply;
} rreply_t;

typedef struct env {
    uv_loop_t loop;
    const char *url;
    char key[64];
} env_t;

static redis_cmd_t *command(redis_client_t *c, rreply_t *r, uint64_t timeout_ms, ...);

static void on_reply(void *arg, const redisReply *reply)
{
    rreply_t *r = arg;

    r->calls++;
    r->sync = r->in_call;
    r->at = uv_now(r->loop);
    r->null = reply == NULL;
    r->str[0] = '\0';
    r->len = 0;
    if (reply != NULL) {
        r->type = reply->type;
        r->integer = reply->integer;
        if (reply->str != NULL) {
            r->len = reply->len;
            memcpy(r->str, reply->str, reply->len < sizeof(r->str) ? reply->len : sizeof(r->str) - 1);
        }
    } else if (r->then != NULL) {
        command(r->then, r->then_reply, 1000, "PING", NULL);
    }
}

/* Sends the NULL-terminated words as one command. */
static redis_cmd_t *command(redis_client_t *c, rreply_t *r, uint64_t timeout_ms, ...)
{
    const char *argv[8];
    int argc = 0;
    va_list ap;

    va_start(ap, timeout_ms);
    while (argc < 8 && (argv[argc] = va_arg(ap, const char *)) != NULL)
        argc++;
    va_end(ap);
    r->in_call = 1;
    redis_cmd_t *cmd = redis_client_command(c, timeout_ms, on_reply, r, argc, argv, NULL);
    r->in_call = 0;
    return cmd;
}



static int answered(void *arg)
{
    return ((rreply_t *)arg)->calls > 0;
}

static int connected(void *arg)
{
    return redis_client_connected(arg);
}

static int flag_set(void *arg)
{
    return *(int *)arg;
}

static void on_done(void *arg)
{
    *(int *)arg = 1;
}

static redis_client_t *open_client(env_t *env, const char *url)
{
    redis_client_t *c = redis_client_new(&env->loop, url);
    REQUIRE(c != NULL);
    REQUIRE(ts_run_until(&env->loop, connected, c, 3000));
    return c;
}

static void close_client(env_t *env, redis_client_t *c)
{
    int done = 0;
    redis_client_close(c, on_done, &done);
    CHECK(ts_run_until(&env->loop, flag_set, &done, 3000));
}

/* Sends one command and waits for its reply. */
static void roundtrip(env_t *env, redis_client_t *c, rreply_t *r, ...)
{
    const char *argv[8];
    int argc = 0;
    va_list ap;

    memset(r, 0, sizeof(*r));
    r->loop = &env->loop;
    va_start(ap, r);
    while (argc < 8 && (argv[argc] = va_arg(ap, const char *)) != NULL)
        argc++;
    va_end(ap);
    redis_client_command(c, 2000, on_reply, r, argc, argv, NULL);
    CHECK(ts_run_until(&env->loop, answered, r, 3000));
}

/* REDIS_URL with its /db (if any) replaced */
static void url_with_db(const char *url, int db, char *out, size_t size)
{
    const char *authority = strstr(url, "//");
    size_t n = authority ? (size_t)(authority + 2 - url) + strcspn(authority + 2, "/") : strlen(url);
    snprintf(out, size, "%.*s/%d", (int)n, url, db);
}

static void test_urls(env_t *env)
{
    const char *bad[] = {"http://127.0.0.1", "redis://", "redis://:pw@", "redis://host:0", "redis://host:65536",
                         "redis://host:12ab", "redis://host/abc", "redis://host/1?x=1", "redis://user@host",
                         "redis://:%zz@host", "redis://[::1", "redis:/host"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        redis_client_t *c = redis_client_new(&env->loop, bad[i]);
        if (c != NULL)
            fprintf(stderr, "accepted %s\n", bad[i]);
        CHECK(c == NULL);
    }
    const char *good[] = {"redis://127.0.0.1:1", "redis://:p%40ss@127.0.0.1:1/2", "redis://user:pw@127.0.0.1:1/",
                          "redis://[::1]:1"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        redis_client_t *c = redis_client_new(&env->loop, good[i]);
        CHECK(c != NULL);
        if (c != NULL)
            close_client(env, c);
    }
}

static void test_commands(env_t *env)
{
    redis_client_t *c = open_client(env, env->url);
    rreply_t r;
    const char value[] = "a\0b";

    roundtrip(env, c, &r, "PING", NULL);
    CHECK_INT(r.type, REDIS_REPLY_STATUS);
    CHECK_STR(r.str, "PONG");

    /* binary-safe arguments */
    const char *argv[3] = {"SET", env->key, value};
    const size_t lens[3] = {3, strlen(env->key), 3};
    memset(&r, 0, sizeof(r));
    r.loop = &env->loop;
    CHECK(redis_client_command(c, 2000, on_reply, &r, 3, argv, lens) != NULL);
    CHECK(ts_run_until(&env->loop, answered, &r, 3000));
    CHECK_STR(r.str, "OK");
    roundtrip(env, c, &r, "GET", env->key, NULL);
    CHECK_INT(r.type, REDIS_REPLY_STRING);
    CHECK_INT(r.len, 3);
    CHECK(memcmp(r.str, value, 3) == 0);
    roundtrip(env, c, &r, "DEL", env->key, NULL);
    CHECK_INT(r.integer, 1);
    roundtrip(env, c, &r, "NO_SUCH_COMMAND", NULL);
    CHECK_INT(r.type, REDIS_REPLY_ERROR); /* a reply, not a failure */
    CHECK(redis_client_connected(c));
    close_client(env, c);
}

static void test_select(env_t *env)
{
    char url3[512];
    rreply_t r;

    url_with_db(env->url, 3, url3, sizeof(url3));
    redis_client_t *c0 = open_client(env, env->url), *c3 = open_client(env, url3);
    roundtrip(env, c3, &r, "SET", env->key, "three", NULL);
    CHECK_STR(r.str, "OK");
    roundtrip(env, c3, &r, "GET", env->key, NULL);
    CHECK_STR(r.str, "three");
    roundtrip(env, c0, &r, "EXISTS", env->key, NULL);
    CHECK_INT(r.integer, 0);
    roundtrip(env, c3, &r, "DEL", env->key, NULL);
    close_client(env, c0);
    close_client(env, c3);
}

/* Nothing listens, or AUTH is refused: never connected, and commands fail before they return. */
static void test_fail_fast(env_t *env)
{
    char bad_auth[512];
    const char *authority = strstr(env->url, "//") + 2, *at = strchr(authority, '@');
    rreply_t r = {.loop = &env->loop};

    redis_client_t *c = redis_client_new(&env->loop, "redis://127.0.0.1:1");
    REQUIRE(c != NULL);
    /* hiredis's adapter ignores the refused connect; our connect timeout (2 s) ends the attempt */
    ts_run_until(&env->loop, NULL, NULL, 2300);
    CHECK(!redis_client_connected(c));
    CHECK(command(c, &r, 1000, "PING", NULL) == NULL);
    CHECK_INT(r.calls, 1);
    CHECK(r.null && r.sync);
    close_client(env, c);

    snprintf(bad_auth, sizeof(bad_auth), "redis://:surely-not-the-password@%s", at ? at + 1 : authority);
    c = redis_client_new(&env->loop, bad_auth);
    REQUIRE(c != NULL);
    ts_run_until(&env->loop, NULL, NULL, 300);
    CHECK(!redis_client_connected(c));
    memset(&r, 0, sizeof(r));
    r.loop = &env->loop;
    CHECK(command(c, &r, 1000, "PING", NULL) == NULL);
    CHECK(r.null && r.sync);
    close_client(env, c);
}

static void test_timeout(env_t *env)
{
    redis_client_t *c = open_client(env, env->url);
    rreply_t blocked = {.loop = &env->loop}, id1, id2, ping;

    roundtrip(env, c, &id1, "CLIENT", "ID", NULL);
    uint64_t start = uv_now(&env->loop);
    CHECK(command(c, &blocked, 100, "BLPOP", env->key, "1", NULL) != NULL); /* the server answers nil after 1 s */
    CHECK(ts_run_until(&env->loop, answered, &blocked, 2000));
    CHECK(blocked.null);
    CHECK(blocked.at - start >= 90 && blocked.at - start < 900);
    ts_run_until(&env->loop, NULL, NULL, 1300); /* the late nil comes and is dropped */
    CHECK_INT(blocked.calls, 1);
    roundtrip(env, c, &ping, "PING", NULL);
    CHECK_STR(ping.str, "PONG");
    roundtrip(env, c, &id2, "CLIENT", "ID", NULL);
    CHECK_INT(id2.integer, id1.integer); /* the same connection all along */
    close_client(env, c);
}

/* A command unanswered for its timeout and then a further max(timeout, 1 s) with no reply at all
 * on the connection: the connection is taken for dead, dropped and re-opened. (A BLPOP blocking
 * longer than its client timeout looks just like that.) */
static void test_stuck(env_t *env)
{
    redis_client_t *c = open_client(env, env->url);
    rreply_t id1, id2, blocked = {.loop = &env->loop}, behind = {.loop = &env->loop};

    roundtrip(env, c, &id1, "CLIENT", "ID", NULL);
    uint64_t start = uv_now(&env->loop);
    command(c, &blocked, 100, "BLPOP", env->key, "5", NULL);
    command(c, &behind, 10000, "PING", NULL);
    CHECK(ts_run_until(&env->loop, answered, &behind, 6000));
    CHECK(blocked.null);
    CHECK(behind.null);
    CHECK(behind.at - start >= 1000 && behind.at - start < 4000); /* not at 5 s */
    CHECK(ts_run_until(&env->loop, connected, c, 3000));
    roundtrip(env, c, &id2, "CLIENT", "ID", NULL);
    CHECK(id2.integer != id1.integer);
    close_client(env, c);
}

static void test_cancel(env_t *env)
{
    redis_client_t *c = open_client(env, env->url);
    rreply_t set = {.loop = &env->loop}, blocked = {.loop = &env->loop}, get;
    char list[80];

    snprintf(list, sizeof(list), "%s:list", env->key);
    redis_cmd_t *cmd = command(c, &set, 1000, "SET", env->key, "v", NULL);
    REQUIRE(cmd != NULL);
    redis_cmd_cancel(cmd); /* the caller is gone; the command itself still runs */
    cmd = command(c, &blocked, 0, "BLPOP", list, "0.3", NULL);
    REQUIRE(cmd != NULL);
    redis_cmd_cancel(cmd);
    roundtrip(env, c, &get, "GET", env->key, NULL);
    CHECK_STR(get.str, "v");
    ts_run_until(&env->loop, NULL, NULL, 400);
    CHECK_INT(set.calls, 0);
    CHECK_INT(blocked.calls, 0);
    roundtrip(env, c, &get, "DEL", env->key, NULL);
    close_client(env, c);
}

static int pinged_ok(void *arg)
{
    rreply_t *r = arg;
    return r->calls > 0 && !r->null;
}

/* The server kills our connection: what was pending fails at once, commands fail fast while down,
 * and the client reconnects by itself. */
static void test_reconnect(env_t *env)
{
    redis_client_t *c = open_client(env, env->url), *killer = open_client(env, env->url);
    rreply_t id1, id2, kill, blocked = {.loop = &env->loop}, during = {.loop = &env->loop}, ping;
    char id[32];

    roundtrip(env, c, &id1, "CLIENT", "ID", NULL);
    blocked.then = c;
    blocked.then_reply = &during;
    CHECK(command(c, &blocked, 6000, "BLPOP", env->key, "5", NULL) != NULL);
    ts_run_until(&env->loop, NULL, NULL, 50);
    snprintf(id, sizeof(id), "%lld", id1.integer);
    uint64_t start = uv_now(&env->loop);
    roundtrip(env, killer, &kill, "CLIENT", "KILL", "ID", id, NULL);
    CHECK_INT(kill.integer, 1);
    CHECK(ts_run_until(&env->loop, answered, &blocked, 2000));
    CHECK(blocked.null);
    CHECK(blocked.at - start < 1000);
    /* sent from that callback, while the connection was down: failed before returning */
    CHECK_INT(during.calls, 1);
    CHECK(during.null && during.sync);

    for (int i = 0; i < 100; i++) { /* bounded: the first reconnect is immediate */
        memset(&ping, 0, sizeof(ping));
        ping.loop = &env->loop;
        command(c, &ping, 500, "PING", NULL);
        if (ts_run_until(&env->loop, pinged_ok, &ping, 30))
            break;
        ts_run_until(&env->loop, NULL, NULL, 20);
    }
    CHECK(pinged_ok(&ping));
    roundtrip(env, c, &id2, "CLIENT", "ID", NULL);
    CHECK(id2.integer != id1.integer);
    close_client(env, c);
    close_client(env, killer);
}

static void test_close_pending(env_t *env)
{
    redis_client_t *c = open_client(env, env->url);
    rreply_t blocked = {.loop = &env->loop};
    int done = 0;

    CHECK(command(c, &blocked, 6000, "BLPOP", env->key, "5", NULL) != NULL);
    ts_run_until(&env->loop, NULL, NULL, 50);
    redis_client_close(c, on_done, &done);
    CHECK_INT(blocked.calls, 1);
    CHECK(blocked.null);
    CHECK_INT(done, 0); /* only once the handles are closed */
    CHECK(ts_run_until(&env->loop, flag_set, &done, 2000));
}

int main(void)
{
    env_t env = {0};

    env.url = getenv("REDIS_URL");
    REQUIRE(env.url != NULL && *env.url);
    REQUIRE(strncmp(env.url, "redis://", 8) == 0);
    snprintf(env.key, sizeof(env.key), "hs_test_redis_%d", (int)getpid());
    REQUIRE(uv_loop_init(&env.loop) == 0);

    test_urls(&env);
    test_commands(&env);
    test_select(&env);
    test_fail_fast(&env);
    test_timeout(&env);
    test_stuck(&env);
    test_cancel(&env);
    test_reconnect(&env);
    test_close_pending(&env);

    CHECK_INT(uv_loop_close(&env.loop), 0);
    return check_done("test_redis");
}
