/* What the Sailwind module's files share: the rep assignments resource and the hand-written
 * routes of the caller's own assignments and practice sessions (handlers/sailwind.c routes them). */
#ifndef handlers_sailwind_h
#define handlers_sailwind_h

#include "pipeline/req.h"
#include "pipeline/resource/resource.h"

/* POST /api/v1/sailwind/rep-assignments (admins) and GET .../{id}. */
extern const resource_t sailwind_rep_assignments;

/* GET /api/v1/sailwind/my/rep-assignments */
void sailwind_my_rep_assignments(req_t *r);

/* POST /api/v1/sailwind/practice-sessions */
void sailwind_practice_start(req_t *r);

/* GET /api/v1/sailwind/my/practice-sessions */
void sailwind_my_practice_sessions(req_t *r);

/* The statements of the routes above. */
void sailwind_assignments_add_stmts(app_t *app);
void sailwind_practice_add_stmts(app_t *app);

#endif
