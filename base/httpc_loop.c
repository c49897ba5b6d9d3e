/* libcurl's multi-socket API on libuv: a uv_poll_t per socket libcurl asks about, one uv_timer_t
 * for its timeout, and the asynchronous close of all of them that ends a client. */
#include <stdlib.h>
#include "base/httpc_internal.h"

struct poll_ctx {
    uv_poll_t poll;
    httpc_t *c;
    curl_socket_t fd;
    struct httpc_link link; /* in c->polls until closing starts */
};

static void closed_one(httpc_t *c)
{
    if (--c->pending_closes == 0 && c->torn_down) {
        void (*done)(void *) = c->close_done;
        void *arg = c->close_arg;
        free(c);
        if (done != NULL)
            done(arg);
    }
}

static void on_poll_closed(uv_handle_t *h)
{
    struct poll_ctx *p = h->data;
    httpc_t *c = p->c;
    free(p);
    closed_one(c);
}

static void on_timer_closed(uv_handle_t *h)
{
    closed_one(h->data);
}

/* Stops watching at once (libuv forgets the fd now, so libcurl may reuse the number for a new
 * socket right away); the memory goes in the close callback. */
static void poll_close(struct poll_ctx *p)
{
    httpc_list_remove(&p->link);
    uv_poll_stop(&p->poll);
    p->c->pending_closes++;
    uv_close((uv_handle_t *)&p->poll, on_poll_closed);
}

void httpc_loop_drive(httpc_t *c, curl_socket_t fd, int flags)
{
    int running;
    if (c->torn_down)
        return;
    c->depth++;
    curl_multi_socket_action(c->multi, fd, flags, &running);
    c->depth--;
    httpc_settle(c);
}

static void on_poll(uv_poll_t *h, int status, int events)
{
    struct poll_ctx *p = h->data;
    int flags = 0;
    if (status < 0)
        flags = CURL_CSELECT_ERR;
    if (events & UV_READABLE)
        flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE)
        flags |= CURL_CSELECT_OUT;
    httpc_loop_drive(p->c, p->fd, flags);
}

static void on_curl_timer(uv_timer_t *t)
{
    httpc_loop_drive(t->data, CURL_SOCKET_TIMEOUT, 0);
}

static int on_timer_update(CURLM *multi, long timeout_ms, void *userp)
{
    httpc_t *c = userp;
    if (c->torn_down)
        return 0;
    if (timeout_ms < 0)
        uv_timer_stop(&c->timer);
    else /* 0 too goes through the loop: socket_action must not be called from here */
        uv_timer_start(&c->timer, on_curl_timer, (uint64_t)timeout_ms, 0);
    return 0;
}

static struct poll_ctx *poll_find(httpc_t *c, curl_socket_t s)
{
    for (struct httpc_link *l = c->polls.next; l != &c->polls; l = l->next) {
        struct poll_ctx *p = HTTPC_CONTAINER(l, struct poll_ctx, link);
        if (p->fd == s)
            return p;
    }
    return NULL;
}

static int on_socket(CURL *easy, curl_socket_t s, int what, void *userp, void *socketp)
{
    httpc_t *c = userp;
    struct poll_ctx *p = socketp != NULL ? socketp : poll_find(c, s); /* in case the association was lost */
    if (what == CURL_POLL_REMOVE) {
        if (p != NULL)
            poll_close(p);
        return 0;
    }
    if (c->torn_down)
        return 0;
    if (p == NULL) {
        if ((p = calloc(1, sizeof(*p))) == NULL)
            return -1;
        if (uv_poll_init_socket(c->loop, &p->poll, s) != 0) {
            free(p);
            return -1;
        }
        p->poll.data = p;
        p->c = c;
        p->fd = s;
        httpc_list_append(&c->polls, &p->link);
    }
    curl_multi_assign(c->multi, s, p);
    int events = ((what & CURL_POLL_IN) ? UV_READABLE : 0) | ((what & CURL_POLL_OUT) ? UV_WRITABLE : 0);
    if (events == 0)
        return uv_poll_stop(&p->poll) == 0 ? 0 : -1;
    return uv_poll_start(&p->poll, events, on_poll) == 0 ? 0 : -1; /* -1 fails this multi's transfers */
}

int httpc_loop_init(httpc_t *c)
{
    if ((c->multi = curl_multi_init()) == NULL)
        return -1;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, on_socket);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, on_timer_update);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    /* idle connections kept for reuse: without a cap a burst of streams leaves hundreds open */
    curl_multi_setopt(c->multi, CURLMOPT_MAXCONNECTS, (long)HTTPC_MAX_IDLE_CONNECTIONS);
    uv_timer_init(c->loop, &c->timer);
    uv_timer_init(c->loop, &c->fb_timer);
    c->timer.data = c;
    c->fb_timer.data = c;
    return 0;
}

void httpc_loop_close(httpc_t *c)
{
    while (!httpc_list_empty(&c->polls))
        poll_close(HTTPC_CONTAINER(c->polls.next, struct poll_ctx, link));
    c->pending_closes += 2;
    uv_close((uv_handle_t *)&c->timer, on_timer_closed);
    uv_close((uv_handle_t *)&c->fb_timer, on_timer_closed);
}
