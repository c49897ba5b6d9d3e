/* Checks of the API conventions every response must follow (API.md "Conventions"), counted like
 * check.h's CHECKs and reported at the caller's line. */
#ifndef test_support_expect_h
#define test_support_expect_h

#include "test/support/http.h"

/* X-Request-Id (sane), the security headers, and Strict-Transport-Security exactly when tls. */
#define TS_EXPECT_APP_HEADERS(resp, tls) ts_expect_app_headers(__FILE__, __LINE__, (resp), (tls))
/* Content-Type: application/json; charset=utf-8 and a body that parses as a JSON object. */
#define TS_EXPECT_JSON(resp) ts_expect_json(__FILE__, __LINE__, (resp))
/* The status, and the error shape {"detail": "...", "code": code, "request_id": <X-Request-Id>}. */
#define TS_EXPECT_ERROR(resp, status, code) ts_expect_error(__FILE__, __LINE__, (resp), (status), (code))
/* The status, or a message naming the transport error / the body received. */
#define TS_EXPECT_STATUS(resp, status) ts_expect_status(__FILE__, __LINE__, (resp), (status))

void ts_expect_app_headers(const char *file, int line, const ts_resp_t *resp, int tls);
void ts_expect_json(const char *file, int line, const ts_resp_t *resp);
void ts_expect_error(const char *file, int line, const ts_resp_t *resp, long status, const char *code);
void ts_expect_status(const char *file, int line, const ts_resp_t *resp, long status);

/* 1 when id is 1..64 characters of [A-Za-z0-9._-], the shape the server must echo or generate. */
int ts_request_id_is_sane(const char *id);

#endif
