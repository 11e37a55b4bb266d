"""What the Python tests of ringflow's C ABI share (consumer.py, producer.py, blocked.py): the
statuses and structs of include/ringflow.h, the library's functions with their ctypes
signatures, and ringflow's test pattern (ring/src/pattern.rs).

The scripts run as `python3 tests/python/NAME.py`, so this directory is on `sys.path` and
`import rf` finds this file; tests/c_abi.rs runs them with PYTHONDONTWRITEBYTECODE=1, so the
import leaves no `__pycache__` in the tree.
"""

import ctypes
import sys

RF_OK, RF_TIMEOUT, RF_CLOSED, RF_BUFFER_TOO_SMALL, RF_WOKEN = 0, 1, 2, 9, 13
RF_POLICY_BLOCK = 0


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


class Slot(ctypes.Structure):
    """`rf_slot` from include/ringflow.h."""

    _fields_ = [
        ("seq", ctypes.c_uint64),
        ("data", ctypes.c_void_p),
        ("capacity", ctypes.c_size_t),
    ]


def load(path):
    """The library at `path`, every function the tests call declared (each returns a status)."""
    lib = ctypes.CDLL(path)
    u64, u64p = ctypes.c_uint64, ctypes.POINTER(ctypes.c_uint64)
    for name, args in {
        "rf_ring_open": [ctypes.c_char_p, u64p],
        "rf_ring_create": [ctypes.c_char_p, ctypes.c_uint32, ctypes.c_uint32, ctypes.c_uint32, u64p],
        "rf_ring_close": [u64],
        "rf_ring_wake": [u64],
        "rf_ring_wait": [u64, u64, ctypes.c_int64, u64p],
        "rf_ring_stats_json": [u64, ctypes.c_char_p, ctypes.c_size_t, ctypes.POINTER(ctypes.c_size_t)],
        "rf_consumer_register": [u64, ctypes.c_bool, u64p],
        "rf_consumer_next": [u64, ctypes.c_int64, ctypes.POINTER(Frame)],
        "rf_consumer_release": [u64, ctypes.POINTER(ctypes.c_bool)],
        "rf_consumer_unregister": [u64],
        "rf_producer_attach": [u64, ctypes.c_int32, ctypes.c_int64, u64p],
        "rf_producer_claim": [u64, ctypes.POINTER(Slot)],
        "rf_producer_claim_batch": [u64, ctypes.c_size_t, ctypes.POINTER(Slot)],
        "rf_producer_commit": [u64, ctypes.c_size_t, ctypes.c_uint16],
        "rf_producer_commit_batch": [
            u64,
            ctypes.c_size_t,
            ctypes.POINTER(ctypes.c_size_t),
            ctypes.POINTER(ctypes.c_uint16),
        ],
        "rf_producer_close": [u64],
    }.items():
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = ctypes.c_int32
    lib.rf_last_error.restype = ctypes.c_char_p
    lib.rf_last_error.argtypes = []
    return lib


def checker(lib):
    """`check(status, what)`: exits with `what`, the status and `rf_last_error()` unless RF_OK."""

    def check(status, what):
        if status != RF_OK:
            sys.exit(f"{what}: status {status}: {lib.rf_last_error().decode()}")

    return check


def pattern_key(seq, writer):
    """The per-frame key of pattern frame `seq` of `writer` (ring/src/pattern.rs)."""
    return ((seq ^ (writer << 40)) * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF


def filler(key, i):
    """Byte i (>= 16) of the pattern frame with `key`."""
    return ((key >> ((i % 8) * 8)) & 0xFF) ^ ((i // 8) & 0xFF)


def pattern(seq, writer, n):
    """Pattern frame `seq` of `writer`, `n` (>= 16) bytes."""
    key = pattern_key(seq, writer)
    head = seq.to_bytes(8, "little") + writer.to_bytes(4, "little") + n.to_bytes(4, "little")
    return head + bytes(filler(key, i) for i in range(16, n))


def pattern_ok(payload, seq, writer=0):
    """Whether `payload` (bytes or a ctypes array) is pattern frame `seq` of `writer`, every byte."""
    n = len(payload)
    if n < 16:
        return False
    head = bytes(payload[0:16])
    if head != seq.to_bytes(8, "little") + writer.to_bytes(4, "little") + n.to_bytes(4, "little"):
        return False
    key = pattern_key(seq, writer)
    return all(payload[i] == filler(key, i) for i in range(16, n))
