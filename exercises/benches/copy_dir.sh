#!/usr/bin/env bash
# Benchmark of copy_dir against cp -a, rsync -a and xcp (issue 8), on tmpfs so the disk is not
# what is measured. Two trees: 20,000 files of 4 KiB in 100 folders, and 4 files of 256 MiB.
# Each tool copies each tree RUNS times into a fresh DEST; the median time is printed with its
# ratio to copy_dir's (a ratio above 1 means slower than copy_dir). Then copy_dir's peak memory
# (max RSS) for a tree of 200,000 files.
#
#   exercises/benches/copy_dir.sh            # from the workspace root
#   RUNS=9 BENCH_BASE=/dev/shm exercises/benches/copy_dir.sh
#
# Installs what is missing: xcp with `cargo install xcp --locked` (into ~/.cargo/bin), rsync
# with apt-get (needs root). Linux only. Needs about 2.5 GB free in BENCH_BASE (tmpfs).
set -euo pipefail
cd "$(dirname "$0")/../.."

RUNS=${RUNS:-5}
BENCH_BASE=${BENCH_BASE:-/dev/shm}
export PATH="$HOME/.cargo/bin:$PATH"

if ! command -v xcp >/dev/null; then
    echo "--- installing xcp (cargo install xcp --locked)"
    cargo install xcp --locked
fi
if ! command -v rsync >/dev/null; then
    echo "--- installing rsync (apt-get)"
    apt-get update -qq && apt-get install -y -qq rsync >/dev/null
fi
for tool in xcp rsync cp /usr/bin/time; do
    command -v "$tool" >/dev/null || { echo "missing: $tool" >&2; exit 1; }
done

echo "--- building copy_dir (release)"
cargo build -q --release -p exercises --bin copy_dir
copy_dir="${CARGO_TARGET_DIR:-$PWD/target}/release/copy_dir"

# A folder of its own, so that the clean-up can never remove anything the user named.
BENCH_DIR=$(mktemp -d "$BENCH_BASE/copy_dir_bench.XXXXXX")
trap 'rm -rf "$BENCH_DIR"' EXIT

echo "--- building the trees in $BENCH_DIR"
python3 - "$BENCH_DIR" <<'PY'
import os, sys
root = sys.argv[1]
def small(tree, files, folders):
    block = os.urandom(4096)
    for f in range(folders):
        d = os.path.join(root, tree, f"dir{f:03}")
        os.makedirs(d)
        for i in range(files // folders):
            with open(os.path.join(d, f"file{i:05}"), "wb") as out:
                out.write(block)
small("small", 20_000, 100)
small("huge", 200_000, 1000)
big = os.path.join(root, "big")
os.makedirs(big)
chunk = os.urandom(1 << 20)
for n in range(4):
    with open(os.path.join(big, f"big{n}.bin"), "wb") as out:
        for _ in range(256):
            out.write(chunk)
PY

# Seconds one copy of $1 (a tree name) takes with the tool named $2.
copy_once() {
    local src="$BENCH_DIR/$1" dest="$BENCH_DIR/dest" start end
    rm -rf "$dest"
    start=$EPOCHREALTIME
    case $2 in
        copy_dir) "$copy_dir" -q "$src" "$dest" ;;
        "cp -a") cp -a "$src/." "$dest" ;;
        "rsync -a") rsync -a "$src/" "$dest/" ;;
        xcp) xcp -r "$src" "$dest" >/dev/null ;;
    esac
    end=$EPOCHREALTIME
    echo "$end - $start" | bc -l
}

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

tools=("copy_dir" "cp -a" "rsync -a" "xcp")
for tree in small big; do
    case $tree in
        small) echo "--- 20,000 files of 4 KiB in 100 folders (median of $RUNS)" ;;
        big) echo "--- 4 files of 256 MiB (median of $RUNS)" ;;
    esac
    declare -A time_of=()
    for tool in "${tools[@]}"; do
        copy_once "$tree" "$tool" >/dev/null # warm-up, not counted
        time_of[$tool]=$(for _ in $(seq "$RUNS"); do copy_once "$tree" "$tool"; done | median)
    done
    for tool in "${tools[@]}"; do
        printf '%-10s %8.3f s   %5.2fx copy_dir\n' "$tool" "${time_of[$tool]}" \
            "$(echo "${time_of[$tool]} / ${time_of[copy_dir]}" | bc -l)"
    done
done

echo "--- copy_dir peak memory, 200,000 files of 4 KiB in 1000 folders"
rm -rf "$BENCH_DIR/dest"
/usr/bin/time -f '%M KiB max RSS, %e s' "$copy_dir" -q "$BENCH_DIR/huge" "$BENCH_DIR/dest"
rm -rf "$BENCH_DIR/dest"
/usr/bin/time -f '%M KiB max RSS for the 20,000-file tree, %e s' "$copy_dir" -q "$BENCH_DIR/small" "$BENCH_DIR/dest"
