"""The same workloads as RESPClientLoad, with redis-py (the client the
platform's Python agents use). Prints: <ops> <seconds> <cpu-seconds>."""
import resource, sys, threading, time
import redis

port, mode, n = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
extra = int(sys.argv[4]) if len(sys.argv) > 4 else 1
key = "key:000000000000"

def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime

redis.Redis(port=port).set(key, "xxx")
c0, t0 = cpu(), time.perf_counter()
if mode == "sequential":
    r = redis.Redis(port=port, protocol=3)
    for _ in range(n):
        r.get(key)
elif mode == "pipeline":
    r = redis.Redis(port=port, protocol=3)
    for _ in range(n // extra):
        p = r.pipeline(transaction=False)
        for i in range(extra):
            if i % 2 == 0:
                p.get(key)
            else:
                p.set(key, "xxx")
        p.execute()
elif mode == "concurrent":
    def worker():
        r = redis.Redis(port=port, protocol=3)
        for _ in range(n // extra):
            r.get(key)
    threads = [threading.Thread(target=worker) for _ in range(extra)]
    for t in threads: t.start()
    for t in threads: t.join()
print(n, "%.4f" % (time.perf_counter() - t0), "%.4f" % (cpu() - c0))
