/* One request's libcurl easy handle: option checks, the handle's settings (protocols, timeouts,
 * method, body, headers), and libcurl's result turned into an HTTPC_ERR_* with a URL-free text. */
#include <string.h>
#include <strings.h>
#include "base/httpc_internal.h"

#define HTTPC_MAX_URL 8192
#define DEFAULT_CONNECT_TIMEOUT_MS 5000
#define DEFAULT_TIMEOUT_MS 30000

static int valid_method(const char *m)
{
    size_t n = 0;
    for (; m[n] != '\0'; n++)
        if (n >= 15 || m[n] < 'A' || m[n] > 'Z')
            return 0;
    return n > 0;
}

static int valid_url(const char *u)
{
    return u != NULL && strnlen(u, HTTPC_MAX_URL + 1) <= HTTPC_MAX_URL &&
           (strncasecmp(u, "http://", 7) == 0 || strncasecmp(u, "https://", 8) == 0);
}

int httpc_easy_valid(const httpc_opts_t *o, const char *method)
{
    return valid_method(method) && valid_url(o->url) && o->body_len <= HTTPC_MAX_BODY &&
           (o->body != NULL || o->body_len == 0);
}

/* Copies the caller's headers; refuses CR/LF (header injection) and anything over the bounds. */
static int build_headers(httpc_req_t *r, const char *const *h, int has_body)
{
    int expect = 0;
    for (size_t i = 0; h != NULL && h[i] != NULL; i++) {
        size_t n = strnlen(h[i], HTTPC_MAX_HEADER_LEN + 1);
        if (i >= HTTPC_MAX_HEADERS || n > HTTPC_MAX_HEADER_LEN || strpbrk(h[i], "\r\n") != NULL ||
            h[i][0] == ':' || strchr(h[i], ':') == NULL)
            return -1;
        expect |= strncasecmp(h[i], "expect:", 7) == 0;
        struct curl_slist *l = curl_slist_append(r->headers, h[i]);
        if (l == NULL)
            return -1;
        r->headers = l;
    }
    if (has_body && !expect) { /* no 100-continue round trip before the body */
        struct curl_slist *l = curl_slist_append(r->headers, "Expect:");
        if (l == NULL)
            return -1;
        r->headers = l;
    }
    return 0;
}

int httpc_easy_configure(httpc_req_t *r, const httpc_opts_t *o, const char *method)
{
    CURL *e = r->easy;
    int is_get = strcmp(method, "GET") == 0, is_post = strcmp(method, "POST") == 0;
    int is_head = strcmp(method, "HEAD") == 0;
    int has_body = o->body_len > 0 || is_post;
    int bad = 0;
    if (build_headers(r, o->headers, has_body) != 0)
        return -1;
    bad |= curl_easy_setopt(e, CURLOPT_URL, o->url) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, (void *)r) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) != CURLE_OK;
    /* http(s) only, and no redirects: a redirect would carry API-key headers to another host */
    bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS) != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "") != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L) != CURLE_OK; /* long idle SSE streams */
    bad |= curl_easy_setopt(e, CURLOPT_USERAGENT, "hellosales") != CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                            (long)(o->connect_timeout_ms ? o->connect_timeout_ms : DEFAULT_CONNECT_TIMEOUT_MS)) !=
           CURLE_OK;
    bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS)) !=
           CURLE_OK;
    if (r->headers != NULL)
        bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers) != CURLE_OK;
    if (r->on_data == NULL) /* fails early on a Content-Length over the limit */
        bad |= curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)r->max) != CURLE_OK;
    if (has_body) {
        bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)o->body_len) != CURLE_OK;
        bad |= curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, o->body_len ? o->body : "") != CURLE_OK;
    } else if (is_get) {
        bad |= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L) != CURLE_OK;
    } else if (is_head) {
        bad |= curl_easy_setopt(e, CURLOPT_NOBODY, 1L) != CURLE_OK;
    }
    if (!is_post && !(is_get && !has_body) && !is_head)
        bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method) != CURLE_OK;
    return bad ? -1 : 0;
}

static const char *own_text(int error)
{
    switch (error) {
    case HTTPC_ERR_FIRST_BYTE:
        return "no response body in time";
    case HTTPC_ERR_TOO_LARGE:
        return "response too large";
    case HTTPC_ERR_ABORTED:
        return "aborted by the receiver";
    default:
        return "could not start the request";
    }
}

void httpc_easy_classify(httpc_req_t *r, httpc_result_t *res)
{
    curl_off_t pretransfer = 0;
    res->error = r->error;
    if (r->error != 0) {
        res->error_text = own_text(r->error);
        return;
    }
    switch (r->code) {
    case CURLE_OK:
        return;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
        res->error = HTTPC_ERR_CONNECT;
        break;
    case CURLE_OPERATION_TIMEDOUT:
        /* before the request could be sent (TCP + TLS), it is the connect phase that stalled */
        curl_easy_getinfo(r->easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
        res->error = pretransfer == 0 ? HTTPC_ERR_CONNECT : HTTPC_ERR_TIMEOUT;
        res->error_text = pretransfer == 0 ? "connect timed out" : "timed out";
        return;
    case CURLE_FILESIZE_EXCEEDED:
        res->error = HTTPC_ERR_TOO_LARGE;
        res->error_text = own_text(HTTPC_ERR_TOO_LARGE);
        return;
    default:
        res->error = HTTPC_ERR_TRANSPORT;
        break;
    }
    res->error_text = curl_easy_strerror(r->code); /* static text, never the URL */
}
