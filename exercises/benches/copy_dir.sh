#!/usr/bin/env bash
# Benchmark of copy_dir against cp -a, rsync -a and xcp (issues 8 and 16), on tmpfs so the disk
# is not what is measured. Three trees: 20,000 files of 4 KiB in 100 folders, the same with one
# `user.*` extended attribute on every file (copy_dir, cp -a and xcp copy them; rsync -a does
# not without -X, so it gets -X there), and 4 files of 256 MiB. Each run copies the tree with
# every tool in turn into a fresh DEST (interleaved, so a burst of load on a shared machine
# hits all tools alike); the median of RUNS runs is printed with its ratio to copy_dir's (a
# ratio above 1 means slower than copy_dir). Then the system calls per file of copy_dir and xcp
# on the small tree (strace -c -f), and copy_dir's peak memory (max RSS) for 200,000 files.
#
#   exercises/benches/copy_dir.sh            # from the workspace root
#   RUNS=9 BENCH_BASE=/dev/shm exercises/benches/copy_dir.sh
#   BENCH_DISK=/var/tmp exercises/benches/copy_dir.sh   # also /usr/share on that disk
#
# BENCH_DISK (a folder on a real disk, e.g. ext4; needs root) adds a second table: /usr/share
# copied to that disk, the page cache dropped (`echo 3 > /proc/sys/vm/drop_caches`, after a
# `sync`) before each run, so the source is read from the disk; DISK_RUNS runs (5 by default).
#
# Installs what is missing: xcp 0.24.9 with `cargo install xcp --locked` (into ~/.cargo/bin),
# rsync and strace with apt-get (needs root). Linux only. Needs about 2.6 GB free in
# BENCH_BASE (tmpfs).
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNS=${RUNS:-9}
BENCH_BASE=${BENCH_BASE:-/dev/shm}
BENCH_DISK=${BENCH_DISK:-}
DISK_RUNS=${DISK_RUNS:-5}
export PATH="$HOME/.cargo/bin:$PATH"

if ! command -v xcp >/dev/null; then
    echo "--- installing xcp (cargo install xcp --locked --version 0.24.9)"
    cargo install xcp --locked --version 0.24.9
fi
for tool in rsync strace; do
    if ! command -v "$tool" >/dev/null; then
        echo "--- installing $tool (apt-get)"
        apt-get update -qq && apt-get install -y -qq "$tool" >/dev/null
    fi
done
for tool in xcp rsync cp strace /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done

echo "--- building copy_dir (release)"
cargo build -q --release -p exercises --bin copy_dir
copy_dir="${CARGO_TARGET_DIR:-$PWD/target}/release/copy_dir"

# A folder of its own, so that the clean-up can never remove anything the user named.
BENCH_DIR=$(mktemp -d "$BENCH_BASE/copy_dir_bench.XXXXXX")
DISK_DIR=""
cleanup() {
    rm -rf "$BENCH_DIR"
    if [ -n "$DISK_DIR" ]; then rm -rf "$DISK_DIR"; fi
}
trap cleanup EXIT

echo "--- building the trees in $BENCH_DIR"
python3 - "$BENCH_DIR" <<'PY'
import os, sys
root = sys.argv[1]
def small(tree, files, folders, xattr=False):
    block = os.urandom(4096)
    for f in range(folders):
        d = os.path.join(root, tree, f"dir{f:03}")
        os.makedirs(d)
        for i in range(files // folders):
            path = os.path.join(d, f"file{i:05}")
            with open(path, "wb") as out:
                out.write(block)
            if xattr:
                os.setxattr(path, "user.origin", b"copy_dir benchmark")
small("small", 20_000, 100)
small("xattr", 20_000, 100, xattr=True)
small("huge", 200_000, 1000)
big = os.path.join(root, "big")
os.makedirs(big)
chunk = os.urandom(1 << 20)
for n in range(4):
    with open(os.path.join(big, f"big{n}.bin"), "wb") as out:
        for _ in range(256):
            out.write(chunk)
PY

# The command that copies the contents of $1 into $2 with the tool named $3.
copy_command() {
    local src=$1 dest=$2
    case $3 in
        copy_dir) echo "$copy_dir" -q "$src" "$dest" ;;
        "cp -a") echo cp -a "$src/." "$dest" ;;
        "rsync -a") echo rsync -a "$src/" "$dest/" ;;
        "rsync -aX") echo rsync -aX "$src/" "$dest/" ;;
        xcp) echo xcp -r "$src" "$dest" ;;
    esac
}

# Seconds one copy of $1 into $2 takes with the tool named $3.
copy_once() {
    local start end
    rm -rf "$2"
    start=$EPOCHREALTIME
    $(copy_command "$1" "$2" "$3") >/dev/null
    end=$EPOCHREALTIME
    echo "$end - $start" | bc -l
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# Runs every tool of the array `tools` on the tree $1 into $2, $4 times interleaved (after a
# warm-up run of each), with `$3` run before each copy (e.g. dropping the page cache); prints
# the median of each and its ratio to copy_dir's.
compare() {
    local src=$1 dest=$2 before=$3 runs=$4 tool run
    declare -A times=()
    for tool in "${tools[@]}"; do
        copy_once "$src" "$dest" "$tool" >/dev/null # warm-up, not counted
    done
    for run in $(seq "$runs"); do
        for tool in "${tools[@]}"; do
            eval "$before"
            times[$tool]+="$(copy_once "$src" "$dest" "$tool") "
        done
    done
    declare -A median_of=()
    for tool in "${tools[@]}"; do
        median_of[$tool]=$(tr ' ' '\n' <<<"${times[$tool]}" | grep . | median)
    done
    for tool in "${tools[@]}"; do
        printf '%-10s %8.3f s   %5.2fx copy_dir\n' "$tool" "${median_of[$tool]}" \
            "$(echo "${median_of[$tool]} / ${median_of[copy_dir]}" | bc -l)"
    done
    rm -rf "$dest"
}

for tree in small xattr big; do
    case $tree in
        small) echo "--- 20,000 files of 4 KiB in 100 folders (median of $RUNS, interleaved)"
            tools=("copy_dir" "cp -a" "rsync -a" "xcp") ;;
        xattr) echo "--- the same, each file with a user.* attribute (median of $RUNS, interleaved)"
            tools=("copy_dir" "cp -a" "rsync -aX" "xcp") ;;
        big) echo "--- 4 files of 256 MiB (median of $RUNS, interleaved)"
            tools=("copy_dir" "cp -a" "rsync -a" "xcp") ;;
    esac
    compare "$BENCH_DIR/$tree" "$BENCH_DIR/dest" ":" "$RUNS"
done

echo "--- system calls per file, 20,000 files of 4 KiB (strace -c -f; all threads)"
for tree in small xattr; do
    for tool in copy_dir xcp; do
        rm -rf "$BENCH_DIR/dest"
        strace -c -f -o "$BENCH_DIR/strace.txt" \
            $(copy_command "$BENCH_DIR/$tree" "$BENCH_DIR/dest" "$tool") >/dev/null
        # Columns: % time, seconds, usecs/call, calls, [errors,] syscall.
        calls=$(awk '$NF == "total" { print $4 }' "$BENCH_DIR/strace.txt")
        top=$(awk '/^-/ { n++; next } n == 1 && $4 >= 10000 { printf "%s %.1f, ", $NF, $4 / 20000 }' \
            "$BENCH_DIR/strace.txt")
        printf '%-6s %-9s %5.1f per file: %s\n' "$tree" "$tool" "$(echo "$calls / 20000" | bc -l)" "${top%, }"
    done
done

echo "--- copy_dir peak memory, 200,000 files of 4 KiB in 1000 folders"
rm -rf "$BENCH_DIR/dest"
/usr/bin/time -f '%M KiB max RSS, %e s' "$copy_dir" -q "$BENCH_DIR/huge" "$BENCH_DIR/dest"
rm -rf "$BENCH_DIR/dest"
/usr/bin/time -f '%M KiB max RSS for the 20,000-file tree, %e s' "$copy_dir" -q "$BENCH_DIR/small" "$BENCH_DIR/dest"
rm -rf "$BENCH_DIR/dest"

if [ -n "$BENCH_DISK" ]; then
    DISK_DIR=$(mktemp -d "$BENCH_DISK/copy_dir_bench.XXXXXX")
    echo "--- /usr/share ($(find /usr/share | wc -l) entries, $(du -sh /usr/share | cut -f1)) to" \
        "$(df -T "$DISK_DIR" | awk 'NR == 2 { print $2 }') at $BENCH_DISK, page cache dropped" \
        "(median of $DISK_RUNS, interleaved)"
    tools=("copy_dir" "cp -a" "rsync -a" "xcp")
    compare /usr/share "$DISK_DIR/dest" \
        'rm -rf "$DISK_DIR/dest"; sync; echo 3 > /proc/sys/vm/drop_caches' "$DISK_RUNS"
fi
