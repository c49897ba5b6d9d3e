/* The HTTP client against a scripted HTTP/1.1 server on a thread of this test: bodies, statuses,
 * errors and timeouts, streaming with pause/resume, cancel and close at awkward moments. */
#define _GNU_SOURCE /* memmem */
#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>
#include "base/httpc.h"
#include "test/support/check.h"

#define MAX_CONNS 1024
#define BIG_LEN (2u << 20)
#define STREAM_LEN (512u << 10)
#define WAIT_MS 5000 /* upper bound for anything that should happen "soon" on a loaded 2-core box */

/* ---- the scripted server ---- */

typedef struct server {
    int lfd, port;
    int stop[2]; /* readable once the test is over: every wait in the server also polls it */
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_t conns[MAX_CONNS];
    int nconns;
    atomic_int accepted, hang_started, hang_closed, early_closed;
    char *pattern; /* BIG_LEN deterministic bytes for the large bodies */
} server_t;

typedef struct conn {
    server_t *s;
    int fd;
    size_t len;
    char buf[65536];
} conn_t;

typedef struct request {
    char method[16];
    char path[1024];
    char *head; /* request line and headers as received */
    size_t head_len;
    char *body;
    size_t body_len;
} request_t;

static const char *const trickle_parts[] = {"data: one\n\n", "data: two\n\n", "data: three\n\n", "data: four\n\n",
                                            "data: five\n\n", NULL};
static const char *const chunked_parts[] = {"alpha,", "beta,", "gamma,", "delta", NULL};

/* 1: fd ready, 0: timed out, -1: the server is stopping. */
static int wait_fd(server_t *s, int fd, short events, int ms)
{
    struct pollfd p[2] = {{.fd = s->stop[0], .events = POLLIN}, {.fd = fd, .events = events}};
    int n = poll(p, fd >= 0 ? 2 : 1, ms);
    if (n < 0 || (p[0].revents & POLLIN))
        return -1;
    return n > 0;
}

static int pause_ms(server_t *s, int ms)
{
    return wait_fd(s, -1, 0, ms) < 0 ? -1 : 0;
}

static int write_all(server_t *s, int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        if (wait_fd(s, fd, POLLOUT, -1) <= 0)
            return -1;
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fill(conn_t *c)
{
    if (c->len == sizeof(c->buf) || wait_fd(c->s, c->fd, POLLIN, -1) <= 0)
        return -1;
    ssize_t n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
    if (n <= 0)
        return -1;
    c->len += (size_t)n;
    return 0;
}

/* Reads one request (Content-Length bodies only: that is what the client sends). */
static int read_request(conn_t *c, request_t *q)
{
    char *end;
    memset(q, 0, sizeof(*q));
    while ((end = memmem(c->buf, c->len, "\r\n\r\n", 4)) == NULL)
        if (fill(c) != 0)
            return -1;
    size_t head_len = (size_t)(end - c->buf) + 4;
    if ((q->head = strndup(c->buf, head_len)) == NULL)
        return -1;
    q->head_len = head_len;
    if (sscanf(q->head, "%15s %1023s", q->method, q->path) != 2)
        return -1;
    size_t cl = 0;
    for (char *h = strstr(q->head, "\r\n"); h != NULL && h[2] != '\r'; h = strstr(h + 2, "\r\n"))
        if (strncasecmp(h + 2, "Content-Length:", 15) == 0)
            cl = strtoul(h + 17, NULL, 10);
    if (cl > (1u << 20) || (q->body = malloc(cl + 1)) == NULL)
        return -1;
    memmove(c->buf, c->buf + head_len, c->len - head_len);
    c->len -= head_len;
    while (c->len < cl)
        if (fill(c) != 0)
            return -1;
    memcpy(q->body, c->buf, cl);
    q->body[cl] = '\0';
    q->body_len = cl;
    memmove(c->buf, c->buf + cl, c->len - cl);
    c->len -= cl;
    return 0;
}

static int respond(server_t *s, int fd, const char *status, const char *body, size_t len)
{
    char head[256];
    int n = snprintf(head, sizeof(head), "HTTP/1.1 %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n\r\n",
                     status, len);
    return write_all(s, fd, head, (size_t)n) == 0 && write_all(s, fd, body, len) == 0 ? 0 : -1;
}

/* Waits for the client to go away (EOF or reset), or for the end of the test. */
static void hang(server_t *s, int fd)
{
    char tmp[512];
    atomic_fetch_add(&s->hang_started, 1);
    while (wait_fd(s, fd, POLLIN, -1) > 0)
        if (read(fd, tmp, sizeof(tmp)) <= 0) {
            atomic_fetch_add(&s->hang_closed, 1);
            return;
        }
}

static int path_is(const request_t *q, const char *p)
{
    size_t n = strcspn(q->path, "?");
    return strlen(p) == n && strncmp(q->path, p, n) == 0;
}

/* Serves one request; 0 keeps the connection open for the next one. A response after which the
 * server closes says "Connection: close", or the client could race to reuse a dead connection. */
static int serve(server_t *s, int fd, request_t *q)
{
    char head[256];
    if (path_is(q, "/json")) {
        const char *b = "{\"keys\":[{\"kid\":\"k1\"}]}";
        return respond(s, fd, "200 OK", b, strlen(b));
    }
    if (path_is(q, "/echo")) {
        size_t len = q->head_len + q->body_len;
        char *b = malloc(len);
        if (b == NULL)
            return -1;
        memcpy(b, q->head, q->head_len);
        memcpy(b + q->head_len, q->body, q->body_len);
        int rc = respond(s, fd, "200 OK", b, len);
        free(b);
        return rc;
    }
    if (path_is(q, "/trickle")) {
        size_t total = 0;
        for (int i = 0; trickle_parts[i] != NULL; i++)
            total += strlen(trickle_parts[i]);
        int n = snprintf(head, sizeof(head),
                         "HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nConnection: close\r\n"
                         "Content-Length: %zu\r\n\r\n",
                         total);
        if (write_all(s, fd, head, (size_t)n) != 0)
            return -1;
        for (int i = 0; trickle_parts[i] != NULL; i++)
            if (pause_ms(s, 40) != 0 || write_all(s, fd, trickle_parts[i], strlen(trickle_parts[i])) != 0) {
                atomic_fetch_add(&s->early_closed, 1);
                return -1;
            }
        return -1;
    }
    if (path_is(q, "/chunked")) {
        const char *h = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        if (write_all(s, fd, h, strlen(h)) != 0)
            return -1;
        for (int i = 0; chunked_parts[i] != NULL; i++) {
            int n = snprintf(head, sizeof(head), "%zx\r\n%s\r\n", strlen(chunked_parts[i]), chunked_parts[i]);
            if (pause_ms(s, 30) != 0 || write_all(s, fd, head, (size_t)n) != 0)
                return -1;
        }
        write_all(s, fd, "0\r\n\r\n", 5);
        return -1;
    }
    if (path_is(q, "/hang")) {
        hang(s, fd);
        return -1;
    }
    if (path_is(q, "/headonly")) {
        const char *h = "HTTP/1.1 200 OK\r\nContent-Length: 10\r\nConnection: close\r\n\r\n";
        if (write_all(s, fd, h, strlen(h)) == 0)
            hang(s, fd);
        return -1;
    }
    if (path_is(q, "/big") || path_is(q, "/stream")) {
        size_t len = path_is(q, "/big") ? BIG_LEN : STREAM_LEN;
        int n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
                         len);
        if (write_all(s, fd, head, (size_t)n) != 0)
            return -1;
        for (size_t off = 0; off < len; off += 16384)
            if (write_all(s, fd, s->pattern + off, len - off < 16384 ? len - off : 16384) != 0)
                return -1;
        return -1;
    }
    if (path_is(q, "/bigchunked")) {
        const char *h = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
        if (write_all(s, fd, h, strlen(h)) != 0)
            return -1;
        for (size_t off = 0; off < BIG_LEN; off += 65536) {
            int n = snprintf(head, sizeof(head), "%x\r\n", 65536);
            if (write_all(s, fd, head, (size_t)n) != 0 || write_all(s, fd, s->pattern + off, 65536) != 0 ||
                write_all(s, fd, "\r\n", 2) != 0)
                return -1;
        }
        write_all(s, fd, "0\r\n\r\n", 5);
        return -1;
    }
    return respond(s, fd, "404 Not Found", "no such path", 12);
}

static void *conn_main(void *arg)
{
    conn_t *c = arg;
    request_t q;
    for (;;) {
        int rc = read_request(c, &q);
        if (rc == 0)
            rc = serve(c->s, c->fd, &q);
        free(q.head);
        free(q.body);
        if (rc != 0)
            break;
    }
    close(c->fd);
    free(c);
    return NULL;
}

static void *server_main(void *arg)
{
    server_t *s = arg;
    while (wait_fd(s, s->lfd, POLLIN, -1) > 0) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        atomic_fetch_add(&s->accepted, 1);
        conn_t *c = malloc(sizeof(*c));
        pthread_mutex_lock(&s->mu);
        if (c != NULL && s->nconns < MAX_CONNS) {
            c->s = s;
            c->fd = fd;
            c->len = 0;
            if (pthread_create(&s->conns[s->nconns], NULL, conn_main, c) == 0) {
                s->nconns++;
                c = NULL;
                fd = -1;
            }
        }
        pthread_mutex_unlock(&s->mu);
        free(c);
        if (fd >= 0)
            close(fd);
    }
    return NULL;
}

static void server_start(server_t *s)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    memset(s, 0, sizeof(*s));
    pthread_mutex_init(&s->mu, NULL);
    REQUIRE((s->pattern = malloc(BIG_LEN)) != NULL);
    for (size_t i = 0; i < BIG_LEN; i++)
        s->pattern[i] = (char)('a' + (i * 7 + i / 4096) % 26);
    REQUIRE(pipe(s->stop) == 0);
    REQUIRE((s->lfd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
    REQUIRE(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)) == 0);
    REQUIRE(listen(s->lfd, 128) == 0);
    REQUIRE(getsockname(s->lfd, (struct sockaddr *)&a, &alen) == 0);
    s->port = ntohs(a.sin_port);
    REQUIRE(pthread_create(&s->thread, NULL, server_main, s) == 0);
}

static void server_stop(server_t *s)
{
    REQUIRE(write(s->stop[1], "x", 1) == 1);
    pthread_join(s->thread, NULL);
    for (int i = 0; i < s->nconns; i++)
        pthread_join(s->conns[i], NULL);
    close(s->lfd);
    close(s->stop[0]);
    close(s->stop[1]);
    free(s->pattern);
    pthread_mutex_destroy(&s->mu);
}

/* ---- the client side ---- */

typedef struct env {
    uv_loop_t loop;
    uv_timer_t tick; /* keeps UV_RUN_ONCE from blocking past a wait's deadline */
    server_t srv;
    httpc_t *c;
    char url[128];
} env_t;

typedef struct result {
    atomic_int done;
    int error;
    long status;
    char text[128];
    char *body;
    size_t len;
    uint64_t at;
    uv_loop_t *loop;
    /* streaming */
    atomic_int chunks;
    char *data;
    size_t data_len;
    int verdict; /* what on_data returns */
    int paused, paused_violations, pauses;
    int no_auto_resume; /* HTTPC_PAUSE without the resume timer */
    int resume_self_in_data; /* httpc_resume(req) from on_data before returning HTTPC_PAUSE */
    long status_in_data;
    struct result *resume_in_data; /* httpc_resume(that->req) from the first on_data */
    uv_timer_t resume_timer;
    httpc_req_t *req;
    /* actions from inside callbacks */
    int cancel_self_in_data; /* httpc_cancel(req) from the first on_data */
    httpc_t *close_in_data; /* httpc_close(this) from the first on_data */
    atomic_int *closed_flag;
    httpc_req_t *cancel_in_done; /* httpc_cancel(this) from on_done */
    httpc_t *close_in_done; /* httpc_close(this) from on_done */
    struct result *spawn_in_data; /* start a /json request into this from the first on_data */
    httpc_t *spawn_client;
    const char *spawn_url;
} result_t;

static void on_tick(uv_timer_t *t)
{
    (void)t;
}

static char *url(env_t *e, const char *path)
{
    snprintf(e->url, sizeof(e->url), "http://127.0.0.1:%d%s", e->srv.port, path);
    return e->url;
}

static int wait_atomic(env_t *e, atomic_int *p, int target, uint64_t ms)
{
    uv_update_time(&e->loop);
    uint64_t end = uv_now(&e->loop) + ms;
    uv_timer_start(&e->tick, on_tick, 5, 5);
    while (atomic_load(p) < target && uv_now(&e->loop) < end)
        uv_run(&e->loop, UV_RUN_ONCE);
    uv_timer_stop(&e->tick);
    return atomic_load(p) >= target;
}

static void on_closed(void *arg)
{
    atomic_fetch_add((atomic_int *)arg, 1);
}

static void on_done(void *arg, const httpc_result_t *r)
{
    result_t *x = arg;
    x->error = r->error;
    x->status = r->status;
    snprintf(x->text, sizeof(x->text), "%s", r->error_text ? r->error_text : "");
    if (r->body != NULL) {
        CHECK(r->body[r->body_len] == '\0');
        x->body = malloc(r->body_len + 1);
        memcpy(x->body, r->body, r->body_len + 1);
        x->len = r->body_len;
    }
    x->at = uv_now(x->loop);
    x->req = NULL; /* freed when this returns: a pending resume must not touch it */
    uv_timer_stop(&x->resume_timer);
    if (x->cancel_in_done != NULL)
        httpc_cancel(x->cancel_in_done);
    if (x->close_in_done != NULL)
        httpc_close(x->close_in_done, on_closed, x->closed_flag);
    atomic_fetch_add(&x->done, 1);
}

static void on_resume(uv_timer_t *t)
{
    result_t *x = t->data;
    x->paused = 0;
    if (x->req != NULL)
        httpc_resume(x->req);
}

static int on_data(void *arg, const char *data, size_t len)
{
    result_t *x = arg;
    int first = atomic_fetch_add(&x->chunks, 1) == 0;
    if (x->paused)
        x->paused_violations++;
    char *d = realloc(x->data, x->data_len + len + 1);
    REQUIRE(d != NULL);
    memcpy(d + x->data_len, data, len);
    x->data = d;
    x->data_len += len;
    d[x->data_len] = '\0';
    if (first)
        x->status_in_data = httpc_status(x->req);
    if (first && x->resume_in_data != NULL) {
        x->resume_in_data->verdict = HTTPC_CONTINUE;
        x->resume_in_data->paused = 0;
        httpc_resume(x->resume_in_data->req);
    }
    if (first && x->spawn_in_data != NULL) {
        httpc_opts_t o = {.url = x->spawn_url};
        CHECK(httpc_request(x->spawn_client, &o, on_done, x->spawn_in_data) != NULL);
    }
    if (first && x->cancel_self_in_data)
        httpc_cancel(x->req);
    if (first && x->close_in_data != NULL)
        httpc_close(x->close_in_data, on_closed, x->closed_flag);
    if (x->verdict == HTTPC_PAUSE && x->resume_self_in_data) {
        httpc_resume(x->req); /* before the pause is even returned: it must not stick */
    } else if (x->verdict == HTTPC_PAUSE) {
        x->paused = 1;
        x->pauses++;
        if (!x->no_auto_resume)
            uv_timer_start(&x->resume_timer, on_resume, 2, 0);
    }
    return x->verdict;
}

static void result_init(env_t *e, result_t *x)
{
    memset(x, 0, sizeof(*x));
    x->loop = &e->loop;
    uv_timer_init(&e->loop, &x->resume_timer);
    x->resume_timer.data = x;
}

static void result_free(result_t *x)
{
    free(x->body);
    free(x->data);
    uv_close((uv_handle_t *)&x->resume_timer, NULL);
    uv_run(x->loop, UV_RUN_NOWAIT); /* finishes the close before x goes out of scope or is reused */
}

/* One buffered request run to completion. */
static void fetch(env_t *e, result_t *x, const httpc_opts_t *o)
{
    result_init(e, x);
    x->req = httpc_request(e->c, o, on_done, x);
    REQUIRE(x->req != NULL);
    CHECK(wait_atomic(e, &x->done, 1, WAIT_MS));
    CHECK_INT(atomic_load(&x->done), 1);
}

static void test_get(env_t *e)
{
    result_t x;
    int before = atomic_load(&e->srv.accepted);
    fetch(e, &x, &(httpc_opts_t){.url = url(e, "/json")});
    CHECK_INT(x.error, 0);
    CHECK_INT(x.status, 200);
    CHECK_STR(x.body, "{\"keys\":[{\"kid\":\"k1\"}]}");
    result_free(&x);
    /* a second request reuses the kept-alive connection: its socket is watched again */
    fetch(e, &x, &(httpc_opts_t){.url = url(e, "/json"), .method = "GET"});
    CHECK_INT(x.status, 200);
    CHECK_STR(x.body, "{\"keys\":[{\"kid\":\"k1\"}]}");
    CHECK_INT(atomic_load(&e->srv.accepted) - before, 1);
    result_free(&x);
}

static void test_post_echo(env_t *e)
{
    result_t x;
    const char *hdrs[] = {"Content-Type: application/json", "X-Test: abc", NULL};
    const char *body = "{\"model\":\"m\",\"stream\":true}";
    fetch(e, &x, &(httpc_opts_t){.method = "POST", .url = url(e, "/echo"), .headers = hdrs, .body = body,
                                  .body_len = strlen(body)});
    CHECK_INT(x.error, 0);
    CHECK_INT(x.status, 200);
    CHECK_CONTAINS(x.body, "POST /echo HTTP/1.1\r\n");
    CHECK_CONTAINS(x.body, "\r\nX-Test: abc\r\n");
    CHECK_CONTAINS(x.body, "\r\nContent-Type: application/json\r\n");
    CHECK(x.body != NULL && strstr(x.body, "Expect:") == NULL); /* no 100-continue round trip */
    CHECK(x.len > strlen(body) && strcmp(x.body + x.len - strlen(body), body) == 0);
    result_free(&x);
    /* another method, with a body that holds a NUL */
    fetch(e, &x, &(httpc_opts_t){.method = "PUT", .url = url(e, "/echo"), .body = "a\0b", .body_len = 3});
    CHECK_CONTAINS(x.body, "PUT /echo HTTP/1.1\r\n");
    CHECK(x.len >= 3 && memcmp(x.body + x.len - 3, "a\0b", 3) == 0);
    result_free(&x);
}

static void test_404(env_t *e)
{
    result_t x;
    fetch(e, &x, &(httpc_opts_t){.url = url(e, "/nope")});
    CHECK_INT(x.error, 0);
    CHECK_INT(x.status, 404);
    CHECK_STR(x.body, "no such path");
    result_free(&x);
}

static void test_refused(env_t *e)
{
    /* bound but not listening: the connect is refused, and nobody else can take the port */
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
    REQUIRE(getsockname(fd, (struct sockaddr *)&a, &alen) == 0);
    char u[128];
    snprintf(u, sizeof(u), "http://127.0.0.1:%d/x?key=secret", ntohs(a.sin_port));
    result_t x;
    fetch(e, &x, &(httpc_opts_t){.url = u});
    CHECK_INT(x.error, HTTPC_ERR_CONNECT);
    CHECK_INT(x.status, 0);
    CHECK(x.text[0] != '\0' && strstr(x.text, "secret") == NULL && strstr(x.text, "127.0.0.1") == NULL);
    CHECK(x.body == NULL);
    result_free(&x);
    close(fd);
}

static void test_timeout(env_t *e)
{
    result_t x;
    int closed = atomic_load(&e->srv.hang_closed);
    uv_update_time(&e->loop);
    uint64_t start = uv_now(&e->loop);
    const char *hdrs[] = {"Authorization: Bearer secret", NULL};
    fetch(e, &x, &(httpc_opts_t){.url = url(e, "/hang?key=secret"), .headers = hdrs, .timeout_ms = 400});
    CHECK_INT(x.error, HTTPC_ERR_TIMEOUT);
    CHECK(strstr(x.text, "secret") == NULL);
    CHECK(x.at - start >= 350);
    CHECK(x.at - start < WAIT_MS);
    CHECK(wait_atomic(e, &e->srv.hang_closed, closed + 1, WAIT_MS)); /* the connection was dropped */
    result_free(&x);
}

static void test_first_byte(env_t *e)
{
    result_t x;
    uv_update_time(&e->loop);
    uint64_t start = uv_now(&e->loop);
    fetch(e, &x, &(httpc_opts_t){.url = url(e, "/headonly"), .first_byte_timeout_ms = 300, .timeout_ms = 20000});
    CHECK_INT(x.error, HTTPC_ERR_FIRST_BYTE);
    CHECK_INT(x.status, 200); /* the headers came, the body did not */
    CHECK(x.at - start >= 250);
    CHECK(x.at - start < 10000);
    result_free(&x);
    /* two deadlines: the timer is re-armed for the later one after the first fires */
    result_t y;
    result_init(e, &y);
    result_init(e, &x);
    y.req = httpc_request(e->c, &(httpc_opts_t){.url = url(e, "/headonly"), .first_byte_timeout_ms = 600}, on_done, &y);
    x.req = httpc_request(e->c, &(httpc_opts_t){.url = url(e, "/headonly"), .first_byte_timeout_ms = 200}, on_done, &x);
    CHECK(wait_atomic(e, &y.done, 1, WAIT_MS));
    CHECK(atomic_load(&x.done) == 1 && x.error == HTTPC_ERR_FIRST_BYTE);
    CHECK_INT(y.error, HTTPC_ERR_FIRST_BYTE);
    CHECK(x.at < y.at);
    result_free(&x);
    result_free(&y);
    /* a body that starts in time is not cut off by the limit */
    fetch(e, &x, &(httpc_opts_t){.url = url(e, "/trickle"), .first_byte_timeout_ms = 3000});
    CHECK_INT(x.error, 0);
    CHECK_STR(x.body, "data: one\n\ndata: two\n\ndata: three\n\ndata: four\n\ndata: five\n\n");
    result_free(&x);
}

static void test_too_large(env_t *e)
{
    result_t x;
    fetch(e, &x, &(httpc_opts_t){.url = url(e, "/big")}); /* Content-Length over the default 1 MiB */
    CHECK_INT(x.error, HTTPC_ERR_TOO_LARGE);
    CHECK(x.body == NULL);
    result_free(&x);
    fetch(e, &x, &(httpc_opts_t){.url = url(e, "/bigchunked")}); /* no length: caught while reading */
    CHECK_INT(x.error, HTTPC_ERR_TOO_LARGE);
    CHECK(x.body == NULL);
    result_free(&x);
    fetch(e, &x, &(httpc_opts_t){.url = url(e, "/bigchunked"), .max_response = 4u << 20});
    CHECK_INT(x.error, 0);
    CHECK_INT(x.len, BIG_LEN);
    CHECK(x.body != NULL && memcmp(x.body, e->srv.pattern, BIG_LEN) == 0);
    result_free(&x);
}

static void test_stream(env_t *e)
{
    result_t x;
    result_init(e, &x);
    x.req = httpc_request(e->c, &(httpc_opts_t){.url = url(e, "/trickle"), .on_data = on_data}, on_done, &x);
    REQUIRE(x.req != NULL);
    CHECK(wait_atomic(e, &x.done, 1, WAIT_MS));
    CHECK_INT(x.error, 0);
    CHECK_INT(x.status, 200);
    CHECK(x.body == NULL);
    CHECK(atomic_load(&x.chunks) >= 3); /* 40 ms apart: they arrive one by one */
    CHECK_INT(x.status_in_data, 200);
    CHECK_STR(x.data, "data: one\n\ndata: two\n\ndata: three\n\ndata: four\n\ndata: five\n\n");
    result_free(&x);

    result_init(e, &x);
    x.req = httpc_request(e->c, &(httpc_opts_t){.url = url(e, "/chunked"), .on_data = on_data}, on_done, &x);
    CHECK(wait_atomic(e, &x.done, 1, WAIT_MS));
    CHECK_INT(x.error, 0);
    CHECK_STR(x.data, "alpha,beta,gamma,delta");
    result_free(&x);
}

static void test_pause_resume(env_t *e)
{
    result_t x;
    result_init(e, &x);
    x.verdict = HTTPC_PAUSE; /* every chunk pauses; a timer resumes 2 ms later */
    x.req = httpc_request(e->c, &(httpc_opts_t){.url = url(e, "/stream"), .on_data = on_data}, on_done, &x);
    REQUIRE(x.req != NULL);
    CHECK(wait_atomic(e, &x.done, 1, 20000));
    CHECK_INT(x.error, 0);
    CHECK_INT(x.data_len, STREAM_LEN);
    CHECK(x.data != NULL && memcmp(x.data, e->srv.pattern, STREAM_LEN) == 0);
    CHECK_INT(x.paused_violations, 0);
    CHECK(x.pauses > 4);
    uv_timer_stop(&x.resume_timer);
    result_free(&x);

    /* a paused request still times out */
    result_init(e, &x);
    x.verdict = HTTPC_PAUSE;
    x.no_auto_resume = 1;
    x.req = httpc_request(e->c, &(httpc_opts_t){.url = url(e, "/stream"), .on_data = on_data, .timeout_ms = 500},
                          on_done, &x);
    CHECK(wait_atomic(e, &x.done, 1, WAIT_MS));
    CHECK_INT(x.error, HTTPC_ERR_TIMEOUT);
    CHECK_INT(x.status, 200);
    CHECK_INT(x.pauses, 1);
    result_free(&x);

    /* resumed from inside its own on_data, before returning HTTPC_PAUSE: the pause is void */
    result_init(e, &x);
    x.verdict = HTTPC_PAUSE;
    x.resume_self_in_data = 1;
    x.req = httpc_request(e->c, &(httpc_opts_t){.url = url(e, "/trickle"), .on_data = on_data}, on_done, &x);
    CHECK(wait_atomic(e, &x.done, 1, WAIT_MS));
    CHECK_INT(x.error, 0);
    CHECK_STR(x.data, "data: one\n\ndata: two\n\ndata: three\n\ndata: four\n\ndata: five\n\n");
    result_free(&x);

    /* paused until another request's on_data resumes it (deferred: that runs inside libcurl) */
    result_t t;
    result_init(e, &x);
    result_init(e, &t);
    x.verdict = HTTPC_PAUSE;
    x.no_auto_resume = 1;
    x.req = httpc_request(e->c, &(httpc_opts_t){.url = url(e, "/stream"), .on_data = on_data}, on_done, &x);
    CHECK(wait_atomic(e, &x.chunks, 1, WAIT_MS));
    t.resume_in_data = &x;
    t.req = httpc_request(e->c, &(httpc_opts_t){.url = url(e, "/trickle"), .on_data = on_data}, on_done, &t);
    CHECK(wait_atomic(e, &x.done, 1, 20000));
    CHECK_INT(x.error, 0);
    CHECK_INT(x.pauses, 1);
    CHECK(x.data_len == STREAM_LEN && memcmp(x.data, e->srv.pattern, STREAM_LEN) == 0);
    CHECK(wait_atomic(e, &t.done, 1, WAIT_MS));
    result_free(&x);
    result_free(&t);
}

static void test_abort(env_t *e)
{
    result_t x;
    result_init(e, &x);
    x.verdict = HTTPC_ABORT;
    x.req = httpc_request(e->c, &(httpc_opts_t){.url = url(e, "/trickle"), .on_data = on_data}, on_done, &x);
    CHECK(wait_atomic(e, &x.done, 1, WAIT_MS));
    CHECK_INT(x.error, HTTPC_ERR_ABORTED);
    CHECK_INT(atomic_load(&x.chunks), 1);
    result_free(&x);
}

static void test_cancel(env_t *e)
{
    result_t x, y;
    int started = atomic_load(&e->srv.hang_started), closed = atomic_load(&e->srv.hang_closed);
    /* cancelled once the server holds the request: the connection goes away, on_done never runs */
    result_init(e, &x);
    x.req = httpc_request(e->c, &(httpc_opts_t){.url = url(e, "/hang")}, on_done, &x);
    CHECK(wait_atomic(e, &e->srv.hang_started, started + 1, WAIT_MS));
    httpc_cancel(x.req);
    CHECK(wait_atomic(e, &e->srv.hang_closed, closed + 1, WAIT_MS));
    /* cancelled before the loop even ran */
    result_init(e, &y);
    y.req = httpc_request(e->c, &(httpc_opts_t){.url = url(e, "/json")}, on_done, &y);
    httpc_cancel(y.req);
    result_t z;
    fetch(e, &z, &(httpc_opts_t){.url = url(e, "/json")}); /* the loop turns; the client still works */
    CHECK_INT(z.status, 200);
    CHECK_INT(atomic_load(&x.done), 0);
    CHECK_INT(atomic_load(&y.done), 0);
    result_free(&x);
    result_free(&y);
    result_free(&z);
}

static void test_cancel_in_data(env_t *e)
{
    result_t x;
    int early = atomic_load(&e->srv.early_closed);
    result_init(e, &x);
    x.cancel_self_in_data = 1;
    x.req = httpc_request(e->c, &(httpc_opts_t){.url = url(e, "/trickle"), .on_data = on_data}, on_done, &x);
    CHECK(wait_atomic(e, &e->srv.early_closed, early + 1, WAIT_MS)); /* the server could not finish */
    CHECK_INT(atomic_load(&x.chunks), 1);
    CHECK_INT(atomic_load(&x.done), 0);
    result_free(&x);
}

/* Work started from inside callbacks: a request from on_data, a cancel from another's on_done. */
static void test_reentry(env_t *e)
{
    result_t a, b, spawned;
    int closed = atomic_load(&e->srv.hang_closed);
    result_init(e, &a);
    result_init(e, &spawned);
    a.spawn_in_data = &spawned;
    a.spawn_client = e->c;
    a.spawn_url = url(e, "/json");
    a.req = httpc_request(e->c, &(httpc_opts_t){.url = url(e, "/trickle"), .on_data = on_data}, on_done, &a);
    CHECK(wait_atomic(e, &spawned.done, 1, WAIT_MS));
    CHECK_INT(spawned.status, 200);
    CHECK(wait_atomic(e, &a.done, 1, WAIT_MS));
    CHECK_INT(a.error, 0);
    result_free(&a);
    result_free(&spawned);

    result_init(e, &a);
    result_init(e, &b);
    b.req = httpc_request(e->c, &(httpc_opts_t){.url = url(e, "/hang")}, on_done, &b);
    a.cancel_in_done = b.req;
    a.req = httpc_request(e->c, &(httpc_opts_t){.url = url(e, "/json")}, on_done, &a);
    CHECK(wait_atomic(e, &a.done, 1, WAIT_MS));
    CHECK(wait_atomic(e, &e->srv.hang_closed, closed + 1, WAIT_MS));
    CHECK_INT(atomic_load(&b.done), 0);
    result_free(&a);
    result_free(&b);
}

static void test_close_in_flight(env_t *e)
{
    result_t h, t, j;
    atomic_int closed = 0;
    int started = atomic_load(&e->srv.hang_started), hclosed = atomic_load(&e->srv.hang_closed);
    httpc_t *c = httpc_new(&e->loop);
    REQUIRE(c != NULL);
    result_init(e, &h);
    result_init(e, &t);
    result_init(e, &j);
    h.req = httpc_request(c, &(httpc_opts_t){.url = url(e, "/hang")}, on_done, &h);
    t.req = httpc_request(c, &(httpc_opts_t){.url = url(e, "/trickle"), .on_data = on_data}, on_done, &t);
    j.req = httpc_request(c, &(httpc_opts_t){.url = url(e, "/json"), .first_byte_timeout_ms = 10000}, on_done, &j);
    CHECK(wait_atomic(e, &e->srv.hang_started, started + 1, WAIT_MS));
    CHECK(wait_atomic(e, &t.chunks, 1, WAIT_MS));
    httpc_close(c, on_closed, &closed);
    CHECK(wait_atomic(e, &closed, 1, WAIT_MS));
    CHECK(wait_atomic(e, &e->srv.hang_closed, hclosed + 1, WAIT_MS));
    CHECK_INT(atomic_load(&h.done), 0);
    CHECK_INT(atomic_load(&t.done), 0);
    result_free(&h);
    result_free(&t);
    result_free(&j);

    /* closed from inside on_data */
    atomic_store(&closed, 0);
    REQUIRE((c = httpc_new(&e->loop)) != NULL);
    result_init(e, &t);
    t.close_in_data = c;
    t.closed_flag = &closed;
    t.req = httpc_request(c, &(httpc_opts_t){.url = url(e, "/trickle"), .on_data = on_data}, on_done, &t);
    CHECK(wait_atomic(e, &closed, 1, WAIT_MS));
    CHECK_INT(atomic_load(&t.chunks), 1);
    CHECK_INT(atomic_load(&t.done), 0);
    result_free(&t);

    /* closed from inside on_done, with another request in flight */
    atomic_store(&closed, 0);
    started = atomic_load(&e->srv.hang_started);
    hclosed = atomic_load(&e->srv.hang_closed);
    REQUIRE((c = httpc_new(&e->loop)) != NULL);
    result_init(e, &h);
    result_init(e, &j);
    h.req = httpc_request(c, &(httpc_opts_t){.url = url(e, "/hang")}, on_done, &h);
    CHECK(wait_atomic(e, &e->srv.hang_started, started + 1, WAIT_MS));
    j.close_in_done = c;
    j.closed_flag = &closed;
    j.req = httpc_request(c, &(httpc_opts_t){.url = url(e, "/json")}, on_done, &j);
    CHECK(wait_atomic(e, &closed, 1, WAIT_MS));
    CHECK_INT(atomic_load(&j.done), 1);
    CHECK_INT(j.status, 200);
    CHECK(wait_atomic(e, &e->srv.hang_closed, hclosed + 1, WAIT_MS));
    CHECK_INT(atomic_load(&h.done), 0);
    result_free(&h);
    result_free(&j);

    /* closed with nothing in flight, and before the loop ran */
    atomic_store(&closed, 0);
    REQUIRE((c = httpc_new(&e->loop)) != NULL);
    httpc_close(c, on_closed, &closed);
    CHECK(wait_atomic(e, &closed, 1, WAIT_MS));
}

#define MANY 50

static void test_many(env_t *e)
{
    static result_t xs[MANY];
    char body[MANY][32];
    atomic_int all = 0;
    for (int i = 0; i < MANY; i++) {
        result_init(e, &xs[i]);
        snprintf(body[i], sizeof(body[i]), "request-%d", i);
        httpc_opts_t o = {.method = "POST", .url = url(e, "/echo"), .body = body[i], .body_len = strlen(body[i])};
        REQUIRE((xs[i].req = httpc_request(e->c, &o, on_done, &xs[i])) != NULL);
    }
    uv_update_time(&e->loop);
    uint64_t end = uv_now(&e->loop) + 20000;
    for (int i = 0; i < MANY; i++)
        if (wait_atomic(e, &xs[i].done, 1, end > uv_now(&e->loop) ? end - uv_now(&e->loop) : 1))
            atomic_fetch_add(&all, 1);
    CHECK_INT(atomic_load(&all), MANY);
    int ok = 0;
    for (int i = 0; i < MANY; i++) {
        size_t n = strlen(body[i]);
        ok += xs[i].error == 0 && xs[i].status == 200 && xs[i].len >= n &&
              strcmp(xs[i].body + xs[i].len - n, body[i]) == 0;
        result_free(&xs[i]);
    }
    CHECK_INT(ok, MANY);
}

static void test_invalid(env_t *e)
{
    result_t x;
    result_init(e, &x);
    const char *crlf[] = {"X-A: 1\r\nX-B: 2", NULL};
    const char *nocolon[] = {"X-A", NULL};
    CHECK(httpc_request(e->c, &(httpc_opts_t){.url = NULL}, on_done, &x) == NULL);
    CHECK(httpc_request(e->c, &(httpc_opts_t){.url = "ftp://127.0.0.1/x"}, on_done, &x) == NULL);
    CHECK(httpc_request(e->c, &(httpc_opts_t){.url = "file:///etc/passwd"}, on_done, &x) == NULL);
    CHECK(httpc_request(e->c, &(httpc_opts_t){.url = url(e, "/json"), .method = "GE T"}, on_done, &x) == NULL);
    CHECK(httpc_request(e->c, &(httpc_opts_t){.url = url(e, "/json"), .method = ""}, on_done, &x) == NULL);
    CHECK(httpc_request(e->c, &(httpc_opts_t){.url = url(e, "/json"), .headers = crlf}, on_done, &x) == NULL);
    CHECK(httpc_request(e->c, &(httpc_opts_t){.url = url(e, "/json"), .headers = nocolon}, on_done, &x) == NULL);
    CHECK(httpc_request(e->c, &(httpc_opts_t){.url = url(e, "/json"), .body_len = 5}, on_done, &x) == NULL);
    CHECK(httpc_request(e->c, &(httpc_opts_t){.url = url(e, "/json")}, NULL, &x) == NULL);
    result_free(&x);
}

int main(void)
{
    static env_t e;
    atomic_int closed = 0;
    REQUIRE(curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK);
    server_start(&e.srv);
    REQUIRE(uv_loop_init(&e.loop) == 0);
    uv_timer_init(&e.loop, &e.tick);
    REQUIRE((e.c = httpc_new(&e.loop)) != NULL);

    test_invalid(&e);
    test_get(&e);
    test_post_echo(&e);
    test_404(&e);
    test_refused(&e);
    test_timeout(&e);
    test_first_byte(&e);
    test_too_large(&e);
    test_stream(&e);
    test_pause_resume(&e);
    test_abort(&e);
    test_cancel(&e);
    test_cancel_in_data(&e);
    test_reentry(&e);
    test_close_in_flight(&e);
    test_many(&e);

    httpc_close(e.c, on_closed, &closed);
    CHECK(wait_atomic(&e, &closed, 1, WAIT_MS));
    uv_close((uv_handle_t *)&e.tick, NULL);
    uv_run(&e.loop, UV_RUN_DEFAULT); /* only close callbacks are left: returns at once */
    CHECK_INT(uv_loop_close(&e.loop), 0);
    server_stop(&e.srv);
    curl_global_cleanup();
    return check_done("httpc");
}
