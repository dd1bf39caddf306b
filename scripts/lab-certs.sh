#!/usr/bin/env bash
# Creates the certificates of a secured diffplan lab (docs/SECURITY.md) with the openssl CLI:
# a certificate authority, the router's certificate (names: localhost, 127.0.0.1 and every HOST
# given) and one client certificate per role, whose Common Name is the role the router's access
# control grants rights to: planner, robot, operator.
#
# Usage: scripts/lab-certs.sh DIR [HOST...]   (HOST: an IP address or a DNS name of the router)
# Keep DIR/ca-key.pem offline: whoever holds it can mint identities.
set -euo pipefail
dir="${1:?usage: scripts/lab-certs.sh DIR [HOST...]}"
shift
command -v openssl >/dev/null || { echo "lab-certs: needs the openssl command (apt install openssl)" >&2; exit 1; }
mkdir -p "$dir"
cd "$dir"
umask 077
days=3650
key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:prime256v1 -out "$1" 2>/dev/null; }

if [[ ! -f ca.pem ]]; then
    key ca-key.pem
    openssl req -x509 -new -key ca-key.pem -sha256 -days "$days" -subj "/CN=diffplan lab CA" \
        -addext "basicConstraints=critical,CA:TRUE,pathlen:0" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -out ca.pem
fi

# sign NAME SAN: a certificate for Common Name NAME, signed by the CA.
sign() {
    key "$1-key.pem"
    openssl req -new -key "$1-key.pem" -subj "/CN=$1" -out "$1.csr"
    printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=%s\n' "$2" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days "$days" -sha256 \
        -extfile "$1.ext" -out "$1.pem" 2>/dev/null
    rm -f "$1.csr" "$1.ext"
}

names="DNS:localhost,IP:127.0.0.1"
for host in "$@"; do
    if [[ "$host" =~ ^[0-9.]+$ || "$host" == *:* ]]; then names+=",IP:$host"; else names+=",DNS:$host"; fi
done
sign router "$names"
for role in planner robot operator; do
    sign "$role" "DNS:$role"
done
chmod 644 ./*.pem
chmod 600 ./*-key.pem
echo "lab-certs: $dir holds ca.pem, router.pem and the planner, robot and operator identities (*.pem, *-key.pem)" >&2
