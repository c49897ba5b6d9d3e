/* The AI routes' shared lifecycle. The state is malloc'd, not in the request's pool, because the
 * run outlives a client who leaves: its result is still stored, only the answer is dropped. */
#include "pipeline/run/run_route.h"

#include <stdlib.h>
#include <string.h>

#include "pipeline/server.h"

int run_route_check(req_t *r, const db_result_t *res, int quota_col)
{
    if (res->status != DB_OK) {
        req_respond_db_error(r, res);
        return -1;
    }
    if (PQntuples(res->pg) != 1 || strcmp(PQgetvalue(res->pg, 0, 0), "t") != 0) {
        req_respond_not_found(r);
        return -1;
    }
    if (quota_col >= 0 && strcmp(PQgetvalue(res->pg, 0, quota_col), "t") == 0) {
        req_add_header(r, "retry-after", "60");
        req_respond_error(r, 429, "rate_limited", "The assistant's hourly quota is used up; try again later");
        return -1;
    }
    return 0;
}

llm_message_t *run_route_history(req_t *r, const PGresult *pg, int col, const char *user_role, size_t *n)
{
    json_t *hist = json_parse(&r->h2o->pool, PQgetvalue(pg, 0, col), (size_t)PQgetlength(pg, 0, col), NULL, 0);
    *n = hist != NULL && hist->type == JSON_ARRAY ? hist->len : 0;
    llm_message_t *out = h2o_mem_alloc_pool(&r->h2o->pool, sizeof(*out) * (*n ? *n : 1));
    for (size_t i = 0; i < *n; i++) {
        json_t *role = json_get(hist->items[i], "role"), *content = json_get(hist->items[i], "content");
        out[i] = (llm_message_t){role != NULL && strcmp(role->str, user_role) == 0 ? LLM_USER : LLM_ASSISTANT,
                                 content != NULL ? content->str : ""};
    }
    return out;
}

/* A JSON route's client left: the run goes on and stores; nobody is answered. */
static void on_req_gone(req_t *r, void *arg)
{
    (void)r;
    ((run_route_t *)arg)->r = NULL;
}

void *run_route_new(req_t *r, size_t size, run_route_mode_t mode)
{
    run_route_t *rr = calloc(1, size);
    if (rr == NULL)
        abort();
    rr->thread = r->thread;
    rr->mode = mode;
    if (mode == RUN_ROUTE_SSE) {
        rr->out = run_sse_open(r);
    } else {
        rr->r = r;
        r->on_gone = on_req_gone;
        r->on_gone_arg = rr;
    }
    return rr;
}

static void on_run_done(void *arg, run_t *run, const run_result_t *res)
{
    run_route_t *rr = arg;
    (void)run;
    rr->done(rr, res);
}

run_t *run_route_start(run_route_t *rr, run_spec_t *spec, void (*done)(run_route_t *rr, const run_result_t *res))
{
    rr->done = done;
    spec->on_done = on_run_done;
    spec->arg = rr;
    if (rr->mode == RUN_ROUTE_SSE) {
        run_sink_t sink = run_sse_sink(rr->out);
        rr->run = run_start(rr->thread, spec, &sink);
        run_sse_attach(rr->out, rr->run);
        run_sse_start(rr->out, run_id(rr->run));
    } else {
        rr->run = run_start(rr->thread, spec, NULL);
    }
    return rr->run;
}

static void end(run_route_t *rr)
{
    if (rr->dispose != NULL)
        rr->dispose(rr);
    if (rr->r != NULL)
        rr->r->on_gone = NULL;
    if (rr->out != NULL)
        run_sse_close(rr->out); /* and the run it was attached to */
    else if (rr->run != NULL)
        run_close(rr->run);
    free(rr);
}

static void on_stored(void *arg, const db_result_t *res)
{
    run_route_t *rr = arg;
    if (res->status != DB_OK)
        run_route_fail_db(rr, res);
    else
        rr->stored(rr, res);
}

void run_route_store(run_route_t *rr, const db_stmt_t *stmt, const char *const *values, int n,
                     void (*stored)(run_route_t *rr, const db_result_t *res))
{
    rr->stored = stored;
    db_pool_query(rr->thread->db[APP_POOL_FAST], stmt, values, n, 0, on_stored, rr);
}

static void on_reply_stored(run_route_t *rr, const db_result_t *res)
{
    if (PQntuples(res->pg) != 1)
        run_route_fail(rr, 503, "unavailable", "The reply could not be stored");
    else
        run_route_reply(rr, PQgetvalue(res->pg, 0, 0), PQnfields(res->pg) > 1 ? PQgetvalue(res->pg, 0, 1) : rr->reply,
                        rr->tokens_in, rr->tokens_out, 0);
}

void run_route_store_reply(run_route_t *rr, const run_result_t *res, const db_stmt_t *stmt, const char *const *values,
                           int n)
{
    rr->reply = res->text;
    rr->tokens_in = res->tokens_in;
    rr->tokens_out = res->tokens_out;
    run_route_store(rr, stmt, values, n, on_reply_stored);
}

void run_route_fail(run_route_t *rr, int status, const char *code, const char *detail)
{
    if (rr->out != NULL)
        run_sse_error(rr->out, code, detail);
    else if (rr->r != NULL)
        req_respond_error(rr->r, status, code, detail);
    end(rr);
}

void run_route_fail_db(run_route_t *rr, const db_result_t *res)
{
    if (rr->out != NULL)
        run_sse_error(rr->out, "unavailable", "The reply could not be stored");
    else if (rr->r != NULL)
        req_respond_db_error(rr->r, res);
    end(rr);
}

void run_route_reply(run_route_t *rr, const char *message_id, const char *content, unsigned tokens_in,
                     unsigned tokens_out, int whole)
{
    if (rr->out != NULL)
        run_sse_reply(rr->out, message_id, content, tokens_in, tokens_out, whole);
    end(rr);
}

void run_route_answer(run_route_t *rr, int status, const PGresult *pg, int col)
{
    if (rr->r != NULL)
        req_respond_cell(rr->r, status, pg, col);
    end(rr);
}
