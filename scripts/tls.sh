#!/usr/bin/env bash
# A self-signed development certificate for localhost: scripts/tls.sh DIR writes DIR/cert.pem and
# DIR/key.pem once, and again only when the certificate is missing or expires within a day.
set -euo pipefail

tls_ensure() {
    local dir=$1
    local cert=$dir/cert.pem key=$dir/key.pem
    if [[ -s $cert && -s $key ]] && openssl x509 -checkend 86400 -noout -in "$cert" >/dev/null; then
        return 0
    fi
    mkdir -p "$dir"
    (
        umask 077
        openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 825 \
            -subj /CN=localhost \
            -addext "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1" \
            -addext "extendedKeyUsage=serverAuth" \
            -keyout "$key.tmp" -out "$cert.tmp" 2>/dev/null
    )
    chmod 644 "$cert.tmp"
    mv "$key.tmp" "$key"
    mv "$cert.tmp" "$cert"
    echo "tls: wrote a self-signed certificate for localhost to $cert (valid 825 days)"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then tls_ensure "${1:?usage: tls.sh DIR}"; fi
