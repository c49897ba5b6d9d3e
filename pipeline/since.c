/* ?since=, ?limit= and ?cursor= for turn lists. PostgreSQL judges the calendar of a well-shaped
 * timestamp (month 13 is a 22008 error, answered as a bad since). */
#include "pipeline/since.h"

#include <stdio.h>
#include <string.h>

#include "base/json.h"
#include "pipeline/req.h"
#include "pipeline/validate.h"

typedef struct since {
    cursor_page_t page; /* limit and cursor; its scope is the parent's id */
    const char *ts, *id;
    const char *turn;
    void (*on_hidden)(req_t *r, const PGresult *pg);
    char buf[64];
    char idbuf[37];
} since_t;

static void respond_bad(req_t *r, const char *turn)
{
    char msg[128];
    snprintf(msg, sizeof(msg), "Input should be an RFC 3339 timestamp or the id of %s", turn);
    req_respond_validation(r, (const char *[]){"query", "since", NULL}, msg, "value_error");
}

/* Reads ?since= into s; answers the 422 and returns -1 when it is neither a time nor an id. */
static int since_from_query(req_t *r, since_t *s)
{
    s->ts = s->id = NULL;
    long n = req_query_param(r, "since", s->buf, sizeof(s->buf));
    if (n == -1 || n == 0)
        return 0;
    if (n > 0 && validate_uuid(s->buf, (size_t)n, s->idbuf))
        s->id = s->idbuf;
    else if (n > 0 && validate_rfc3339(s->buf, (size_t)n))
        s->ts = s->buf;
    else {
        respond_bad(r, s->turn);
        return -1;
    }
    return 0;
}

static void respond_page(req_t *r, const since_t *s, const PGresult *pg)
{
    int more = strcmp(PQgetvalue(pg, 0, 3), "t") == 0;
    json_out_t o = json_out_pool(&r->h2o->pool, (size_t)PQgetlength(pg, 0, 2) + 160);
    json_out_obj_begin(&o);
    json_out_key(&o, "items");
    json_out_raw(&o, PQgetvalue(pg, 0, 2), (size_t)PQgetlength(pg, 0, 2));
    cursor_put_next(&o, s->page.scope, more, PQgetvalue(pg, 0, 4), PQgetvalue(pg, 0, 5));
    json_out_key(&o, "has_more");
    json_out_bool(&o, more);
    json_out_obj_end(&o);
    req_respond_json(r, 200, json_out_iov(&o));
}

static void on_page(req_t *r, const db_result_t *res)
{
    const since_t *s = r->state;
    if (res->status != DB_OK) {
        if (res->status == DB_ERR_QUERY && res->sqlstate != NULL && strncmp(res->sqlstate, "22", 2) == 0)
            respond_bad(r, s->turn); /* a well-shaped but impossible timestamp */
        else
            req_respond_db_error(r, res);
    } else if (PQntuples(res->pg) != 1 || strcmp(PQgetvalue(res->pg, 0, 0), "t") != 0) {
        if (s->on_hidden != NULL && PQntuples(res->pg) == 1)
            s->on_hidden(r, res->pg);
        else
            req_respond_not_found(r);
    } else if (strcmp(PQgetvalue(res->pg, 0, 1), "t") != 0) {
        respond_bad(r, s->turn);
    } else {
        respond_page(r, s, res->pg);
    }
}

void since_list(req_t *r, const db_stmt_t *stmt, const char *p1, const char *p2, const char *turn,
                void (*on_hidden)(req_t *r, const PGresult *pg))
{
    const char *id = req_param_uuid(r, "id");
    if (id == NULL)
        return;
    since_t *s = h2o_mem_alloc_pool(&r->h2o->pool, sizeof(*s));
    s->turn = turn;
    s->on_hidden = on_hidden;
    if (cursor_page_from_query(r, id, &s->page) != 0 || since_from_query(r, s) != 0)
        return;
    r->state = s;
    const char *values[SINCE_PAGE_PARAMS] = {p1, p2, id, s->ts, s->id, s->page.fetch, cursor_page_after_ts(&s->page),
                                             cursor_page_after_id(&s->page)};
    req_query(r, stmt, values, SINCE_PAGE_PARAMS, on_page);
}
