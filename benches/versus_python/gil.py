"""The GIL: the numbers below `limit` checked for primality by trial division, in blocks of
1000 split over THREADS threads (thread k takes blocks k, k + THREADS, ...). Prints
nanoseconds per number checked."""
import signal
import sys
import threading
import time

BLOCK = 1000


def is_prime(n):
    if n < 2:
        return False
    divisor = 2
    while divisor * divisor <= n:
        if n % divisor == 0:
            return False
        divisor += 1
    return True


def count(first, threads, limit, found):
    primes = 0
    for block in range(first * BLOCK, limit, threads * BLOCK):
        primes += sum(1 for n in range(block, min(block + BLOCK, limit)) if is_prime(n))
    found.append(primes)


def measure(threads, limit):
    found = []
    workers = [threading.Thread(target=count, args=(k, threads, limit, found)) for k in range(threads)]
    start = time.perf_counter_ns()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter_ns() - start
    assert sum(found) > 0
    return elapsed / limit


if __name__ == "__main__":
    # Ctrl-C ends it at once (its threads and child processes get the same signal), instead of
    # a KeyboardInterrupt that can leave a pool or a thread waiting for ever.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    threads, limit = int(sys.argv[1]), int(sys.argv[2])
    print(f"{measure(threads, limit):.3f}")
