"""A Python consumer of ringflow's C ABI through ctypes, run by tests/c_abi.rs.

    python3 consumer.py LIBRARY RING_PATH FRAMES

Opens a ring another process writes, reads FRAMES frames in place (a ctypes array over the shared
mapping, no copy), checks every byte against ringflow's pattern, and exits 0 once the ring closes
with every frame read; prints what went wrong and exits 1 otherwise.
"""

import ctypes
import sys

from rf import RF_CLOSED, Frame, checker, load, pattern_ok


def main():
    lib_path, ring_path, frames = sys.argv[1], sys.argv[2], int(sys.argv[3])
    lib = load(lib_path)
    check = checker(lib)

    ring, consumer = ctypes.c_uint64(), ctypes.c_uint64()
    check(lib.rf_ring_open(ring_path.encode(), ctypes.byref(ring)), "rf_ring_open")
    check(lib.rf_consumer_register(ring, False, ctypes.byref(consumer)), "rf_consumer_register")
    print("registered", flush=True)
    frame, intact, n = Frame(), ctypes.c_bool(), 0
    while True:
        status = lib.rf_consumer_next(consumer, 10_000, ctypes.byref(frame))
        if status == RF_CLOSED:
            break
        check(status, f"rf_consumer_next at frame {n}")
        # In place: a ctypes array over the shared mapping (no copy), valid until the release.
        payload = ctypes.cast(frame.data, ctypes.POINTER(ctypes.c_uint8 * frame.len)).contents
        if frame.seq != n or not pattern_ok(payload, n):
            sys.exit(f"frame {n}: bad (seq {frame.seq}, len {frame.len})")
        del payload
        check(lib.rf_consumer_release(consumer, ctypes.byref(intact)), "rf_consumer_release")
        if not intact.value:
            sys.exit(f"frame {n} overwritten while held by a lossless reader")
        n += 1
    check(lib.rf_consumer_unregister(consumer), "rf_consumer_unregister")
    check(lib.rf_ring_close(ring), "rf_ring_close")
    if n != frames:
        sys.exit(f"read {n} of {frames} frames")
    print(f"ok python {n} frames")


if __name__ == "__main__":
    main()
