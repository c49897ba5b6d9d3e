/* libh2o refuses some requests while reading them, with a plain-text body of its own; clients
 * built against the API expect {"detail", "code", "request_id"} and X-Request-Id on every
 * response. Those refusals are sent through the host's fallback path, where no handler of ours
 * runs, so a response filter there swaps the body (sent whole, by h2o_send_inline) for ours. */
#include "pipeline/early_error.h"

#include <string.h>

#include "pipeline/req.h"
#include "pipeline/server.h"

typedef struct rewrite {
    h2o_ostream_t super;
    h2o_iovec_t body;
    int sent;
} rewrite_t;

static void on_send(h2o_ostream_t *self, h2o_req_t *req, h2o_iovec_t *bufs, size_t bufcnt, h2o_send_state_t state)
{
    rewrite_t *w = (void *)self;
    int head = h2o_memis(req->input.method.base, req->input.method.len, H2O_STRLIT("HEAD"));
    if (w->sent || head) {
        h2o_ostream_send_next(self, req, NULL, 0, state);
        return;
    }
    w->sent = 1;
    h2o_ostream_send_next(self, req, &w->body, 1, state);
}

static void code_of(int status, const char **code, const char **detail)
{
    switch (status) {
    case 413:
        *code = "payload_too_large", *detail = "Request body is larger than this server accepts";
        break;
    case 404:
        *code = "not_found", *detail = "Not found";
        break;
    case 417:
        *code = "expectation_failed", *detail = "Only Expect: 100-continue is understood";
        break;
    default:
        *code = status < 500 ? "bad_request" : "internal";
        *detail = status < 500 ? "The request is malformed" : "Internal server error";
        break;
    }
}

static void on_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    if (req->res.status >= 400) {
        char *id = h2o_mem_alloc_pool(&req->pool, REQ_ID_MAX + 1);
        const char *code, *detail;
        req_take_id(req, server_thread_of(req), id);
        code_of(req->res.status, &code, &detail);
        rewrite_t *w = (void *)h2o_add_ostream(req, sizeof(*w), slot);
        w->super.do_send = on_send;
        w->body = req_error_body(&req->pool, id, code, detail, NULL, NULL);
        w->sent = 0;
        h2o_set_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, H2O_STRLIT("application/json; charset=utf-8"),
                       1);
        req->res.content_length = w->body.len;
        req_add_standard_headers(req, id, NULL);
        slot = &w->super.next;
    }
    h2o_setup_next_ostream(req, slot);
}

void early_error_install(h2o_pathconf_t *fallback)
{
    h2o_filter_t *f = h2o_create_filter(fallback, sizeof(*f));
    f->on_setup_ostream = on_setup_ostream;
}
