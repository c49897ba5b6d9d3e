/* Request smuggling defence. libh2o 2.2.5 frames an HTTP/1.1 body by the first Content-Length
 * and silently ignores a second, different one (and lets Transfer-Encoding override it), so the
 * bytes a front end counted as body could be parsed here as the next request. The handler never
 * sees the entity headers, so it cannot refuse the request; instead no request follows a body:
 * the library honours http1_is_persistent = 0 by answering "Connection: close" and closing
 * without parsing what is left in its input buffer. HTTP/2 frames bodies itself: untouched. */
#include "pipeline/keepalive.h"

static void on_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    if (req->version < 0x200 && req->entity.base != NULL)
        req->http1_is_persistent = 0;
    h2o_setup_next_ostream(req, slot);
}

void keepalive_close_after_body(h2o_pathconf_t *pathconf)
{
    h2o_filter_t *f = h2o_create_filter(pathconf, sizeof(*f));
    f->on_setup_ostream = on_setup_ostream;
}
