#!/usr/bin/env bash
# Benchmark of `download` against curl and aria2c: one run, side by side.
#
# Starts nginx on 127.0.0.1 (a free port) with its own config in a temporary folder, serving a
# 1 GiB file of random bytes, then times `download -n 1/4/8`, `curl -o FILE` and
# `aria2c -x8 -s8`, each 5 times (RUNS=5), and prints the median, its ratio to `download -n 8`
# and the peak memory (max RSS, from /usr/bin/time -v). The source stays in the page cache, so
# the figures measure the clients, not the disk. nginx is stopped and every file removed at
# the end, whatever happens. Installs nginx and aria2 with apt-get when they are missing.
#
# Run from anywhere: exercises/benches/download.sh   (SIZE_MIB=1024 RUNS=5 by default)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
SIZE_MIB="${SIZE_MIB:-1024}"
RUNS="${RUNS:-5}"

need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v aria2c >/dev/null || need+=(aria2)
command -v curl >/dev/null || need+=(curl)
[ -x /usr/bin/time ] || need+=(time)
if [ "${#need[@]}" -gt 0 ]; then
    echo "installing ${need[*]}" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

(cd "$ROOT" && cargo build --release -q -p exercises --bin download)
DOWNLOAD="${CARGO_TARGET_DIR:-$ROOT/target}/release/download"

WORK="$(mktemp -d)"
chmod 755 "$WORK" # nginx's workers run as another user
cleanup() {
    if [ -f "$WORK/nginx.pid" ]; then
        "$NGINX" -p "$WORK" -c "$WORK/nginx.conf" -s stop 2>/dev/null || true
        sleep 0.2
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

PORT="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
mkdir -p "$WORK/www" "$WORK/out"
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$WORK/www/big.bin"
chmod 644 "$WORK/www/big.bin"
cat >"$WORK/nginx.conf" <<EOF
worker_processes 2;
pid $WORK/nginx.pid;
error_log $WORK/error.log;
events { worker_connections 256; }
http {
    access_log off;
    sendfile on;
    client_body_temp_path $WORK/tmp_body;
    proxy_temp_path $WORK/tmp_proxy;
    fastcgi_temp_path $WORK/tmp_fastcgi;
    uwsgi_temp_path $WORK/tmp_uwsgi;
    scgi_temp_path $WORK/tmp_scgi;
    server {
        listen 127.0.0.1:$PORT;
        root $WORK/www;
    }
}
EOF
"$NGINX" -p "$WORK" -c "$WORK/nginx.conf"
URL="http://127.0.0.1:$PORT/big.bin"
cat "$WORK/www/big.bin" >/dev/null # into the page cache
OUT="$WORK/out/big.bin"

# One timed run: prints "seconds max_rss_kib".
timed() {
    rm -f "$OUT" "$OUT".*
    /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" >/dev/null 2>"$WORK/stderr.txt" || {
        echo "failed: $*" >&2
        cat "$WORK/stderr.txt" >&2
        exit 1
    }
    cat "$WORK/time.txt"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

declare -A TIME MEM ALL
NAMES=("download -n 1" "download -n 4" "download -n 8" "curl -o FILE" "aria2c -x8 -s8")
run_tool() {
    case "$1" in
    "download -n 1") timed "$DOWNLOAD" -n 1 -o "$OUT" "$URL" ;;
    "download -n 4") timed "$DOWNLOAD" -n 4 -o "$OUT" "$URL" ;;
    "download -n 8") timed "$DOWNLOAD" -n 8 -o "$OUT" "$URL" ;;
    "curl -o FILE") timed curl -s -o "$OUT" "$URL" ;;
    "aria2c -x8 -s8") timed aria2c -q -x8 -s8 --allow-overwrite=true -d "$WORK/out" -o big.bin "$URL" ;;
    esac
}

for name in "${NAMES[@]}"; do
    : >"$WORK/runs.txt"
    for _ in $(seq "$RUNS"); do run_tool "$name" >>"$WORK/runs.txt"; done
    # Every tool's last file is checked against the source: a fast wrong answer is no answer.
    cmp -s "$OUT" "$WORK/www/big.bin" || { echo "$name saved different bytes" >&2; exit 1; }
    TIME[$name]="$(cut -d' ' -f1 "$WORK/runs.txt" | median)"
    MEM[$name]="$(cut -d' ' -f2 "$WORK/runs.txt" | sort -n | tail -1)"
    ALL[$name]="$(cut -d' ' -f1 "$WORK/runs.txt" | tr '\n' ' ')"
done

echo "1 file of $SIZE_MIB MiB from nginx on 127.0.0.1, median of $RUNS runs, $(nproc) cores"
printf '%-16s %9s %12s %14s   %s\n' tool seconds "vs -n 8" "peak RSS MiB" "every run (s)"
for name in "${NAMES[@]}"; do
    awk -v n="$name" -v t="${TIME[$name]}" -v base="${TIME["download -n 8"]}" -v m="${MEM[$name]}" \
        -v all="${ALL[$name]}" \
        'BEGIN { printf "%-16s %9.2f %11.2fx %14.1f   %s\n", n, t, t / base, m / 1024, all }'
done
