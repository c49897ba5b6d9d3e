/* Who is calling: a bearer token turned into our user, organization and role. Verification
 * (pipeline/auth.h), a JWKS refresh when a key is unknown, and just-in-time provisioning of the
 * user, organization and membership, with a per-thread cache so a warm request does no query. */
#ifndef pipeline_principal_h
#define pipeline_principal_h

#include <stdint.h>
#include <uv.h>

#include "pipeline/app.h"
#include "pipeline/auth.h"

typedef enum principal_role { PRINCIPAL_MEMBER, PRINCIPAL_ADMIN } principal_role_t;

typedef struct principal {
    char user_id[37]; /* our UUIDs */
    char org_id[37];
    char external_user_id[256]; /* the identity provider's `sub` and `org_id` */
    char external_org_id[256];
    principal_role_t role;
    char email[320]; /* "" when the token has none */
    char name[256];
    int64_t expires_at; /* the token's exp (seconds since the epoch) */
} principal_t;

/* How tokens are verified, read from the environment once at start-up:
 * JWT_HS256_SECRET (+ JWT_ISSUER, JWT_AUDIENCE) selects HS256; otherwise WORKOS_CLIENT_ID with
 * WORKOS_JWKS_URL or WORKOS_JWKS_FILE (+ WORKOS_ISSUER, WORKOS_AUDIENCE) selects RS256. With
 * neither, only dev_token works, and only in development. */
typedef struct principal_config {
    auth_config_t auth;
    int configured;          /* 0: no verifier, every bearer token is refused */
    const char *jwks_url;    /* RS256 from a URL (fetched by each thread, refreshed on unknown kid) */
    auth_keys_t *jwks_file_keys; /* RS256 from WORKOS_JWKS_FILE, loaded once, read-only */
    int dev_token;           /* APP_ENV=development */
} principal_config_t;

/* Returns -1 (after printing why) when the variables are inconsistent or the JWKS file is bad. */
int principal_config_from_env(principal_config_t *pc, app_env_t env);
void principal_config_dispose(principal_config_t *pc);

typedef struct req req_t;
typedef struct principal_thread principal_thread_t;
typedef struct httpc httpc_t;

/* Per-thread caches and JWKS state; httpc fetches the JWKS when pc->jwks_url is set. */
principal_thread_t *principal_thread_new(uv_loop_t *loop, const principal_config_t *pc, httpc_t *httpc);
/* Fails requests still waiting for keys, then frees; the httpc must still be open. */
void principal_thread_free(principal_thread_t *pt);

/* Registers the provisioning statement. */
void principal_register(app_t *app);

/* Resolves token (a bearer token without the "Bearer " prefix) for the request r. done is called
 * once, possibly before this returns, with the principal (NULL on failure, then `status` says why:
 * AUTH_ERR_* from verification; AUTH_OK with a NULL principal means the database failed and
 * `db_status` says how). The principal lives in r's memory pool. */
typedef void (*principal_done_cb)(req_t *r, const principal_t *p, auth_status_t status, int db_status);
void principal_resolve(req_t *r, const char *token, size_t len, principal_done_cb done);

#endif
