/* Polling a conversation's turns oldest first: ?since= (strictly after an RFC 3339 time, or after
 * the turn with that id, which is exact) and ?limit=, as session interactions and conversation
 * messages take them. */
#ifndef pipeline_since_h
#define pipeline_since_h

#include <stddef.h>

typedef struct req req_t;

/* SQL: `col` is strictly after the timestamptz parameter `p`. Responses show times to the second,
 * so a time without a fraction stands for its whole second: since=<a turn's created_at> does
 * not answer that turn again. */
#define SINCE_SQL_AFTER(col, p)                                                                                        \
    "(" p "::timestamptz IS NULL OR " col " > CASE WHEN " p "::timestamptz = date_trunc('second', " p                   \
    "::timestamptz) THEN " p "::timestamptz + interval '999999 microseconds' ELSE " p "::timestamptz END)"

typedef struct since {
    const char *ts; /* statement parameters: at most one of them set */
    const char *id;
    char fetch[12]; /* limit + 1: the extra row says there is more */
    int limit;
    char buf[64];
    char idbuf[37];
} since_t;

/* Reads ?since= and ?limit= (default 50, 1..200); answers the 422 and returns -1 when either is
 * bad. `turn` says what an id must name, for the message ("an interaction of this session"). */
int since_from_query(req_t *r, const char *turn, since_t *out);

/* The 422 for a since that names no turn of this conversation, or an impossible date. */
void since_respond_bad(req_t *r, const char *turn);

#endif
