/* Whether an HTTP/1.1 connection is kept open after a request that carried a body. */
#ifndef pipeline_keepalive_h
#define pipeline_keepalive_h

#define H2O_USE_LIBUV 1
#include <h2o.h>

/* Makes every HTTP/1.1 response on pathconf to a request with a body (any Content-Length or
 * Transfer-Encoding, even an empty one) close its connection. */
void keepalive_close_after_body(h2o_pathconf_t *pathconf);

#endif
