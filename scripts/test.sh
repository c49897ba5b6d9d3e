#!/usr/bin/env bash
# The harness behind `make test` (which builds build-test/ first): starts a throw-away PostgreSQL
# and Redis on free ports in a temporary directory, exports their URLs and the sanitizer options,
# migrates, runs ctest (extra arguments go to ctest) and always tears everything down.
#   HS_TEST_CMD="..."   run this shell command instead of ctest (same environment)
#   HS_BUILD_DIR=dir    the build to test (default build-test)
#   HS_CTEST_JOBS=n     parallel unit tests (default 2; integration tests always run one at a time)
# When tests fail, their leftovers and the database logs are kept in <build>/test-artifacts/.
# bench/run.sh sources this file for hs_tmp_create, hs_pg_up and hs_env_down.
set -euo pipefail

HS_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/pg.sh
source "$HS_REPO/scripts/pg.sh"

# Durability is worthless for a cluster that lives for one run. MD5 passwords rather than SCRAM:
# libpq computes SCRAM's 4096 HMAC rounds on the server's event-loop thread, which under ASan with
# fast_unwind_on_malloc=0 takes seconds a connection on a busy machine and made (re)connects time out.
HS_PG_TEST_SETTINGS=(
    "fsync = off" "synchronous_commit = off" "full_page_writes = off" "max_connections = 200"
    "password_encryption = md5"
)
export PG_AUTH_HOST=md5

hs_die() { echo "test.sh: $*" >&2; exit 1; }

# A port nobody listens on, below the kernel's ephemeral range so that no outgoing connection
# holds it. Two parallel runs may still pick the same one: the start functions retry.
hs_free_port() {
    local port i
    for ((i = 0; i < 100; i++)); do
        port=$((20000 + RANDOM % 12000))
        if ! (: </dev/tcp/127.0.0.1/"$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    hs_die "no free port found"
}

hs_tmp_create() {
    HS_TMP=$(mktemp -d "${TMPDIR:-/tmp}/hellosales-test.XXXXXX")
    chmod 0711 "$HS_TMP" # the postgres user must be able to reach its cluster inside
    export HS_TMP
}

# hs_kill_wait PID: SIGTERM, up to 10 s, then SIGKILL; reaps it if it is our child.
hs_kill_wait() {
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

hs_pg_up() {
    local dir=$HS_TMP/pg try port password
    for try in 1 2 3; do
        port=$(hs_free_port)
        pg_init "$dir" "$port" "${HS_PG_TEST_SETTINGS[@]}" >/dev/null
        pg_start "$dir" && break
        ((try < 3)) || hs_die "PostgreSQL did not start (log: $dir/server.log)"
    done
    password=$(openssl rand -hex 12)
    pg_ensure_app_db "$dir" hellosales "$password" superuser
    DATABASE_URL=$(pg_url "$dir" hellosales "$password")
    PGDATA=$dir
    PG_CTL=$(pg_bindir)/pg_ctl
    PG_RUN_AS=$(pg_run_as)
    export DATABASE_URL PGDATA PG_CTL PG_RUN_AS
    hs_write_pg_helpers "$dir"
}

# Executables the integration tests can system() to take the cluster down and up again.
hs_write_pg_helpers() {
    local dir=$1 action
    mkdir -p "$HS_TMP/bin"
    for action in start stop restart; do
        printf '#!/bin/sh\n# %s the test cluster; stop/restart take an optional mode: fast or immediate\nexec bash %q %s %q "$@"\n' \
            "$action" "$HS_REPO/scripts/pg.sh" "$action" "$dir" >"$HS_TMP/bin/pg-$action"
        chmod 0755 "$HS_TMP/bin/pg-$action"
    done
    export HS_PG_START=$HS_TMP/bin/pg-start HS_PG_STOP=$HS_TMP/bin/pg-stop
    export HS_PG_RESTART=$HS_TMP/bin/pg-restart
}

hs_redis_wait() {
    local port=$1 pid=$2 i
    for ((i = 0; i < 300; i++)); do
        kill -0 "$pid" 2>/dev/null || return 1
        [[ $(redis-cli -h 127.0.0.1 -p "$port" ping 2>/dev/null) == PONG ]] && return 0
        sleep 0.1
    done
    return 1
}

hs_redis_up() {
    local dir=$HS_TMP/redis port try
    mkdir -p "$dir"
    for try in 1 2 3; do
        port=$(hs_free_port)
        redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" --logfile "$dir/redis.log" \
            --save '' --appendonly no --daemonize no </dev/null >/dev/null 2>&1 &
        HS_REDIS_PID=$!
        hs_redis_wait "$port" "$HS_REDIS_PID" && break
        hs_kill_wait "$HS_REDIS_PID"
        HS_REDIS_PID=
        tail -n 5 "$dir/redis.log" >&2 || true
        ((try < 3)) || hs_die "Redis did not start"
    done
    export REDIS_URL=redis://127.0.0.1:$port/0
}

# Idempotent, and safe from any exit path: every step tolerates what is already gone.
hs_env_down() {
    if [[ -n ${HS_REDIS_PID:-} ]]; then hs_kill_wait "$HS_REDIS_PID"; fi
    HS_REDIS_PID=
    if [[ -n ${HS_TMP:-} && -d $HS_TMP ]]; then
        pg_stop "$HS_TMP/pg" || true
        rm -rf "$HS_TMP"
    fi
}

hs_export_test_env() {
    export APP_ENV=test HS_SCHEMA_DIR=$HS_REPO/schema
    # fast_unwind_on_malloc=0: allocation stacks continue through libh2o/libssl/libcrypto (no frame
    # pointers there), so leak reports name the caller and test/lsan.supp entries can match.
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:fast_unwind_on_malloc=0:abort_on_error=0:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1:check_initialization_order=1:strict_init_order=1:print_summary=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    if [[ -f $HS_REPO/test/lsan.supp ]]; then
        export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$HS_REPO/test/lsan.supp:print_suppressions=0}
    fi
}

hs_ctest_count() {
    ctest --test-dir "$1" -N "${@:2}" | sed -n 's/^Total Tests: //p'
}

# hs_ctest_phase LOG ARGS...: ctest with its output also kept in LOG, for the totals.
hs_ctest_phase() {
    local log=$1
    shift
    ctest "$@" 2>&1 | tee "$log"
}

# Unit tests in parallel, then everything else one at a time: integration tests share one
# database and may stop or restart it under each other.
hs_ctest() {
    local build=$1 units rest unit_rc=0 rest_rc=0 failed total
    shift
    local common=(--test-dir "$build" --output-on-failure)
    units=$(hs_ctest_count "$build" -L '^unit$' "$@")
    rest=$(( $(hs_ctest_count "$build" "$@") - units ))
    if ((units == 0 || rest == 0)); then
        ctest "${common[@]}" -j "$( ((rest == 0)) && echo "${HS_CTEST_JOBS:-2}" || echo 1)" "$@"
        return
    fi
    hs_ctest_phase "$HS_TMP/ctest-unit.log" "${common[@]}" -j "${HS_CTEST_JOBS:-2}" -L '^unit$' "$@" ||
        unit_rc=$?
    hs_ctest_phase "$HS_TMP/ctest-rest.log" "${common[@]}" -LE '^unit$' "$@" || rest_rc=$?
    read -r failed total < <(sed -n 's/.* \([0-9]*\) tests failed out of \([0-9]*\)$/\1 \2/p' \
        "$HS_TMP"/ctest-*.log | awk '{f += $1; t += $2} END {print f + 0, t + 0}')
    echo
    echo "Both ctest runs together (unit tests in parallel, then the others one at a time):"
    echo "ctest: $((total - failed)) passed, $failed failed"
    ((unit_rc == 0)) || return "$unit_rc"
    return "$rest_rc"
}

# After a failure, what the tests left in HS_TMP (kept server directories, ctest output) and the
# PostgreSQL and Redis logs move to DEST, since the temp dir itself is always removed.
hs_keep_artifacts() {
    local dest=$1 entry
    mkdir -p "$dest"
    for entry in "$HS_TMP"/*; do
        [[ -e $entry ]] || continue
        case ${entry##*/} in pg | redis | bin) ;; *) mv "$entry" "$dest/" ;; esac
    done
    cp "$HS_TMP/pg/server.log" "$dest/postgresql.log" 2>/dev/null || true
    cp "$HS_TMP/redis/redis.log" "$dest/redis.log" 2>/dev/null || true
    echo "test.sh: kept the failed run's server files and logs in $dest"
}

hs_show_env() {
    local credentials=${DATABASE_URL#*://}
    credentials=${credentials%%@*}
    echo "test env: DATABASE_URL=${DATABASE_URL/"$credentials"/${credentials%%:*}:***}"
    echo "          REDIS_URL=$REDIS_URL"
    echo "          HS_TMP=$HS_TMP  PGDATA=$PGDATA  HS_PG_RESTART=$HS_PG_RESTART"
}

test_main() {
    local build=${HS_BUILD_DIR:-$HS_REPO/build-test} rc=0
    [[ -n ${HS_TEST_CMD:-} || -x $build/hellosales ]] ||
        hs_die "$build/hellosales is missing: run \`make test\`, which builds it"
    trap hs_env_down EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
    hs_tmp_create
    hs_pg_up
    hs_redis_up
    hs_export_test_env
    hs_show_env
    if [[ -x $build/hellosales ]]; then
        "$build/hellosales" migrate up
    fi
    if [[ -n ${HS_TEST_CMD:-} ]]; then
        bash -c "$HS_TEST_CMD" || rc=$?
    else
        hs_ctest "$build" "$@" || rc=$?
    fi
    if ((rc != 0)); then
        hs_keep_artifacts "$build/test-artifacts/$(date +%Y%m%d-%H%M%S)-$$"
    fi
    return "$rc"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then test_main "$@"; fi
