/* Structured logging: one JSON object per line on stderr, string values redacted (tokens,
 * emails, phone numbers) so that no call site can leak them by accident. */
#ifndef base_log_h
#define base_log_h

#include <stddef.h>

typedef enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR } log_level_t;

typedef struct log_field {
    const char *key;
    enum { LOG_F_STR, LOG_F_INT, LOG_F_NUM, LOG_F_RAW } type; /* RAW: trusted JSON, not redacted */
    union {
        const char *s;
        long long i;
        double d;
    };
} log_field_t;

#define LOG_S(k, v) ((log_field_t){.key = (k), .type = LOG_F_STR, .s = (v)})
#define LOG_I(k, v) ((log_field_t){.key = (k), .type = LOG_F_INT, .i = (long long)(v)})
#define LOG_D(k, v) ((log_field_t){.key = (k), .type = LOG_F_NUM, .d = (double)(v)})

/* Set once at start-up, before any thread runs. Returns -1 for an unknown name. */
int log_set_level_name(const char *name);
int log_enabled(log_level_t level);

void log_emit(log_level_t level, const char *msg, size_t nfields, const log_field_t *fields);

#define LOG_FIELDS_(...) (sizeof((log_field_t[]){__VA_ARGS__}) / sizeof(log_field_t)), (log_field_t[]){__VA_ARGS__}
#define log_debug(msg, ...) (log_enabled(LOG_DEBUG) ? log_emit(LOG_DEBUG, msg, LOG_FIELDS_(__VA_ARGS__)) : (void)0)
#define log_info(msg, ...) log_emit(LOG_INFO, msg, LOG_FIELDS_(__VA_ARGS__))
#define log_warn(msg, ...) log_emit(LOG_WARN, msg, LOG_FIELDS_(__VA_ARGS__))
#define log_error(msg, ...) log_emit(LOG_ERROR, msg, LOG_FIELDS_(__VA_ARGS__))

/* Copies `in` to `out` (NUL-terminated, at most outcap-1 bytes) with secrets masked: JWTs and
 * bearer tokens → [token], emails → [email], phone numbers → [phone], values of secret-looking
 * query parameters (token, key, secret, password, code) → [redacted]. Returns the output length. */
size_t log_redact(const char *in, size_t len, char *out, size_t outcap);

#endif
