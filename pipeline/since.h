/* Polling a conversation's turns oldest first: ?since= (strictly after an RFC 3339 time, or after
 * the turn with that id, which is exact) and ?limit=, as session interactions and conversation
 * messages take them. */
#ifndef pipeline_since_h
#define pipeline_since_h

#include <stddef.h>

typedef struct req req_t;
typedef struct db_stmt db_stmt_t;

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
    const char *turn;
} since_t;

/* Reads ?since= and ?limit= (default 50, 1..200); answers the 422 and returns -1 when either is
 * bad. `turn` says what an id must name, for the message ("an interaction of this session"). */
int since_from_query(req_t *r, const char *turn, since_t *out);

/* GET .../{id}/<turns>?since=&limit=: runs stmt with ($1 p1, $2 p2, the {id}, since time, since
 * id, page size + 1), whose one row says whether the caller sees the conversation, whether the
 * since id (when given) is one of its turns, and {"items", "has_more"}; answers 404, the 422 or
 * the page. */
void since_list(req_t *r, const db_stmt_t *stmt, const char *p1, const char *p2, const char *turn);

#endif
