/* A per-thread Redis connection: hiredis 0.14 async on the thread's uv loop, plus what that
 * version lacks: per-command timeouts, reconnect with backoff, fail-fast while down, and cancel.
 *
 * Ownership: hiredis owns the context and frees it on disconnect, calling every pending command
 * back with reply == NULL first; c->ac is cleared before any context is let go, so a callback from
 * a context that is no longer c->ac is recognised as stale. A command's memory is freed when
 * hiredis calls it back, whatever happened to its caller before. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "db/log.h"
#include "db/redis.h"
#include "db/redis_uv.h"
#include "db/timing.h"

enum {
    CONNECT_TIMEOUT_MS = 2000, /* connect, AUTH and SELECT */
    STUCK_MIN_MS = 1000,       /* see on_deadline */
};

enum { STATE_DOWN, STATE_CONNECTING, STATE_READY };

struct redis_client {
    redis_uv_owner_t owner; /* what ac->data points at */
    uv_loop_t *loop;
    char *host, *user, *password; /* one allocation, host first */
    int port, db;
    redisAsyncContext *ac; /* the current connection; NULL while down */
    int state;
    unsigned setup_pending; /* AUTH and SELECT replies still to come */
    unsigned failures;      /* consecutive failed attempts: the backoff */
    unsigned outstanding;   /* commands sent on ac and not answered yet */
    uint64_t progress_at;   /* last reply, or when a command went out with none outstanding */
    uint64_t rng;
    uv_timer_t timer; /* connect timeout while connecting, backoff while down */
    db_deadlines_t deadlines;
    unsigned handles; /* our timers and the adapters' poll handles not closed yet */
    int closing;
    void (*done)(void *arg);
    void *done_arg;
};

struct redis_cmd {
    db_deadline_t deadline;
    redis_client_t *client;
    redisAsyncContext *ac; /* sent on */
    redis_reply_cb cb;
    void *arg;
    uint64_t timeout_ms;
    unsigned char detached; /* answered (timeout) or cancelled: the reply is dropped */
    unsigned char expired;
};

static void on_timer(uv_timer_t *t);

static redis_client_t *client_of(const redisAsyncContext *ac)
{
    return db_container_of(ac->data, redis_client_t, owner);
}

static void handle_closed(redis_client_t *c)
{
    if (--c->handles > 0 || !c->closing)
        return;
    void (*done)(void *) = c->done;
    void *arg = c->done_arg;
    free(c->host);
    free(c);
    if (done != NULL)
        done(arg);
}

static void on_closed(uv_handle_t *h)
{
    handle_closed(h->data);
}

static void on_ac_closed(redis_uv_owner_t *owner)
{
    handle_closed(db_container_of(owner, redis_client_t, owner));
}

/* Forgets the current context (if any) and schedules the next attempt. */
static void went_down(redis_client_t *c)
{
    c->ac = NULL;
    c->state = STATE_DOWN;
    c->setup_pending = c->outstanding = 0;
    c->failures++;
    uv_timer_start(&c->timer, on_timer, db_backoff_ms(c->failures, &c->rng), 0);
}

/* Lets go of the current connection ourselves. Freeing the context answers its pending commands
 * with NULL, now, or once the hiredis callback we may be in returns. */
static void drop(redis_client_t *c, const char *why)
{
    redisAsyncContext *ac = c->ac;

    db_log_warn("redis %s:%d: %s", c->host, c->port, why);
    went_down(c);
    redisAsyncFree(ac);
}

static void ready(redis_client_t *c)
{
    c->state = STATE_READY;
    c->failures = 0;
    c->progress_at = uv_now(c->loop);
    uv_timer_stop(&c->timer);
}

static void on_setup(redisAsyncContext *ac, void *reply, void *privdata)
{
    redis_client_t *c = client_of(ac);
    redisReply *r = reply;
    char why[256];

    (void)privdata;
    if (ac != c->ac) /* a connection already dropped */
        return;
    if (r == NULL || r->type == REDIS_REPLY_ERROR) {
        snprintf(why, sizeof(why), "AUTH/SELECT refused: %s", r != NULL ? r->str : "no reply");
        drop(c, why);
    } else if (--c->setup_pending == 0) {
        ready(c);
    }
}

/* hiredis 0.14 runs this outside its callback guard: freeing the context here would be a use after
 * free in hiredis, so failures here only forget it (hiredis frees it after a failed connect). */
static void on_connect(const redisAsyncContext *ac, int status)
{
    redis_client_t *c = client_of(ac);
    char db[16];

    if (status != REDIS_OK) {
        db_log_warn("redis %s:%d: connect failed: %s", c->host, c->port, ac->errstr);
        went_down(c);
        return;
    }
    if (c->password != NULL) { /* AUTH [user] password */
        const char *argv[3] = {"AUTH", c->user ? c->user : c->password, c->password};
        redisAsyncCommandArgv(c->ac, on_setup, NULL, c->user ? 3 : 2, argv, NULL);
        c->setup_pending++;
    }
    if (c->db != 0) {
        snprintf(db, sizeof(db), "%d", c->db);
        const char *argv[2] = {"SELECT", db};
        redisAsyncCommandArgv(c->ac, on_setup, NULL, 2, argv, NULL);
        c->setup_pending++;
    }
    if (c->setup_pending == 0)
        ready(c);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    redis_client_t *c = client_of(ac);

    (void)status;
    if (ac != c->ac) /* dropped by us: handled already */
        return;
    db_log_warn("redis %s:%d: connection lost: %s", c->host, c->port, ac->errstr ? ac->errstr : "closed");
    went_down(c);
}

static void connect_start(redis_client_t *c)
{
    redisAsyncContext *ac = redisAsyncConnect(c->host, c->port);

    c->state = STATE_CONNECTING;
    if (ac == NULL || ac->err || redis_uv_attach(ac, c->loop, &c->owner) < 0) {
        db_log_warn("redis %s:%d: connect failed: %s", c->host, c->port, ac != NULL ? ac->errstr : "out of memory");
        if (ac != NULL)
            redisAsyncFree(ac);
        went_down(c);
        return;
    }
    c->handles++; /* the adapter's poll handle, until on_ac_closed */
    c->ac = ac;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    uv_timer_start(&c->timer, on_timer, CONNECT_TIMEOUT_MS, 0);
}

static void on_timer(uv_timer_t *t)
{
    redis_client_t *c = t->data;

    if (c->state == STATE_DOWN)
        connect_start(c);
    else
        drop(c, "connect timed out");
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata)
{
    redis_cmd_t *cmd = privdata;
    redis_client_t *c = cmd->client;

    if (ac == c->ac) {
        c->outstanding--;
        if (reply != NULL)
            c->progress_at = uv_now(c->loop);
    }
    db_deadline_clear(&cmd->deadline);
    if (!cmd->detached) {
        cmd->detached = 1;
        cmd->cb(cmd->arg, reply);
    }
    free(cmd);
}

/* First expiry: the caller gets NULL, the late reply will be dropped. Second expiry, max(timeout,
 * 1 s) later with the command still unanswered: if nothing at all came back on the connection in
 * that time, it is dead (the libuv adapter ignores socket errors, so hiredis may never notice). */
static void on_deadline(db_deadlines_t *dl, db_deadline_t *d)
{
    redis_client_t *c = db_container_of(dl, redis_client_t, deadlines);
    redis_cmd_t *cmd = db_container_of(d, redis_cmd_t, deadline);
    uint64_t now = uv_now(c->loop), grace = cmd->timeout_ms > STUCK_MIN_MS ? cmd->timeout_ms : STUCK_MIN_MS;

    if (!cmd->expired) {
        cmd->expired = 1;
        db_deadline_set(dl, d, now + grace);
        if (!cmd->detached) {
            cmd->detached = 1;
            cmd->cb(cmd->arg, NULL);
        }
        return;
    }
    if (cmd->ac != c->ac) /* its connection is gone already; hiredis calls it back */
        return;
    if (now - c->progress_at >= grace)
        drop(c, "no reply: the connection looks dead");
    else
        db_deadline_set(dl, d, c->progress_at + grace);
}

redis_cmd_t *redis_client_command(redis_client_t *c, uint64_t timeout_ms, redis_reply_cb cb, void *arg, int argc,
                                  const char **argv, const size_t *argvlen)
{
    redis_cmd_t *cmd = NULL;

    if (c->state == STATE_READY && (cmd = calloc(1, sizeof(*cmd))) != NULL) {
        db_deadline_init(&cmd->deadline);
        cmd->client = c;
        cmd->ac = c->ac;
        cmd->cb = cb;
        cmd->arg = arg;
        cmd->timeout_ms = timeout_ms;
        if (redisAsyncCommandArgv(c->ac, on_reply, cmd, argc, argv, argvlen) != REDIS_OK) {
            free(cmd); /* the context is going away: hiredis refuses new commands */
            cmd = NULL;
        }
    }
    if (cmd == NULL) {
        cb(arg, NULL);
        return NULL;
    }
    if (c->outstanding++ == 0)
        c->progress_at = uv_now(c->loop);
    if (timeout_ms != 0)
        db_deadline_set(&c->deadlines, &cmd->deadline, uv_now(c->loop) + timeout_ms);
    return cmd;
}

void redis_cmd_cancel(redis_cmd_t *cmd)
{
    cmd->detached = 1; /* freed when hiredis calls it back; its deadline still guards the connection */
}

int redis_client_connected(const redis_client_t *c)
{
    return c->state == STATE_READY;
}

static int hex_digit(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* Copies src[0..n) to dst undoing %XX escapes (a password may hold '@' or ':'); -1 on a bad one. */
static int percent_decode(char *dst, const char *src, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (src[i] != '%') {
            *dst++ = src[i];
            continue;
        }
        if (i + 2 >= n || hex_digit(src[i + 1]) < 0 || hex_digit(src[i + 2]) < 0)
            return -1;
        *dst++ = (char)(hex_digit(src[i + 1]) * 16 + hex_digit(src[i + 2]));
        i += 2;
    }
    *dst = '\0';
    return 0;
}

/* Digits only, within [min, max]; -1 otherwise. */
static long parse_number(const char *s, const char *end, long min, long max)
{
    long v = 0;

    if (s == end)
        return -1;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9' || v > max)
            return -1;
        v = v * 10 + (*s - '0');
    }
    return v >= min && v <= max ? v : -1;
}

/* redis://[[user]:password@]host[:port][/db] into c's fields. One allocation at c->host: the host,
 * then the user and the password. */
static int parse_url(redis_client_t *c, const char *url)
{
    size_t n = strlen(url);
    const char *p, *end, *at, *host_end, *after;
    char *buf;
    long v;

    if (strncmp(url, "redis://", 8) != 0 || (buf = malloc(2 * (n + 1))) == NULL)
        return -1;
    c->host = buf;
    p = url + 8;
    end = p + strcspn(p, "/?#");
    at = memchr(p, '@', (size_t)(end - p));
    if (at != NULL) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (colon == NULL) /* a user without a password gives AUTH nothing to send */
            return -1;
        char *user = buf + n + 1, *password = user + (colon - p) + 1;
        if (percent_decode(user, p, (size_t)(colon - p)) < 0 ||
            percent_decode(password, colon + 1, (size_t)(at - colon - 1)) < 0)
            return -1;
        c->user = *user ? user : NULL;
        c->password = password;
        p = at + 1;
    }
    if (*p == '[') { /* [ipv6] */
        if ((host_end = memchr(p, ']', (size_t)(end - p))) == NULL)
            return -1;
        after = host_end + 1;
        p++;
    } else {
        host_end = after = p + strcspn(p, ":/?#");
    }
    if (host_end == p)
        return -1;
    memcpy(buf, p, (size_t)(host_end - p));
    buf[host_end - p] = '\0';
    c->port = 6379;
    if (*after == ':' && (v = parse_number(after + 1, end, 1, 65535)) > 0)
        c->port = (int)v;
    else if (after != end)
        return -1;
    if (*end == '/' && end[1] != '\0') {
        if ((v = parse_number(end + 1, end + strlen(end), 0, 1 << 20)) < 0)
            return -1;
        c->db = (int)v;
    } else if (*end != '\0' && strcmp(end, "/") != 0) {
        return -1;
    }
    return 0;
}

redis_client_t *redis_client_new(uv_loop_t *loop, const char *url)
{
    redis_client_t *c = calloc(1, sizeof(*c));

    if (c == NULL)
        return NULL;
    if (parse_url(c, url) < 0) {
        free(c->host);
        free(c);
        return NULL;
    }
    c->owner.closed = on_ac_closed;
    c->loop = loop;
    c->rng = db_backoff_seed(c);
    uv_timer_init(loop, &c->timer);
    c->timer.data = c;
    db_deadlines_init(loop, &c->deadlines, on_deadline);
    c->deadlines.timer.data = c;
    c->handles = 2;
    connect_start(c);
    return c;
}

void redis_client_close(redis_client_t *c, void (*done)(void *arg), void *arg)
{
    redisAsyncContext *ac = c->ac;

    if (c->closing)
        return;
    c->closing = 1;
    c->done = done;
    c->done_arg = arg;
    c->ac = NULL;
    c->state = STATE_DOWN;
    uv_close((uv_handle_t *)&c->timer, on_closed);
    uv_close((uv_handle_t *)&c->deadlines.timer, on_closed);
    if (ac != NULL)
        redisAsyncFree(ac); /* pending commands get NULL; the adapter's handle closes after */
}
