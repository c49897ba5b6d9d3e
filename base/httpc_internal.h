/* Private to pipeline/httpc*.c: the client's and a request's state, shared by the request
 * lifecycle (httpc.c), the uv/libcurl glue (httpc_loop.c) and easy-handle setup (httpc_easy.c). */
#ifndef base_httpc_internal_h
#define base_httpc_internal_h

#include <curl/curl.h>
#include <stddef.h>
#include "base/httpc.h"

/* An intrusive circular list with a sentinel; a removed node points at itself, so removing it
 * again is harmless. */
struct httpc_link {
    struct httpc_link *prev, *next;
};

#define HTTPC_CONTAINER(ptr, type, field) ((type *)(void *)((char *)(ptr) - offsetof(type, field)))

static inline void httpc_list_init(struct httpc_link *l)
{
    l->prev = l->next = l;
}

static inline int httpc_list_empty(const struct httpc_link *head)
{
    return head->next == head;
}

static inline void httpc_list_remove(struct httpc_link *l)
{
    l->prev->next = l->next;
    l->next->prev = l->prev;
    httpc_list_init(l);
}

static inline void httpc_list_append(struct httpc_link *head, struct httpc_link *l)
{
    l->prev = head->prev;
    l->next = head;
    head->prev->next = l;
    head->prev = l;
}

struct httpc {
    uv_loop_t *loop;
    CURLM *multi;
    uv_timer_t timer; /* the one timeout libcurl asks for */
    uv_timer_t fb_timer; /* the earliest first-byte deadline */
    uint64_t fb_due; /* loop time fb_timer fires at; 0 = not armed */
    struct httpc_link active; /* requests in the multi handle, or waiting to be added */
    struct httpc_link done; /* finished, waiting for on_done */
    struct httpc_link todo; /* requests with work deferred out of a libcurl callback */
    struct httpc_link polls; /* open socket watchers */
    int depth; /* > 0 while inside libcurl: no curl_multi_* call and no on_done may start */
    int settling; /* httpc_settle() is running: a nested call leaves the work to it */
    int closing, torn_down;
    unsigned pending_closes; /* uv handles whose close callback has not run yet */
    void (*close_done)(void *arg);
    void *close_arg;
};

struct httpc_req {
    httpc_t *c;
    CURL *easy;
    struct curl_slist *headers;
    struct httpc_link link; /* in c->active or c->done */
    struct httpc_link todo_link; /* in c->todo when in_todo */
    httpc_done_cb on_done;
    void *arg;
    int (*on_data)(void *arg, const char *data, size_t len);
    char *buf; /* buffered mode: the body so far, always NUL-terminated */
    size_t len, cap, max;
    uint64_t fb_deadline; /* loop time; 0 = no first-byte limit */
    int error; /* our own verdict (too large, aborted, first byte); wins over curl's code */
    CURLcode code;
    unsigned in_todo : 1, in_multi : 1, wants_add : 1, wants_resume : 1, cancelled : 1, delivering : 1,
        got_byte : 1, user_paused : 1, curl_paused : 1, in_data : 1, resumed_in_data : 1;
};

/* httpc.c: runs the deferred work and on_done callbacks once libcurl has returned. */
void httpc_settle(httpc_t *c);

/* httpc_loop.c */
int httpc_loop_init(httpc_t *c); /* multi handle + timers; 0 or -1 */
void httpc_loop_drive(httpc_t *c, curl_socket_t fd, int flags); /* socket_action, then settle */
void httpc_loop_close(httpc_t *c); /* after curl_multi_cleanup: closes every uv handle, frees c */

/* httpc_easy.c */
int httpc_easy_valid(const httpc_opts_t *o, const char *method);
int httpc_easy_configure(httpc_req_t *r, const httpc_opts_t *o, const char *method); /* 0 or -1 */
void httpc_easy_classify(httpc_req_t *r, httpc_result_t *res);

#endif
