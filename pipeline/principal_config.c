/* Reads how tokens are verified from the environment (names kept from the earlier backend). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pipeline/principal.h"

#define PRINCIPAL_LEEWAY_S 60
#define PRINCIPAL_JWKS_FILE_MAX (1u << 20)

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v != NULL && *v != '\0' ? v : NULL;
}

static int load_jwks_file(principal_config_t *pc, const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        fprintf(stderr, "WORKOS_JWKS_FILE %s cannot be opened\n", path);
        return -1;
    }
    char *buf = malloc(PRINCIPAL_JWKS_FILE_MAX);
    size_t n = buf ? fread(buf, 1, PRINCIPAL_JWKS_FILE_MAX, fp) : 0;
    fclose(fp);
    char err[256] = "";
    if (buf != NULL && n < PRINCIPAL_JWKS_FILE_MAX)
        pc->jwks_file_keys = auth_keys_from_jwks(buf, n, err, sizeof(err));
    free(buf);
    if (pc->jwks_file_keys == NULL) {
        fprintf(stderr, "WORKOS_JWKS_FILE %s: %s\n", path, err[0] ? err : "too large or unreadable");
        return -1;
    }
    return 0;
}

int principal_config_from_env(principal_config_t *pc, app_env_t app_env)
{
    memset(pc, 0, sizeof(*pc));
    pc->auth.leeway_s = PRINCIPAL_LEEWAY_S;
    pc->dev_token = app_env == APP_ENV_DEVELOPMENT;

    const char *secret = env("JWT_HS256_SECRET");
    if (secret != NULL) {
        if (strlen(secret) < 32) { /* RFC 7518: an HS256 key at least as long as the hash */
            fprintf(stderr, "JWT_HS256_SECRET must be at least 32 characters\n");
            return -1;
        }
        pc->auth.alg = AUTH_ALG_HS256;
        pc->auth.hs256_secret = (const unsigned char *)secret;
        pc->auth.hs256_secret_len = strlen(secret);
        pc->auth.issuer = env("JWT_ISSUER");
        pc->auth.audience = env("JWT_AUDIENCE");
        pc->configured = 1;
        return 0;
    }

    const char *client_id = env("WORKOS_CLIENT_ID"), *file = env("WORKOS_JWKS_FILE"), *url = env("WORKOS_JWKS_URL");
    if (client_id == NULL && file == NULL && url == NULL)
        return 0; /* no verifier: main says so in the log */
    pc->auth.alg = AUTH_ALG_RS256;
    pc->auth.issuer = env("WORKOS_ISSUER");
    pc->auth.audience = env("WORKOS_AUDIENCE");
    if (file != NULL) {
        if (load_jwks_file(pc, file) != 0)
            return -1;
    } else if (url != NULL) {
        pc->jwks_url = strdup(url);
    } else {
        char buf[512];
        snprintf(buf, sizeof(buf), "https://api.workos.com/sso/jwks/%s", client_id);
        pc->jwks_url = strdup(buf);
    }
    pc->configured = 1;
    return 0;
}

void principal_config_dispose(principal_config_t *pc)
{
    auth_keys_free(pc->jwks_file_keys);
    free((char *)pc->jwks_url);
    memset(pc, 0, sizeof(*pc));
}
