/* Request smuggling defence. libh2o 2.2.5 frames an HTTP/1.1 body by the first Content-Length
 * and ignores a second, different one (and lets a Transfer-Encoding override both), while a front
 * end may have used another, so bytes it counted as body could be parsed here as the next request.
 * The library keeps those headers out of req->headers, but the request's raw head is still at the
 * start of the connection's input buffer while the request is answered (the library consumes it
 * only once the response is sent), so it is read there, once a request: by the app pipeline,
 * which refuses an ambiguous request before any action runs (req.c), or on the other paths by a
 * response filter. Either way the connection is closed: the library honours
 * http1_is_persistent = 0 by closing without parsing what is left in its buffer. HTTP/2 frames
 * bodies itself. */
#include "pipeline/framing.h"

#include <string.h>
#include <strings.h>

#define FRAMING_HEAD_MAX 8192 /* H2O_MAX_REQLEN: the library refuses longer heads */

static int is_entity_header(const char *line, size_t len)
{
    static const char cl[] = "content-length:", te[] = "transfer-encoding:";
    return (len >= sizeof(cl) - 1 && strncasecmp(line, cl, sizeof(cl) - 1) == 0) ||
           (len >= sizeof(te) - 1 && strncasecmp(line, te, sizeof(te) - 1) == 0);
}

int framing_is_ambiguous(h2o_req_t *req)
{
    if (req->version >= 0x200 || req->entity.base == NULL || req->conn->callbacks->get_socket == NULL)
        return 0;
    h2o_socket_t *sock = req->conn->callbacks->get_socket(req->conn);
    if (sock == NULL || sock->input == NULL)
        return 0;
    const char *p = sock->input->bytes, *end = p + (sock->input->size < FRAMING_HEAD_MAX ? sock->input->size
                                                                                         : FRAMING_HEAD_MAX);
    while (p < end && (*p == '\r' || *p == '\n')) /* the parser skips empty lines before a request */
        p++;
    int entity_headers = 0, request_line = 1;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        if (nl == NULL)
            break;
        size_t len = (size_t)(nl - p);
        if (len > 0 && p[len - 1] == '\r')
            len--;
        if (len == 0) /* the end of the head */
            break;
        if (!request_line && is_entity_header(p, len))
            entity_headers++;
        request_line = 0;
        p = nl + 1;
    }
    return entity_headers > 1;
}

int framing_close_if_ambiguous(h2o_req_t *req)
{
    if (!framing_is_ambiguous(req))
        return 0;
    req->http1_is_persistent = 0;
    return 1;
}

typedef struct framing_filter {
    h2o_filter_t super;
    int check_ambiguous, close_after_body;
} framing_filter_t;

static void on_setup_ostream(h2o_filter_t *self, h2o_req_t *req, h2o_ostream_t **slot)
{
    framing_filter_t *f = (void *)self;
    if (req->version < 0x200 && req->entity.base != NULL) {
        if (f->close_after_body)
            req->http1_is_persistent = 0;
        else if (f->check_ambiguous)
            framing_close_if_ambiguous(req);
    }
    h2o_setup_next_ostream(req, slot);
}

void framing_install(h2o_pathconf_t *pathconf, int check_ambiguous, int close_after_body)
{
    if (!check_ambiguous && !close_after_body)
        return;
    framing_filter_t *f = (void *)h2o_create_filter(pathconf, sizeof(*f));
    f->super.on_setup_ostream = on_setup_ostream;
    f->check_ambiguous = check_ambiguous;
    f->close_after_body = close_after_body;
}
