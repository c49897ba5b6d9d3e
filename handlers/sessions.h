/* The session object as every route shows it (GET /api/v1/sessions/{id} builds the same from the
 * sessions resource's fields): the members for json_build_object, for a sessions row `s`. */
#ifndef handlers_sessions_h
#define handlers_sessions_h

#include "pipeline/cursor.h"

#define SESSION_JSON_MEMBERS(s)                                                                                        \
    "'id', " s ".id, 'kind', " s ".kind, 'status', " s ".status, 'client_id', " s ".client_id,"                       \
    " 'product_id', " s ".product_id, 'strategy_id', " s ".strategy_id, 'assignment_id', " s ".assignment_id,"        \
    " 'score', " s ".score, 'ended_at', " CURSOR_SQL_RFC3339(s ".ended_at") ", 'created_at', " CURSOR_SQL_RFC3339(s ".created_at")

#endif
