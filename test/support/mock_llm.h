/* Tests' handle on the mock LLM provider (test/mock/mock_llm.c documents the script format): start
 * it as a child process on a free port, queue steps, read back what it was sent, stop it. */
#ifndef test_support_mock_llm_h
#define test_support_mock_llm_h

#include <stdint.h>
#include <sys/types.h>

typedef struct ts_mock {
    pid_t pid;
    uint16_t port;
    char base[64]; /* "http://127.0.0.1:<port>": put any API prefix after it, e.g. "/openai/v1" */
} ts_mock_t;

/* Starts $HS_MOCK_LLM (ctest sets it) and waits until it listens; exits the test on failure. */
ts_mock_t *ts_mock_start(void);

/* Queues steps (a JSON array of them, or one object); 0, or -1 when the mock refused them. */
int ts_mock_script(ts_mock_t *m, const char *json);

/* Every provider request the mock received so far, as JSON text (malloc'd), or NULL. */
char *ts_mock_requests(ts_mock_t *m);

/* The last provider request the mock received, parsed ({method, path, headers, body}); exits the
 * test when there is none. Free with ts_json_free. */
struct yajl_val_s *ts_mock_last_request(ts_mock_t *m);

/* Forgets queued steps and recorded requests; 0 or -1. */
int ts_mock_reset(ts_mock_t *m);

/* Stops it (SIGTERM, then SIGKILL after a bound) and frees m. */
void ts_mock_stop(ts_mock_t *m);

#endif
