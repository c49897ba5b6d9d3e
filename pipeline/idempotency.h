/* Idempotency-Key handling for POST requests (API.md conventions): claim, replay, store. */
#ifndef pipeline_idempotency_h
#define pipeline_idempotency_h

#include "pipeline/req.h"

typedef struct idem_state {
    const char *key;
    const char *hash; /* of method, path and body, as bytea hex text */
    req_t *req;
    unsigned waits;   /* looks at a key whose first request is still running */
    h2o_timeout_entry_t wait;
} idem_state_t;

void idempotency_register(app_t *app);

/* The pipeline stage: returns 0 to go on at once, 1 when it answered or will resume the request
 * (req_resume) after claiming the key. Applies to authenticated POSTs with the header. */
int idempotency_stage(req_t *r);

/* Stores the response for replay (or gives the key back after a 5xx). */
void idempotency_on_response(req_t *r, int status, h2o_iovec_t body);

/* The request ended without a response: gives the key back. */
void idempotency_on_gone(req_t *r);

#endif
