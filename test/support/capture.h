/* Capturing this process's stderr (the JSON-lines log) in a test, to assert on what was logged. */
#ifndef test_support_capture_h
#define test_support_capture_h

typedef struct ts_capture {
    int saved, fd;
    char *dir;
    char path[512];
} ts_capture_t;

/* From now on stderr goes to a scratch file. Exits the test on failure. */
void ts_stderr_begin(ts_capture_t *c);

/* Restores stderr and returns everything written meanwhile (malloc'd, NUL-terminated). */
char *ts_stderr_end(ts_capture_t *c);

#endif
