/* Keyset cursors and page parameters. A cursor is checked on the way in so that a forged or
 * truncated one is a 422 rather than a database error or a silently wrong page. */
#include "pipeline/cursor.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/crypto.h>
#include <openssl/sha.h>

#include "pipeline/req.h"
#include "pipeline/validate.h"

#define CURSOR_VERSION 1
#define CURSOR_CHECK_LEN 4
#define CURSOR_TS_MIN 20 /* "2026-11-22T10:00:00Z" */
#define CURSOR_RAW_MAX (2 + CURSOR_TS_MAX + 16 + CURSOR_CHECK_LEN)
#define CURSOR_SCOPE_MAX 64

static const char b64url_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int ts_shape_ok(const char *ts, size_t n)
{
    if (n < CURSOR_TS_MIN || n > CURSOR_TS_MAX)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = ts[i];
        if (!((c >= '0' && c <= '9') || c == '-' || c == ':' || c == '.' || c == 'T' || c == 'Z' || c == '+'))
            return 0;
    }
    return 1;
}

/* The check binds the payload to the collection: SHA-256("hellosales-cursor\0" scope "\0" payload). */
static void checksum(const char *scope, const unsigned char *payload, size_t n, unsigned char out[CURSOR_CHECK_LEN])
{
    static const char tag[] = "hellosales-cursor";
    unsigned char buf[sizeof(tag) + CURSOR_SCOPE_MAX + 1 + CURSOR_RAW_MAX], md[SHA256_DIGEST_LENGTH];
    size_t slen = strnlen(scope, CURSOR_SCOPE_MAX), o = 0;
    memcpy(buf, tag, sizeof(tag));
    o += sizeof(tag);
    memcpy(buf + o, scope, slen);
    o += slen;
    buf[o++] = '\0';
    memcpy(buf + o, payload, n);
    o += n;
    SHA256(buf, o, md);
    memcpy(out, md, CURSOR_CHECK_LEN);
}

static int hexval(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

size_t cursor_encode(const char *scope, const char *ts, const char *id, char *out)
{
    unsigned char raw[CURSOR_RAW_MAX];
    size_t tslen = strlen(ts), n = 0;
    char uuid[37];
    if (!ts_shape_ok(ts, tslen) || !validate_uuid(id, strlen(id), uuid))
        return 0;
    raw[n++] = CURSOR_VERSION;
    raw[n++] = (unsigned char)tslen;
    memcpy(raw + n, ts, tslen);
    n += tslen;
    for (size_t i = 0; i < 36; i += 2) {
        if (uuid[i] == '-')
            i++;
        raw[n++] = (unsigned char)(hexval(uuid[i]) << 4 | hexval(uuid[i + 1]));
    }
    checksum(scope, raw, n, raw + n);
    n += CURSOR_CHECK_LEN;

    size_t o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned)raw[i] << 16 | (i + 1 < n ? (unsigned)raw[i + 1] << 8 : 0) | (i + 2 < n ? raw[i + 2] : 0);
        size_t chars = i + 2 < n ? 4 : i + 1 < n ? 3 : 2;
        for (size_t k = 0; k < chars; k++)
            out[o++] = b64url_alphabet[(v >> (18 - 6 * k)) & 63];
    }
    out[o] = '\0';
    return o;
}

/* Strict base64url without padding; -1 on any other character or an impossible length. */
static long b64url_decode(const char *in, size_t len, unsigned char *out, size_t cap)
{
    if (len % 4 == 1)
        return -1;
    size_t o = 0;
    unsigned acc = 0, bits = 0;
    for (size_t i = 0; i < len; i++) {
        const char *p = memchr(b64url_alphabet, in[i], 64);
        if (in[i] == '\0' || p == NULL)
            return -1;
        acc = acc << 6 | (unsigned)(p - b64url_alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o == cap)
                return -1;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    if (acc != 0) /* non-zero trailing bits: not what the encoder writes */
        return -1;
    return (long)o;
}

int cursor_decode(const char *scope, const char *token, size_t len, cursor_key_t *out)
{
    unsigned char raw[CURSOR_RAW_MAX], check[CURSOR_CHECK_LEN];
    if (len >= CURSOR_TOKEN_MAX)
        return -1;
    long n = b64url_decode(token, len, raw, sizeof(raw));
    if (n < 2 + CURSOR_TS_MIN + 16 + CURSOR_CHECK_LEN || raw[0] != CURSOR_VERSION)
        return -1;
    size_t tslen = raw[1];
    if ((size_t)n != 2 + tslen + 16 + CURSOR_CHECK_LEN)
        return -1;
    checksum(scope, raw, (size_t)n - CURSOR_CHECK_LEN, check);
    if (CRYPTO_memcmp(check, raw + n - CURSOR_CHECK_LEN, CURSOR_CHECK_LEN) != 0)
        return -1;
    if (!ts_shape_ok((const char *)raw + 2, tslen))
        return -1;
    memcpy(out->ts, raw + 2, tslen);
    out->ts[tslen] = '\0';
    const unsigned char *u = raw + 2 + tslen;
    static const char hex[] = "0123456789abcdef";
    size_t o = 0;
    for (size_t i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10)
            out->id[o++] = '-';
        out->id[o++] = hex[u[i] >> 4];
        out->id[o++] = hex[u[i] & 15];
    }
    out->id[o] = '\0';
    return 0;
}

int cursor_parse_limit(const char *s, size_t len, int *out)
{
    if (len == 0 || len > 3)
        return -1;
    int v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > CURSOR_LIMIT_MAX)
        return -1;
    *out = v;
    return 0;
}

int cursor_page_from_query(req_t *r, const char *scope, cursor_page_t *out)
{
    char buf[CURSOR_TOKEN_MAX + 1];
    memset(out, 0, sizeof(*out));
    out->scope = scope;
    out->limit = CURSOR_LIMIT_DEFAULT;
    long n = req_query_param(r, "limit", buf, sizeof(buf));
    if (n != -1 && (n < 0 || cursor_parse_limit(buf, (size_t)n, &out->limit) != 0)) {
        req_respond_validation(r, (const char *[]){"query", "limit", NULL},
                               "Input should be an integer between 1 and 200", "int_parsing");
        return -1;
    }
    n = req_query_param(r, "cursor", buf, sizeof(buf));
    if (n > 0 || n == -2) {
        if (n < 0 || cursor_decode(scope, buf, (size_t)n, &out->after) != 0) {
            req_respond_validation(r, (const char *[]){"query", "cursor", NULL},
                                   "Invalid cursor: use the next_cursor of a previous page", "value_error");
            return -1;
        }
        out->has_after = 1;
    }
    snprintf(out->fetch, sizeof(out->fetch), "%d", out->limit + 1);
    return 0;
}

void cursor_put_next(json_out_t *o, const char *scope, int more, const char *ts, const char *id)
{
    char token[CURSOR_TOKEN_MAX];
    json_out_key(o, "next_cursor");
    if (more && cursor_encode(scope, ts, id, token) > 0)
        json_out_str(o, token);
    else
        json_out_null(o);
}

void cursor_page_respond(req_t *r, const cursor_page_t *page, const db_result_t *res)
{
    int rows = PQntuples(res->pg), shown = rows > page->limit ? page->limit : rows;
    size_t size = 64;
    for (int i = 0; i < shown; i++)
        size += (size_t)PQgetlength(res->pg, i, 0) + 1;
    json_out_t o = json_out_pool(&r->h2o->pool, size);
    json_out_obj_begin(&o);
    json_out_key(&o, "items");
    json_out_arr_begin(&o);
    for (int i = 0; i < shown; i++)
        json_out_raw(&o, PQgetvalue(res->pg, i, 0), (size_t)PQgetlength(res->pg, i, 0));
    json_out_arr_end(&o);
    int more = rows > page->limit;
    cursor_put_next(&o, page->scope, more, more ? PQgetvalue(res->pg, shown - 1, 1) : NULL,
                    more ? PQgetvalue(res->pg, shown - 1, 2) : NULL);
    json_out_obj_end(&o);
    req_respond_json(r, 200, json_out_iov(&o));
}

static void on_page(req_t *r, const db_result_t *res)
{
    if (res->status != DB_OK)
        req_respond_db_error(r, res);
    else
        cursor_page_respond(r, r->state, res);
}

void cursor_page_query(req_t *r, const char *scope, const db_stmt_t *stmt, const char *const *values, int n)
{
    cursor_page_t *page = h2o_mem_alloc_pool(&r->h2o->pool, sizeof(*page));
    if (cursor_page_from_query(r, scope, page) != 0)
        return;
    r->state = page;
    const char *all[16];
    if (n > 13)
        abort(); /* a programming error: no statement has that many scope values */
    memcpy(all, values, sizeof(*values) * (size_t)n);
    all[n] = cursor_page_after_ts(page);
    all[n + 1] = cursor_page_after_id(page);
    all[n + 2] = page->fetch;
    req_query(r, stmt, all, n + 3, on_page);
}
