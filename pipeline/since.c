/* ?since= and ?limit= for turn lists. PostgreSQL judges the calendar of a well-shaped timestamp
 * (month 13 is a 22008 error the caller answers with since_respond_bad). */
#include "pipeline/since.h"

#include <ctype.h>
#include <stdio.h>

#include "pipeline/cursor.h"
#include "pipeline/req.h"
#include "pipeline/validate.h"

static int digits(const char *s, int n)
{
    for (int i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return 0;
    return 1;
}

int since_is_rfc3339(const char *s, size_t n)
{
    if (n < 20 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' || !digits(s + 8, 2) ||
        (s[10] != 'T' && s[10] != 't') || !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) || s[16] != ':' ||
        !digits(s + 17, 2))
        return 0;
    size_t i = 19;
    if (s[i] == '.') {
        size_t start = ++i;
        while (i < n && isdigit((unsigned char)s[i]))
            i++;
        if (i == start || i - start > 9)
            return 0;
    }
    if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z'))
        return 1;
    return i + 6 == n && (s[i] == '+' || s[i] == '-') && digits(s + i + 1, 2) && s[i + 3] == ':' &&
           digits(s + i + 4, 2);
}

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
    else if (n > 0 && since_is_rfc3339(out->buf, (size_t)n))
        out->ts = out->buf;
    else {
        since_respond_bad(r, turn);
        return -1;
    }
    return 0;
}
