"""P6: a trivial task on Pool(2). `apply N`: N apply_async calls, then every result;
`map N`: pool.map over N numbers with the default chunksize. The pool's start is not timed.
Prints nanoseconds per task (apply) or per item (map)."""
import signal
import sys
import time
from multiprocessing import Pool


def increment(x):
    return x + 1


def apply(pool, tasks):
    start = time.perf_counter_ns()
    results = [pool.apply_async(increment, (task,)) for task in range(tasks)]
    total = sum(result.get() for result in results)
    elapsed = time.perf_counter_ns() - start
    assert total == tasks * (tasks + 1) // 2
    return elapsed / tasks


def map_items(pool, items):
    start = time.perf_counter_ns()
    results = pool.map(increment, range(items))
    elapsed = time.perf_counter_ns() - start
    assert len(results) == items and results[-1] == items
    return elapsed / items


if __name__ == "__main__":
    # Ctrl-C ends it at once (its threads and child processes get the same signal), instead of
    # a KeyboardInterrupt that can leave a pool or a thread waiting for ever.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    how, n = sys.argv[1], int(sys.argv[2])
    with Pool(2) as pool:
        pool.apply(increment, (0,))  # both sides time a warm pool
        ns = apply(pool, n) if how == "apply" else map_items(pool, n)
    print(f"{ns:.3f}")
