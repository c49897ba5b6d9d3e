/* Keyset pagination for collections: `limit` and opaque `cursor` query parameters, cursors that
 * carry the last row's (created_at, id), and the {"items", "next_cursor"} response. */
#ifndef pipeline_cursor_h
#define pipeline_cursor_h

#include <stddef.h>

#include "base/json.h"
#include "db/db.h"

typedef struct req req_t;

#define CURSOR_LIMIT_DEFAULT 50
#define CURSOR_LIMIT_MAX 200
#define CURSOR_TS_MAX 40
#define CURSOR_TOKEN_MAX 96 /* base64url of the largest payload, with its NUL */

/* The one spelling of timestamps in responses (RFC 3339, UTC, whole seconds, "Z"), and the
 * microsecond spelling a cursor carries so that the keyset comparison loses nothing. Every
 * statement builds its timestamps with these. */
#define CURSOR_SQL_RFC3339(expr) "to_char((" expr ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
#define CURSOR_SQL_TS(expr) "to_char((" expr ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"

/* Where a page starts: after the row (ts, id) of the previous page, newest first. */
typedef struct cursor_key {
    char ts[CURSOR_TS_MAX + 1]; /* as CURSOR_SQL_TS wrote it; PostgreSQL reads it back as timestamptz */
    char id[37];                /* a lower-case UUID */
} cursor_key_t;

/* Encodes (ts, id) for the collection named scope (a cursor of one collection is refused by
 * another) into out (CURSOR_TOKEN_MAX bytes). Returns the token's length, 0 when ts or id is
 * not of the expected shape. Format, before base64url without padding: version byte 1, ts
 * length, ts, the 16 bytes of the UUID, then the first 4 bytes of SHA-256(scope, payload) so
 * that an edited or invented cursor is detected (a check, not a secret: cursors hold nothing
 * the caller may not see). */
size_t cursor_encode(const char *scope, const char *ts, const char *id, char *out);

/* 0 and *out for a cursor cursor_encode issued for scope; -1 for anything else. */
int cursor_decode(const char *scope, const char *token, size_t len, cursor_key_t *out);

/* `limit` text: 0 and *out in 1..CURSOR_LIMIT_MAX, else -1. */
int cursor_parse_limit(const char *s, size_t len, int *out);

/* One page request, read from ?limit= and ?cursor=. */
typedef struct page {
    int limit;
    int has_after;
    cursor_key_t after;
    char fetch[12]; /* limit + 1, as a statement parameter: the extra row says a next page exists */
    const char *scope;
} cursor_page_t;

/* Reads limit and cursor for the collection scope; answers the 422 (loc ["query", "limit"] or
 * ["query", "cursor"]) and returns -1 when either is bad. An empty cursor is the first page. */
int cursor_page_from_query(req_t *r, const char *scope, cursor_page_t *out);

/* The statement parameters for the page's start: ts and id, both NULL on the first page. */
static inline const char *cursor_page_after_ts(const cursor_page_t *p)
{
    return p->has_after ? p->after.ts : NULL;
}
static inline const char *cursor_page_after_id(const cursor_page_t *p)
{
    return p->has_after ? p->after.id : NULL;
}

/* Writes the "next_cursor" member: the cursor after (ts, id) for scope when `more` (ts and id
 * may be NULL otherwise), else null. */
void cursor_put_next(json_out_t *o, const char *scope, int more, const char *ts, const char *id);

/* Answers 200 {"items": [...], "next_cursor": ...} from a result whose rows are (item JSON,
 * CURSOR_SQL_TS key, id), ordered newest first and fetched with page->fetch as the LIMIT. */
void cursor_page_respond(req_t *r, const cursor_page_t *page, const db_result_t *res);

/* A hand-written collection's page: reads ?limit= and ?cursor= for scope (answering their 422),
 * runs stmt with values[0..n) followed by (after ts, after id, limit + 1), and answers with
 * cursor_page_respond. values are copied: they may live on the caller's stack. */
void cursor_page_query(req_t *r, const char *scope, const db_stmt_t *stmt, const char *const *values, int n);

#endif
