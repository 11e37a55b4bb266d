"""A Python consumer of ringflow's C ABI through ctypes, run by tests/c_abi.rs.

    python3 consumer.py LIBRARY RING_PATH FRAMES

Opens a ring another process writes, reads FRAMES frames in place (a ctypes array over the shared
mapping, no copy), checks every byte against ringflow's pattern, and exits 0 once the ring closes
with every frame read; prints what went wrong and exits 1 otherwise.
"""

import ctypes
import sys

RF_OK, RF_TIMEOUT, RF_CLOSED = 0, 1, 2


class Frame(ctypes.Structure):
    """`rf_frame` from include/ringflow.h."""

    _fields_ = [
        ("seq", ctypes.c_uint64),
        ("timestamp_ns", ctypes.c_uint64),
        ("lost_before", ctypes.c_uint64),
        ("data", ctypes.POINTER(ctypes.c_uint8)),
        ("len", ctypes.c_size_t),
        ("kind", ctypes.c_uint16),
    ]


def load(path):
    lib = ctypes.CDLL(path)
    u64p = ctypes.POINTER(ctypes.c_uint64)
    for name, args in {
        "rf_ring_open": [ctypes.c_char_p, u64p],
        "rf_ring_close": [ctypes.c_uint64],
        "rf_consumer_register": [ctypes.c_uint64, ctypes.c_bool, u64p],
        "rf_consumer_next": [ctypes.c_uint64, ctypes.c_int64, ctypes.POINTER(Frame)],
        "rf_consumer_release": [ctypes.c_uint64, ctypes.POINTER(ctypes.c_bool)],
        "rf_consumer_unregister": [ctypes.c_uint64],
    }.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = ctypes.c_int32
    lib.rf_last_error.restype = ctypes.c_char_p
    lib.rf_last_error.argtypes = []
    return lib


def filler(seq, producer, i):
    """Byte i of pattern frame `seq` (ring/src/pattern.rs)."""
    x = ((seq ^ (producer << 40)) * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    return ((x >> ((i % 8) * 8)) & 0xFF) ^ ((i // 8) & 0xFF)


def pattern_ok(payload, seq):
    n = len(payload)
    if n < 16:
        return False
    if int.from_bytes(bytes(payload[0:8]), "little") != seq:
        return False
    if int.from_bytes(bytes(payload[8:12]), "little") != 0 or int.from_bytes(bytes(payload[12:16]), "little") != n:
        return False
    return all(payload[i] == filler(seq, 0, i) for i in range(16, n))


def main():
    lib_path, ring_path, frames = sys.argv[1], sys.argv[2], int(sys.argv[3])
    lib = load(lib_path)

    def check(status, what):
        if status != RF_OK:
            sys.exit(f"{what}: status {status}: {lib.rf_last_error().decode()}")

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
