"""P5: `with lock: n += 1` in two threads, `each` times in each. Prints nanoseconds per
increment."""
import signal
import sys
import threading
import time

n = 0
lock = threading.Lock()


def add(each):
    global n
    for _ in range(each):
        with lock:
            n += 1


def measure(each):
    global n
    n = 0
    threads = [threading.Thread(target=add, args=(each,)) for _ in range(2)]
    start = time.perf_counter_ns()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter_ns() - start
    assert n == 2 * each
    return elapsed / (2 * each)


if __name__ == "__main__":
    # Ctrl-C ends it at once (its threads and child processes get the same signal), instead of
    # a KeyboardInterrupt that can leave a pool or a thread waiting for ever.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    each = int(sys.argv[1])
    measure(max(each // 10, 1))  # warm-up
    print(f"{measure(each):.3f}")
