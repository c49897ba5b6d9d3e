/* Coaching chat, practice role-play turns and their assessment, served on the sessions
 * module's paths. */
#ifndef handlers_coach_h
#define handlers_coach_h

#include "pipeline/app.h"

/* POST /api/v1/sessions/{id}/messages {content}: the reply as an SSE stream. */
void coach_post_message(req_t *r);

/* POST /api/v1/sessions/{id}/end: closes the session; a practice one is assessed first. */
void assessment_end_session(req_t *r);

/* Register the statements coaching and assessment use. */
void coach_register(app_t *app);
void assessment_register(app_t *app);

#endif
