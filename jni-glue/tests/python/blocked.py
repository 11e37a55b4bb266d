"""Blocked calls through ringflow's C ABI from Python ctypes, run by tests/c_abi.rs.

    python3 blocked.py LIBRARY RING_PATH

On a ring nothing writes, blocks readers on Python threads in rf_consumer_next and rf_ring_wait,
each forever (-1) and with a 60 s timeout (ctypes lets go of the GIL during a call), and checks
that one rf_ring_wake returns every one of them with RF_WOKEN within a second, then that one
rf_ring_close returns every one with RF_CLOSED within a second. Prints "ok python blocked" and
exits 0; prints what went wrong and exits 1 otherwise, at once (os._exit: a call still blocked
ends with the process, so the test never hangs).
"""

import ctypes
import json
import os
import sys
import threading
import time

from rf import RF_CLOSED, RF_OK, RF_WOKEN, Frame, load

RELEASE_WITHIN_S = 1.0
PARK_WITHIN_S = 10.0


def fail(message):
    print(message, file=sys.stderr, flush=True)
    os._exit(1)


def main():
    lib = load(sys.argv[1])
    ring_path = sys.argv[2]

    def check(status, what, want=RF_OK):
        if status != want:
            fail(f"{what}: status {status}, expected {want}: {lib.rf_last_error().decode()}")

    def data_sleepers():
        buf, length = ctypes.create_string_buffer(8192), ctypes.c_size_t()
        check(lib.rf_ring_stats_json(ring, buf, len(buf), ctypes.byref(length)), "rf_ring_stats_json")
        return json.loads(buf.value)["ring"]["data_sleepers"]

    ring, forever, long_timeout = ctypes.c_uint64(), ctypes.c_uint64(), ctypes.c_uint64()
    check(lib.rf_ring_create(ring_path.encode(), 16, 64, 4, ctypes.byref(ring)), "rf_ring_create")
    check(lib.rf_consumer_register(ring, False, ctypes.byref(forever)), "rf_consumer_register")
    check(lib.rf_consumer_register(ring, True, ctypes.byref(long_timeout)), "rf_consumer_register")

    def next_frame(consumer, timeout_ms):
        return lambda: lib.rf_consumer_next(consumer, timeout_ms, ctypes.byref(Frame()))

    def wait_ring(timeout_ms):
        return lambda: lib.rf_ring_wait(ring, 0, timeout_ms, ctypes.byref(ctypes.c_uint64()))

    calls = {
        "rf_consumer_next(-1)": next_frame(forever, -1),
        "rf_consumer_next(60 s)": next_frame(long_timeout, 60_000),
        "rf_ring_wait(-1)": wait_ring(-1),
        "rf_ring_wait(60 s)": wait_ring(60_000),
    }

    def released_by(release, name, want):
        """Blocks every call, runs `release`, checks each returns `want` within a second."""
        results = {}

        def run(what, call):
            results[what] = call()

        threads = [threading.Thread(target=run, args=item, daemon=True) for item in calls.items()]
        for t in threads:
            t.start()
        until = time.monotonic() + PARK_WITHIN_S
        while data_sleepers() < len(calls):
            if time.monotonic() > until:
                fail(f"only {data_sleepers()} of {len(calls)} readers parked")
            time.sleep(0.001)
        if results:
            fail(f"returned before {name}: {results}")
        since = time.monotonic()
        check(release(ring), name)
        for t in threads:
            t.join(max(0.0, since + RELEASE_WITHIN_S - time.monotonic()))
        late = [what for what in calls if what not in results]
        if late:
            fail(f"still blocked {RELEASE_WITHIN_S} s after {name}: {late}")
        elapsed = time.monotonic() - since
        wrong = {what: status for what, status in results.items() if status != want}
        if wrong:
            fail(f"after {name}, expected {want}: {wrong}")
        print(f"{len(calls)} calls: {want} after {name}, all within {elapsed * 1e3:.1f} ms", flush=True)

    released_by(lib.rf_ring_wake, "rf_ring_wake", RF_WOKEN)
    released_by(lib.rf_ring_close, "rf_ring_close", RF_CLOSED)
    check(lib.rf_consumer_unregister(forever), "rf_consumer_unregister")
    check(lib.rf_consumer_unregister(long_timeout), "rf_consumer_unregister")
    print("ok python blocked", flush=True)


if __name__ == "__main__":
    main()
