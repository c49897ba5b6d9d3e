/* Goals: the resource and its routes (goals.c), and planning a goal into tasks (goals_plan.c). */
#ifndef handlers_goals_h
#define handlers_goals_h

#include "pipeline/app.h"

/* POST /api/v1/goals/{id}/plan */
void goals_plan(req_t *r);
void goals_plan_register(app_t *app);

#endif
