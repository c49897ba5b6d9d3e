/* The response-convention checks of expect.h. */
#include "test/support/expect.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "test/support/check.h"
#include "test/support/json.h"

/* Counts one check; on failure prints it at the test's line. Returns ok. */
static int expect(const char *file, int line, int ok, const char *fmt, ...)
{
    check_count++;
    if (!ok) {
        va_list ap;
        check_failures++;
        fprintf(stderr, "%s:%d: ", file, line);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
    }
    return ok;
}

int ts_request_id_is_sane(const char *id)
{
    size_t n = id != NULL ? strlen(id) : 0;
    return n >= 1 && n <= 64 &&
           strspn(id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static void expect_header(const char *file, int line, const ts_resp_t *r, const char *name, const char *want)
{
    const char *got = ts_resp_header(r, name);
    expect(file, line, got != NULL && strcasecmp(got, want) == 0, "header %s is \"%s\", expected \"%s\"", name,
           got ? got : "(absent)", want);
}

void ts_expect_app_headers(const char *file, int line, const ts_resp_t *r, int tls)
{
    const char *rid = ts_resp_header(r, "x-request-id");
    expect(file, line, ts_request_id_is_sane(rid), "X-Request-Id \"%s\" is not 1-64 chars of [A-Za-z0-9._-]",
           rid ? rid : "(absent)");
    expect_header(file, line, r, "x-content-type-options", "nosniff");
    expect_header(file, line, r, "x-frame-options", "DENY");
    expect_header(file, line, r, "referrer-policy", "no-referrer");
    const char *csp = ts_resp_header(r, "content-security-policy");
    expect(file, line, csp != NULL && *csp != '\0', "Content-Security-Policy is missing");
    const char *hsts = ts_resp_header(r, "strict-transport-security");
    if (tls)
        expect(file, line, hsts != NULL && strstr(hsts, "max-age=") != NULL,
               "Strict-Transport-Security over TLS is \"%s\", expected a max-age", hsts ? hsts : "(absent)");
    else
        expect(file, line, hsts == NULL, "Strict-Transport-Security \"%s\" sent over cleartext", hsts);
}

void ts_expect_json(const char *file, int line, const ts_resp_t *r)
{
    const char *ct = ts_resp_header(r, "content-type");
    expect(file, line, ct != NULL && strcasecmp(ct, "application/json; charset=utf-8") == 0,
           "Content-Type is \"%s\", expected \"application/json; charset=utf-8\"", ct ? ct : "(absent)");
    yajl_val tree = ts_json_parse(r->body, "response body");
    expect(file, line, YAJL_IS_OBJECT(tree), "body is not a JSON object: %.300s", r->body ? r->body : "");
    ts_json_free(tree);
}

void ts_expect_status(const char *file, int line, const ts_resp_t *r, long status)
{
    if (r->status == 0)
        expect(file, line, 0, "expected status %ld, got no response: %s", status, r->error);
    else
        expect(file, line, r->status == status, "status is %ld, expected %ld; body: %.300s", r->status, status,
               r->body ? r->body : "");
}

void ts_expect_error(const char *file, int line, const ts_resp_t *r, long status, const char *code)
{
    ts_expect_status(file, line, r, status);
    if (r->status == 0)
        return;
    ts_expect_json(file, line, r);
    yajl_val tree = ts_json_parse(r->body, "error body");
    const char *detail = ts_json_get_str(tree, "detail");
    const char *got_code = ts_json_get_str(tree, "code");
    const char *rid = ts_json_get_str(tree, "request_id");
    const char *hdr = ts_resp_header(r, "x-request-id");
    expect(file, line, detail != NULL && *detail != '\0', "error body has no \"detail\" string: %.300s", r->body);
    expect(file, line, got_code != NULL && strcmp(got_code, code) == 0, "error code is \"%s\", expected \"%s\"",
           got_code ? got_code : "(absent)", code);
    expect(file, line, rid != NULL && hdr != NULL && strcmp(rid, hdr) == 0,
           "error body request_id \"%s\" differs from X-Request-Id \"%s\"", rid ? rid : "(absent)", hdr ? hdr : "(absent)");
    ts_json_free(tree);
}
