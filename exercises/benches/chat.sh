#!/usr/bin/env bash
# Benchmark of `chat` as a receiver, beside `nc -u -l` and the Python chat of the tests
# (exercises/tests/chat_support/py_chat.py, built like the notes' script): one run, side by side.
#
# A Python sender sends COUNT datagrams (a line of Chinese in GBK, 37 bytes) to each receiver
# on 127.0.0.1, in bursts of 50 with a millisecond between bursts, three rounds each
# (RUNS=3). For each receiver it prints the median of: the messages it printed (UDP drops what
# a receiver does not take in time), its CPU time (user + system), and its peak memory (max
# RSS, from /usr/bin/time -v). chat decodes and prints each message with its time and sender;
# nc copies raw bytes; the Python chat decodes and prints JSON. Installs netcat-openbsd and time
# with apt-get when they are missing. Every process and file is gone at the end.
#
# Run from anywhere: exercises/benches/chat.sh   (COUNT=20000 RUNS=3 by default)
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
COUNT="${COUNT:-20000}"
RUNS="${RUNS:-3}"

need=()
command -v nc >/dev/null || need+=(netcat-openbsd)
[ -x /usr/bin/time ] || need+=(time)
command -v python3 >/dev/null || need+=(python3)
if [ "${#need[@]}" -gt 0 ]; then
    echo "installing ${need[*]}" >&2
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
(cd "$ROOT" && cargo build --release -q -p exercises --bin chat)
CHAT="${CARGO_TARGET_DIR:-$ROOT/target}/release/chat"
PY_CHAT="$ROOT/exercises/tests/chat_support/py_chat.py"

WORK="$(mktemp -d)"
RECEIVER=""
cleanup() {
    if [ -n "$RECEIVER" ]; then
        pkill -P "$RECEIVER" 2>/dev/null || true
        wait "$RECEIVER" 2>/dev/null || true
    fi
    exec 3>&-
    rm -rf "$WORK"
}
trap cleanup EXIT
# The receivers' stdin: a pipe that stays open (and empty) while fd 3 holds it.
mkfifo "$WORK/stdin"
exec 3<>"$WORK/stdin"

free_port() { python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# blast PORT: COUNT datagrams to 127.0.0.1:PORT.
blast() {
    python3 - "$1" "$COUNT" <<'EOF'
import socket, sys, time
port, count = int(sys.argv[1]), int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(count):
    s.sendto(f"你好，这是第 {i:06d} 条消息，来自测试\n".encode("gbk"), ("127.0.0.1", port))
    if i % 50 == 49:
        time.sleep(0.001)
EOF
}

# one NAME: runs the receiver once; prints "shown cpu_seconds max_rss_kib".
one() {
    local port out
    port="$(free_port)"
    out="$WORK/out"
    case "$1" in
    chat) /usr/bin/time -v -o "$WORK/time" "$CHAT" --bind "127.0.0.1:$port" --peer 127.0.0.1:9 <"$WORK/stdin" >"$out" 2>/dev/null & ;;
    nc) /usr/bin/time -v -o "$WORK/time" nc -u -l 127.0.0.1 "$port" <"$WORK/stdin" >"$out" 2>/dev/null & ;;
    python) /usr/bin/time -v -o "$WORK/time" python3 "$PY_CHAT" 127.0.0.1 "$port" gbk <"$WORK/stdin" >"$out" 2>/dev/null & ;;
    esac
    RECEIVER=$!
    sleep 0.5 # bound and listening
    blast "$port"
    # Wait until the receiver has printed everything it got: no growth for half a second.
    local last=-1 size=0
    while [ "$size" != "$last" ]; do
        last=$size
        sleep 0.5
        size=$(stat -c %s "$out")
    done
    pkill -TERM -P "$RECEIVER" || true # the receiver, child of /usr/bin/time
    wait "$RECEIVER" 2>/dev/null || true
    RECEIVER=""
    local shown
    case "$1" in
    chat) shown=$(grep -c '^\[' "$out" || true) ;;
    nc) shown=$(grep -c '' "$out" || true) ;;
    python) shown=$(grep -c '^{"received"' "$out" || true) ;;
    esac
    awk -v shown="$shown" -F': ' '
        /User time/ { cpu += $2 } /System time/ { cpu += $2 } /Maximum resident/ { rss = $2 }
        END { printf "%d %.2f %d\n", shown, cpu, rss }' "$WORK/time"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

printf "%-8s %10s %10s %12s   (%s datagrams sent, median of %s)\n" receiver shown "cpu s" "max RSS KiB" "$COUNT" "$RUNS"
for name in chat nc python; do
    : >"$WORK/runs"
    for _ in $(seq "$RUNS"); do one "$name" >>"$WORK/runs"; done
    printf "%-8s %10s %10s %12s\n" "$name" \
        "$(cut -d' ' -f1 "$WORK/runs" | median)" \
        "$(cut -d' ' -f2 "$WORK/runs" | median)" \
        "$(cut -d' ' -f3 "$WORK/runs" | median)"
done
