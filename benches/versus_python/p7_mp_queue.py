"""P7: multiprocessing.Queue from the parent to a child process. The child says it is ready,
gets `items` numbers, reports their sum; timed from ready to the report. Prints nanoseconds
per item."""
import signal
import sys
import time
from multiprocessing import Process, Queue


def consume(numbers, report, items):
    report.put(0)
    report.put(sum(numbers.get() for _ in range(items)))


if __name__ == "__main__":
    # Ctrl-C ends it at once (its threads and child processes get the same signal), instead of
    # a KeyboardInterrupt that can leave a pool or a thread waiting for ever.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    items = int(sys.argv[1])
    numbers, report = Queue(), Queue()
    child = Process(target=consume, args=(numbers, report, items))
    child.start()
    report.get()  # the child is running
    start = time.perf_counter_ns()
    for number in range(items):
        numbers.put(number)
    total = report.get()
    elapsed = time.perf_counter_ns() - start
    child.join()
    assert total == items * (items - 1) // 2
    print(f"{elapsed / items:.3f}")
