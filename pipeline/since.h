/* Polling a conversation's turns oldest first: ?since= (strictly after an RFC 3339 time, or after
 * the turn with that id, which is exact), ?limit= and ?cursor=, as session interactions and
 * conversation messages take them. The answer is the collection shape every list has,
 * {"items", "next_cursor"}, plus "has_more" for the clients written before next_cursor. */
#ifndef pipeline_since_h
#define pipeline_since_h

#include <stddef.h>

#include "db/db.h"
#include "pipeline/cursor.h"

typedef struct req req_t;

/* SQL: `col` is strictly after the timestamptz parameter `p`. Responses show times to the second,
 * so a time without a fraction stands for its whole second: since=<a turn's created_at> does
 * not answer that turn again. */
#define SINCE_SQL_AFTER(col, p)                                                                                        \
    "(" p "::timestamptz IS NULL OR " col " > CASE WHEN " p "::timestamptz = date_trunc('second', " p                   \
    "::timestamptz) THEN " p "::timestamptz + interval '999999 microseconds' ELSE " p "::timestamptz END)"

/* The rest of a turn list's statement, after "WITH parent AS (<the one row the caller may see,
 * or none>),". `turns` is the table, `fk` its column naming the parent, `item(p)` a turn's JSON
 * built from the alias p, and `extra` more output columns (each preceded by a comma) for the
 * caller's own checks. Parameters: $4 a time or $5 a turn id to start strictly after, $6 the
 * page size + 1, $7/$8 the cursor's (created_at, id). Both since and cursor apply: a page holds
 * the turns after both. Columns: 0 the parent is visible, 1 the since id (when given) is one of
 * its turns, 2 the items (a JSON array), 3 a next page exists, 4 and 5 the last item's cursor key. */
#define SINCE_PAGE_SQL(turns, fk, item, extra)                                                                         \
    " a AS (SELECT t.created_at, t.id FROM " turns " t JOIN parent ON t." fk " = parent.id WHERE t.id = $5::uuid),"    \
    " page AS (SELECT t.*, row_number() OVER (ORDER BY t.created_at, t.id) AS rn"                                      \
    "   FROM " turns " t JOIN parent ON t." fk " = parent.id"                                                          \
    "   WHERE " SINCE_SQL_AFTER("t.created_at", "$4")                                                                  \
    "     AND ($5::uuid IS NULL OR (t.created_at, t.id) > (SELECT created_at, id FROM a))"                            \
    "     AND ($7::timestamptz IS NULL OR (t.created_at, t.id) > ($7::timestamptz, $8::uuid))"                        \
    "   ORDER BY t.created_at, t.id LIMIT $6::int)"                                                                    \
    " SELECT EXISTS (SELECT 1 FROM parent), ($5::uuid IS NULL OR EXISTS (SELECT 1 FROM a)),"                           \
    "  (SELECT coalesce(json_agg(" item " ORDER BY p.created_at, p.id) FILTER (WHERE p.rn < $6::int), '[]'::json)"    \
    "   ::text FROM page p),"                                                                                          \
    "  (SELECT count(*) >= $6::int FROM page),"                                                                        \
    "  (SELECT " CURSOR_SQL_TS("p.created_at") " FROM page p WHERE p.rn = $6::int - 1),"                                \
    "  (SELECT p.id FROM page p WHERE p.rn = $6::int - 1)" extra

#define SINCE_PAGE_PARAMS 8

/* GET .../{id}/<turns>?since=&limit=&cursor=: runs stmt (a SINCE_PAGE_SQL statement) with
 * ($1 p1, $2 p2, $3 the {id}, then the page's parameters) and answers 404 when the parent is not
 * visible (or calls on_hidden, when not NULL, to answer instead), the 422 of a bad since, limit
 * or cursor, or the page. `turn` says what a since id must name, for the message ("an
 * interaction of this session"). Cursors are bound to the parent: another's is a 422. */
void since_list(req_t *r, const db_stmt_t *stmt, const char *p1, const char *p2, const char *turn,
                void (*on_hidden)(req_t *r, const PGresult *pg));

#endif
