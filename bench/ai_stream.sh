#!/usr/bin/env bash
# The public chat stream against the scripted mock provider, on loopback, bounded in time and
# count (bench/run.sh runs it as its last section; it also runs alone after `make build`):
#   1. added time to first byte: AI_BENCH_ITERATIONS (2000) sequential streams, each a fresh
#      conversation; the mock answers at once, and the same client times the mock alone with the
#      server's own request body, so the difference is what the server adds (HTTP, the context
#      query to PostgreSQL, the run, the provider call, SSE);
#   2. concurrent streams held: AI_BENCH_STREAMS (1000) streams open at once, the mock stalling
#      each after its first delta for AI_BENCH_HOLD_MS (15000); the server's VmRSS before, while
#      all are held, and after; then /health and the replies stored.
# Needs build/hellosales (make build) and python3; builds the mock (test/mock/mock_llm.c) in Release
# under build/mock/ unless HS_MOCK_LLM names one. Raw output: build/bench/<time>-ai/ (or AI_BENCH_OUT).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/test.sh
source "$REPO/scripts/test.sh" # hs_tmp_create, hs_pg_up, hs_env_down, hs_free_port, hs_kill_wait

BIN=${HS_BIN:-$REPO/build/hellosales}
MOCK_BUILD=$REPO/build/mock
MOCK=${HS_MOCK_LLM:-$MOCK_BUILD/test/mock_llm}
PYTHON=${PYTHON:-python3}
ITERATIONS=${AI_BENCH_ITERATIONS:-2000}
STREAMS=${AI_BENCH_STREAMS:-1000}
HOLD_MS=${AI_BENCH_HOLD_MS:-15000}
TTFB_DEADLINE=300 # seconds for the sequential iterations, whatever their number
WARMUP=50        # streams before the timed ones (the mock learns the server's request body)
OUT=${AI_BENCH_OUT:-$REPO/build/bench/$(date +%Y%m%d-%H%M%S)-ai}
HANDLE=bench-shop
SERVER_PID=
MOCK_PID=
declare -A R # the client's key=value results

ai_die() { echo "ai_stream: $*" >&2; exit 1; }

ai_down() {
    if [[ -n $SERVER_PID ]]; then hs_kill_wait "$SERVER_PID"; fi
    if [[ -n $MOCK_PID ]]; then hs_kill_wait "$MOCK_PID"; fi
    SERVER_PID=
    MOCK_PID=
    hs_env_down
}

# ai_bound NAME VALUE MIN MAX: VALUE must be a whole number in MIN..MAX.
ai_bound() {
    if ! [[ $2 =~ ^[0-9]+$ ]] || (($2 < $3 || $2 > $4)); then ai_die "$1 must be a whole number in $3..$4"; fi
}

ai_check_bounds() {
    ai_bound AI_BENCH_ITERATIONS "$ITERATIONS" 10 20000
    ai_bound AI_BENCH_STREAMS "$STREAMS" 1 5000
    ai_bound AI_BENCH_HOLD_MS "$HOLD_MS" 2000 60000
    # client, server (visitor + provider connection) and mock: one descriptor per stream each is
    # the least any of them needs; the limit is inherited by all three
    local need=$((2 * STREAMS + 256))
    if (($(ulimit -n) < need)); then
        ulimit -n "$need" 2>/dev/null || ai_die "open files limit $(ulimit -n) < $need and cannot be raised"
    fi
    "$PYTHON" -c 'import asyncio, socket' 2>/dev/null || ai_die "$PYTHON (3, standard library) is needed"
}

# The mock in Release, so that its own time is as small as the server's build would make it.
ai_mock_build() {
    [[ -z ${HS_MOCK_LLM:-} ]] || return 0
    mkdir -p "$MOCK_BUILD"
    echo "ai_stream: building the mock provider (build/mock)" >&2
    if ! flock "$MOCK_BUILD/.lock" cmake --log-level=WARNING -S "$REPO" -B "$MOCK_BUILD" \
        -DCMAKE_BUILD_TYPE=Release -DHS_TESTS=ON >"$OUT/mock-build.log" 2>&1 ||
        ! flock "$MOCK_BUILD/.lock" env -u MAKEFLAGS -u MAKELEVEL cmake --build "$MOCK_BUILD" --target mock_llm \
            -j "$(nproc)" >>"$OUT/mock-build.log" 2>&1; then
        tail -n 20 "$OUT/mock-build.log" >&2
        ai_die "the mock did not build"
    fi
}

ai_mock_up() {
    local i
    "$MOCK" --port-file "$HS_TMP/mock.port" --nodelay 1 </dev/null >"$OUT/mock.log" 2>&1 &
    MOCK_PID=$!
    for ((i = 0; i < 50; i++)); do
        [[ -s $HS_TMP/mock.port ]] && break
        kill -0 "$MOCK_PID" 2>/dev/null || { cat "$OUT/mock.log" >&2; ai_die "the mock exited"; }
        sleep 0.1
    done
    MOCK_PORT=$(head -n 1 "$HS_TMP/mock.port" 2>/dev/null) || true
    [[ ${MOCK_PORT:-} =~ ^[0-9]+$ ]] || ai_die "the mock did not report its port"
}

# h2o.conf with the public path's per-address rate limit off: every request here comes from
# 127.0.0.1, and 600/min would turn the run into a 429 test.
ai_config() {
    sed '/^ *\/api\/v1\/public:/,/app\.rate-limit:/ s/app\.rate-limit: .*/app.rate-limit: off/' \
        "$REPO/h2o.conf" >"$HS_TMP/h2o.conf"
    grep -A3 '/api/v1/public:' "$HS_TMP/h2o.conf" | grep -q 'app.rate-limit: off' ||
        ai_die "could not turn the public path's rate limit off in a copy of h2o.conf"
    echo "run.quota-per-hour: 100000000" >>"$HS_TMP/h2o.conf" # every run here is one organization's
}

ai_server_up() {
    local port=$1 i
    # only the mock: no other provider key from the caller's environment, no fallback
    (cd "$REPO" && exec env -u GROQ_API_KEY -u OPEN_ROUTER_API_KEY -u GOOGLE_API_KEY -u GEMINI_API_KEY \
        -u LLM_FALLBACK -u REDIS_URL HTTP_PORT="$port" HTTPS_PORT=0 LOG_LEVEL=warn APP_ENV=production \
        HS_SCHEMA_DIR="$REPO/schema" LLM_PROVIDER=openai OPENAI_BASE_URL="http://127.0.0.1:$MOCK_PORT/v1" \
        OPENAI_API_KEY=sk-bench-not-a-real-key \
        "$BIN" serve -c "$HS_TMP/h2o.conf") </dev/null >>"$OUT/server.log" 2>&1 &
    SERVER_PID=$!
    for ((i = 0; i < 300; i++)); do
        kill -0 "$SERVER_PID" 2>/dev/null || { tail -n 20 "$OUT/server.log" >&2; ai_die "the server exited"; }
        curl -fsS --max-time 2 -o /dev/null "http://127.0.0.1:$port/ready" 2>/dev/null && return 0
        sleep 0.1
    done
    tail -n 20 "$OUT/server.log" >&2
    ai_die "the server did not answer /ready on port $port within 30 s"
}

ai_psql() { "$(pg_bindir)/psql" -X -q -v ON_ERROR_STOP=1 -At "$DATABASE_URL" "$@"; }

# One organization, its owner and a workspace with a handle, a knowledge base and two services,
# as the public assistant expects to find them.
ai_workspace() {
    ai_psql >/dev/null <<SQL
WITH o AS (INSERT INTO organizations (external_id, name) VALUES ('org_bench_ai', 'Bench Org') RETURNING id),
 u AS (INSERT INTO users (external_id, email, name) VALUES ('user_bench_ai', 'bench@example.com', 'Bench Owner') RETURNING id),
 m AS (INSERT INTO organization_memberships (organization_id, user_id, role) SELECT o.id, u.id, 'admin' FROM o, u),
 w AS (INSERT INTO workspaces (organization_id, user_id, name, handle, knowledge_base)
       SELECT o.id, u.id, 'Bench Barbers', '$HANDLE',
              'We open at 9 on weekdays and 10 on Saturdays. Walk-ins welcome; booking recommended.'
       FROM o, u RETURNING id)
INSERT INTO workspace_services (workspace_id, name, description, duration_minutes, price_cents)
SELECT w.id, s.name, s.description, s.minutes, s.price FROM w,
 (VALUES ('Haircut', 'Wash, cut and style', 30, 3500), ('Beard trim', 'Shape and hot towel', 15, 1500))
 AS s (name, description, minutes, price);
SQL
}

# Runs the client with a hard time limit; its key=value lines land in R and in OUT/NAME.txt.
ai_client() {
    local name=$1 limit=$2 line
    shift 2
    timeout --kill-after=5 "$limit" "$PYTHON" "$REPO/bench/ai_stream.py" "$@" >"$OUT/$name.txt" \
        2> >(tee "$OUT/$name.log" >&2) || ai_die "the $name client failed or timed out (exit $?; see $OUT/$name.log)"
    while IFS= read -r line; do
        [[ $line == *=* ]] && R[${line%%=*}]=${line#*=}
    done <"$OUT/$name.txt"
}

row() { printf '%-44s %9s %9s %9s\n' "$1" "${R[${2}_p50_ms]:-?}" "${R[${2}_p99_ms]:-?}" "${R[${2}_mean_ms]:-?}"; }

mib() { awk -v k="${1:-0}" 'BEGIN {printf "%.1f MiB", k / 1024}'; }

# hold_summary PREFIX TITLE: one round of held streams.
hold_summary() {
    local p=$1
    echo "$2: ${R[${p}_held]:-?} of ${R[${p}_streams]:-?} held (all open after ${R[${p}_all_open_s]:-?} s;" \
        "the mock stalls each ${HOLD_MS} ms after its first delta)"
    echo "  server VmRSS: before $(mib "${R[${p}_rss_before_kib]:-}"), all held $(mib "${R[${p}_rss_held_kib]:-}")" \
        "(${R[${p}_kib_per_stream]:-?} KiB per stream), after $(mib "${R[${p}_rss_after_kib]:-}");" \
        "open fds ${R[${p}_fds_before]:-?} -> ${R[${p}_fds_held]:-?}"
    echo "  outcomes: ended ${R[${p}_ended]:-?}, error event ${R[${p}_error]:-?}, cut ${R[${p}_eof]:-?}," \
        "timeout ${R[${p}_timeout]:-?}, socket error ${R[${p}_oserror]:-?} (all done after ${R[${p}_done_s]:-?} s)"
}

ai_summary() {
    local health=$1 stored=$2 runs=$3
    echo "hellosales AI stream bench: public chat vs the mock provider (no delay), $(nproc) cores, loopback"
    echo "(raw output: ${OUT#"$REPO"/})"
    echo
    echo "time to first byte, ${R[ttfb_iterations]:-?} sequential streams over HTTP/1.1 (kept alive), provider" \
        "request ${R[ttfb_body_bytes]:-?} bytes"
    printf '%-44s %9s %9s %9s\n' "ms" p50 p99 mean
    row "mock alone: request -> first content delta" mock_first_delta
    row "server: request -> response head" head
    row "server: request -> message_start" message_start
    row "server: request -> first delta" first_delta
    row "server: request -> message_end (stored)" message_end
    row "added: first delta - mock alone, per stream" added
    echo "added, difference of the medians: ${R[added_of_medians_ms]:-?} ms"
    echo
    hold_summary hold "concurrent streams"
    hold_summary hold2 "the same again (is round 1's memory reused?)"
    echo "after: GET /health $health; assistant replies stored $stored; runs by status: $runs"
}

ai_main() {
    local port health stored runs want i
    ai_check_bounds
    [[ -x $BIN ]] || ai_die "$BIN is missing: \`make build\` builds it"
    mkdir -p "$OUT"
    trap ai_down EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
    unset REDIS_URL
    ai_mock_build
    [[ -x $MOCK ]] || ai_die "$MOCK is missing"
    hs_tmp_create
    hs_pg_up >/dev/null
    HS_SCHEMA_DIR=$REPO/schema "$BIN" migrate up >"$OUT/migrate.log" 2>&1 ||
        { cat "$OUT/migrate.log" >&2; ai_die "migrate up failed"; }
    ai_workspace
    ai_mock_up
    ai_config
    port=$(hs_free_port)
    ai_server_up "$port"
    echo "ai_stream: server on 127.0.0.1:$port (pid $SERVER_PID), mock on 127.0.0.1:$MOCK_PORT" >&2

    ai_client ttfb $((TTFB_DEADLINE + 120)) ttfb --server "$port" --mock "$MOCK_PORT" --handle "$HANDLE" \
        --iterations "$ITERATIONS" --warmup "$WARMUP" --deadline "$TTFB_DEADLINE" --raw "$OUT/ttfb.csv"
    ai_client hold $((2 * HOLD_MS / 1000 + 300)) hold --server "$port" --mock "$MOCK_PORT" --handle "$HANDLE" \
        --streams "$STREAMS" --hold-ms "$HOLD_MS" --pid "$SERVER_PID" --rounds "${AI_BENCH_ROUNDS:-2}"

    kill -0 "$SERVER_PID" 2>/dev/null || ai_die "the server died during the run"
    health=$(curl -sS --max-time 5 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health" || echo failed)
    # the held streams' replies are stored as each finishes; give the last ones a moment
    want=$((WARMUP + ${R[ttfb_iterations]:-0} + 2 * STREAMS))
    for ((i = 0; i < 50; i++)); do
        stored=$(ai_psql -c "SELECT count(*) FROM conversation_messages WHERE role = 'assistant'")
        ((stored >= want)) && break
        sleep 0.2
    done
    stored="$stored of $want"
    runs=$(ai_psql -c "SELECT string_agg(status || ' ' || n, ', ' ORDER BY status)
                       FROM (SELECT status, count(*) n FROM pipeline_runs GROUP BY status) s")
    ai_summary "$health" "$stored" "$runs" | tee "$OUT/summary.txt"
}

ai_main "$@"
