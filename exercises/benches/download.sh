#!/usr/bin/env bash
# Benchmark of `download` against curl and aria2c: one run, side by side.
#
# Starts nginx on 127.0.0.1 (a free port) with its own config in a temporary folder, serving a
# 1 GiB file of random bytes and 100 files of 1 MiB, and tinyproxy (another free port) in
# front of it. Then, each tool RUNS times (5; the tools of a table take turns), the median, its
# ratio to the first row and the peak memory (max RSS, from /usr/bin/time):
#   1. the 1 GiB file: `download -n 8/4/1`, `curl -o FILE`, `aria2c -x8 -s8`;
#   2. the 100 files: `download -i`, `aria2c -i -j 16`, `curl --parallel --parallel-max 16`;
#   3. the 1 GiB file through tinyproxy: `download --proxy`, `curl -x`;
# and 4. `download --limit-rate 10M` on a 50 MiB file, which should take 5 s (10M is 10 MiB/s,
# powers of 1024 as curl's). The sources stay in the page cache, so the figures measure the
# clients (and the proxy), not the disk; every saved file is compared with its source. nginx
# and tinyproxy are stopped and every file removed at the end, whatever happens. Installs
# nginx, aria2 and tinyproxy with apt-get when they are missing. Loopback only.
#
# Run from anywhere: exercises/benches/download.sh   (SIZE_MIB=1024 RUNS=5 by default)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
SIZE_MIB="${SIZE_MIB:-1024}"
RUNS="${RUNS:-5}"

need=()
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
command -v aria2c >/dev/null || need+=(aria2)
command -v tinyproxy >/dev/null || [ -x /usr/bin/tinyproxy ] || need+=(tinyproxy)
command -v curl >/dev/null || need+=(curl)
[ -x /usr/bin/time ] || need+=(time)
if [ "${#need[@]}" -gt 0 ]; then
    echo "installing ${need[*]}" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"
TINYPROXY="$(command -v tinyproxy || echo /usr/bin/tinyproxy)"

(cd "$ROOT" && cargo build --release -q -p exercises --bin download)
DOWNLOAD="${CARGO_TARGET_DIR:-$ROOT/target}/release/download"

WORK="$(mktemp -d)"
chmod 755 "$WORK" # nginx's workers run as another user
cleanup() {
    if [ -f "$WORK/tinyproxy.pid" ]; then
        kill "$(cat "$WORK/tinyproxy.pid")" 2>/dev/null || true
    fi
    if [ -f "$WORK/nginx.pid" ]; then
        "$NGINX" -p "$WORK" -c "$WORK/nginx.conf" -s stop 2>/dev/null || true
        sleep 0.2
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
PORT="$(free_port)"
PROXY_PORT="$(free_port)"
mkdir -p "$WORK/www/many" "$WORK/out"
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom >"$WORK/www/big.bin"
head -c "$((50 * 1024 * 1024))" /dev/urandom >"$WORK/www/fifty.bin"
for i in $(seq 100); do head -c 1048576 /dev/urandom >"$WORK/www/many/f$i.bin"; done
chmod -R a+rX "$WORK/www"
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
cat >"$WORK/tinyproxy.conf" <<EOF
Port $PROXY_PORT
Listen 127.0.0.1
Timeout 600
MaxClients 100
PidFile "$WORK/tinyproxy.pid"
LogFile "$WORK/tinyproxy.log"
LogLevel Warning
Allow 127.0.0.1
DisableViaHeader Yes
EOF
"$TINYPROXY" -c "$WORK/tinyproxy.conf"
PROXY="http://127.0.0.1:$PROXY_PORT"
URL="http://127.0.0.1:$PORT/big.bin"
for i in $(seq 100); do echo "http://127.0.0.1:$PORT/many/f$i.bin"; done >"$WORK/urls.txt"
cat "$WORK/www/big.bin" "$WORK/www/fifty.bin" "$WORK/www/many/"* >/dev/null # into the page cache
OUT="$WORK/out/big.bin"
for _ in $(seq 50); do [ -f "$WORK/tinyproxy.pid" ] && break; sleep 0.1; done

# One timed run, in an empty out folder: prints "seconds max_rss_kib".
timed() {
    find "$WORK/out" -mindepth 1 -delete
    /usr/bin/time -f "%e %M" -o "$WORK/time.txt" "$@" >/dev/null 2>"$WORK/stderr.txt" || {
        echo "failed: $*" >&2
        cat "$WORK/stderr.txt" >&2
        exit 1
    }
    cat "$WORK/time.txt"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

declare -A TIME MEM ALL
run_tool() {
    case "$1" in
    "download -n 1") timed "$DOWNLOAD" -n 1 -o "$OUT" "$URL" ;;
    "download -n 4") timed "$DOWNLOAD" -n 4 -o "$OUT" "$URL" ;;
    "download -n 8") timed "$DOWNLOAD" -n 8 -o "$OUT" "$URL" ;;
    "curl -o FILE") timed curl -s -o "$OUT" "$URL" ;;
    "aria2c -x8 -s8") timed aria2c -q -x8 -s8 --allow-overwrite=true -d "$WORK/out" -o big.bin "$URL" ;;
    "download -i") timed "$DOWNLOAD" -i "$WORK/urls.txt" -d "$WORK/out" ;;
    "aria2c -i -j 16") timed aria2c -q -i "$WORK/urls.txt" -j 16 -d "$WORK/out" ;;
    "curl --parallel 16")
        # shellcheck disable=SC2046 # one argument per URL
        timed curl -s --parallel --parallel-max 16 --output-dir "$WORK/out" \
            --remote-name-all $(cat "$WORK/urls.txt")
        ;;
    "download -n 8 --proxy") timed "$DOWNLOAD" -n 8 --proxy "$PROXY" -o "$OUT" "$URL" ;;
    "download -n 2 --proxy") timed "$DOWNLOAD" -n 2 --proxy "$PROXY" -o "$OUT" "$URL" ;;
    "curl -x PROXY") timed curl -s -x "$PROXY" -o "$OUT" "$URL" ;;
    esac
}

# Every download is checked against the source: a fast wrong answer is no answer.
check() {
    case "$1" in
    *-i* | *parallel*)
        for i in $(seq 100); do
            cmp -s "$WORK/out/f$i.bin" "$WORK/www/many/f$i.bin" || return 1
        done
        ;;
    *) cmp -s "$OUT" "$WORK/www/big.bin" ;;
    esac
}

# One table: its title, then the tools (the first is the base of the ratios).
table() {
    local title="$1"
    shift
    local names=("$@")
    local i
    # The tools take turns, run after run, so that a busy spell of the machine is shared.
    for i in "${!names[@]}"; do : >"$WORK/runs$i.txt"; done
    for _ in $(seq "$RUNS"); do
        for i in "${!names[@]}"; do
            run_tool "${names[$i]}" >>"$WORK/runs$i.txt"
            check "${names[$i]}" || { echo "${names[$i]} saved different bytes" >&2; exit 1; }
        done
    done
    for i in "${!names[@]}"; do
        local name="${names[$i]}"
        TIME[$name]="$(cut -d' ' -f1 "$WORK/runs$i.txt" | median)"
        MEM[$name]="$(cut -d' ' -f2 "$WORK/runs$i.txt" | sort -n | tail -1)"
        ALL[$name]="$(cut -d' ' -f1 "$WORK/runs$i.txt" | tr '\n' ' ')"
    done
    echo
    echo "$title, median of $RUNS runs, $(nproc) cores"
    printf '%-24s %9s %12s %14s   %s\n' tool seconds "vs first" "peak RSS MiB" "every run (s)"
    for name in "${names[@]}"; do
        awk -v n="$name" -v t="${TIME[$name]}" -v base="${TIME[${names[0]}]}" -v m="${MEM[$name]}" \
            -v all="${ALL[$name]}" \
            'BEGIN { printf "%-24s %9.2f %11.2fx %14.1f   %s\n", n, t, t / base, m / 1024, all }'
    done
}

table "1 file of $SIZE_MIB MiB from nginx on 127.0.0.1" \
    "download -n 8" "download -n 4" "download -n 1" "curl -o FILE" "aria2c -x8 -s8"
table "100 files of 1 MiB from nginx on 127.0.0.1, 16 connections" \
    "download -i" "aria2c -i -j 16" "curl --parallel 16"
table "1 file of $SIZE_MIB MiB through $("$TINYPROXY" -v 2>&1) on 127.0.0.1" \
    "download -n 8 --proxy" "download -n 2 --proxy" "curl -x PROXY"

# --limit-rate 10M: 50 MiB should take 5 s.
echo
line="$(timed "$DOWNLOAD" --limit-rate 10M -o "$WORK/out/fifty.bin" "http://127.0.0.1:$PORT/fifty.bin")"
cmp -s "$WORK/out/fifty.bin" "$WORK/www/fifty.bin" || { echo "--limit-rate saved different bytes" >&2; exit 1; }
awk -v s="${line%% *}" 'BEGIN {
    rate = 50 / s
    printf "--limit-rate 10M (10 MiB/s): 50 MiB in %.2f s = %.2f MiB/s, %+.1f%% from the limit\n",
        s, rate, (rate / 10 - 1) * 100
}'
