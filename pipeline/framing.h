/* HTTP/1.x body framing that two parties could read differently (request smuggling). */
#ifndef pipeline_framing_h
#define pipeline_framing_h

#define H2O_USE_LIBUV 1
#include <h2o.h>

/* Whether an HTTP/1.x request came with more than one Content-Length or Transfer-Encoding header
 * (any mix of them). Always 0 for HTTP/2. Valid until the response has been sent. */
int framing_is_ambiguous(h2o_req_t *req);

/* Closes the connection after the response when req is an ambiguously framed HTTP/1.x request
 * (the app pipeline, which refuses such a request, calls it itself). Returns whether it did. */
int framing_close_if_ambiguous(h2o_req_t *req);

/* Makes HTTP/1.x responses on pathconf close their connection: after an ambiguously framed
 * request when check_ambiguous (paths the app pipeline does not serve), and after any request
 * with a body when close_after_body. Installs nothing when neither is asked. */
void framing_install(h2o_pathconf_t *pathconf, int check_ambiguous, int close_after_body);

#endif
