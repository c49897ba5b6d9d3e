#!/usr/bin/env bash
# Bounded loopback load on the Release build (`make bench` builds it first): starts the server
# against a throw-away PostgreSQL, runs h2load (h2c) and wrk (HTTP/1.1) on /health and /ready,
# then pgbench's pipelined SELECT 1 for comparison, the public AI stream against the mock provider
# (bench/ai_stream.sh; BENCH_AI=0 skips it), and prints a summary. Raw tool output is kept
# in build/bench/<time>/; nothing is recorded anywhere else. See bench/README.md.
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/test.sh
source "$REPO/scripts/test.sh" # hs_tmp_create, hs_pg_up, hs_env_down, hs_free_port, hs_kill_wait

BIN=${HS_BIN:-$REPO/build/hellosales}
SECONDS_PER_RUN=${BENCH_SECONDS:-10}
PIPELINE_DEPTH=10 # SELECT 1 statements per pgbench pipeline
OUT=$REPO/build/bench/$(date +%Y%m%d-%H%M%S)
SERVER_PID=
SUMMARY=()

bench_die() { echo "bench: $*" >&2; exit 1; }

bench_down() {
    if [[ -n $SERVER_PID ]]; then hs_kill_wait "$SERVER_PID"; fi
    SERVER_PID=
    hs_env_down
}

# BENCH_SERVER_CMD replaces the server command (it gets HTTP_PORT and DATABASE_URL like ours).
# Arguments after the port are NAME=value settings for that server only.
bench_server_up() {
    local port=$1 i
    shift
    local cmd=(bash -c "${BENCH_SERVER_CMD:-}")
    [[ -n ${BENCH_SERVER_CMD:-} ]] || cmd=("$BIN" serve -c "${BENCH_CONF:-$REPO/h2o.conf}")
    (cd "$REPO" && exec env HTTP_PORT="$port" HTTPS_PORT=0 LOG_LEVEL=warn APP_ENV="${APP_ENV:-production}" \
        HS_SCHEMA_DIR="$REPO/schema" "$@" "${cmd[@]}") </dev/null >>"$OUT/server.log" 2>&1 &
    SERVER_PID=$!
    for ((i = 0; i < 300; i++)); do
        kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 20 "$OUT/server.log" >&2; bench_die "the server exited"; }
        curl -fsS -o /dev/null "http://127.0.0.1:$port/ready" 2>/dev/null && return 0
        sleep 0.1
    done
    tail -n 20 "$OUT/server.log" >&2
    bench_die "the server did not answer /ready on port $port within 30 s"
}

# The tools stop themselves after SECONDS_PER_RUN; timeout is the backstop if one hangs.
bench_timeout() { timeout --kill-after=5 $((SECONDS_PER_RUN + 30)) "$@"; }

# h2load reports req/s and the mean time per request, but no percentiles. Extra arguments
# (e.g. -H "authorization: Bearer ...") go to h2load.
h2load_run() {
    local name=$1 url=$2 log=$OUT/$3.txt rps mean fails non2xx
    shift 3
    echo "bench: $name" >&2
    bench_timeout h2load -c 64 -m 16 -t 1 -D "$SECONDS_PER_RUN" --warm-up-time=1 "$@" "$url" >"$log" 2>&1 ||
        echo "bench: h2load exited with $? (see $log)" >&2
    rps=$(sed -n 's/^finished in [^,]*, \([0-9.]*\) req\/s.*/\1/p' "$log")
    mean=$(awk '/^time for request:/ {print $6}' "$log")
    fails=$(awk '/^requests:/ {print $10}' "$log") # h2load counts errored and timed out in it
    non2xx=$(awk -F'[ ,]+' '/^status codes:/ {print $5 + $7 + $9}' "$log")
    SUMMARY+=("$(printf '%-34s %-8s %10s %9s %9s %9s %8s' "$name" h2load "${rps:-?}" "${mean:-?}" - - \
        "$(( ${fails:-0} + ${non2xx:-0} ))")")
}

wrk_run() {
    local name=$1 url=$2 log=$OUT/$3.txt rps mean p50 p99 errs
    shift 3
    echo "bench: $name" >&2
    bench_timeout wrk -t1 -c64 -d"${SECONDS_PER_RUN}s" --latency "$@" "$url" >"$log" 2>&1 ||
        echo "bench: wrk exited with $? (see $log)" >&2
    rps=$(awk '/^Requests\/sec:/ {print $2}' "$log")
    mean=$(awk '$1 == "Latency" {print $2; exit}' "$log")
    p50=$(awk '$1 == "50%" {print $2}' "$log")
    p99=$(awk '$1 == "99%" {print $2}' "$log")
    errs=$(awk '/^ *Non-2xx or 3xx responses:/ {n += $NF} /^ *Socket errors:/ {gsub(/,/, ""); n += $4 + $6 + $8 + $10} END {print n + 0}' "$log")
    SUMMARY+=("$(printf '%-34s %-8s %10s %9s %9s %9s %8s' "$name" wrk "${rps:-?}" "${mean:-?}" "${p50:-?}" "${p99:-?}" "$errs")")
}

# Queries per second = pipelines per second x PIPELINE_DEPTH; latency is per pipeline.
pgbench_run() {
    local script=$HS_TMP/select1.sql log=$OUT/pgbench-select1.txt tps lat fails i
    echo "bench: pgbench pipelined SELECT 1" >&2
    {
        printf '%s\n' '\startpipeline'
        for ((i = 0; i < PIPELINE_DEPTH; i++)); do echo 'SELECT 1;'; done
        printf '%s\n' '\endpipeline'
    } >"$script"
    bench_timeout "$(pg_bindir)/pgbench" -n -M prepared -c 16 -j 2 -T "$SECONDS_PER_RUN" -f "$script" \
        "$DATABASE_URL" >"$log" 2>&1 || echo "bench: pgbench exited with $? (see $log)" >&2
    tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$log")
    lat=$(sed -n 's/^latency average = \([0-9.]*\) ms/\1ms/p' "$log")
    fails=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$log")
    SUMMARY+=("$(printf '%-34s %-8s %10s %9s %9s %9s %8s' "SELECT 1 x$PIPELINE_DEPTH pipelined -c16 (q/s)" \
        pgbench "$(awk -v t="${tps:-0}" -v d="$PIPELINE_DEPTH" 'BEGIN {printf "%.0f", t * d}')" \
        "${lat:-?}" - - "${fails:-?}")")
}

b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }

# A token for the bench identity, valid for an hour: HS256 with $1 as the secret, or RS256 with
# the private key file $1 (kid test-key-1, the fixture JWKS's key).
bench_token() {
    local alg=$1 key=$2 header payload sig
    header=$(printf '{"alg":"%s","typ":"JWT"%s}' "$alg" "$([[ $alg == RS256 ]] && echo ',"kid":"test-key-1"')" | b64url)
    payload=$(printf '{"sub":"user_bench","org_id":"org_bench","role":"admin","exp":%d}' $(($(date +%s) + 3600)) | b64url)
    if [[ $alg == HS256 ]]; then
        sig=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -hmac "$key" -binary | b64url)
    else
        sig=$(printf '%s.%s' "$header" "$payload" | openssl dgst -sha256 -sign "$key" -binary | b64url)
    fi
    echo "$header.$payload.$sig"
}

# wrk_post_script TOKEN BODY: a wrk script POSTing the JSON body with the token.
wrk_post_script() {
    cat <<LUA
wrk.method = "POST"
wrk.body = '$2'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $1"
LUA
}

# A 50-row page of clients and client creation, over h2c and HTTP/1.1 (an authenticated server running).
bench_resources() {
    local port=$1 token=$2 base=http://127.0.0.1:$1/api/v1/sailwind/clients i
    for ((i = 0; i < 50; i++)); do
        curl -fsS -o /dev/null -X POST "$base" -H "authorization: Bearer $token" -H 'content-type: application/json' \
            -d "{\"name\":\"Seed client $i\"}" || bench_die "could not create the bench clients"
    done
    h2load_run "GET clients (50) h2c -c64 -m16" "$base?limit=50" h2load-clients-list -H "authorization: Bearer $token"
    wrk_run "GET clients (50) HTTP/1.1 -c64" "$base?limit=50" wrk-clients-list -H "Authorization: Bearer $token"
    printf '{"name":"Bench Client","industry":"Logistics"}' >"$HS_TMP/client.json"
    h2load_run "POST client h2c -c64 -m16" "$base" h2load-clients-create -H "authorization: Bearer $token" \
        -H 'content-type: application/json' -d "$HS_TMP/client.json"
    wrk_post_script "$token" '{"name":"Bench Client","industry":"Logistics"}' >"$HS_TMP/post.lua"
    wrk_run "POST client HTTP/1.1 -c64" "$base" wrk-clients-create -s "$HS_TMP/post.lua"
}

# What closing HTTP/1.1 connections after every request body (app.http1-close-after-body: on)
# would cost against the default, which closes only after an ambiguously framed one: POSTs over
# HTTP/1.1 on the default server, then on one whose conf turns it on. POST /auth/verify of a
# cached token does no query, so it shows the connection's cost at its largest; client creation
# shows it beside a write.
bench_close_after_body() {
    local port=$1 token=$2 base=http://127.0.0.1:$1/api/v1 conf=$HS_TMP/h2o-close.conf
    wrk_post_script "$token" "{\"token\":\"$token\"}" >"$HS_TMP/verify.lua"
    wrk_run "POST auth/verify HTTP/1.1 -c64" "$base/auth/verify" wrk-verify -s "$HS_TMP/verify.lua"
    { cat "$REPO/h2o.conf"; echo "app.http1-close-after-body: on"; } >"$conf"
    hs_kill_wait "$SERVER_PID"
    BENCH_CONF=$conf bench_server_up "$port" WORKOS_JWKS_FILE="$REPO/test/fixtures/auth/jwks.json"
    wrk_run "POST auth/verify close-after-body" "$base/auth/verify" wrk-verify-close -s "$HS_TMP/verify.lua"
    wrk_run "POST client close-after-body" "$base/sailwind/clients" wrk-clients-create-close -s "$HS_TMP/post.lua"
}

# The same authenticated route (token check + one query) with each algorithm, one after the other.
bench_auth() {
    local port=$1 secret token
    secret=$(openssl rand -hex 32)
    bench_server_up "$port" JWT_HS256_SECRET="$secret"
    token=$(bench_token HS256 "$secret")
    h2load_run "/auth/me HS256  h2c  -c64 -m16" "http://127.0.0.1:$port/api/v1/auth/me" h2load-auth-hs256 \
        -H "authorization: Bearer $token"
    hs_kill_wait "$SERVER_PID"
    bench_server_up "$port" WORKOS_JWKS_FILE="$REPO/test/fixtures/auth/jwks.json"
    token=$(bench_token RS256 "$REPO/test/fixtures/auth/key1.pem")
    h2load_run "/auth/me RS256  h2c  -c64 -m16" "http://127.0.0.1:$port/api/v1/auth/me" h2load-auth-rs256 \
        -H "authorization: Bearer $token"
    # last: it writes many rows, which would slow whatever ran after it
    bench_resources "$port" "$token"
    bench_close_after_body "$port" "$token"
}

bench_main() {
    local port base
    [[ -n ${BENCH_SERVER_CMD:-} || -x $BIN ]] || bench_die "$BIN is missing: \`make bench\` builds it"
    mkdir -p "$OUT"
    trap bench_down EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
    unset REDIS_URL # in-process stand-ins: the bench measures the server and PostgreSQL only
    hs_tmp_create
    hs_pg_up >/dev/null
    [[ -n ${BENCH_SERVER_CMD:-} ]] || HS_SCHEMA_DIR=$REPO/schema "$BIN" migrate up >"$OUT/migrate.log" 2>&1 ||
        { cat "$OUT/migrate.log" >&2; bench_die "migrate up failed"; }
    port=$(hs_free_port)
    bench_server_up "$port"
    base=http://127.0.0.1:$port
    h2load_run "/health  h2c  -c64 -m16 -t1" "$base/health" h2load-health
    wrk_run "/health  HTTP/1.1  -c64 -t1" "$base/health" wrk-health
    h2load_run "/ready   h2c  -c64 -m16 -t1" "$base/ready" h2load-ready
    wrk_run "/ready   HTTP/1.1  -c64 -t1" "$base/ready" wrk-ready
    pgbench_run
    hs_kill_wait "$SERVER_PID"
    [[ -n ${BENCH_SERVER_CMD:-} ]] || bench_auth "$port"
    if [[ -n $SERVER_PID ]]; then hs_kill_wait "$SERVER_PID"; fi
    SERVER_PID=
    # the public AI stream against the mock provider: its own PostgreSQL, server and mock
    if [[ -z ${BENCH_SERVER_CMD:-} && ${BENCH_AI:-1} != 0 ]]; then
        echo "bench: public chat stream vs the mock provider (bench/ai_stream.sh)" >&2
        AI_BENCH_OUT=$OUT/ai bash "$REPO/bench/ai_stream.sh" >/dev/null ||
            echo "bench: ai_stream.sh exited with $? (see $OUT/ai/)" >&2
    fi
    echo
    echo "hellosales bench, ${SECONDS_PER_RUN}s per run, $(nproc) cores, loopback (raw output: ${OUT#"$REPO"/})"
    printf '%-34s %-8s %10s %9s %9s %9s %8s\n' run tool req/s mean p50 p99 errors
    printf '%s\n' "${SUMMARY[@]}"
    if [[ -f $OUT/ai/summary.txt ]]; then
        echo
        cat "$OUT/ai/summary.txt"
    fi
}

bench_main "$@"
