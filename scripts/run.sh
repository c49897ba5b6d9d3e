#!/usr/bin/env bash
# `make run` after the build: supplies the embedded defaults a fresh machine lacks (a private
# PostgreSQL in .data/pg when DATABASE_URL is unset, a self-signed certificate in .data/tls),
# migrates and seeds, then replaces itself with the server. The private PostgreSQL keeps running
# when the server stops, so the next `make run` starts at once; `make stop-db` stops it.
#   HS_PG_PORT (default 5433)   port of the private PostgreSQL
#   HS_CONFIG  (default h2o.conf)
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/pg.sh
source "$REPO/scripts/pg.sh"
# shellcheck source=scripts/tls.sh
source "$REPO/scripts/tls.sh"

BIN=${HS_BIN:-$REPO/build/hellosales}
CONFIG=${HS_CONFIG:-$REPO/h2o.conf}
DATA=$REPO/.data
PROVIDER_KEYS=(GROQ_API_KEY OPENAI_API_KEY OPEN_ROUTER_API_KEY GOOGLE_API_KEY DEEPGRAM_API_KEY)
PRIVATE_DB=

run_die() { echo "run: $*" >&2; exit 1; }

run_listening() { (: </dev/tcp/127.0.0.1/"$1") 2>/dev/null; }

# .data/pg, except when root's postgres user cannot reach the checkout (one under /root, say):
# then the cluster lives in /var/lib/hellosales and .data/pg is a link to it.
dev_pg_dir() {
    local dir=$DATA/pg alt
    mkdir -p "$DATA"
    if [[ -e $dir ]] || ! pg_is_root || runuser -u postgres -- test -x "$DATA" 2>/dev/null; then
        echo "$dir"
        return
    fi
    alt=/var/lib/hellosales/dev-$(printf '%s' "$REPO" | cksum | cut -d' ' -f1)
    mkdir -p "$alt"
    ln -s "$alt" "$dir"
    echo "note: the postgres user cannot enter $REPO; the private cluster lives in $alt" >&2
    echo "$dir"
}

dev_db_password() {
    local file=$DATA/db-password
    if [[ ! -s $file ]]; then
        (umask 077 && openssl rand -hex 16 >"$file")
    fi
    cat "$file"
}

dev_db_up() {
    local dir port password
    dir=$(dev_pg_dir)
    port=${HS_PG_PORT:-5433}
    pg_init "$dir" "$port"
    if ! pg_is_running "$dir" && run_listening "$port"; then
        run_die "port $port is taken by another program: set HS_PG_PORT to a free port, or DATABASE_URL"
    fi
    pg_start "$dir"
    password=$(dev_db_password)
    pg_ensure_app_db "$dir" hellosales "$password"
    DATABASE_URL=$(pg_url "$dir" hellosales "$password")
    export DATABASE_URL
    PRIVATE_DB=1
    DB_NOTE="private PostgreSQL 15 in .data/pg on 127.0.0.1:$(pg_port "$dir") (keeps running after the server stops; \`make stop-db\` stops it)"
}

tls_up() {
    if [[ ${HTTPS_PORT:-} == 0 ]]; then
        TLS_NOTE="off (HTTPS_PORT=0)"
    elif [[ -n ${TLS_CERT_FILE:-} ]]; then
        TLS_NOTE="$TLS_CERT_FILE (TLS_CERT_FILE)"
    else
        tls_ensure "$DATA/tls"
        export TLS_CERT_FILE=$DATA/tls/cert.pem TLS_KEY_FILE=$DATA/tls/key.pem
        TLS_NOTE="self-signed certificate for localhost in .data/tls (use curl -k)"
    fi
}

ai_note() {
    local key
    [[ -z ${LLM_PROVIDER:-} ]] || { echo "LLM_PROVIDER=$LLM_PROVIDER"; return; }
    for key in "${PROVIDER_KEYS[@]}"; do
        [[ -z ${!key:-} ]] || { echo "provider keys from the environment ($key, ...)"; return; }
    done
    echo "stub provider (no ${PROVIDER_KEYS[*]})"
}

banner() {
    local http=${HTTP_PORT:-8080} https=${HTTPS_PORT:-8443} redis
    redis=${REDIS_URL:+REDIS_URL from the environment}
    echo
    echo "hellosales $APP_ENV server, with these defaults:"
    printf '  %-9s %s\n' database "$DB_NOTE" \
        redis "${redis:-none (REDIS_URL unset): in-process stand-ins, one instance only}" \
        AI "$(ai_note)" TLS "$TLS_NOTE" config "${CONFIG#"$REPO"/}"
    echo "Try:"
    echo "  curl -s http://localhost:$http/health"
    [[ $https == 0 ]] || echo "  curl -sk --http2 https://localhost:$https/health"
    echo "Ctrl-C stops the server${PRIVATE_DB:+ (the private PostgreSQL stays up; \`make stop-db\` stops it)}."
    echo
}

run_main() {
    [[ -x $BIN ]] || run_die "$BIN is missing: \`make run\` builds it"
    [[ -f $CONFIG ]] || run_die "no config at $CONFIG"
    ! run_listening "${HTTP_PORT:-8080}" ||
        run_die "port ${HTTP_PORT:-8080} is in use (another server still running?); set HTTP_PORT"
    export APP_ENV=${APP_ENV:-development} LOG_LEVEL=${LOG_LEVEL:-info}
    export HS_SCHEMA_DIR=${HS_SCHEMA_DIR:-$REPO/schema}
    if [[ -z ${DATABASE_URL:-} ]]; then
        dev_db_up
    else
        DB_NOTE="DATABASE_URL from the environment"
    fi
    tls_up
    cd "$REPO"
    "$BIN" migrate up
    "$BIN" seed
    banner
    exec "$BIN" serve -c "$CONFIG"
}

run_main "$@"
