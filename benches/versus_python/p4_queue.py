"""P4: queue.Queue(1000), one producer thread putting `items` numbers, one consumer thread
getting them until a None says the end. Prints nanoseconds per item (one put and one get)."""
import queue
import signal
import sys
import threading
import time


def measure(items):
    numbers = queue.Queue(1000)
    total = []

    def produce():
        for number in range(items):
            numbers.put(number)
        numbers.put(None)

    def consume():
        added = 0
        while (number := numbers.get()) is not None:
            added += number
        total.append(added)

    start = time.perf_counter_ns()
    threads = [threading.Thread(target=produce), threading.Thread(target=consume)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter_ns() - start
    assert total == [items * (items - 1) // 2]
    return elapsed / items


if __name__ == "__main__":
    # Ctrl-C ends it at once (its threads and child processes get the same signal), instead of
    # a KeyboardInterrupt that can leave a pool or a thread waiting for ever.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    items = int(sys.argv[1])
    measure(max(items // 10, 1))  # warm-up
    print(f"{measure(items):.3f}")
