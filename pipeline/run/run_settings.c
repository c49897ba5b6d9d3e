/* The run settings h2o.conf's run.* directives set, and the error event's JSON. */
#include "pipeline/run/run.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include "base/json.h"
#include "pipeline/config.h"

/* The run.* directives' values (one configuration per process). */
static run_settings_t settings;

static void derive(void *arg)
{
    run_settings_t *s = arg;
    snprintf(s->quota_text, sizeof(s->quota_text), "%u", s->quota_per_hour);
}

void run_define_directives(h2o_globalconf_t *g, app_t *app)
{
    static const config_number_t numbers[] = {
        {"run.first-token-timeout", offsetof(run_settings_t, first_token_timeout_ms), 1, 15000, 10, 600000},
        {"run.call-timeout", offsetof(run_settings_t, call_timeout_ms), 1, 60000, 10, 3600000},
        {"run.deadline", offsetof(run_settings_t, deadline_ms), 1, 120000, 10, 3600000},
        {"run.max-tool-rounds", offsetof(run_settings_t, max_tool_rounds), 0, 4, 0, 16},
        {"run.quota-per-hour", offsetof(run_settings_t, quota_per_hour), 0, 1000, 1, 100000000},
        {"run.history-tokens", offsetof(run_settings_t, history_tokens), 0, 4000, 0, 1000000},
    };
    config_define_numbers(g, numbers, sizeof(numbers) / sizeof(numbers[0]), &settings, derive);
    derive(&settings);
    app->run_settings = &settings;
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
