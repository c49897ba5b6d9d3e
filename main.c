/* hellosales: serve | migrate up|down [N]|status | seed | version. Owns the application object and
 * everything read from the environment at start-up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <curl/curl.h>

#include "base/log.h"
#include "db/db.h"
#include "handlers/handlers.h"
#include "pipeline/app.h"
#include "pipeline/config.h"
#include "pipeline/idempotency.h"
#include "pipeline/metrics.h"
#include "pipeline/principal.h"
#include "pipeline/ratelimit.h"
#include "pipeline/resource/openapi.h"
#include "pipeline/resource/resource.h"
#include "pipeline/run/guardrails.h"
#include "pipeline/run/run.h"
#include "pipeline/server.h"

static int usage(void)
{
    fprintf(stderr, "usage: hellosales [serve [-c h2o.conf]] | migrate up [N] | migrate down [N] | migrate status |"
                    " seed | version\n");
    return 2;
}

static const char *env_or_null(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && *v != '\0' ? v : NULL;
}

static const char *schema_dir(void)
{
    const char *d = env_or_null("HS_SCHEMA_DIR");
    return d != NULL ? d : "schema";
}

static const char *require_database_url(void)
{
    const char *url = env_or_null("DATABASE_URL");
    if (url == NULL)
        fprintf(stderr, "DATABASE_URL is not set (`make run` starts a private PostgreSQL and sets it)\n");
    return url;
}

static int parse_env(app_t *app)
{
    const char *env = env_or_null("APP_ENV");
    if (env == NULL || strcmp(env, "production") == 0) {
        app->env = APP_ENV_PRODUCTION; /* the safe default: no development shortcuts */
    } else if (strcmp(env, "development") == 0) {
        app->env = APP_ENV_DEVELOPMENT;
    } else if (strcmp(env, "test") == 0) {
        app->env = APP_ENV_TEST;
    } else {
        fprintf(stderr, "APP_ENV must be development, test or production\n");
        return -1;
    }
    const char *level = env_or_null("LOG_LEVEL");
    if (level != NULL && log_set_level_name(level) != 0) {
        fprintf(stderr, "LOG_LEVEL must be debug, info, warn or error\n");
        return -1;
    }
    app->redis_url = env_or_null("REDIS_URL");
    unsigned char rnd[6];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        return -1;
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(app->instance_id + 2 * i, 3, "%02x", rnd[i]);
    return 0;
}

/* Tuning that moved from the environment to module directives: an operator who still sets one
 * is told where it went rather than silently ignored. */
static void warn_moved_settings(void)
{
    static const char *const moved[][2] = {
        {"LLM_FIRST_TOKEN_TIMEOUT_MS", "run.first-token-timeout"}, {"LLM_TIMEOUT_MS", "run.call-timeout"},
        {"RUN_DEADLINE_MS", "run.deadline"},                       {"RUN_MAX_TOOL_ROUNDS", "run.max-tool-rounds"},
        {"RUN_QUOTA_PER_HOUR", "run.quota-per-hour"},              {"RUN_HISTORY_TOKENS", "run.history-tokens"},
        {"SSE_KEEPALIVE_MS", "sse.keepalive"},                     {"GUARDRAIL_BLOCKED_TERMS", "guardrails.blocked-terms"},
    };
    for (size_t i = 0; i < sizeof(moved) / sizeof(moved[0]); i++)
        if (getenv(moved[i][0]) != NULL)
            log_warn("this environment variable is no longer read: set the h2o.conf directive instead",
                     LOG_S("variable", moved[i][0]), LOG_S("directive", moved[i][1]));
}

static int cmd_serve(app_t *app, int argc, char **argv)
{
    const char *conf_path = "h2o.conf";
    for (int i = 0; i < argc; i++) {
        if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
            conf_path = argv[++i];
        else
            return usage();
    }
    if ((app->database_url = require_database_url()) == NULL)
        return 1;

    config_t conf = {0};
    app->config = &conf;
    if (config_load(&conf, app, conf_path) != 0) {
        config_dispose(&conf);
        return 1;
    }
    /* after the configuration: the document lists the paths it serves with H2O's own handlers */
    if ((app->openapi = openapi_generate(app, &app->openapi_len)) == NULL)
        abort(); /* start-up: out of memory */
    warn_moved_settings();
    if (app->redis_url == NULL)
        log_info("REDIS_URL is not set: using in-process stand-ins (rate limits, pub/sub); run one instance only");
    const principal_config_t *pc = app->principals;
    if (!pc->configured)
        log_warn(pc->dev_token ? "no token verifier configured: only dev_token is accepted (development)"
                               : "no token verifier configured (JWT_HS256_SECRET or WORKOS_*): every bearer token is refused");
    else
        log_info("verifying bearer tokens", LOG_S("algorithm", pc->auth.alg == AUTH_ALG_HS256 ? "HS256" : "RS256"),
                 LOG_S("keys", pc->auth.alg == AUTH_ALG_HS256 ? "JWT_HS256_SECRET"
                               : pc->jwks_file_keys ? "WORKOS_JWKS_FILE" : pc->jwks_url));
    llm_chain_t *llm = llm_chain_from_env();
    if (llm == NULL) {
        guardrails_dispose();
        config_dispose(&conf);
        return 1;
    }
    app->llm = llm;
    app->ratelimit = ratelimit_new();
    const char **providers = calloc(llm->n, sizeof(*providers));
    if (providers == NULL)
        abort(); /* start-up: out of memory */
    for (size_t i = 0; i < llm->n; i++)
        providers[i] = llm_provider_name(llm->providers[i]);
    app->metrics = metrics_new(app, providers, llm->n);
    free(providers);
    curl_global_init(CURL_GLOBAL_DEFAULT); /* before any thread: libcurl's global init is not thread-safe */
    int status = server_run(app); /* disposes conf */
    curl_global_cleanup();
    ratelimit_free(app->ratelimit);
    metrics_free(app->metrics);
    guardrails_dispose();
    llm_chain_free(llm);
    return status;
}

static int cmd_migrate(int argc, char **argv)
{
    const char *url = require_database_url();
    if (url == NULL)
        return 1;
    if (argc == 1 && strcmp(argv[0], "status") == 0)
        return db_migrate_status(url, schema_dir(), stdout) == 0 ? 0 : 1;
    if (argc < 1 || argc > 2 || (strcmp(argv[0], "up") != 0 && strcmp(argv[0], "down") != 0))
        return usage();
    unsigned n = 0;
    if (argc == 2) {
        char *end;
        unsigned long v = strtoul(argv[1], &end, 10);
        if (*end != '\0' || v == 0 || v > 100000)
            return usage();
        n = (unsigned)v;
    }
    return db_migrate(url, schema_dir(), argv[0], n, stdout) == 0 ? 0 : 1;
}

static int cmd_seed(void)
{
    const char *url = require_database_url();
    if (url == NULL)
        return 1;
    char path[4096];
    snprintf(path, sizeof(path), "%s/seed.sql", schema_dir());
    return db_run_file(url, path, stdout) == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "serve";
    if (strcmp(cmd, "version") == 0) {
        printf("hellosales %s\n", HS_VERSION);
        return 0;
    }
    if (strcmp(cmd, "migrate") == 0)
        return cmd_migrate(argc - 2, argv + 2);
    if (strcmp(cmd, "seed") == 0)
        return argc == 2 ? cmd_seed() : usage();
    if (strcmp(cmd, "serve") != 0)
        return usage();

    principal_config_t principals = {0};
    app_t app = {.version = HS_VERSION, .stmts = db_stmts_new(), .principals = &principals};
    int status = parse_env(&app) == 0 && principal_config_from_env(&principals, app.env) == 0 ? 0 : 1;
    if (status == 0) {
        principal_register(&app);
        idempotency_register(&app);
        run_register(&app);
        handlers_register(&app);
        status = cmd_serve(&app, argc > 1 ? argc - 2 : 0, argv + 2);
    }
    principal_config_dispose(&principals);
    app_free(&app);
    resource_registry_free(&app);
    free(app.openapi);
    db_stmts_free(app.stmts);
    return status;
}
