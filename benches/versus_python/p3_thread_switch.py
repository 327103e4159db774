"""P3: a thread switch. Two threads pass a number back and forth through two queue.Queue,
so each hand-over wakes one thread and blocks the other. Prints nanoseconds per switch (two
per round)."""
import queue
import signal
import sys
import threading
import time


def measure(rounds):
    to_partner, to_main = queue.Queue(), queue.Queue()

    def partner():
        for _ in range(rounds):
            to_main.put(to_partner.get())

    thread = threading.Thread(target=partner)
    thread.start()
    start = time.perf_counter_ns()
    for number in range(rounds):
        to_partner.put(number)
        to_main.get()
    elapsed = time.perf_counter_ns() - start
    thread.join()
    return elapsed / (2 * rounds)


if __name__ == "__main__":
    # Ctrl-C ends it at once (its threads and child processes get the same signal), instead of
    # a KeyboardInterrupt that can leave a pool or a thread waiting for ever.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    rounds = int(sys.argv[1])
    measure(max(rounds // 10, 1))  # warm-up
    print(f"{measure(rounds):.3f}")
