/* Running the mock LLM provider for a test. */
#include "test/support/mock_llm.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test/support/env.h"
#include "test/support/http.h"
#include "test/support/json.h"

#define START_MS 10000

/* The first stdout line of the child: its port. */
static int read_port(int fd, uint16_t *port)
{
    char line[32];
    size_t len = 0;
    int64_t end = ts_now_ms() + START_MS;
    while (len < sizeof(line) - 1 && ts_now_ms() < end) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, (int)(end - ts_now_ms())) <= 0)
            continue;
        ssize_t n = read(fd, line + len, sizeof(line) - 1 - len);
        if (n <= 0)
            return -1;
        len += (size_t)n;
        line[len] = '\0';
        if (strchr(line, '\n') != NULL) {
            long p = strtol(line, NULL, 10);
            if (p <= 0 || p > 65535)
                return -1;
            *port = (uint16_t)p;
            return 0;
        }
    }
    return -1;
}

ts_mock_t *ts_mock_start(void)
{
    const char *bin = ts_env_require("HS_MOCK_LLM", "the path of the mock_llm binary (ctest sets it)");
    int fds[2];
    ts_mock_t *m = calloc(1, sizeof(*m));
    if (m == NULL || pipe(fds) != 0) {
        fprintf(stderr, "mock_llm: %s\n", strerror(errno));
        exit(1);
    }
    m->pid = fork();
    if (m->pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGTERM); /* never outlives a crashed test */
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execl(bin, bin, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    int rc = m->pid > 0 ? read_port(fds[0], &m->port) : -1;
    close(fds[0]);
    if (rc != 0) {
        fprintf(stderr, "mock_llm (%s) did not start\n", bin);
        exit(1);
    }
    snprintf(m->base, sizeof(m->base), "http://127.0.0.1:%u", m->port);
    return m;
}

static int control(ts_mock_t *m, const char *method, const char *path, const char *body, ts_resp_t *resp)
{
    char url[128];
    snprintf(url, sizeof(url), "%s%s", m->base, path);
    const char *headers[] = {"Content-Type: application/json", NULL};
    ts_req_t req = {
        .method = method, .url = url, .body = body, .body_len = body ? strlen(body) : 0, .headers = headers};
    return ts_http_request(&req, resp) == 0 && resp->status == 200 ? 0 : -1;
}

int ts_mock_script(ts_mock_t *m, const char *json)
{
    ts_resp_t r;
    int rc = control(m, "POST", "/_mock/script", json, &r);
    ts_resp_free(&r);
    return rc;
}

char *ts_mock_requests(ts_mock_t *m)
{
    ts_resp_t r;
    char *text = control(m, "GET", "/_mock/requests", NULL, &r) == 0 ? strdup(r.body) : NULL;
    ts_resp_free(&r);
    return text;
}

yajl_val ts_mock_last_request(ts_mock_t *m)
{
    char *text = ts_mock_requests(m);
    yajl_val all = text != NULL ? ts_json_parse(text, "the mock's requests") : NULL;
    free(text);
    if (all == NULL || !YAJL_IS_ARRAY(all) || all->u.array.len == 0) {
        fprintf(stderr, "the mock received no request\n");
        exit(1);
    }
    yajl_val last = all->u.array.values[--all->u.array.len]; /* taken out before the rest is freed */
    ts_json_free(all);
    return last;
}

int ts_mock_reset(ts_mock_t *m)
{
    ts_resp_t r;
    int rc = control(m, "POST", "/_mock/reset", "{}", &r);
    ts_resp_free(&r);
    return rc;
}

void ts_mock_stop(ts_mock_t *m)
{
    if (m == NULL)
        return;
    kill(m->pid, SIGTERM);
    for (int64_t end = ts_now_ms() + 5000; ts_now_ms() < end;) {
        if (waitpid(m->pid, NULL, WNOHANG) == m->pid) {
            free(m);
            return;
        }
        ts_nap_ms(10);
    }
    kill(m->pid, SIGKILL);
    waitpid(m->pid, NULL, 0);
    free(m);
}
