/* The run settings read from the environment, and the error event's JSON. */
#include "pipeline/run/run.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/json.h"
#include "base/log.h"

int run_settings_from_env(run_settings_t *s)
{
    static const struct {
        const char *name;
        size_t offset;
        uint64_t def, min, max;
        int is_u64;
    } vars[] = {
        {"LLM_FIRST_TOKEN_TIMEOUT_MS", offsetof(run_settings_t, first_token_timeout_ms), 15000, 10, 600000, 1},
        {"LLM_TIMEOUT_MS", offsetof(run_settings_t, call_timeout_ms), 60000, 10, 3600000, 1},
        {"RUN_DEADLINE_MS", offsetof(run_settings_t, deadline_ms), 120000, 10, 3600000, 1},
        {"RUN_MAX_TOOL_ROUNDS", offsetof(run_settings_t, max_tool_rounds), 4, 0, 16, 0},
        {"RUN_QUOTA_PER_HOUR", offsetof(run_settings_t, quota_per_hour), 1000, 1, 100000000, 0},
        {"RUN_HISTORY_TOKENS", offsetof(run_settings_t, history_tokens), 4000, 0, 1000000, 0},
    };
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = getenv(vars[i].name);
        uint64_t value = vars[i].def;
        if (v != NULL && *v != '\0') {
            char *end;
            unsigned long long n = strtoull(v, &end, 10);
            if (*end != '\0' || n < vars[i].min || n > vars[i].max) {
                log_error("bad setting: expected a whole number in range", LOG_S("name", vars[i].name),
                          LOG_I("min", vars[i].min), LOG_I("max", vars[i].max));
                return -1;
            }
            value = n;
        }
        if (vars[i].is_u64)
            *(uint64_t *)((char *)s + vars[i].offset) = value;
        else
            *(unsigned *)((char *)s + vars[i].offset) = (unsigned)value;
    }
    snprintf(s->quota_text, sizeof(s->quota_text), "%u", s->quota_per_hour);
    return 0;
}

size_t run_error_json(char out[RUN_ERROR_JSON_MAX], const char *code, const char *detail)
{
    json_out_t o = json_out_fixed(out, RUN_ERROR_JSON_MAX);
    json_out_obj_begin(&o);
    json_out_key(&o, "code");
    json_out_str(&o, code);
    json_out_key(&o, "detail");
    json_out_str(&o, detail);
    json_out_obj_end(&o);
    if (json_out_overflowed(&o))
        return (size_t)snprintf(out, RUN_ERROR_JSON_MAX, "{\"code\":\"internal\",\"detail\":\"error\"}");
    return json_out_len(&o);
}
