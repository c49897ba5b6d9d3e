/* What resource.c generates for one resource and the generic actions that use it. Private to
 * the resource layer. */
#ifndef pipeline_resource_resource_internal_h
#define pipeline_resource_resource_internal_h

#include "pipeline/req.h"
#include "pipeline/resource/resource.h"

#define RESOURCE_LIST_MAX_PARAMS 16 /* scope, filters, parent and page: checked at start-up */

typedef struct resource_rt {
    const resource_t *res;
    char *item_path;
    size_t item_prefix_len; /* item_path up to its {id} */
    vschema_t create_schema, update_schema;
    db_stmt_t list, get, create, update, del;
    db_stmt_t parent_check; /* with resource_t.parent: is the parent reachable? */
    int nscope; /* $1 organization [, $2 user]: the parameters every statement starts with */
    /* the list statement's other parameters (0: none); filters are p_filter, p_filter + 1, ... */
    int p_archived, p_q, p_filter, p_parent, p_ts, p_id, p_limit;
} resource_rt_t;

void resource_list(req_t *r);
void resource_get(req_t *r);
void resource_create(req_t *r);
void resource_update(req_t *r);
void resource_delete(req_t *r);

#endif
