#!/usr/bin/env bash
# The one list of Debian 12 packages hellosales needs to build, run, test and benchmark.
# Installs only the missing ones (apt-get update first, and only then; sudo when not root).
#   scripts/deps.sh           install what is missing
#   scripts/deps.sh --check   list what is missing; exit 1 if anything is
#   scripts/deps.sh --list    print the package list
set -euo pipefail

DEPS_PACKAGES=(
    # build
    build-essential cmake pkg-config
    libh2o-dev libuv1-dev libpq-dev libhiredis-dev libyajl-dev libcurl4-openssl-dev
    libjwt-dev libyaml-dev libssl-dev libwslay-dev
    # run and test: private PostgreSQL and Redis, TLS certificates, provider HTTPS
    postgresql redis-server openssl ca-certificates
    # load and smoke tools
    nghttp2-client wrk curl
)

deps_missing() {
    local pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${db:Status-Abbrev}' "$pkg" 2>/dev/null | grep -q '^ii' || echo "$pkg"
    done
}

# Prints the prefix that gives root: nothing when root, else sudo.
deps_root_prefix() {
    if [[ $(id -u) -eq 0 ]]; then
        return 0
    elif command -v sudo >/dev/null; then
        echo sudo
    else
        return 1
    fi
}

deps_install() {
    local missing sudo
    command -v dpkg-query >/dev/null || { echo "deps: needs Debian 12 (dpkg/apt)" >&2; return 1; }
    mapfile -t missing < <(deps_missing "${DEPS_PACKAGES[@]}")
    if ((${#missing[@]} == 0)); then
        echo "deps: all ${#DEPS_PACKAGES[@]} packages present"
        return 0
    fi
    sudo=$(deps_root_prefix) || {
        echo "deps: not root and no sudo; as root run: apt-get install ${missing[*]}" >&2
        return 1
    }
    echo "deps: installing ${missing[*]}"
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -q
    $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
        "${missing[@]}"
}

deps_main() {
    case ${1:-} in
        "") deps_install ;;
        --list) printf '%s\n' "${DEPS_PACKAGES[@]}" ;;
        --check)
            local missing
            missing=$(deps_missing "${DEPS_PACKAGES[@]}")
            [[ -z $missing ]] || { echo "$missing"; return 1; } ;;
        *) echo "usage: deps.sh [--check|--list]" >&2; return 2 ;;
    esac
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then deps_main "$@"; fi
