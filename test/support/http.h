/* The integration tests' HTTP client: one request at a time over libcurl in any protocol the
 * server speaks, plus raw TCP exchanges for requests no well-behaved client would send. */
#ifndef test_support_http_h
#define test_support_http_h

#include <stddef.h>
#include <stdint.h>

typedef enum ts_version {
    TS_H1,          /* HTTP/1.1, over http:// or https:// */
    TS_H2C_PRIOR,   /* cleartext HTTP/2 with prior knowledge */
    TS_H2C_UPGRADE, /* HTTP/1.1 request with Upgrade: h2c, answered over HTTP/2 */
    TS_H2_TLS,      /* HTTP/2 negotiated by ALPN over https:// */
} ts_version_t;

typedef struct ts_req {
    const char *method; /* default GET, or POST when there is a body */
    const char *url;
    const char *body; /* may contain NULs: body_len counts */
    size_t body_len;
    const char *const *headers; /* NULL-terminated "Name: value" lines; "Name:" removes a default */
    ts_version_t version;
    long timeout_ms; /* default 5000 */
    int chunked;     /* HTTP/1.1: send the body with Transfer-Encoding: chunked */
} ts_req_t;

typedef struct ts_header {
    char *name;
    char *value;
} ts_header_t;

typedef struct ts_resp {
    long status;      /* 0 when no response arrived */
    int http_major;   /* 1 or 2, as negotiated */
    ts_header_t *headers; /* of the final response only (not of 100 or 101) */
    size_t nheaders;
    char *body; /* NUL-terminated */
    size_t body_len;
    int64_t elapsed_ms;
    char error[256]; /* the transport error when status is 0 */
} ts_resp_t;

/* Performs one request on a fresh connection; returns 0 when a response arrived, else -1 with
 * resp->error set. resp must be released with ts_resp_free either way. */
int ts_http_request(const ts_req_t *req, ts_resp_t *resp);

/* Shorthand: GET url in the given protocol. */
int ts_http_get(const char *url, ts_version_t version, ts_resp_t *resp);

/* A response header's value by case-insensitive name (the first one), or NULL. */
const char *ts_resp_header(const ts_resp_t *resp, const char *name);

void ts_resp_free(ts_resp_t *resp);

/* The name of a protocol, for messages. */
const char *ts_version_name(ts_version_t version);

/* Sets the curl options shared by every transfer of the tests (protocol, TLS trust in the
 * fixture certificate, timeout); `easy` is a CURL *. */
void ts_http_setup_easy(void *easy, ts_version_t version, long timeout_ms);

/* For tests that drive curl themselves (curl multi): ts_http_collect makes the CURL *easy
 * gather its response into resp (zeroed first); ts_http_collected fills in the status and the
 * protocol once the transfer ended with curl_code. */
void ts_http_collect(void *easy, ts_resp_t *resp);
void ts_http_collected(void *easy, int curl_code, ts_resp_t *resp);

/* ---- raw TCP ------------------------------------------------------------------------------ */

/* Connects to 127.0.0.1:port within timeout_ms; returns the fd or -1. */
int ts_tcp_connect(uint16_t port, int timeout_ms);

/* Writes all of buf; returns 0 or -1. */
int ts_tcp_send(int fd, const void *buf, size_t len);

/* Reads until `needle` has arrived (returns 0), the peer closes or timeout_ms pass (-1).
 * What was read is appended to *acc (malloc'd, NUL-terminated, length in *acc_len). */
int ts_tcp_read_until(int fd, const char *needle, int timeout_ms, char **acc, size_t *acc_len);

/* Reads one HTTP/1.x response (skipping 1xx ones) with a Content-Length or close-delimited body. */
int ts_tcp_read_response(int fd, int timeout_ms, ts_resp_t *resp);

/* Connects, sends the bytes as they are and reads one response. */
int ts_raw_exchange(uint16_t port, const void *req, size_t len, int timeout_ms, ts_resp_t *resp);

#endif
