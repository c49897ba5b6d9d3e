/* What the owner's and the visitor's views of a conversation's messages share. */
#ifndef handlers_conversation_h
#define handlers_conversation_h

#include "db/db.h"
#include "pipeline/cursor.h"
#include "pipeline/since.h"

/* A message as both views show it. */
#define CONVERSATION_MESSAGE_JSON(m)                                                                                   \
    "json_build_object('id', " m ".id, 'role', " m ".role, 'content', " m ".content, 'created_at', "                   \
    SQL_RFC3339(m ".created_at") ")"

/* Given a CTE `c` with the conversation's id (empty when the caller may not see it), $4 a time or
 * $5 a message id to start strictly after and $6 the page size + 1: one row of whether c has the
 * conversation, whether $5 (when given) is one of its messages, and {"items", "has_more"}. */
#define CONVERSATION_MESSAGES_PAGE_SQL                                                                                 \
    " a AS (SELECT m.created_at, m.id FROM conversation_messages m JOIN c ON m.conversation_id = c.id"                 \
    "   WHERE m.id = $5::uuid),"                                                                                       \
    " page AS (SELECT m.*, row_number() OVER (ORDER BY m.created_at, m.id) AS rn"                                      \
    "   FROM conversation_messages m JOIN c ON m.conversation_id = c.id"                                               \
    "   WHERE " SINCE_SQL_AFTER("m.created_at", "$4")                                                                  \
    "     AND ($5::uuid IS NULL OR (m.created_at, m.id) > (SELECT created_at, id FROM a))"                            \
    "   ORDER BY m.created_at, m.id LIMIT $6::int)"                                                                    \
    " SELECT EXISTS (SELECT 1 FROM c), ($5::uuid IS NULL OR EXISTS (SELECT 1 FROM a)),"                                \
    "  (SELECT json_build_object('items', coalesce(json_agg(" CONVERSATION_MESSAGE_JSON("p")                           \
    "     ORDER BY p.created_at, p.id) FILTER (WHERE p.rn < $6::int), '[]'::json),"                                   \
    "   'has_more', count(*) >= $6::int)::text FROM page p)"

typedef struct req req_t;

/* GET .../conversations/{id}/messages?since=&limit= with a statement taking ($1, $2, the
 * conversation, since time, since id, page size + 1) whose `c` decides who may see it. */
void conversations_list_messages(req_t *r, const db_stmt_t *stmt, const char *p1, const char *p2);

#endif
