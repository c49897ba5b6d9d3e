/* ?since= and ?limit= for turn lists. PostgreSQL judges the calendar of a well-shaped timestamp
 * (month 13 is a 22008 error since_list answers as a bad since). */
#include "pipeline/since.h"

#include <stdio.h>
#include <string.h>

#include "pipeline/cursor.h"
#include "pipeline/req.h"
#include "pipeline/validate.h"

static void respond_bad(req_t *r, const char *turn)
{
    char msg[128];
    snprintf(msg, sizeof(msg), "Input should be an RFC 3339 timestamp or the id of %s", turn);
    req_respond_validation(r, (const char *[]){"query", "since", NULL}, msg, "value_error");
}

int since_from_query(req_t *r, const char *turn, since_t *out)
{
    out->ts = out->id = NULL;
    out->limit = CURSOR_LIMIT_DEFAULT;
    long n = req_query_param(r, "limit", out->buf, sizeof(out->buf));
    if (n != -1 && (n < 0 || cursor_parse_limit(out->buf, (size_t)n, &out->limit) != 0)) {
        req_respond_validation(r, (const char *[]){"query", "limit", NULL},
                               "Input should be an integer between 1 and 200", "int_parsing");
        return -1;
    }
    snprintf(out->fetch, sizeof(out->fetch), "%d", out->limit + 1);
    n = req_query_param(r, "since", out->buf, sizeof(out->buf));
    if (n == -1 || n == 0)
        return 0;
    if (n > 0 && validate_uuid(out->buf, (size_t)n, out->idbuf))
        out->id = out->idbuf;
    else if (n > 0 && validate_rfc3339(out->buf, (size_t)n))
        out->ts = out->buf;
    else {
        respond_bad(r, turn);
        return -1;
    }
    return 0;
}

static void on_page(req_t *r, const db_result_t *res)
{
    const char *turn = ((since_t *)r->state)->turn;
    if (res->status != DB_OK) {
        if (res->status == DB_ERR_QUERY && res->sqlstate != NULL && strncmp(res->sqlstate, "22", 2) == 0)
            respond_bad(r, turn); /* a well-shaped but impossible timestamp */
        else
            req_respond_db_error(r, res);
    } else if (PQntuples(res->pg) != 1 || strcmp(PQgetvalue(res->pg, 0, 0), "t") != 0) {
        req_respond_not_found(r);
    } else if (strcmp(PQgetvalue(res->pg, 0, 1), "t") != 0) {
        respond_bad(r, turn);
    } else {
        req_respond_cell(r, 200, res->pg, 2);
    }
}

void since_list(req_t *r, const db_stmt_t *stmt, const char *p1, const char *p2, const char *turn)
{
    const char *id = req_param_uuid(r, "id");
    if (id == NULL)
        return;
    since_t *since = h2o_mem_alloc_pool(&r->h2o->pool, sizeof(*since));
    if (since_from_query(r, turn, since) != 0)
        return;
    since->turn = turn;
    r->state = since;
    const char *values[] = {p1, p2, id, since->ts, since->id, since->fetch};
    req_query(r, stmt, values, 6, on_page);
}
