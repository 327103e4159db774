#!/usr/bin/env bash
# The notes' claims measured against Python (issue 19): each building block of the notes in
# Python (the snippets in benches/versus_python/*.py) and its Rust counterpart (the
# versus_python binary of this folder's `versus-python` package), run on the same machine one
# after the other, RUNS times each, alternating. One line per row, in this form:
#
#   P1 greenlet switch vs the greenlet lesson's hub: python 190 ns, rust 4.1 ns, 46.3x
#
# `python` and `rust` are the medians of the time per operation, the ratio is python/rust (how
# many times faster Rust is). Lines starting with `#` are comments (versions, CPU count, the
# GIL's speed-ups). From the workspace root or anywhere:
#
#   benches/versus_python.sh
#   RUNS=15 benches/versus_python.sh        # more runs per row (9 by default, at least 5)
#   SCALE=0.1 benches/versus_python.sh      # a tenth of the work: a quick look, noisier
#
# Needs python3 (3.8 or newer) with its venv module (or pip, to fetch virtualenv), pip access
# to PyPI, and a Rust toolchain. The Python side runs in a virtual environment of its own,
# made once under the target directory (VENV to put it elsewhere) with greenlet and gevent
# installed by pip, and reused by later runs. The Rust side is built in release. Takes about
# 40 seconds on a 2-core machine, plus the first build and the environment's making.
set -euo pipefail
cd "$(dirname "$0")/.."
# Ctrl-C reaches the running snippet or binary too (and its threads and children); the script
# then stops, whatever the child made of the signal. A TERM for the script alone stops it once
# the running measurement (a second or so) has ended. Either way nothing is left running.
trap 'exit 130' INT
trap 'exit 143' TERM

RUNS=${RUNS:-9}
SCALE=${SCALE:-1}
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
default_venv=$target_dir/versus-python-venv
VENV=${VENV:-$default_venv}
snippets=benches/versus_python

if ! [[ $RUNS =~ ^[0-9]+$ ]] || ((RUNS < 5)); then
    echo "RUNS must be a whole number of at least 5, not '$RUNS'" >&2
    exit 2
fi
if ! awk -v s="$SCALE" 'BEGIN { exit !(s + 0 > 0) }'; then
    echo "SCALE must be a number above 0, not '$SCALE'" >&2
    exit 2
fi
command -v python3 >/dev/null || { echo "versus_python needs python3" >&2; exit 1; }

# --- the Python side: a virtual environment of its own, with greenlet and gevent
if [ ! -x "$VENV/bin/python" ]; then
    if [ "$VENV" = "$default_venv" ]; then
        rm -rf "$VENV" # ours, left half-made by a run that was killed
    elif [ -e "$VENV" ]; then
        echo "VENV=$VENV exists but holds no bin/python: remove it or choose another VENV" >&2
        exit 1
    fi
    echo "# making the Python environment in $VENV (greenlet and gevent from PyPI)" >&2
    # Made here, so a failed attempt is removed: a later run must not reuse half an environment.
    trap 'rm -rf "$VENV"' EXIT
    if ! python3 -m venv "$VENV" >/dev/null 2>&1; then
        # Debian splits venv out (python3-venv); virtualenv from pip does the same job.
        rm -rf "$VENV"
        if ! { python3 -m pip install -q --user virtualenv && python3 -m virtualenv -q "$VENV"; } >&2; then
            echo "cannot make a Python virtual environment: install python3-venv (apt-get install python3-venv) or virtualenv, then run again" >&2
            exit 1
        fi
    fi
fi
if ! "$VENV/bin/python" -c 'import greenlet, gevent' 2>/dev/null; then
    "$VENV/bin/python" -m pip install -q greenlet gevent >&2
fi
trap - EXIT
py=$VENV/bin/python

# --- the Rust side
cargo build -q --release -p versus-python
rs=$target_dir/release/versus_python

# N scaled by SCALE, at least 1.
n() { awk -v n="$1" -v s="$SCALE" 'BEGIN { v = int(n * s); print (v < 1 ? 1 : v) }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# A time in ns with three significant figures or so: 190, 4.1, 0.78.
figure() { awk -v v="$1" 'BEGIN { printf (v >= 100 ? "%.0f" : v >= 1 ? "%.1f" : "%.2f"), v }'; }

# row NAME "WHAT" "PYTHON ARGS" "RUST ARGS" (ARGS split on spaces): runs the snippet and the
# binary RUNS times each, alternating, and prints a row from the medians, which it leaves in
# $py_ns and $rs_ns. PYTHON ARGS "-" reuses the Python median of the row before (one Python
# figure against two Rust ones).
py_ns="" rs_ns=""
row() {
    local name=$1 what=$2 py_args rs_args py_runs=() rs_runs=() i
    read -ra py_args <<<"$3"
    read -ra rs_args <<<"$4"
    for ((i = 0; i < RUNS; i++)); do
        if [ "$3" != "-" ]; then
            py_runs+=("$("$py" "$snippets/${py_args[0]}" "${py_args[@]:1}")")
        fi
        rs_runs+=("$("$rs" "${rs_args[@]}")")
    done
    if [ "$3" != "-" ]; then
        py_ns=$(printf '%s\n' "${py_runs[@]}" | median)
    fi
    rs_ns=$(printf '%s\n' "${rs_runs[@]}" | median)
    printf '%s %s: python %s ns, rust %s ns, %sx\n' "$name" "$what" \
        "$(figure "$py_ns")" "$(figure "$rs_ns")" \
        "$(awk -v p="$py_ns" -v r="$rs_ns" 'BEGIN { printf "%.1f", p / r }')"
}

echo "# $("$py" -c 'import sys, greenlet, gevent; print(f"python {sys.version.split()[0]} (greenlet {greenlet.__version__}, gevent {gevent.__version__})")'), $(rustc --version | cut -d' ' -f1-2)"
echo "# cpus: $(nproc) ($("$py" -c 'import os; print(os.cpu_count())') for python); median of $RUNS runs per side, alternating; SCALE $SCALE"

row P1 "greenlet switch vs the greenlet lesson's hub" \
    "p1_greenlet.py $(n 200000)" "p1-hub $(n 2000000)"
row P1raw "greenlet switch vs raw corosensei resume/suspend" \
    - "p1-raw $(n 5000000)"
row P2 "gevent.sleep(0) vs may::coroutine::yield_now" \
    "p2_gevent.py $(n 50000)" "p2 $(n 1000000)"
row P3 "thread switch through queue.Queue vs may coroutine switch through may spsc channels" \
    "p3_thread_switch.py $(n 5000)" "p3 $(n 500000)"
row P3yield "thread switch through queue.Queue vs a bare may coroutine switch (yield_now)" \
    - "p2 $(n 1000000)"
row P4 "queue.Queue(1000) put+get vs crossbeam_channel::bounded(1000), 1 producer 1 consumer" \
    "p4_queue.py $(n 100000)" "p4 $(n 2000000)"
row P5 "with lock: n += 1 vs Mutex<u64>, 2 threads, per increment" \
    "p5_lock.py $(n 1000000)" "p5 $(n 2000000)"
row P6 "Pool(2).apply_async vs procspawn::Pool::new(2).spawn, per task of 10000" \
    "p6_pool.py apply $(n 10000)" "p6-apply $(n 10000)"
row P6ipc "Pool(2).apply_async vs 2 procspawn workers on long-lived ipc-channels, per task" \
    - "p6-ipc $(n 10000)"
row P6map "Pool(2).map vs procspawn::Pool chunks as map cuts them, per item of 100000" \
    "p6_pool.py map $(n 100000)" "p6-map $(n 100000)"
row P7 "multiprocessing.Queue vs ipc-channel, parent to child, per item" \
    "p7_mp_queue.py $(n 20000)" "p7 $(n 200000)"
row GIL1 "primes by trial division on 1 thread, per number" \
    "gil.py 1 $(n 30000)" "gil-1 $(n 30000) --reps 20"
gil1_py=$py_ns gil1_rs=$rs_ns
row GIL2 "primes by trial division on 2 threads, per number" \
    "gil.py 2 $(n 30000)" "gil-2 $(n 30000) --reps 20"
awk -v p1="$gil1_py" -v r1="$gil1_rs" -v p2="$py_ns" -v r2="$rs_ns" \
    'BEGIN { printf "# GIL: 2 threads do the work %.2fx as fast as 1 in python, %.2fx in rust\n", p1 / p2, r1 / r2 }'
row START1 "start + join a thread: threading.Thread vs std::thread::spawn" \
    "start.py thread $(n 2000)" "start-thread $(n 2000)"
row START2 "start + join a process: multiprocessing.Process (fork) vs procspawn::spawn" \
    "start.py process $(n 100)" "start-process $(n 100)"
