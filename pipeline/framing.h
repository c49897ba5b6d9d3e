/* HTTP/1.x body framing that two parties could read differently (request smuggling). */
#ifndef pipeline_framing_h
#define pipeline_framing_h

#define H2O_USE_LIBUV 1
#include <h2o.h>

/* Whether an HTTP/1.x request came with more than one Content-Length or Transfer-Encoding header
 * (any mix of them). Always 0 for HTTP/2. Valid until the response has been sent. */
int framing_is_ambiguous(h2o_req_t *req);

/* Makes every HTTP/1.x response on pathconf to an ambiguously framed request close its
 * connection, and, with close_after_body, to any request with a body. */
void framing_install(h2o_pathconf_t *pathconf, int close_after_body);

#endif
