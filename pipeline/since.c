/* ?since= and ?limit= for turn lists. PostgreSQL judges the calendar of a well-shaped timestamp
 * (month 13 is a 22008 error the caller answers with since_respond_bad). */
#include "pipeline/since.h"

#include <stdio.h>

#include "pipeline/cursor.h"
#include "pipeline/req.h"
#include "pipeline/validate.h"

void since_respond_bad(req_t *r, const char *turn)
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
        since_respond_bad(r, turn);
        return -1;
    }
    return 0;
}
