/* Which providers to use, from the environment: names, keys, base URLs, models, temperature.
 * Keys are read here and only ever leave in a request header; logs name providers and models. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "providers/llm_internal.h"

#define CHAIN_MAX 8
#define NAME_MAX_LEN 32

typedef struct spec {
    const char *name;
    llm_kind_t kind;
    const char *key_env, *key_env2; /* the second one is an accepted alias */
    const char *base_env, *base_default;
    const char *model_env, *model_default, *embed_model_default; /* NULL: no embeddings API */
} spec_t;

static const spec_t specs[] = {
    {"groq", LLM_KIND_OPENAI, "GROQ_API_KEY", NULL, "GROQ_BASE_URL", "https://api.groq.com/openai/v1", "GROQ_MODEL",
     "llama-3.3-70b-versatile", NULL},
    {"openai", LLM_KIND_OPENAI, "OPENAI_API_KEY", NULL, "OPENAI_BASE_URL", "https://api.openai.com/v1", "OPENAI_MODEL",
     "gpt-4o-mini", "text-embedding-3-small"},
    {"openrouter", LLM_KIND_OPENAI, "OPEN_ROUTER_API_KEY", NULL, "OPENROUTER_BASE_URL", "https://openrouter.ai/api/v1",
     "OPENROUTER_MODEL", "meta-llama/llama-3.3-70b-instruct", NULL},
    {"gemini", LLM_KIND_GEMINI, "GOOGLE_API_KEY", "GEMINI_API_KEY", "GEMINI_BASE_URL",
     "https://generativelanguage.googleapis.com/v1beta", "GEMINI_MODEL", "gemini-1.5-flash", "text-embedding-004"},
    {"stub", LLM_KIND_STUB, NULL, NULL, NULL, "", NULL, "stub", "stub"},
};

static const char *env(const char *name)
{
    const char *v = name != NULL ? getenv(name) : NULL;
    return v != NULL && *v != '\0' ? v : NULL;
}

static const spec_t *spec_find(const char *name, size_t len)
{
    for (size_t i = 0; i < sizeof(specs) / sizeof(specs[0]); i++)
        if (strlen(specs[i].name) == len && memcmp(specs[i].name, name, len) == 0)
            return &specs[i];
    return NULL;
}

static const char *spec_key(const spec_t *s)
{
    const char *k = env(s->key_env);
    return k != NULL ? k : env(s->key_env2);
}

/* Printable ASCII without spaces: anything else cannot go in a header line. */
static int token_ok(const char *s, size_t max, const char *extra_bad)
{
    size_t n = strlen(s);
    if (n == 0 || n > max)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] <= ' ' || s[i] > '~' || strchr(extra_bad, s[i]) != NULL)
            return 0;
    return 1;
}

static int temperature(char out[16])
{
    const char *t = env("MODEL_TEMPERATURE");
    char *end;
    double v = t != NULL ? strtod(t, &end) : 0.7;
    if (t != NULL && (*end != '\0' || end == t || !(v >= 0 && v <= 2))) {
        log_error("MODEL_TEMPERATURE must be a number from 0 to 2");
        return -1;
    }
    snprintf(out, 16, "%.3g", v);
    return 0;
}

void llm_embedder_free(const llm_provider_t *cp)
{
    llm_provider_t *p = (llm_provider_t *)cp;
    if (p == NULL)
        return;
    free(p->name);
    free(p->model);
    free(p->base_url);
    free(p->key);
    free(p);
}

enum { MADE, NO_KEY, BAD };

/* A provider from its spec and the environment: MADE (*out set), NO_KEY, or BAD (logged). */
static int provider_new(const spec_t *s, int embeddings, llm_provider_t **out)
{
    const char *key = spec_key(s), *base = env(s->base_env);
    if (s->kind != LLM_KIND_STUB && key == NULL && !(strcmp(s->name, "openai") == 0 && base != NULL))
        return NO_KEY; /* a keyless OpenAI-compatible server (llama.cpp, Ollama) only at an explicit URL */
    const char *model = embeddings ? env("EMBEDDING_MODEL") : env(s->model_env);
    if (!embeddings && model == NULL && s->kind == LLM_KIND_OPENAI)
        model = env("TEXT_MODEL_NAME");
    if (model == NULL || s->kind == LLM_KIND_STUB)
        model = embeddings ? s->embed_model_default : s->model_default;
    if (base == NULL)
        base = s->base_default;
    if (key != NULL && !token_ok(key, 512, "")) {
        log_error("an LLM provider key holds characters a header cannot carry", LOG_S("provider", s->name));
        return BAD;
    }
    /* Gemini puts the model in the URL path: nothing that could change the path or the query. */
    if (!token_ok(model, 200, s->kind == LLM_KIND_GEMINI ? "/?#%&\\" : "\"\\")) {
        log_error("invalid model name", LOG_S("provider", s->name), LOG_S("model", model));
        return BAD;
    }
    if (s->kind != LLM_KIND_STUB &&
        (!token_ok(base, 1024, "?#") || (strncmp(base, "http://", 7) != 0 && strncmp(base, "https://", 8) != 0))) {
        log_error("a provider base URL must be an http(s) URL without query", LOG_S("provider", s->name),
                  LOG_S("variable", s->base_env));
        return BAD;
    }
    llm_provider_t *p = calloc(1, sizeof(*p));
    if (p == NULL || temperature(p->temperature) != 0) {
        free(p);
        return BAD;
    }
    p->kind = s->kind;
    p->name = strdup(s->name);
    p->model = strdup(model);
    p->base_url = strdup(base);
    p->key = key != NULL ? strdup(key) : NULL;
    if (p->name == NULL || p->model == NULL || p->base_url == NULL || (key != NULL && p->key == NULL)) {
        llm_embedder_free(p);
        return BAD;
    }
    for (size_t n = strlen(p->base_url); n > 0 && p->base_url[n - 1] == '/'; n--)
        p->base_url[n - 1] = '\0';
    *out = p;
    return MADE;
}

void llm_chain_free(llm_chain_t *chain)
{
    if (chain == NULL)
        return;
    for (size_t i = 0; i < chain->n; i++)
        llm_embedder_free(chain->providers[i]);
    free(chain->providers);
    free(chain);
}

static int chain_has(const llm_chain_t *c, const spec_t *s)
{
    for (size_t i = 0; i < c->n; i++)
        if (strcmp(c->providers[i]->name, s->name) == 0)
            return 1;
    return 0;
}

/* Adds each provider named in the comma-separated list. -1 on an unknown name or a bad setting. */
static int chain_add_list(llm_chain_t *c, const char *list)
{
    for (const char *p = list; p != NULL && *p != '\0';) {
        const char *end = strchr(p, ',');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        const char *name = p;
        p = end != NULL ? end + 1 : NULL;
        while (len > 0 && (*name == ' ' || *name == '\t'))
            name++, len--;
        while (len > 0 && (name[len - 1] == ' ' || name[len - 1] == '\t'))
            len--;
        if (len == 0)
            continue;
        const spec_t *s = len <= NAME_MAX_LEN ? spec_find(name, len) : NULL;
        if (s == NULL) {
            char shown[NAME_MAX_LEN + 1];
            snprintf(shown, sizeof(shown), "%.*s", (int)len, name);
            log_error("unknown LLM provider (groq, openai, openrouter, gemini, stub)", LOG_S("provider", shown));
            return -1;
        }
        if (chain_has(c, s) || c->n == CHAIN_MAX)
            continue;
        llm_provider_t *prov = NULL;
        int rc = provider_new(s, 0, &prov);
        if (rc == BAD)
            return -1;
        if (rc == NO_KEY)
            log_warn("LLM provider has no key: skipped", LOG_S("provider", s->name), LOG_S("key_variable", s->key_env));
        else
            c->providers[c->n++] = prov;
    }
    return 0;
}

static void chain_log(const llm_chain_t *c)
{
    char text[512];
    size_t len = 0;
    text[0] = '\0';
    for (size_t i = 0; i < c->n && len < sizeof(text); i++) {
        int n = snprintf(text + len, sizeof(text) - len, "%s%s (%s)", i ? ", " : "", c->providers[i]->name,
                         c->providers[i]->model);
        len += n > 0 ? (size_t)n : 0;
    }
    log_info("LLM provider chain", LOG_S("providers", text));
}

llm_chain_t *llm_chain_from_env(void)
{
    llm_chain_t *c = calloc(1, sizeof(*c));
    if (c == NULL || (c->providers = calloc(CHAIN_MAX, sizeof(*c->providers))) == NULL) {
        free(c);
        return NULL;
    }
    /* Unset LLM_PROVIDER: groq when its key is there; else the fallbacks (the stub would shadow them). */
    const char *primary = env("LLM_PROVIDER");
    if (primary == NULL && env("GROQ_API_KEY") != NULL)
        primary = "groq";
    if (chain_add_list(c, primary) != 0 || chain_add_list(c, env("LLM_FALLBACK")) != 0) {
        llm_chain_free(c);
        return NULL;
    }
    if (c->n == 0) {
        llm_provider_t *stub = NULL;
        if (provider_new(spec_find("stub", 4), 0, &stub) != MADE) {
            llm_chain_free(c);
            return NULL;
        }
        c->providers[c->n++] = stub;
        log_info("no LLM provider key: using the offline stub provider");
    }
    chain_log(c);
    return c;
}

const llm_provider_t *llm_embedder_from_env(void)
{
    const char *name = env("EMBEDDINGS_PROVIDER");
    if (name == NULL)
        name = spec_key(spec_find("openai", 6)) != NULL || env("OPENAI_BASE_URL") != NULL ? "openai"
               : spec_key(spec_find("gemini", 6)) != NULL                                 ? "gemini"
                                                                                          : "stub";
    const spec_t *s = strlen(name) <= NAME_MAX_LEN ? spec_find(name, strlen(name)) : NULL;
    if (s == NULL || s->embed_model_default == NULL) {
        log_error("unknown embeddings provider (openai, gemini, stub)", LOG_S("provider", name));
        return NULL;
    }
    llm_provider_t *p = NULL;
    int rc = provider_new(s, 1, &p);
    if (rc == NO_KEY) {
        log_warn("embeddings provider has no key: using the offline stub", LOG_S("provider", s->name),
                 LOG_S("key_variable", s->key_env));
        rc = provider_new(spec_find("stub", 4), 1, &p);
    }
    if (rc != MADE)
        return NULL;
    log_info("embeddings provider", LOG_S("provider", p->name), LOG_S("model", p->model));
    return p;
}

const char *llm_provider_name(const llm_provider_t *p)
{
    return p->name;
}

const char *llm_provider_model(const llm_provider_t *p)
{
    return p->model;
}
