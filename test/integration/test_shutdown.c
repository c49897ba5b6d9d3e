/* Graceful shutdown: HTTP/1.1 and HTTP/2 requests in flight at SIGTERM (held there by paused
 * uploads) all complete with 200, new connections are refused at once, and the exit is 0. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf */
#endif
#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test/support/check.h"
#include "test/support/env.h"
#include "test/support/expect.h"
#include "test/support/http.h"
#include "test/support/json.h"
#include "test/support/server.h"

#define N_H1 8
#define N_H2 8
#define BODY_SIZE 8192

typedef struct xfer {
    CURL *e;
    struct curl_slist *hdrs;
    char *body;
    size_t len, sent;
    int started;  /* the first half of the body went out */
    int released; /* the rest may follow */
    int done;
    ts_resp_t resp;
} xfer_t;

/* Sends the first half, then pauses until released; curl calls it only after 100 Continue for
 * the HTTP/1.1 uploads, so a started one is known to be parsed by the server. */
static size_t on_read(char *buf, size_t size, size_t nmemb, void *arg)
{
    xfer_t *x = arg;
    size_t limit = x->released ? x->len : x->len / 2;
    if (x->sent >= limit)
        return x->released ? 0 : CURL_READFUNC_PAUSE;
    size_t n = size * nmemb < limit - x->sent ? size * nmemb : limit - x->sent;
    memcpy(buf, x->body + x->sent, n);
    x->sent += n;
    if (x->sent >= x->len / 2)
        x->started = 1;
    return n;
}

static void xfer_init(xfer_t *x, const char *url, ts_version_t version, int index)
{
    memset(x, 0, sizeof(*x));
    char prefix[64];
    int plen = snprintf(prefix, sizeof(prefix), "{\"i\":%d,\"pad\":\"", index);
    x->len = BODY_SIZE;
    x->body = malloc(x->len + 1);
    memcpy(x->body, prefix, (size_t)plen);
    memset(x->body + plen, 'x', x->len - (size_t)plen - 2);
    memcpy(x->body + x->len - 2, "\"}", 3);

    x->e = curl_easy_init();
    ts_http_setup_easy(x->e, version, 30000);
    ts_http_collect(x->e, &x->resp);
    curl_easy_setopt(x->e, CURLOPT_URL, url);
    curl_easy_setopt(x->e, CURLOPT_POST, 1L);
    curl_easy_setopt(x->e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)x->len);
    curl_easy_setopt(x->e, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(x->e, CURLOPT_READDATA, x);
    curl_easy_setopt(x->e, CURLOPT_PRIVATE, x);
    x->hdrs = curl_slist_append(NULL, "Content-Type: application/json");
    if (version == TS_H1) {
        /* the 100 Continue proves the server has the request before SIGTERM is sent */
        x->hdrs = curl_slist_append(x->hdrs, "Expect: 100-continue");
        curl_easy_setopt(x->e, CURLOPT_EXPECT_100_TIMEOUT_MS, 30000L);
    } else {
        x->hdrs = curl_slist_append(x->hdrs, "Expect:");
        curl_easy_setopt(x->e, CURLOPT_PIPEWAIT, 1L); /* one connection, many streams */
    }
    curl_easy_setopt(x->e, CURLOPT_HTTPHEADER, x->hdrs);
}

static void xfer_free(xfer_t *x)
{
    curl_easy_cleanup(x->e);
    curl_slist_free_all(x->hdrs);
    free(x->body);
    ts_resp_free(&x->resp);
}

/* One round of work on both multi handles; marks finished transfers done. */
static void drive(CURLM *const *multis, size_t n)
{
    for (size_t m = 0; m < n; m++) {
        int running, left;
        curl_multi_perform(multis[m], &running);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(multis[m], &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            xfer_t *x;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
            ts_http_collected(msg->easy_handle, msg->data.result, &x->resp);
            x->done = 1;
        }
        curl_multi_poll(multis[m], NULL, 0, 5, NULL);
    }
}

static int count_started(const xfer_t *xs, int n)
{
    int c = 0;
    for (int i = 0; i < n; i++)
        c += xs[i].started;
    return c;
}

static int count_done(const xfer_t *xs, int n)
{
    int c = 0;
    for (int i = 0; i < n; i++)
        c += xs[i].done;
    return c;
}

int main(void)
{
    ts_server_t *s = ts_server_start(&(ts_server_opts_t){
        .tls = 1, .paths_yaml = TS_PATHS_DEFAULT "/echo:\n  app.handler: echo\n  app.auth: none\n"});
    REQUIRE(s != NULL);
    char h1_url[256], h2_url[256];
    snprintf(h1_url, sizeof(h1_url), "%s", ts_server_url(s, 0, "/echo"));
    snprintf(h2_url, sizeof(h2_url), "%s", ts_server_url(s, 1, "/echo"));

    CURLM *h1 = curl_multi_init(), *h2 = curl_multi_init();
    CURLM *const multis[] = {h1, h2};
    curl_multi_setopt(h1, CURLMOPT_PIPELINING, (long)CURLPIPE_NOTHING);
    curl_multi_setopt(h2, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);

    /* Open the HTTP/2 connection first, so every stream below shares it. Over TLS: libcurl
     * 7.88.1 cannot reuse an h2c prior-knowledge connection (curl issue 10634, fixed in 8.0). */
    xfer_t warm;
    memset(&warm, 0, sizeof(warm));
    warm.e = curl_easy_init();
    ts_http_setup_easy(warm.e, TS_H2_TLS, 5000);
    ts_http_collect(warm.e, &warm.resp);
    curl_easy_setopt(warm.e, CURLOPT_URL, ts_server_url(s, 1, "/health"));
    curl_easy_setopt(warm.e, CURLOPT_PRIVATE, &warm);
    curl_multi_add_handle(h2, warm.e);
    for (int64_t deadline = ts_now_ms() + 5000; !warm.done && ts_now_ms() < deadline;)
        drive(multis, 2);
    TS_EXPECT_STATUS(&warm.resp, 200);
    CHECK_INT(warm.resp.http_major, 2);

    xfer_t xs[N_H1 + N_H2];
    for (int i = 0; i < N_H1 + N_H2; i++) {
        xfer_init(&xs[i], i < N_H1 ? h1_url : h2_url, i < N_H1 ? TS_H1 : TS_H2_TLS, i);
        curl_multi_add_handle(i < N_H1 ? h1 : h2, xs[i].e);
    }
    int64_t deadline = ts_now_ms() + 10000;
    while (count_started(xs, N_H1 + N_H2) < N_H1 + N_H2 && ts_now_ms() < deadline)
        drive(multis, 2);
    for (int i = 0; i < N_H1 + N_H2; i++)
        if (!xs[i].started)
            fprintf(stderr, "request %d (%s) never got under way: %s\n", i, i < N_H1 ? "HTTP/1.1" : "h2",
                    xs[i].done ? xs[i].resp.error : "still waiting (no 100 Continue?)");
    REQUIRE(count_started(xs, N_H1 + N_H2) == N_H1 + N_H2);
    CHECK_INT(count_done(xs, N_H1 + N_H2), 0);

    /* A request on the HTTP/2 connection after the streams above: its answer proves the server
     * has read their HEADERS (frames of one connection are processed in order). */
    xfer_t barrier;
    memset(&barrier, 0, sizeof(barrier));
    barrier.e = curl_easy_init();
    ts_http_setup_easy(barrier.e, TS_H2_TLS, 5000);
    ts_http_collect(barrier.e, &barrier.resp);
    curl_easy_setopt(barrier.e, CURLOPT_URL, ts_server_url(s, 1, "/health"));
    curl_easy_setopt(barrier.e, CURLOPT_PIPEWAIT, 1L);
    curl_easy_setopt(barrier.e, CURLOPT_PRIVATE, &barrier);
    curl_multi_add_handle(h2, barrier.e);
    for (deadline = ts_now_ms() + 5000; !barrier.done && ts_now_ms() < deadline;)
        drive(multis, 2);
    TS_EXPECT_STATUS(&barrier.resp, 200);
    long new_conns = -1;
    curl_easy_getinfo(barrier.e, CURLINFO_NUM_CONNECTS, &new_conns);
    CHECK_INT(new_conns, 0); /* it did share the connection, so the proof holds */

    /* SIGTERM with 16 requests in flight */
    REQUIRE(kill(ts_server_pid(s), SIGTERM) == 0);
    int refused = 0;
    for (deadline = ts_now_ms() + 5000; !refused && ts_now_ms() < deadline;) {
        drive(multis, 2);
        refused = ts_port_refuses(ts_server_http_port(s)) && ts_port_refuses(ts_server_https_port(s));
    }
    CHECK(refused); /* no new connections once shutdown began */
    CHECK(ts_server_running(s)); /* but the process waits for what it accepted */

    for (int i = 0; i < N_H1 + N_H2; i++) {
        xs[i].released = 1;
        curl_easy_pause(xs[i].e, CURLPAUSE_CONT);
    }
    for (deadline = ts_now_ms() + 15000;
         count_done(xs, N_H1 + N_H2) < N_H1 + N_H2 && ts_now_ms() < deadline;)
        drive(multis, 2);

    for (int i = 0; i < N_H1 + N_H2; i++) {
        ts_resp_t *r = &xs[i].resp;
        if (!xs[i].done)
            snprintf(r->error, sizeof(r->error), "did not complete within 15 s of being released");
        TS_EXPECT_STATUS(r, 200);
        CHECK_INT(r->http_major, i < N_H1 ? 1 : 2);
        if (r->status == 200) {
            yajl_val sent = ts_json_parse(xs[i].body, "request"), got = ts_json_parse(r->body, "echo response");
            CHECK(ts_json_equal(ts_json_get(got, "json"), sent));
            ts_json_free(sent);
            ts_json_free(got);
        }
    }

    CHECK_INT(ts_server_wait(s, 15000), 0);
    CHECK(ts_port_refuses(ts_server_http_port(s)));
    CHECK(ts_port_refuses(ts_server_https_port(s)));

    for (int i = 0; i < N_H1 + N_H2; i++) {
        curl_multi_remove_handle(i < N_H1 ? h1 : h2, xs[i].e);
        xfer_free(&xs[i]);
    }
    curl_multi_remove_handle(h2, warm.e);
    curl_multi_remove_handle(h2, barrier.e);
    curl_easy_cleanup(warm.e);
    curl_easy_cleanup(barrier.e);
    ts_resp_free(&warm.resp);
    ts_resp_free(&barrier.resp);
    curl_multi_cleanup(h1);
    curl_multi_cleanup(h2);
    ts_server_free(s);
    return check_done("integration/test_shutdown");
}
