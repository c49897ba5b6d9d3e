/* The HTTP client's request lifecycle: start, stream, pause, cancel, complete, close. Every effect
 * of a user callback on libcurl is deferred until libcurl has returned (see httpc_settle()). */
#include <stdlib.h>
#include <string.h>
#include "base/httpc_internal.h"

#define DEFAULT_MAX_RESPONSE (1u << 20)

/* ---- request lifecycle ---- */

static void defer(httpc_req_t *r)
{
    if (!r->in_todo) {
        r->in_todo = 1;
        httpc_list_append(&r->c->todo, &r->todo_link);
    }
}

static void detach(httpc_req_t *r)
{
    if (r->in_multi) {
        r->in_multi = 0;
        r->c->depth++;
        curl_multi_remove_handle(r->c->multi, r->easy);
        r->c->depth--;
    }
}

static void destroy(httpc_req_t *r)
{
    httpc_list_remove(&r->link);
    if (r->in_todo) {
        r->in_todo = 0;
        httpc_list_remove(&r->todo_link);
    }
    detach(r);
    curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    free(r->buf);
    free(r);
}

/* Takes the request out of libcurl and queues it for on_done (which only httpc_settle() calls). */
static void finish(httpc_req_t *r, int error)
{
    if (r->error == 0)
        r->error = error;
    detach(r);
    httpc_list_remove(&r->link);
    httpc_list_append(&r->c->done, &r->link);
}

static int add_to_multi(httpc_req_t *r)
{
    r->c->depth++;
    CURLMcode rc = curl_multi_add_handle(r->c->multi, r->easy);
    r->c->depth--;
    r->in_multi = rc == CURLM_OK;
    return r->in_multi ? 0 : -1;
}

static void unpause(httpc_req_t *r)
{
    r->curl_paused = 0; /* the write callback may set it again before curl_easy_pause returns */
    r->c->depth++;
    curl_easy_pause(r->easy, CURLPAUSE_CONT);
    r->c->depth--;
}

static void deliver(httpc_req_t *r)
{
    httpc_result_t res = {0};
    httpc_list_remove(&r->link);
    if (r->in_todo) {
        r->in_todo = 0;
        httpc_list_remove(&r->todo_link);
    }
    r->delivering = 1;
    httpc_easy_classify(r, &res);
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &res.status);
    if (r->on_data == NULL && res.error == 0) {
        res.body = r->buf != NULL ? r->buf : "";
        res.body_len = r->len;
    }
    r->on_done(r->arg, &res);
    destroy(r);
}

static void run_todo(httpc_req_t *r)
{
    httpc_list_remove(&r->todo_link);
    r->in_todo = 0;
    if (r->cancelled) {
        destroy(r);
        return;
    }
    if (r->wants_add) {
        r->wants_add = 0;
        if (add_to_multi(r) != 0)
            finish(r, HTTPC_ERR_TRANSPORT);
    }
    if (r->wants_resume) {
        r->wants_resume = 0;
        if (r->in_multi && r->curl_paused && !r->user_paused)
            unpause(r);
    }
}

static void teardown(httpc_t *c)
{
    c->torn_down = 1;
    while (!httpc_list_empty(&c->active))
        destroy(HTTPC_CONTAINER(c->active.next, httpc_req_t, link));
    while (!httpc_list_empty(&c->done))
        destroy(HTTPC_CONTAINER(c->done.next, httpc_req_t, link));
    c->depth++;
    curl_multi_cleanup(c->multi); /* may report REMOVE for cached connections' sockets */
    c->depth--;
    c->multi = NULL;
    httpc_loop_close(c);
}

/* The only place that calls on_done, adds deferred requests, resumes deferred pauses, frees
 * requests cancelled from a callback and tears the client down: always outside libcurl (depth 0),
 * and never nested, so a user callback can re-enter httpc freely. */
void httpc_settle(httpc_t *c)
{
    if (c->depth > 0 || c->settling)
        return;
    c->settling = 1;
    while (!c->torn_down) {
        CURLMsg *msg;
        int left;
        if (c->closing) {
            teardown(c);
            break;
        }
        if (!httpc_list_empty(&c->todo)) {
            run_todo(HTTPC_CONTAINER(c->todo.next, httpc_req_t, todo_link));
        } else if ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            char *priv = NULL;
            CURLcode code = msg->data.result; /* copied: msg dies with curl_multi_remove_handle */
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
            httpc_req_t *r = (httpc_req_t *)(void *)priv;
            if (r->cancelled) {
                destroy(r);
            } else {
                r->code = code;
                finish(r, 0);
            }
        } else if (!httpc_list_empty(&c->done)) {
            httpc_req_t *r = HTTPC_CONTAINER(c->done.next, httpc_req_t, link);
            if (r->cancelled)
                destroy(r);
            else
                deliver(r);
        } else {
            break;
        }
    }
    c->settling = 0;
}

/* ---- first-byte deadlines: one timer for the earliest, rescanned when it fires ---- */

static void on_fb_timer(uv_timer_t *t);

static void arm_fb(httpc_t *c, uint64_t deadline)
{
    if (c->fb_due != 0 && c->fb_due <= deadline)
        return;
    uint64_t now = uv_now(c->loop);
    c->fb_due = deadline;
    uv_timer_start(&c->fb_timer, on_fb_timer, deadline > now ? deadline - now : 0, 0);
}

static void on_fb_timer(uv_timer_t *t)
{
    httpc_t *c = t->data;
    uint64_t now = uv_now(c->loop), next = 0;
    c->fb_due = 0;
    for (struct httpc_link *l = c->active.next, *n; l != &c->active; l = n) {
        n = l->next; /* finish() moves l to the done list */
        httpc_req_t *r = HTTPC_CONTAINER(l, httpc_req_t, link);
        if (r->fb_deadline == 0 || r->got_byte || r->cancelled)
            continue;
        if (r->fb_deadline <= now)
            finish(r, HTTPC_ERR_FIRST_BYTE);
        else if (next == 0 || r->fb_deadline < next)
            next = r->fb_deadline;
    }
    if (next != 0)
        arm_fb(c, next);
    httpc_settle(c);
}

/* ---- the write callback: runs inside libcurl ---- */

static size_t on_write(char *data, size_t size, size_t nmemb, void *userp)
{
    httpc_req_t *r = userp;
    size_t n = size * nmemb;
    if (r->cancelled || r->c->closing || r->error != 0)
        return 0; /* makes libcurl fail the transfer; httpc_settle() cleans up */
    if (n == 0)
        return 0;
    r->got_byte = 1;
    if (r->on_data == NULL) {
        if (n > r->max - r->len) {
            r->error = HTTPC_ERR_TOO_LARGE;
            return 0;
        }
        if (r->len + n + 1 > r->cap) {
            size_t cap = r->cap != 0 ? r->cap : 4096;
            while (cap < r->len + n + 1)
                cap *= 2;
            if (cap > r->max + 1)
                cap = r->max + 1;
            char *buf = realloc(r->buf, cap);
            if (buf == NULL)
                return 0;
            r->buf = buf;
            r->cap = cap;
        }
        memcpy(r->buf + r->len, data, n);
        r->len += n;
        r->buf[r->len] = '\0';
        return n;
    }
    if (r->user_paused) {
        /* on_data asked for no more: libcurl keeps this chunk and offers it again after unpause */
        r->curl_paused = 1;
        return CURL_WRITEFUNC_PAUSE;
    }
    r->in_data = 1;
    int verdict = r->on_data(r->arg, data, n);
    r->in_data = 0;
    if (r->cancelled || r->c->closing)
        return 0;
    if (verdict == HTTPC_PAUSE && r->resumed_in_data) /* e.g. the sink drained synchronously */
        verdict = HTTPC_CONTINUE;
    r->resumed_in_data = 0;
    if (verdict == HTTPC_ABORT) {
        r->error = HTTPC_ERR_ABORTED;
        return 0;
    }
    if (verdict == HTTPC_PAUSE)
        r->user_paused = 1;
    return n;
}

/* ---- public API ---- */

httpc_t *httpc_new(uv_loop_t *loop)
{
    httpc_t *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return NULL;
    c->loop = loop;
    httpc_list_init(&c->active);
    httpc_list_init(&c->done);
    httpc_list_init(&c->todo);
    httpc_list_init(&c->polls);
    if (httpc_loop_init(c) != 0) {
        free(c);
        return NULL;
    }
    return c;
}

void httpc_close(httpc_t *c, void (*done)(void *arg), void *arg)
{
    if (c == NULL || c->closing)
        return;
    c->closing = 1;
    c->close_done = done;
    c->close_arg = arg;
    if (c->depth == 0 && !c->settling)
        teardown(c);
    /* else httpc_settle() tears down once libcurl and the running callback have returned */
}

httpc_req_t *httpc_request(httpc_t *c, const httpc_opts_t *o, httpc_done_cb on_done, void *arg)
{
    const char *method = o->method != NULL ? o->method : "GET";
    if (c == NULL || c->closing || on_done == NULL || !httpc_easy_valid(o, method))
        return NULL;
    httpc_req_t *r = calloc(1, sizeof(*r));
    if (r == NULL)
        return NULL;
    r->c = c;
    r->on_done = on_done;
    r->arg = arg;
    r->on_data = o->on_data;
    r->max = o->max_response == 0 ? DEFAULT_MAX_RESPONSE : o->max_response;
    if (r->max > HTTPC_MAX_RESPONSE)
        r->max = HTTPC_MAX_RESPONSE;
    httpc_list_init(&r->link);
    httpc_list_init(&r->todo_link);
    if ((r->easy = curl_easy_init()) == NULL || httpc_easy_configure(r, o, method) != 0 ||
        curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, on_write) != CURLE_OK ||
        curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, (void *)r) != CURLE_OK)
        goto fail;
    if (c->depth > 0) { /* inside a libcurl callback: curl_multi_add_handle would be refused */
        r->wants_add = 1;
        defer(r);
    } else if (add_to_multi(r) != 0) {
        goto fail;
    }
    httpc_list_append(&c->active, &r->link);
    if (o->first_byte_timeout_ms > 0) {
        r->fb_deadline = uv_now(c->loop) + o->first_byte_timeout_ms;
        arm_fb(c, r->fb_deadline);
    }
    return r;
fail:
    if (r->in_todo)
        httpc_list_remove(&r->todo_link);
    curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    free(r);
    return NULL;
}

void httpc_resume(httpc_req_t *r)
{
    if (r == NULL || r->delivering || r->cancelled)
        return;
    if (r->in_data) { /* before its own on_data returned HTTPC_PAUSE: that pause is void */
        r->resumed_in_data = 1;
        return;
    }
    if (!r->user_paused)
        return;
    r->user_paused = 0;
    if (!r->curl_paused)
        return; /* no chunk arrived while paused: libcurl is still reading */
    if (r->c->depth > 0 || !r->in_multi) {
        r->wants_resume = 1;
        defer(r);
        return;
    }
    unpause(r);
    httpc_settle(r->c);
}

void httpc_cancel(httpc_req_t *r)
{
    if (r == NULL || r->delivering || r->cancelled)
        return;
    r->cancelled = 1;
    if (r->c->depth > 0)
        defer(r); /* inside libcurl (e.g. from on_data): freed by httpc_settle() */
    else
        destroy(r);
}

long httpc_status(const httpc_req_t *r)
{
    long status = 0;
    if (r != NULL)
        curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
    return status;
}
