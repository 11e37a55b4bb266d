/* A producer through ringflow's C ABI (include/ringflow.h), built and run by tests/c_abi.rs.
 *
 *   producer write PATH FRAMES BATCH TAG
 *       opens the ring at PATH, attaches a producer (policy block, no timeout) and writes FRAMES
 *       pattern frames of writer TAG (ring/src/pattern.rs: frame i carries i and TAG, its length
 *       16 + i % (capacity - 15), its kind (uint16_t)(i * 7 + TAG)), in place: one claim and
 *       commit per frame if BATCH is 1, else batches of BATCH slots (the last one claimed whole
 *       and committed short, so its tail is published as skip frames). Then closes the producer
 *       (the ring closes if it was the last) and prints "ok wrote FRAMES frames".
 *   producer misuse PATH
 *       creates a ring at PATH and checks every refusal: the policies, a commit with no claim, a
 *       second claim, a length over the capacity, a batch committed as one frame, a full ring
 *       under `fail`, a timeout under `block`, a second thread calling in while a claim waits
 *       (RF_BUSY), stale, made-up and consumer handles, a double close, and a close with a claim
 *       open (published as skip frames: a reader reads the frames before it, then RF_CLOSED).
 *       Prints "ok misuse".
 *
 * Exits 1 with what failed otherwise. */
#include "rf_test.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static size_t frame_len(uint64_t i, size_t capacity) { return 16 + (size_t)(i % (capacity - 15)); }

static uint16_t frame_kind(uint64_t i, uint32_t writer) { return (uint16_t)(i * 7 + writer); }

static void write_frames(const char *path, uint64_t frames, size_t batch, uint32_t writer) {
    uint64_t ring, producer;
    CHECK(rf_ring_open(path, &ring), RF_OK);
    CHECK(rf_producer_attach(ring, RF_POLICY_BLOCK, -1, &producer), RF_OK);
    rf_slot *slots = calloc(batch, sizeof *slots);
    size_t *lens = calloc(batch, sizeof *lens);
    uint16_t *kinds = calloc(batch, sizeof *kinds);
    EXPECT(slots && lens && kinds);
    uint64_t i = 0;
    while (i < frames) {
        if (batch == 1) {
            rf_slot slot;
            CHECK(rf_producer_claim(producer, &slot), RF_OK);
            size_t len = frame_len(i, slot.capacity);
            pattern_fill(slot.data, len, writer, i);
            CHECK(rf_producer_commit(producer, len, frame_kind(i, writer)), RF_OK);
            i++;
            continue;
        }
        CHECK(rf_producer_claim_batch(producer, batch, slots), RF_OK);
        size_t count = frames - i < batch ? (size_t)(frames - i) : batch;
        for (size_t k = 0; k < count; k++) {
            if (k > 0) EXPECT(slots[k].seq == slots[0].seq + k);
            lens[k] = frame_len(i + k, slots[k].capacity);
            kinds[k] = frame_kind(i + k, writer);
            pattern_fill(slots[k].data, lens[k], writer, i + k);
        }
        CHECK(rf_producer_commit_batch(producer, count, lens, kinds), RF_OK);
        i += count;
    }
    free(slots);
    free(lens);
    free(kinds);
    CHECK(rf_producer_close(producer), RF_OK);
    CHECK(rf_ring_close(ring), RF_OK);
    printf("ok wrote %llu frames\n", (unsigned long long)frames);
}

/* A claim that waits for space on a full ring, on its own thread. */
struct waiting_claim {
    uint64_t producer;
    int32_t status;
};

static void *claim_and_wait(void *arg) {
    struct waiting_claim *w = arg;
    rf_slot slot;
    w->status = rf_producer_claim(w->producer, &slot);
    return NULL;
}

static void misuse(const char *path) {
    uint64_t ring, reader, p, other;
    rf_slot slot, slots[4];
    size_t lens[4] = {1, 1, 1, 1};
    CHECK(rf_ring_create(path, 4, 32, 2, &ring), RF_OK);
    CHECK(rf_consumer_register(ring, false, &reader), RF_OK);

    /* Bad attach arguments. */
    CHECK(rf_producer_attach(ring, 7, 0, &p), RF_BAD_ARGUMENT);
    CHECK(rf_producer_attach(ring, RF_POLICY_OVERWRITE, 0, &p), RF_BAD_ARGUMENT);
    CHECK(rf_producer_attach(ring, RF_POLICY_FAIL, 0, NULL), RF_BAD_ARGUMENT);
    CHECK(rf_producer_attach(12345, RF_POLICY_FAIL, 0, &p), RF_UNKNOWN_HANDLE);

    CHECK(rf_producer_attach(ring, RF_POLICY_FAIL, 0, &p), RF_OK);
    /* One producer at a time on a single-producer ring. */
    CHECK(rf_producer_attach(ring, RF_POLICY_FAIL, 0, &other), RF_BUSY);

    /* Commits with no claim. */
    CHECK(rf_producer_commit(p, 0, 0), RF_BAD_ARGUMENT);
    CHECK(rf_producer_commit_batch(p, 0, NULL, NULL), RF_BAD_ARGUMENT);

    /* A claim, a second claim, a bad length: refused, the claim stays open. */
    CHECK(rf_producer_claim(p, &slot), RF_OK);
    EXPECT(slot.seq == 0 && slot.capacity == 32 && slot.data != NULL);
    CHECK(rf_producer_claim(p, &slot), RF_BAD_ARGUMENT);
    CHECK(rf_producer_claim_batch(p, 2, slots), RF_BAD_ARGUMENT);
    CHECK(rf_producer_commit(p, 33, 0), RF_BAD_ARGUMENT);
    CHECK(rf_producer_commit_batch(p, 2, lens, NULL), RF_BAD_ARGUMENT);
    memcpy(slot.data, "first", 5);
    CHECK(rf_producer_commit(p, 5, 1), RF_OK);

    /* A batch: out of range, committed as one frame (refused, kept), committed short. */
    CHECK(rf_producer_claim_batch(p, 0, slots), RF_BAD_ARGUMENT);
    CHECK(rf_producer_claim_batch(p, 5, slots), RF_BAD_ARGUMENT);
    CHECK(rf_producer_claim_batch(p, 2, NULL), RF_BAD_ARGUMENT);
    CHECK(rf_producer_claim_batch(p, 2, slots), RF_OK);
    EXPECT(slots[0].seq == 1 && slots[1].seq == 2);
    CHECK(rf_producer_commit(p, 1, 0), RF_BAD_ARGUMENT);
    CHECK(rf_producer_commit_batch(p, 1, NULL, NULL), RF_BAD_ARGUMENT);
    memcpy(slots[0].data, "b", 1);
    CHECK(rf_producer_commit_batch(p, 1, lens, NULL), RF_OK);

    /* Full under `fail`: frames 0..3 are unread and the ring holds 4. */
    CHECK(rf_producer_claim(p, &slot), RF_OK);
    CHECK(rf_producer_commit(p, 0, 0), RF_OK);
    CHECK(rf_producer_claim(p, &slot), RF_FULL);
    CHECK(rf_producer_close(p), RF_OK);

    /* Stale, double-closed and consumer handles are unknown, never a producer. */
    CHECK(rf_producer_claim(p, &slot), RF_UNKNOWN_HANDLE);
    CHECK(rf_producer_commit(p, 0, 0), RF_UNKNOWN_HANDLE);
    CHECK(rf_producer_close(p), RF_UNKNOWN_HANDLE);
    CHECK(rf_producer_claim(reader, &slot), RF_UNKNOWN_HANDLE);
    CHECK(rf_producer_close(reader), RF_UNKNOWN_HANDLE);
    CHECK(rf_producer_close(0), RF_UNKNOWN_HANDLE);
    CHECK(rf_producer_claim(ring, &slot), RF_UNKNOWN_HANDLE);

    /* `block` with a timeout on the still full ring: RF_TIMEOUT. A second thread calling in
     * while the claim waits is RF_BUSY, not queued behind it. */
    CHECK(rf_producer_attach(ring, RF_POLICY_BLOCK, 600, &p), RF_OK);
    CHECK(rf_consumer_unregister(p), RF_UNKNOWN_HANDLE); /* a producer is not a consumer */
    struct waiting_claim w = {p, -1};
    pthread_t t;
    EXPECT(pthread_create(&t, NULL, claim_and_wait, &w) == 0);
    sleep_ms(200);
    CHECK(rf_producer_commit(p, 0, 0), RF_BUSY);
    CHECK(rf_producer_claim(p, &slot), RF_BUSY);
    pthread_join(t, NULL);
    CHECK(w.status, RF_TIMEOUT);

    /* The reader reads the four frames; a close with a claim open publishes it as a skip frame,
     * and closes the ring: the reader gets RF_CLOSED after the frames before it. */
    rf_frame f;
    const char *want[] = {"first", "b", NULL, ""};
    for (int i = 0; i < 4; i++) {
        if (!want[i]) continue; /* seq 2: the batch's uncommitted tail, passed over */
        CHECK(rf_consumer_next(reader, 1000, &f), RF_OK);
        EXPECT(f.len == strlen(want[i]) && memcmp(f.data, want[i], f.len) == 0);
        EXPECT(f.kind == (i == 0 ? 1 : 0));
        CHECK(rf_consumer_release(reader, NULL), RF_OK);
    }
    CHECK(rf_producer_claim(p, &slot), RF_OK);
    memcpy(slot.data, "never", 5);
    CHECK(rf_producer_close(p), RF_OK);
    CHECK(rf_consumer_next(reader, 1000, &f), RF_CLOSED);
    CHECK(rf_consumer_unregister(reader), RF_OK);
    CHECK(rf_ring_close(ring), RF_OK);
    printf("ok misuse\n");
}

int main(int argc, char **argv) {
    if (argc == 6 && strcmp(argv[1], "write") == 0) {
        write_frames(argv[2], strtoull(argv[3], NULL, 10), strtoul(argv[4], NULL, 10),
                     (uint32_t)strtoul(argv[5], NULL, 10));
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "misuse") == 0) {
        misuse(argv[2]);
        return 0;
    }
    fprintf(stderr, "usage: producer write PATH FRAMES BATCH TAG | producer misuse PATH\n");
    return 2;
}
