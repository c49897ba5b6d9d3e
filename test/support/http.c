/* libcurl requests in every protocol the server speaks, and raw TCP for malformed requests. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, memmem */
#endif
#include "test/support/http.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "test/support/env.h"

static void global_init(void)
{
    static int done;
    if (!done) {
        if (curl_global_init(CURL_GLOBAL_ALL) != 0)
            abort();
        done = 1;
    }
}

/* Truncation of an error message is fine; vsnprintf says so to the compiler. */
static void set_error(ts_resp_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->error, sizeof(r->error), fmt, ap);
    va_end(ap);
}

const char *ts_version_name(ts_version_t version)
{
    switch (version) {
    case TS_H1:
        return "HTTP/1.1";
    case TS_H2C_PRIOR:
        return "h2c (prior knowledge)";
    case TS_H2C_UPGRADE:
        return "h2c (upgrade)";
    case TS_H2_TLS:
        return "h2 (TLS, ALPN)";
    }
    return "?";
}

void ts_http_setup_easy(void *easy, ts_version_t version, long timeout_ms)
{
    static const long curl_version[] = {
        [TS_H1] = CURL_HTTP_VERSION_1_1,
        [TS_H2C_PRIOR] = CURL_HTTP_VERSION_2_PRIOR_KNOWLEDGE,
        [TS_H2C_UPGRADE] = CURL_HTTP_VERSION_2_0,
        [TS_H2_TLS] = CURL_HTTP_VERSION_2TLS,
    };
    CURL *e = easy;
    global_init();
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, curl_version[version]);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROXY, ""); /* an http_proxy in the environment must not apply */
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms > 0 ? timeout_ms : 5000L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, 2000L);
    /* Verify TLS for real, trusting only the fixture certificate the test servers present. */
    curl_easy_setopt(e, CURLOPT_CAINFO, ts_fixture("tls/cert.pem"));
    curl_easy_setopt(e, CURLOPT_CAPATH, NULL);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
}

/* ---- response collection ------------------------------------------------------------------ */

static void add_header(ts_resp_t *r, const char *name, size_t nlen, const char *value, size_t vlen)
{
    r->headers = realloc(r->headers, (r->nheaders + 1) * sizeof(*r->headers));
    if (r->headers == NULL)
        abort();
    r->headers[r->nheaders].name = strndup(name, nlen);
    r->headers[r->nheaders].value = strndup(value, vlen);
    r->nheaders++;
}

static void clear_headers(ts_resp_t *r)
{
    for (size_t i = 0; i < r->nheaders; i++) {
        free(r->headers[i].name);
        free(r->headers[i].value);
    }
    free(r->headers);
    r->headers = NULL;
    r->nheaders = 0;
}

/* One header line "Name: value" (CRLF stripped here); a status line starts a new response, so
 * the headers of 100 Continue or 101 Switching Protocols do not mix with the final ones. */
static void parse_header_line(ts_resp_t *r, const char *line, size_t len)
{
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == '\n'))
        len--;
    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        clear_headers(r);
        return;
    }
    const char *colon = memchr(line, ':', len);
    if (colon == NULL)
        return;
    const char *v = colon + 1, *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    add_header(r, line, (size_t)(colon - line), v, (size_t)(end - v));
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    parse_header_line(arg, data, size * nmemb);
    return size * nmemb;
}

static void append_body(ts_resp_t *r, const char *data, size_t len)
{
    r->body = realloc(r->body, r->body_len + len + 1);
    if (r->body == NULL)
        abort();
    memcpy(r->body + r->body_len, data, len);
    r->body_len += len;
    r->body[r->body_len] = '\0';
}

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    append_body(arg, data, size * nmemb);
    return size * nmemb;
}

struct upload {
    const char *data;
    size_t left;
};

static size_t on_upload(char *buf, size_t size, size_t nmemb, void *arg)
{
    struct upload *u = arg;
    size_t n = size * nmemb < u->left ? size * nmemb : u->left;
    memcpy(buf, u->data, n);
    u->data += n;
    u->left -= n;
    return n;
}

void ts_http_collect(void *easy, ts_resp_t *resp)
{
    memset(resp, 0, sizeof(*resp));
    append_body(resp, "", 0); /* body is never NULL */
    curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(easy, CURLOPT_HEADERDATA, resp);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, resp);
}

void ts_http_collected(void *easy, int curl_code, ts_resp_t *resp)
{
    if (curl_code == CURLE_OK) {
        long v = 0;
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &resp->status);
        curl_easy_getinfo(easy, CURLINFO_HTTP_VERSION, &v);
        resp->http_major = v == CURL_HTTP_VERSION_2_0 ? 2 : v == CURL_HTTP_VERSION_1_0 || v == CURL_HTTP_VERSION_1_1 ? 1 : 0;
    } else {
        const char *url = NULL;
        curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &url);
        set_error(resp, "%s: %s", url ? url : "?", curl_easy_strerror((CURLcode)curl_code));
        resp->status = 0;
    }
}

int ts_http_request(const ts_req_t *req, ts_resp_t *resp)
{
    CURL *e = curl_easy_init();
    if (e == NULL)
        abort();
    ts_http_setup_easy(e, req->version, req->timeout_ms);
    ts_http_collect(e, resp);
    curl_easy_setopt(e, CURLOPT_URL, req->url);

    struct curl_slist *hdrs = NULL;
    int has_expect = 0;
    for (const char *const *h = req->headers; h != NULL && *h != NULL; h++) {
        hdrs = curl_slist_append(hdrs, *h);
        has_expect |= strncasecmp(*h, "expect:", 7) == 0;
    }
    /* curl would wait for 100 Continue before bodies over 1 KiB; tests ask for it explicitly. */
    if (!has_expect)
        hdrs = curl_slist_append(hdrs, "Expect:");
    struct upload up = {req->body, req->body_len};
    if (req->chunked) {
        hdrs = curl_slist_append(hdrs, "Transfer-Encoding: chunked");
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_READFUNCTION, on_upload);
        curl_easy_setopt(e, CURLOPT_READDATA, &up);
    } else if (req->body != NULL) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hdrs);

    const char *method = req->method != NULL ? req->method : (req->body != NULL || req->chunked ? "POST" : "GET");
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    else if (strcmp(method, "POST") == 0 && req->body == NULL && !req->chunked) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, 0L); /* an empty POST, not a GET */
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
    }

    char errbuf[CURL_ERROR_SIZE] = "";
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    int64_t start = ts_now_ms();
    CURLcode rc = curl_easy_perform(e);
    resp->elapsed_ms = ts_now_ms() - start;
    ts_http_collected(e, rc, resp);
    if (rc != CURLE_OK)
        set_error(resp, "%s %s: %s", method, req->url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(e);
    return rc == CURLE_OK ? 0 : -1;
}

int ts_http_get(const char *url, ts_version_t version, ts_resp_t *resp)
{
    return ts_http_request(&(ts_req_t){.url = url, .version = version}, resp);
}

const char *ts_resp_header(const ts_resp_t *resp, const char *name)
{
    for (size_t i = 0; i < resp->nheaders; i++)
        if (strcasecmp(resp->headers[i].name, name) == 0)
            return resp->headers[i].value;
    return NULL;
}

void ts_resp_free(ts_resp_t *resp)
{
    clear_headers(resp);
    free(resp->body);
    memset(resp, 0, sizeof(*resp));
}

/* ---- raw TCP ------------------------------------------------------------------------------ */

int ts_tcp_connect(uint16_t port, int timeout_ms)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        int err = 0;
        socklen_t elen = sizeof(err);
        if (errno != EINPROGRESS || poll(&p, 1, timeout_ms) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 ||
            err != 0) {
            close(fd);
            return -1;
        }
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK); /* reads are bounded by poll instead */
    return fd;
}

int ts_tcp_send(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Reads what is available within the deadline; returns bytes read, 0 on EOF, -1 on timeout/error. */
static ssize_t read_some(int fd, int64_t deadline, char **acc, size_t *acc_len)
{
    int64_t left = deadline - ts_now_ms();
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (left <= 0 || poll(&p, 1, (int)left) != 1)
        return -1;
    char buf[16384];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n < 0)
        return -1;
    *acc = realloc(*acc, *acc_len + (size_t)n + 1);
    if (*acc == NULL)
        abort();
    memcpy(*acc + *acc_len, buf, (size_t)n);
    *acc_len += (size_t)n;
    (*acc)[*acc_len] = '\0';
    return n;
}

int ts_tcp_read_until(int fd, const char *needle, int timeout_ms, char **acc, size_t *acc_len)
{
    int64_t deadline = ts_now_ms() + timeout_ms;
    if (*acc == NULL) {
        *acc = calloc(1, 1);
        *acc_len = 0;
    }
    while (memmem(*acc, *acc_len, needle, strlen(needle)) == NULL)
        if (read_some(fd, deadline, acc, acc_len) <= 0)
            return -1;
    return 0;
}

/* Decodes a complete chunked body from src into resp; returns 1 when complete, 0 if more is
 * needed, -1 when malformed. */
static int dechunk(const char *src, size_t len, ts_resp_t *resp)
{
    size_t pos = 0;
    free(resp->body);
    resp->body = calloc(1, 1);
    resp->body_len = 0;
    for (;;) {
        const char *eol = memmem(src + pos, len - pos, "\r\n", 2);
        if (eol == NULL)
            return 0;
        char *endp;
        unsigned long size = strtoul(src + pos, &endp, 16);
        if (endp == src + pos)
            return -1;
        pos = (size_t)(eol - src) + 2;
        if (size == 0)
            return memmem(src + pos - 2, len - pos + 2, "\r\n\r\n", 4) != NULL ? 1 : 0; /* trailers end */
        if (len - pos < size + 2)
            return 0;
        append_body(resp, src + pos, size);
        pos += size + 2;
    }
}

int ts_tcp_read_response(int fd, int timeout_ms, ts_resp_t *resp)
{
    int64_t deadline = ts_now_ms() + timeout_ms, start = ts_now_ms();
    char *acc = NULL;
    size_t len = 0, head_end;
    memset(resp, 0, sizeof(*resp));
    resp->body = calloc(1, 1);
    for (;;) {
        if (ts_tcp_read_until(fd, "\r\n\r\n", (int)(deadline - ts_now_ms()), &acc, &len) != 0) {
            set_error(resp, "no complete response head (got %zu bytes)", len);
            free(acc);
            return -1;
        }
        head_end = (size_t)((char *)memmem(acc, len, "\r\n\r\n", 4) - acc) + 4;
        int minor = 0;
        if (sscanf(acc, "HTTP/1.%d %ld", &minor, &resp->status) != 2) {
            set_error(resp, "not an HTTP/1.x status line");
            free(acc);
            return -1;
        }
        if (resp->status >= 200 || resp->status == 101)
            break;
        memmove(acc, acc + head_end, len - head_end + 1); /* skip an interim 1xx response */
        len -= head_end;
    }
    resp->http_major = 1;
    for (char *line = strstr(acc, "\r\n") + 2; line < acc + head_end - 2;) {
        char *eol = strstr(line, "\r\n");
        parse_header_line(resp, line, (size_t)(eol - line));
        line = eol + 2;
    }
    const char *cl = ts_resp_header(resp, "content-length"), *te = ts_resp_header(resp, "transfer-encoding");
    int done = 0;
    while (!done) {
        const char *body = acc + head_end;
        size_t have = len - head_end;
        if (te != NULL && strcasecmp(te, "chunked") == 0) {
            done = dechunk(body, have, resp);
            if (done < 0)
                break;
        } else if (cl != NULL) {
            size_t want = strtoul(cl, NULL, 10);
            if (have >= want) {
                free(resp->body);
                resp->body = strndup(body, want);
                resp->body_len = want;
                done = 1;
            }
        }
        if (!done) {
            ssize_t n = read_some(fd, deadline, &acc, &len);
            if (n == 0 && cl == NULL && te == NULL) { /* close-delimited body */
                free(resp->body);
                resp->body = strndup(acc + head_end, len - head_end);
                resp->body_len = len - head_end;
                done = 1;
            } else if (n <= 0) {
                break;
            }
        }
    }
    free(acc);
    resp->elapsed_ms = ts_now_ms() - start;
    if (done != 1) {
        set_error(resp, "incomplete response body");
        return -1;
    }
    return 0;
}

int ts_raw_exchange(uint16_t port, const void *req, size_t len, int timeout_ms, ts_resp_t *resp)
{
    int fd = ts_tcp_connect(port, timeout_ms);
    if (fd < 0 || ts_tcp_send(fd, req, len) != 0) {
        memset(resp, 0, sizeof(*resp));
        resp->body = calloc(1, 1);
        set_error(resp, "cannot connect or send to port %u", port);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    int rc = ts_tcp_read_response(fd, timeout_ms, resp);
    close(fd);
    return rc;
}
