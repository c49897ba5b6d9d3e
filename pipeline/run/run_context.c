/* The answers every AI route gives before a run starts, from its context statement. */
#include "pipeline/run/run.h"

#include <string.h>

#include "pipeline/req.h"

int run_context_check(req_t *r, const db_result_t *res, int quota_col)
{
    if (res->status != DB_OK) {
        req_respond_db_error(r, res);
        return -1;
    }
    if (PQntuples(res->pg) != 1 || strcmp(PQgetvalue(res->pg, 0, 0), "t") != 0) {
        req_respond_error(r, 404, "not_found", "Not found");
        return -1;
    }
    if (quota_col >= 0 && strcmp(PQgetvalue(res->pg, 0, quota_col), "t") == 0) {
        req_add_header(r, "retry-after", "60");
        req_respond_error(r, 429, "rate_limited", "The assistant's hourly quota is used up; try again later");
        return -1;
    }
    return 0;
}
