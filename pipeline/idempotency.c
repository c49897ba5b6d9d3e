/* Idempotency-Key on POST: the first request with a key claims it (one statement, so two
 * concurrent duplicates cannot both win), its response is stored when it is sent, and a retry by
 * the same principal within 24 hours gets that response again instead of doing the work twice. */
#include "pipeline/idempotency.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>

#include "base/log.h"
#include "pipeline/server.h"

#define IDEM_KEY_MAX 255
/* A duplicate of a request still running waits for its response: looks every IDEM_WAIT_MS, at
 * most IDEM_WAITS times, before 409. It also covers a retry that arrives between the first
 * response going out and its copy being stored. */
#define IDEM_WAIT_MS 50
#define IDEM_WAITS 40

/* Every statement starts with the principal: $1 user, $2 the organization it acts in, $3 key.
 * Claim: $4 method, $5 path, $6 request hash; a row comes back when the key is ours (new, or
 * expired and taken over). */
static const db_stmt_t stmt_claim = {
    "idem_claim",
    "INSERT INTO idempotency_keys AS k (user_id, organization_id, key, method, path, request_hash)"
    " VALUES ($1::uuid, $2::uuid, $3, $4, $5, $6::bytea)"
    " ON CONFLICT (user_id, organization_id, key) DO UPDATE SET method = EXCLUDED.method, path = EXCLUDED.path,"
    "   request_hash = EXCLUDED.request_hash, status = NULL, response_body = NULL, response_location = NULL,"
    "   created_at = now(), expires_at = now() + interval '24 hours'"
    " WHERE k.expires_at < now()"
    " RETURNING 1",
    6, 0};

static const db_stmt_t stmt_get = {
    "idem_get",
    "SELECT request_hash = $4::bytea, status, response_body, response_location FROM idempotency_keys"
    " WHERE user_id = $1::uuid AND organization_id = $2::uuid AND key = $3",
    4, DB_STMT_READONLY};

static const db_stmt_t stmt_store = {
    "idem_store",
    "UPDATE idempotency_keys SET status = $4::int, response_body = $5, response_location = $6"
    " WHERE user_id = $1::uuid AND organization_id = $2::uuid AND key = $3",
    6, 0};

/* A failed or abandoned request gives its key back, so that a retry can do the work. */
static const db_stmt_t stmt_release = {
    "idem_release",
    "DELETE FROM idempotency_keys WHERE user_id = $1::uuid AND organization_id = $2::uuid AND key = $3"
    " AND status IS NULL",
    3, 0};

void idempotency_register(app_t *app)
{
    app_add_stmt(app, &stmt_claim);
    app_add_stmt(app, &stmt_get);
    app_add_stmt(app, &stmt_store);
    app_add_stmt(app, &stmt_release);
}

/* SHA-256 of method, path and body as PostgreSQL's bytea hex text ("\x..."). */
static const char *request_hash(req_t *r)
{
    h2o_req_t *req = r->h2o;
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
        EVP_DigestUpdate(ctx, req->method.base, req->method.len) != 1 || EVP_DigestUpdate(ctx, "\n", 1) != 1 ||
        EVP_DigestUpdate(ctx, req->path_normalized.base, req->path_normalized.len) != 1 ||
        EVP_DigestUpdate(ctx, "\n", 1) != 1 ||
        (req->entity.len > 0 && EVP_DigestUpdate(ctx, req->entity.base, req->entity.len) != 1) ||
        EVP_DigestFinal_ex(ctx, md, &mdlen) != 1)
        mdlen = 0;
    EVP_MD_CTX_free(ctx);
    char *hex = h2o_mem_alloc_pool(&req->pool, 2 + mdlen * 2 + 1);
    memcpy(hex, "\\x", 2);
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(hex + 2 + 2 * i, 3, "%02x", md[i]);
    hex[2 + mdlen * 2] = '\0';
    return hex;
}

/* Runs a statement nobody waits for: storing or releasing a key must not hold the response up. */
static void on_ignored(void *arg, const db_result_t *res)
{
    if (res->status != DB_OK)
        log_warn("idempotency key bookkeeping failed", LOG_I("status", res->status), LOG_S("sqlstate", res->sqlstate));
}

static void fire(req_t *r, const db_stmt_t *stmt, const char *const *values, int n)
{
    db_pool_query(r->thread->db[APP_POOL_FAST], stmt, values, n, 0, on_ignored, NULL);
}

void idempotency_on_response(req_t *r, int status, h2o_iovec_t body)
{
    if (r->idem_key == NULL)
        return;
    const char *key = r->idem_key;
    r->idem_key = NULL;
    if (status >= 500) {
        fire(r, &stmt_release, (const char *[]){r->principal->user_id, r->principal->org_id, key}, 3);
        return;
    }
    char code[12];
    snprintf(code, sizeof(code), "%d", status);
    ssize_t i = h2o_find_header(&r->h2o->res.headers, H2O_TOKEN_LOCATION, -1);
    const char *location = i >= 0 ? h2o_strdup(&r->h2o->pool, r->h2o->res.headers.entries[i].value.base,
                                                r->h2o->res.headers.entries[i].value.len).base
                                  : NULL;
    const char *text = h2o_strdup(&r->h2o->pool, body.base ? body.base : "", body.len).base;
    fire(r, &stmt_store, (const char *[]){r->principal->user_id, r->principal->org_id, key, code, text, location}, 6);
}

void idempotency_on_gone(req_t *r)
{
    if (r->idem_key != NULL)
        fire(r, &stmt_release, (const char *[]){r->principal->user_id, r->principal->org_id, r->idem_key}, 3);
    r->idem_key = NULL;
}

/* ---- the stage --------------------------------------------------------------------------- */

static void look_again(req_t *r);

static void on_wait_gone(req_t *r, void *arg)
{
    (void)r;
    idem_state_t *st = arg;
    if (h2o_timeout_is_linked(&st->wait))
        h2o_timeout_unlink(&st->wait);
}

static void on_wait(h2o_timeout_entry_t *entry)
{
    idem_state_t *st = H2O_STRUCT_FROM_MEMBER(idem_state_t, wait, entry);
    st->req->on_gone = NULL;
    look_again(st->req);
}

static void on_existing(req_t *r, const db_result_t *res)
{
    idem_state_t *st = r->state;
    if (res->status != DB_OK) {
        req_respond_db_error(r, res);
        return;
    }
    if (PQntuples(res->pg) != 1) { /* released meanwhile: a retry may try again at once */
        req_add_header(r, "retry-after", "1");
        req_respond_error(r, 409, "conflict", "A request with this Idempotency-Key is still being processed");
        return;
    }
    if (strcmp(PQgetvalue(res->pg, 0, 0), "t") != 0) {
        req_respond_error(r, 409, "conflict", "This Idempotency-Key was used for a different request");
        return;
    }
    if (PQgetisnull(res->pg, 0, 1)) {
        h2o_timeout_t *list = server_timeout_for(r->thread, IDEM_WAIT_MS);
        if (st->waits++ < IDEM_WAITS && list != NULL) {
            r->on_gone = on_wait_gone;
            r->on_gone_arg = st;
            h2o_timeout_link(r->thread->ctx.loop, list, &st->wait);
            return;
        }
        req_add_header(r, "retry-after", "1");
        req_respond_error(r, 409, "conflict", "A request with this Idempotency-Key is still being processed");
        return;
    }
    int status = atoi(PQgetvalue(res->pg, 0, 1));
    if (!PQgetisnull(res->pg, 0, 3))
        req_add_header(r, "location", h2o_strdup(&r->h2o->pool, PQgetvalue(res->pg, 0, 3), SIZE_MAX).base);
    req_add_header(r, "idempotent-replayed", "true");
    req_respond_cell(r, status, res->pg, 2);
}

static void on_claim(req_t *r, const db_result_t *res)
{
    if (res->status != DB_OK) {
        req_respond_db_error(r, res);
        return;
    }
    idem_state_t *st = r->state;
    if (PQntuples(res->pg) == 1) {
        r->idem_key = st->key;
        r->state = NULL;
        req_resume(r);
        return;
    }
    look_again(r);
}

static void look_again(req_t *r)
{
    idem_state_t *st = r->state;
    req_query(r, &stmt_get, (const char *[]){r->principal->user_id, r->principal->org_id, st->key, st->hash}, 4,
              on_existing);
}

int idempotency_stage(req_t *r)
{
    h2o_req_t *req = r->h2o;
    if (!h2o_memis(req->method.base, req->method.len, H2O_STRLIT("POST")) || r->principal == NULL)
        return 0;
    ssize_t i = h2o_find_header_by_str(&req->headers, H2O_STRLIT("idempotency-key"), -1);
    if (i < 0)
        return 0;
    h2o_iovec_t key = req->headers.entries[i].value;
    int printable = 1;
    for (size_t k = 0; k < key.len; k++)
        printable &= key.base[k] > 0x20 && key.base[k] < 0x7f;
    if (key.len < 1 || key.len > IDEM_KEY_MAX || !printable) {
        req_respond_validation(r, (const char *[]){"header", "Idempotency-Key", NULL},
                               "Idempotency-Key must be 1 to 255 visible ASCII characters", "value_error");
        return 1;
    }
    idem_state_t *st = h2o_mem_alloc_pool(&req->pool, sizeof(*st));
    memset(st, 0, sizeof(*st));
    st->req = r;
    st->wait.cb = on_wait;
    st->key = h2o_strdup(&req->pool, key.base, key.len).base;
    st->hash = request_hash(r);
    r->state = st;
    char *path = h2o_strdup(&req->pool, req->path_normalized.base, req->path_normalized.len).base;
    req_query(r, &stmt_claim, (const char *[]){r->principal->user_id, r->principal->org_id, st->key, "POST", path, st->hash},
              6, on_claim);
    return 1;
}
