/* What the owner's and the visitor's views of a conversation's messages share. */
#ifndef handlers_conversations_h
#define handlers_conversations_h

#include "db/db.h"
#include "pipeline/cursor.h"
#include "pipeline/since.h"

/* A message as both views show it. */
#define CONVERSATION_MESSAGE_JSON(m)                                                                                   \
    "json_build_object('id', " m ".id, 'role', " m ".role, 'content', " m ".content, 'created_at', "                   \
    CURSOR_SQL_RFC3339(m ".created_at") ")"

/* A conversation's messages after "WITH parent AS (...)," (see SINCE_PAGE_SQL). */
#define CONVERSATION_MESSAGES_PAGE_SQL(extra)                                                                          \
    SINCE_PAGE_SQL("conversation_messages", "conversation_id", CONVERSATION_MESSAGE_JSON("p"), extra)

typedef struct req req_t;

/* GET .../conversations/{id}/messages?since=&limit=&cursor= with a CONVERSATION_MESSAGES_PAGE_SQL
 * statement taking ($1 p1, $2 p2, the conversation, the page) whose `parent` decides who may see
 * it; on_hidden as since_list takes it. */
void conversations_list_messages(req_t *r, const db_stmt_t *stmt, const char *p1, const char *p2,
                                 void (*on_hidden)(req_t *r, const PGresult *pg));

#endif
