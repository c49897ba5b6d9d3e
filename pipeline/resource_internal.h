/* What resource.c generates for one resource and the generic actions that use it. Private to
 * the resource layer. */
#ifndef pipeline_resource_internal_h
#define pipeline_resource_internal_h

#include "pipeline/req.h"
#include "pipeline/resource.h"

typedef struct res_rt {
    const resource_t *res;
    char *item_path;
    vschema_t create_schema, update_schema;
    db_stmt_t list, get, create, update, del;
    int nscope; /* $1 organization [, $2 user]: the parameters every statement starts with */
    int p_archived, p_q, p_ts, p_id, p_limit; /* the list statement's other parameters (0: none) */
} res_rt_t;

void res_list(req_t *r);
void res_get(req_t *r);
void res_create(req_t *r);
void res_update(req_t *r);
void res_delete(req_t *r);

#endif
