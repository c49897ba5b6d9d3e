/* Where the integration tests find what ctest and scripts/test.sh give them: the server binary,
 * the repo's fixtures, scratch directories, free loopback ports, and required variables. */
#ifndef test_support_env_h
#define test_support_env_h

#include <stddef.h>
#include <stdint.h>

/* $HS_BIN; exits the test with a message when it is missing (the test cannot run without it). */
const char *ts_bin(void);

/* The value of a variable the test cannot run without; exits with `why` when it is unset/empty. */
const char *ts_env_require(const char *name, const char *why);

/* $HS_SOURCE_DIR/test/fixtures/<rel>, checked to exist. Points into a small ring of static
 * buffers, so copy it if it must outlive the next few calls. */
const char *ts_fixture(const char *rel);

/* The whole text of test/fixtures/<rel>, NUL-terminated and malloc'd; exits the test when it
 * cannot be read. */
char *ts_fixture_text(const char *rel);

/* A fresh directory under $HS_TMP (or /tmp); malloc'd path. Exits the test on failure. */
char *ts_tmpdir_new(const char *prefix);

/* Removes a directory tree the tests made (no symlink following). */
void ts_rmrf(const char *path);

/* Writes a whole file; exits the test on failure. */
void ts_write_file(const char *path, const char *text);

/* Reads a whole file, NUL-terminated and malloc'd; NULL when it cannot be read. */
char *ts_read_file(const char *path, size_t *len);

/* A loopback TCP port that was free a moment ago (bind to port 0, read it, close). */
uint16_t ts_free_port(void);

/* 1 when a TCP connect to 127.0.0.1:port is refused (nothing listens), 0 when it succeeds. */
int ts_port_refuses(uint16_t port);

/* Runs an executable (no shell, no arguments) with the test's environment and output, waiting
 * at most timeout_ms. Returns its exit code, 128+N for signal N, or -1 when it had to be killed
 * at the deadline or could not run. */
int ts_run_command(const char *path, int timeout_ms);

/* Monotonic milliseconds, for bounded waits. */
int64_t ts_now_ms(void);

/* Sleeps a few milliseconds inside a bounded polling loop (never as a wait for a condition). */
void ts_nap_ms(int ms);

#endif
