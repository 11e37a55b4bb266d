"""A Python producer through ringflow's C ABI (ctypes), run by tests/c_abi.rs.

    python3 producer.py LIBRARY RING_PATH FRAMES BATCH TAG

Opens a ring, attaches a producer (policy block, no timeout) and writes FRAMES pattern frames of
writer TAG in place (ctypes.memmove into the slot the claim hands out, in the shared mapping):
frame i carries i and TAG (ring/src/pattern.rs), its length is 16 + i % (capacity - 15) and its
kind (i * 7 + TAG) & 0xffff, as tests/c/producer.c writes them. BATCH 1: a claim and a commit per
frame; else batches of BATCH slots, the last claimed whole and committed short. Closes the
producer (the ring closes if it was the last) and prints "ok python wrote FRAMES frames"; prints
what failed and exits 1 otherwise.
"""

import ctypes
import sys

from rf import RF_POLICY_BLOCK, Slot, checker, load, pattern


def main():
    lib_path, ring_path = sys.argv[1], sys.argv[2]
    frames, batch, writer = int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    lib = load(lib_path)
    check = checker(lib)

    ring, producer = ctypes.c_uint64(), ctypes.c_uint64()
    check(lib.rf_ring_open(ring_path.encode(), ctypes.byref(ring)), "rf_ring_open")
    check(lib.rf_producer_attach(ring, RF_POLICY_BLOCK, -1, ctypes.byref(producer)), "rf_producer_attach")
    slots = (Slot * batch)()
    lens = (ctypes.c_size_t * batch)()
    kinds = (ctypes.c_uint16 * batch)()
    i = 0
    while i < frames:
        if batch == 1:
            check(lib.rf_producer_claim(producer, slots), f"rf_producer_claim at frame {i}")
            n = 16 + i % (slots[0].capacity - 15)
            ctypes.memmove(slots[0].data, pattern(i, writer, n), n)
            check(lib.rf_producer_commit(producer, n, (i * 7 + writer) & 0xFFFF), f"rf_producer_commit at frame {i}")
            i += 1
            continue
        check(lib.rf_producer_claim_batch(producer, batch, slots), f"rf_producer_claim_batch at frame {i}")
        count = min(batch, frames - i)
        for k in range(count):
            if slots[k].seq != slots[0].seq + k:
                sys.exit(f"slot {k} of a batch has sequence {slots[k].seq}, not {slots[0].seq + k}")
            n = 16 + (i + k) % (slots[k].capacity - 15)
            ctypes.memmove(slots[k].data, pattern(i + k, writer, n), n)
            lens[k] = n
            kinds[k] = ((i + k) * 7 + writer) & 0xFFFF
        check(lib.rf_producer_commit_batch(producer, count, lens, kinds), f"rf_producer_commit_batch at frame {i}")
        i += count
    check(lib.rf_producer_close(producer), "rf_producer_close")
    check(lib.rf_ring_close(ring), "rf_ring_close")
    print(f"ok python wrote {frames} frames")


if __name__ == "__main__":
    main()
