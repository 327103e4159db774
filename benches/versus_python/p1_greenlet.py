"""P1: a greenlet switch. g1 switches to g2 `rounds` times and g2 switches straight back,
as the notes' greenlet example does. Prints nanoseconds per switch (two per round)."""
import signal
import sys
import time

from greenlet import greenlet


def measure(rounds):
    def one():
        for _ in range(rounds):
            g2.switch()

    def two():
        while True:
            g1.switch()

    g1, g2 = greenlet(one), greenlet(two)
    start = time.perf_counter_ns()
    g1.switch()  # g1 returns to its parent, main, after its last round
    return (time.perf_counter_ns() - start) / (2 * rounds)


if __name__ == "__main__":
    # Ctrl-C ends it at once (its threads and child processes get the same signal), instead of
    # a KeyboardInterrupt that can leave a pool or a thread waiting for ever.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    rounds = int(sys.argv[1])
    measure(max(rounds // 10, 1))  # warm-up
    print(f"{measure(rounds):.3f}")
