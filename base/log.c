/* JSON-lines logger. Each line is formatted in a stack buffer and written with one write(2), so
 * lines from different threads do not interleave. */
#include "base/log.h"

#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "base/json.h"

#define LOG_LINE_MAX 8192
#define LOG_VALUE_MAX 2048

/* Written once before threads start; atomic so later readers on any thread are well-defined. */
static atomic_int log_min_level = LOG_INFO;

static const char *const log_level_names[] = {"debug", "info", "warn", "error"};

int log_set_level_name(const char *name)
{
    for (int i = LOG_DEBUG; i <= LOG_ERROR; i++) {
        if (strcasecmp(name, log_level_names[i]) == 0) {
            atomic_store(&log_min_level, i);
            return 0;
        }
    }
    return -1;
}

int log_enabled(log_level_t level)
{
    return (int)level >= atomic_load_explicit(&log_min_level, memory_order_relaxed);
}

void log_emit(log_level_t level, const char *msg, size_t nfields, const log_field_t *fields)
{
    if (!log_enabled(level))
        return;

    char line[LOG_LINE_MAX], value[LOG_VALUE_MAX];
    json_out_t out = json_out_fixed(line, sizeof(line) - 1); /* room for the newline */
    struct timespec ts;
    struct tm tm;
    char now[32];

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(now + n, sizeof(now) - n, ".%03ldZ", ts.tv_nsec / 1000000);

    json_out_obj_begin(&out);
    json_out_key(&out, "time");
    json_out_str(&out, now);
    json_out_key(&out, "level");
    json_out_str(&out, log_level_names[level]);
    json_out_key(&out, "msg");
    json_out_strn(&out, value, log_redact(msg, strlen(msg), value, sizeof(value)));
    for (size_t i = 0; i < nfields; i++) {
        const log_field_t *f = &fields[i];
        json_out_key(&out, f->key);
        switch (f->type) {
        case LOG_F_STR:
            if (f->s == NULL)
                json_out_null(&out);
            else
                json_out_strn(&out, value, log_redact(f->s, strlen(f->s), value, sizeof(value)));
            break;
        case LOG_F_INT:
            json_out_int(&out, f->i);
            break;
        case LOG_F_NUM: { /* microsecond precision is plenty for latencies and sizes */
            char num[32];
            json_out_raw(&out, num, (size_t)snprintf(num, sizeof(num), "%.3f", f->d));
            break;
        }
        case LOG_F_RAW:
            json_out_raw(&out, f->s, strlen(f->s));
            break;
        }
    }
    json_out_obj_end(&out);

    size_t len = json_out_len(&out);
    if (json_out_overflowed(&out)) {
        /* A truncated object would not be JSON; say what happened instead. */
        len = (size_t)snprintf(line, sizeof(line), "{\"time\":\"%s\",\"level\":\"%s\",\"msg\":\"log line too long\"}",
                               now, log_level_names[level]);
    }
    line[len++] = '\n';
    ssize_t wr = write(STDERR_FILENO, line, len);
    (void)wr; /* nowhere left to report a failing stderr */
}
