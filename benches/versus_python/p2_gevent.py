"""P2: gevent.sleep(0), which hands control to the hub and back. Two greenlets each call it
`each` times. Prints nanoseconds per call."""
import signal
import sys
import time

import gevent


def loop(each):
    for _ in range(each):
        gevent.sleep(0)


def measure(each):
    start = time.perf_counter_ns()
    gevent.joinall([gevent.spawn(loop, each), gevent.spawn(loop, each)])
    return (time.perf_counter_ns() - start) / (2 * each)


if __name__ == "__main__":
    # Ctrl-C ends it at once (its threads and child processes get the same signal), instead of
    # a KeyboardInterrupt that can leave a pool or a thread waiting for ever.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    each = int(sys.argv[1])
    measure(max(each // 10, 1))  # warm-up
    print(f"{measure(each):.3f}")
