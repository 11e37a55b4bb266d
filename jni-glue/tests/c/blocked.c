/* Blocked calls through ringflow's C ABI (include/ringflow.h), built and run by tests/c_abi.rs.
 *
 *   blocked PATH   on a ring nothing writes, blocks readers in rf_consumer_next and rf_ring_wait,
 *                  each forever (-1) and with a 60 s timeout, and checks that one rf_ring_wake
 *                  returns every one of them with RF_WOKEN within a second, that a call made
 *                  after the wake waits as usual, and that one rf_ring_close returns every
 *                  blocked call with RF_CLOSED within a second. Then, on a full ring (PATH.full)
 *                  whose reader reads nothing, blocks a producer in rf_producer_claim (policy
 *                  block, forever) and checks that rf_ring_close returns it with RF_CLOSED within
 *                  a second; and blocks another (a 60 s timeout) and checks that rf_producer_close
 *                  on its handle, from another thread, does the same.
 *
 * Prints "ok blocked" and exits 0 on success; prints what failed and exits 1 otherwise (a call
 * still blocked then ends with the process: the test never hangs). */
#include "rf_test.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* How long a released call may take to return. */
#define RELEASE_WITHIN_MS 1000
/* How long the readers may take to be parked on the ring's futex. */
#define PARK_WITHIN_MS 10000

/* One blocked call, run on its own thread. */
struct blocked {
    const char *what;
    int next;         /* 1: rf_consumer_next(handle, ...), 0: rf_ring_wait(handle, 0, ...),
                         2: rf_producer_claim(handle, ...) */
    uint64_t handle;
    int64_t timeout_ms;
    pthread_t thread;
    int done;         /* under `lock` */
    int32_t status;
    double returned_ms;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void *run_blocked(void *arg) {
    struct blocked *b = arg;
    int32_t status;
    if (b->next == 2) {
        rf_slot slot;
        status = rf_producer_claim(b->handle, &slot);
    } else if (b->next) {
        rf_frame f;
        status = rf_consumer_next(b->handle, b->timeout_ms, &f);
    } else {
        uint64_t published = 0;
        status = rf_ring_wait(b->handle, 0, b->timeout_ms, &published);
    }
    double at = now_ms();
    pthread_mutex_lock(&lock);
    b->status = status;
    b->returned_ms = at;
    b->done = 1;
    pthread_mutex_unlock(&lock);
    return NULL;
}

static int is_done(struct blocked *b) {
    pthread_mutex_lock(&lock);
    int done = b->done;
    pthread_mutex_unlock(&lock);
    return done;
}

/* A count from the ring's stats: `key` is "\"data_sleepers\":" (readers parked on the ring's
 * data futex now) or "\"space_sleepers\":" (producers parked waiting for space). */
static unsigned long sleepers(uint64_t ring, const char *key) {
    char json[8192];
    size_t len = 0;
    CHECK(rf_ring_stats_json(ring, json, sizeof json, &len), RF_OK);
    const char *at = strstr(json, key);
    if (!at) {
        fprintf(stderr, "no %s in the stats: %s\n", key, json);
        exit(1);
    }
    return strtoul(at + strlen(key), NULL, 10);
}

static unsigned long data_sleepers(uint64_t ring) { return sleepers(ring, "\"data_sleepers\":"); }

/* Starts every call, and waits until each is parked on the ring (so each started before what
 * the test does next) and none returned. */
static void block_all(uint64_t ring, struct blocked *calls, size_t n) {
    for (size_t i = 0; i < n; i++) {
        calls[i].done = 0;
        if (pthread_create(&calls[i].thread, NULL, run_blocked, &calls[i]) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            exit(1);
        }
    }
    double until = now_ms() + PARK_WITHIN_MS;
    while (data_sleepers(ring) < n) {
        if (now_ms() > until) {
            fprintf(stderr, "only %lu of %zu readers parked\n", data_sleepers(ring), n);
            exit(1);
        }
        sleep_ms(1);
    }
    for (size_t i = 0; i < n; i++) {
        if (is_done(&calls[i])) {
            fprintf(stderr, "%s returned %d before anything released it (%s)\n", calls[i].what,
                    calls[i].status, rf_last_error());
            exit(1);
        }
    }
}

/* After `release` ran at `since`: every call returned `want` within RELEASE_WITHIN_MS. */
static void expect_released(struct blocked *calls, size_t n, double since, int32_t want,
                            const char *release) {
    double until = since + RELEASE_WITHIN_MS;
    for (size_t i = 0; i < n; i++) {
        while (!is_done(&calls[i])) {
            if (now_ms() > until) {
                fprintf(stderr, "%s still blocked %d ms after %s\n", calls[i].what,
                        RELEASE_WITHIN_MS, release);
                exit(1);
            }
            sleep_ms(1);
        }
        pthread_join(calls[i].thread, NULL);
        if (calls[i].status != want) {
            fprintf(stderr, "%s returned %d after %s, expected %d\n", calls[i].what,
                    calls[i].status, release, want);
            exit(1);
        }
        printf("%s: %d after %s, in %.1f ms\n", calls[i].what, want, release,
               calls[i].returned_ms - since);
    }
}

static void wake_and_close(const char *path) {
    uint64_t ring, forever, long_timeout;
    CHECK(rf_ring_create(path, 16, 64, 4, &ring), RF_OK);
    CHECK(rf_consumer_register(ring, false, &forever), RF_OK);
    CHECK(rf_consumer_register(ring, true, &long_timeout), RF_OK);
    struct blocked calls[] = {
        {"rf_consumer_next(-1)", 1, forever, -1, 0, 0, 0, 0},
        {"rf_consumer_next(60 s)", 1, long_timeout, 60000, 0, 0, 0, 0},
        {"rf_ring_wait(-1)", 0, ring, -1, 0, 0, 0, 0},
        {"rf_ring_wait(60 s)", 0, ring, 60000, 0, 0, 0, 0},
    };
    size_t n = sizeof calls / sizeof calls[0];

    /* One wake releases every blocked call, at once. */
    block_all(ring, calls, n);
    double woken_at = now_ms();
    CHECK(rf_ring_wake(ring), RF_OK);
    expect_released(calls, n, woken_at, RF_WOKEN, "rf_ring_wake");

    /* A wake concerns the calls blocked when it came: the next ones wait as usual. */
    rf_frame f;
    uint64_t published = 0;
    CHECK(rf_consumer_next(forever, 100, &f), RF_TIMEOUT);
    CHECK(rf_ring_wait(ring, 0, 100, &published), RF_TIMEOUT);

    /* One close releases every blocked call with RF_CLOSED. */
    block_all(ring, calls, n);
    double closed_at = now_ms();
    CHECK(rf_ring_close(ring), RF_OK);
    expect_released(calls, n, closed_at, RF_CLOSED, "rf_ring_close");

    /* The handle is stale now; its consumers stay registered, and read nothing more. */
    CHECK(rf_ring_wait(ring, 0, 0, &published), RF_UNKNOWN_HANDLE);
    CHECK(rf_ring_wake(ring), RF_UNKNOWN_HANDLE);
    CHECK(rf_consumer_next(forever, -1, &f), RF_CLOSED);
    CHECK(rf_consumer_unregister(forever), RF_OK);
    CHECK(rf_consumer_unregister(long_timeout), RF_OK);
}

/* Starts `b` (a claim on a full ring) and waits until its producer is parked waiting for space
 * and the call has not returned. */
static void block_claim(uint64_t ring, struct blocked *b) {
    b->done = 0;
    if (pthread_create(&b->thread, NULL, run_blocked, b) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        exit(1);
    }
    double until = now_ms() + PARK_WITHIN_MS;
    while (sleepers(ring, "\"space_sleepers\":") < 1) {
        if (now_ms() > until) {
            fprintf(stderr, "%s never parked waiting for space\n", b->what);
            exit(1);
        }
        sleep_ms(1);
    }
    if (is_done(b)) {
        fprintf(stderr, "%s returned %d on a full ring (%s)\n", b->what, b->status,
                rf_last_error());
        exit(1);
    }
}

/* Attaches a producer (policy block, `timeout_ms`) to `ring` and fills the ring: `reader`, a
 * lossless consumer that reads nothing, holds every slot. */
static uint64_t fill(uint64_t ring, int64_t timeout_ms) {
    uint64_t producer;
    CHECK(rf_producer_attach(ring, RF_POLICY_BLOCK, timeout_ms, &producer), RF_OK);
    for (int i = 0; i < 16; i++) {
        rf_slot slot;
        CHECK(rf_producer_claim(producer, &slot), RF_OK);
        memset(slot.data, i, 8);
        CHECK(rf_producer_commit(producer, 8, 0), RF_OK);
    }
    return producer;
}

static void claims_end_on_close(const char *dir_path) {
    char path[4096];
    snprintf(path, sizeof path, "%s.full", dir_path);
    uint64_t ring, reader, producer;

    /* rf_ring_close on the handle the producer was attached through. */
    CHECK(rf_ring_create(path, 16, 64, 4, &ring), RF_OK);
    CHECK(rf_consumer_register(ring, false, &reader), RF_OK);
    producer = fill(ring, -1);
    struct blocked forever = {"rf_producer_claim(-1)", 2, producer, -1, 0, 0, 0, 0};
    block_claim(ring, &forever);
    double closed_at = now_ms();
    CHECK(rf_ring_close(ring), RF_OK);
    expect_released(&forever, 1, closed_at, RF_CLOSED, "rf_ring_close");
    /* The producer is still attached (closing the ring handle does not detach it). */
    CHECK(rf_producer_close(producer), RF_OK);
    CHECK(rf_consumer_unregister(reader), RF_OK);

    /* rf_producer_close on the blocked producer's own handle, from this thread. */
    CHECK(rf_ring_create(path, 16, 64, 4, &ring), RF_OK);
    CHECK(rf_consumer_register(ring, false, &reader), RF_OK);
    producer = fill(ring, 60000);
    struct blocked timed = {"rf_producer_claim(60 s)", 2, producer, 60000, 0, 0, 0, 0};
    block_claim(ring, &timed);
    closed_at = now_ms();
    CHECK(rf_producer_close(producer), RF_OK);
    expect_released(&timed, 1, closed_at, RF_CLOSED, "rf_producer_close");
    /* The handle is stale; the producer detached once the claim let go of it. */
    rf_slot slot;
    CHECK(rf_producer_claim(producer, &slot), RF_UNKNOWN_HANDLE);
    CHECK(rf_consumer_unregister(reader), RF_OK);
    CHECK(rf_ring_close(ring), RF_OK);
    CHECK(rf_ring_remove(path), RF_OK);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: blocked PATH\n");
        return 2;
    }
    wake_and_close(argv[1]);
    claims_end_on_close(argv[1]);
    printf("ok blocked\n");
    return 0;
}
