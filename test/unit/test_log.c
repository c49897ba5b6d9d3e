/* Redaction of secrets and personal data in log text, and the log line's shape. */
#include <fcntl.h>
#include <unistd.h>

#include "base/json.h"
#include "base/log.h"
#include "test/support/check.h"

static const char *redact(const char *in)
{
    static char out[512];
    log_redact(in, strlen(in), out, sizeof(out));
    return out;
}

static void test_tokens(void)
{
    CHECK_STR(redact("Authorization: Bearer abc.def-ghi"), "Authorization: Bearer [token]");
    CHECK_STR(redact("t=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln end"), "t=[token] end");
    CHECK_STR(redact("/x?token=s3cr3t&limit=5"), "/x?token=[redacted]&limit=5");
    CHECK_STR(redact("/x?visitor_token=abc"), "/x?visitor_token=[redacted]");
    CHECK_STR(redact("/x?mytoken=abc"), "/x?mytoken=abc"); /* only whole parameter names */
}

static void test_emails(void)
{
    CHECK_STR(redact("mail alice.b+tag@example.co.uk now"), "mail [email] now");
    CHECK_STR(redact("/x?email=alice@example.com&y=1"), "/x?email=[email]&y=1");
    CHECK_STR(redact("contact bob@example.com."), "contact [email].");
    CHECK_STR(redact("not@an-email"), "not@an-email");
    CHECK_STR(redact("user@host.c"), "user@host.c");
}

static void test_phones(void)
{
    CHECK_STR(redact("call +14155550123 today"), "call [phone] today");
    CHECK_STR(redact("call (415) 555-0123 today"), "call [phone] today");
    CHECK_STR(redact("call 415.555.0123"), "call [phone]");
    CHECK_STR(redact("/x?phone=%2B14155550123"), "/x?phone=%2B14155550123"); /* encoded: left alone */
    CHECK_STR(redact("/x?phone=+44 20 7946 0958"), "/x?phone=[phone]");
    /* ids, dates and counts are not phone numbers */
    CHECK_STR(redact("id 00000000-0000-4000-8000-000000000001"), "id 00000000-0000-4000-8000-000000000001");
    CHECK_STR(redact("date 2026-11-22 took 1234567 ms"), "date 2026-11-22 took 1234567 ms");
    CHECK_STR(redact("uuid 3f2a9c10-1234-5678-9012-ab34cd56ef78"), "uuid 3f2a9c10-1234-5678-9012-ab34cd56ef78");
}

static void test_truncation(void)
{
    char out[8];
    size_t n = log_redact("abcdefghijkl", 12, out, sizeof(out));
    CHECK_INT(n, 7);
    CHECK_STR(out, "abcdefg");
}

/* A log line goes to stderr: capture it through a pipe and check it is JSON with the fields. */
static void test_line_is_json(void)
{
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    int saved = dup(STDERR_FILENO);
    dup2(fds[1], STDERR_FILENO);
    log_info("hello alice@example.com", LOG_S("request_id", "r1"), LOG_I("status", 200), LOG_S("path", "/a\"b"));
    log_debug("hidden at info level");
    dup2(saved, STDERR_FILENO);
    close(fds[1]);
    char buf[1024] = {0};
    ssize_t n = read(fds[0], buf, sizeof(buf) - 1);
    close(fds[0]);
    REQUIRE(n > 0);
    CHECK(buf[n - 1] == '\n');
    CHECK(strchr(buf, '\n') == buf + n - 1); /* one line: the debug one was filtered */
    h2o_mem_pool_t pool;
    h2o_mem_init_pool(&pool);
    char err[160];
    json_t *v = json_parse(&pool, buf, (size_t)n, err, sizeof(err));
    REQUIRE(v != NULL);
    CHECK_STR(json_get(v, "level")->str, "info");
    CHECK_STR(json_get(v, "msg")->str, "hello [email]");
    CHECK_STR(json_get(v, "request_id")->str, "r1");
    CHECK_STR(json_get(v, "status")->str, "200");
    CHECK_STR(json_get(v, "path")->str, "/a\"b");
    CHECK(json_get(v, "time") != NULL && json_get(v, "time")->len == 24);
    h2o_mem_clear_pool(&pool);
}

int main(void)
{
    test_tokens();
    test_emails();
    test_phones();
    test_truncation();
    test_line_is_json();
    return check_done("log");
}
