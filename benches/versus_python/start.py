"""Starting a thread (`thread N`) or a process (`process N`, multiprocessing's default start
method: fork on Linux up to 3.13) that does nothing, and joining it. Prints nanoseconds per
start."""
import signal
import sys
import threading
import time
from multiprocessing import Process


def nothing():
    pass


def measure(kind, starts):
    make = threading.Thread if kind == "thread" else Process
    start = time.perf_counter_ns()
    for _ in range(starts):
        worker = make(target=nothing)
        worker.start()
        worker.join()
    return (time.perf_counter_ns() - start) / starts


if __name__ == "__main__":
    # Ctrl-C ends it at once (its threads and child processes get the same signal), instead of
    # a KeyboardInterrupt that can leave a pool or a thread waiting for ever.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    kind, starts = sys.argv[1], int(sys.argv[2])
    measure(kind, 1)  # warm-up
    print(f"{measure(kind, starts):.3f}")
