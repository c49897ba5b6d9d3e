#!/usr/bin/env bash
# A private PostgreSQL cluster in a directory of its own, run as the right user (PostgreSQL
# refuses root, so root runs it as `postgres`). Source it for the pg_* functions, or run it:
#   scripts/pg.sh init DIR PORT [SETTING...] | start DIR | stop DIR [fast|immediate] | restart DIR
#                 status DIR | port DIR | psql DIR [ARGS...]
# The cluster listens on 127.0.0.1:PORT and on a unix socket inside DIR; its settings live in
# DIR/hellosales.conf, so start/stop/restart need only the directory.
# PG_AUTH_HOST sets the host authentication method of a new cluster (default scram-sha-256).
set -euo pipefail

pg_die() { echo "pg: $*" >&2; exit 1; }

pg_bindir() {
    local d
    for d in "${PG_BINDIR:-}" /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
        [[ -n $d && -x $d/pg_ctl ]] && { echo "$d"; return; }
    done
    pg_die "no PostgreSQL server binaries (install the postgresql package: scripts/deps.sh)"
}

pg_is_root() { [[ $(id -u) -eq 0 ]]; }

# The command prefix that runs a program as the cluster's owner: empty unless we are root.
pg_run_as() { if pg_is_root; then echo "runuser -u postgres --"; fi; }

# Runs a PostgreSQL program as the cluster's owner. From / so that a cwd the postgres user
# cannot enter (e.g. /root) does not produce warnings.
pg_as() {
    local prog=$1; shift
    if pg_is_root; then
        (cd / && runuser -u postgres -- "$(pg_bindir)/$prog" "$@")
    else
        (cd / && "$(pg_bindir)/$prog" "$@")
    fi
}

# Absolute with symlinks resolved: the postgres user may not be able to follow the link's path.
pg_abs() { readlink -m -- "$1"; }

pg_port() {
    local dir=$1
    if [[ -f $dir/postmaster.pid ]]; then
        sed -n 4p "$dir/postmaster.pid"
    else
        sed -n "s/^port = \([0-9]*\)$/\1/p" "$dir/hellosales.conf"
    fi
}

# init DIR PORT [SETTING...]: initdb once, then (re)write DIR/hellosales.conf with the port and
# any extra `name = value` settings. The new port takes effect at the next start.
pg_init() {
    local dir port
    dir=$(pg_abs "$1"); port=$2; shift 2
    (( ${#dir} + 20 < 107 )) || pg_die "$dir is too long a path for a unix socket; use a shorter one"
    if [[ ! -f $dir/PG_VERSION ]]; then
        mkdir -p "$dir"
        if pg_is_root; then
            id postgres >/dev/null 2>&1 || pg_die "no postgres user (install the postgresql package)"
            chown postgres: "$dir"
            runuser -u postgres -- test -w "$dir" ||
                pg_die "the postgres user cannot reach $dir (a parent directory is not traversable)"
        fi
        echo "pg: initdb $dir"
        pg_as initdb -D "$dir" -U postgres -E UTF8 --locale=C.UTF-8 \
            --auth-local=trust --auth-host="${PG_AUTH_HOST:-scram-sha-256}" >"$dir.initdb.log" 2>&1 ||
            { cat "$dir.initdb.log" >&2; pg_die "initdb failed"; }
        rm -f "$dir.initdb.log"
        echo "include_if_exists = 'hellosales.conf'" >>"$dir/postgresql.conf"
    fi
    pg_write_conf "$dir" "$port" "$@"
}

pg_write_conf() {
    local dir=$1 port=$2; shift 2
    {
        echo "# Written by scripts/pg.sh on every init; edit there."
        echo "listen_addresses = '127.0.0.1'"
        echo "port = $port"
        echo "unix_socket_directories = '$dir'"
        echo "unix_socket_permissions = 0700"
        printf '%s\n' "$@"
    } >"$dir/hellosales.conf"
    if pg_is_root; then chown postgres: "$dir/hellosales.conf"; fi
}

pg_is_running() { pg_as pg_ctl status -D "$(pg_abs "$1")" >/dev/null 2>&1; }

pg_wait_ready() {
    local dir=$1 port i
    port=$(pg_port "$dir")
    for ((i = 0; i < 300; i++)); do
        "$(pg_bindir)/pg_isready" -q -h 127.0.0.1 -p "$port" && return 0
        sleep 0.1
    done
    pg_die "PostgreSQL in $dir not ready on port $port after 30 s (log: $dir/server.log)"
}

pg_start() {
    local dir
    dir=$(pg_abs "$1")
    [[ -f $dir/PG_VERSION ]] || pg_die "$dir is not a cluster (run init first)"
    if ! pg_is_running "$dir"; then
        if ! pg_as pg_ctl start -D "$dir" -l "$dir/server.log" -w -t 60 >/dev/null; then
            tail -n 5 "$dir/server.log" >&2 || true
            echo "pg: could not start PostgreSQL in $dir (port $(pg_port "$dir"))" >&2
            return 1
        fi
    fi
    pg_wait_ready "$dir"
}

# stop DIR [fast|immediate]: escalates to immediate, then to SIGKILL, so cleanup never hangs.
pg_stop() {
    local dir mode=${2:-fast} pid
    dir=$(pg_abs "$1")
    [[ -f $dir/PG_VERSION ]] && pg_is_running "$dir" || return 0
    pg_as pg_ctl stop -D "$dir" -m "$mode" -w -t 30 >/dev/null 2>&1 && return 0
    pg_as pg_ctl stop -D "$dir" -m immediate -w -t 10 >/dev/null 2>&1 && return 0
    pid=$(head -n 1 "$dir/postmaster.pid" 2>/dev/null) || return 0
    echo "pg: killing postmaster $pid in $dir" >&2
    kill -KILL "$pid" 2>/dev/null || true
}

pg_restart() {
    local dir
    dir=$(pg_abs "$1")
    pg_stop "$dir" "${2:-fast}"
    pg_start "$dir"
}

# Admin SQL over the unix socket as the superuser; extra args go to psql (-c, -v, -f, ...).
pg_psql() {
    local dir
    dir=$(pg_abs "$1"); shift
    pg_as psql -X -q -v ON_ERROR_STOP=1 -h "$dir" -p "$(pg_port "$dir")" -U postgres -d postgres "$@"
}

# ensure_app_db DIR NAME PASSWORD [superuser]: a login role NAME with PASSWORD owning database NAME.
# The password goes through the environment, not argv, which any local user can read in ps.
pg_ensure_app_db() {
    local dir=$1 name=$2 super=${4:-}
    local attrs=NOSUPERUSER
    [[ $super == superuser ]] && attrs=SUPERUSER
    HS_PG_APP_PASSWORD=$3 pg_psql "$dir" -v name="$name" -v attrs="$attrs" <<'SQL'
\getenv password HS_PG_APP_PASSWORD
SELECT format('CREATE ROLE %I LOGIN', :'name')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'name') \gexec
SELECT format('ALTER ROLE %I LOGIN %s PASSWORD %L', :'name', :'attrs', :'password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'name', :'name')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'name') \gexec
SQL
}

pg_url() { echo "postgresql://$2:$3@127.0.0.1:$(pg_port "$1")/$2"; }

pg_main() {
    local cmd=${1:-} dir=${2:-}
    [[ -n $cmd && -n $dir ]] || pg_die "usage: pg.sh init|start|stop|restart|status|port|psql DIR [...]"
    shift 2
    case $cmd in
        init) pg_init "$dir" "$@" ;;
        start) pg_start "$dir" ;;
        stop) pg_stop "$dir" "$@" ;;
        restart) pg_restart "$dir" "$@" ;;
        status)
            if pg_is_running "$dir"; then echo "running on port $(pg_port "$dir") ($dir)"
            else echo "not running ($dir)"; return 3; fi ;;
        port) pg_port "$dir" ;;
        psql) pg_psql "$dir" "$@" ;;
        *) pg_die "unknown command: $cmd" ;;
    esac
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then pg_main "$@"; fi
