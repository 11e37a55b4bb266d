/* A C consumer of ringflow's C ABI (include/ringflow.h), built and run by tests/c_abi.rs.
 *
 *   consumer self PATH FRAMES SIZE   creates a ring, starts an engine producer in this process
 *                                    (completion by callback), reads and verifies every frame,
 *                                    awaits data with a Dart-style post function, and checks the
 *                                    error paths (stale handles among them);
 *   consumer open PATH FRAMES        reads FRAMES frames a producer in another process writes,
 *                                    verifying every byte, until the ring closes.
 *
 * Prints "ok ..." and exits 0 on success; prints what failed and exits 1 otherwise. */
#include "rf_test.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Reads frames until the ring closes; returns how many were verified. */
static uint64_t read_all(uint64_t consumer, uint64_t expected) {
    uint64_t n = 0;
    for (;;) {
        rf_frame f;
        int32_t status = rf_consumer_next(consumer, 10000, &f);
        if (status == RF_CLOSED) return n;
        CHECK(status, RF_OK);
        if (f.seq != n || !pattern_ok(f.data, f.len, 0, n)) {
            fprintf(stderr, "frame %llu: bad (seq %llu, len %zu)\n", (unsigned long long)n,
                    (unsigned long long)f.seq, f.len);
            exit(1);
        }
        bool intact = false;
        CHECK(rf_consumer_release(consumer, &intact), RF_OK);
        if (!intact) {
            fprintf(stderr, "frame %llu overwritten while held by a lossless reader\n", (unsigned long long)n);
            exit(1);
        }
        n++;
        if (n > expected) {
            fprintf(stderr, "more frames than the %llu expected\n", (unsigned long long)expected);
            exit(1);
        }
    }
}

/* A completion delivered by callback. */
struct done {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int fired;
    int32_t status;
    char json[4096];
};

static void on_done(void *user_data, int32_t status, const char *json) {
    struct done *d = user_data;
    pthread_mutex_lock(&d->lock);
    d->fired++;
    d->status = status;
    snprintf(d->json, sizeof d->json, "%s", json);
    pthread_cond_broadcast(&d->cond);
    pthread_mutex_unlock(&d->lock);
}

static void await_done(struct done *d) {
    pthread_mutex_lock(&d->lock);
    while (!d->fired) pthread_cond_wait(&d->cond, &d->lock);
    pthread_mutex_unlock(&d->lock);
}

/* A stand-in for Dart_PostCObject: keeps the port and the string it was posted. */
static struct done posted = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, {0}};
static int64_t posted_port;

static bool post(int64_t port, rf_cobject *message) {
    if (message->kind != 5) return false; /* Dart_CObject_kString */
    posted_port = port;
    on_done(&posted, 0, message->as_string);
    return true;
}

static int run_self(const char *path, uint64_t frames, uint32_t size) {
    uint64_t ring, consumer, task, bad;
    CHECK(rf_ring_create(path, 256, size, 4, &ring), RF_OK);
    CHECK(rf_consumer_register(ring, false, &consumer), RF_OK);

    /* Await data through a post function, as a Dart isolate would. */
    uint64_t waiter;
    CHECK(rf_await_data_post(ring, 0, post, 4242, &waiter), RF_OK);

    struct done produced = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, -1, {0}};
    CHECK(rf_produce_async(ring, 0, (int64_t)frames, 0.0, on_done, &produced, &task), RF_OK);

    uint64_t n = read_all(consumer, frames);
    await_done(&produced);
    await_done(&posted);
    if (n != frames || produced.status != RF_OK || produced.fired != 1 ||
        !strstr(produced.json, "\"frames\":")) {
        fprintf(stderr, "read %llu of %llu; producer status %d: %s\n", (unsigned long long)n,
                (unsigned long long)frames, produced.status, produced.json);
        return 1;
    }
    if (posted_port != 4242 || !strstr(posted.json, "\"status\":0") || !strstr(posted.json, "\"value\":")) {
        fprintf(stderr, "posted to %lld: %s\n", (long long)posted_port, posted.json);
        return 1;
    }

    /* Stats as JSON: ask for the length, then read; a live snapshot (heartbeat ages) can grow
     * between the two calls, so a caller asks again with the length it was just told. */
    size_t len = 0;
    CHECK(rf_ring_stats_json(ring, NULL, 0, &len), RF_BUFFER_TOO_SMALL);
    char *stats = NULL;
    int32_t status = RF_BUFFER_TOO_SMALL;
    for (int tries = 0; status == RF_BUFFER_TOO_SMALL && tries < 10; tries++) {
        free(stats);
        stats = malloc(len + 64);
        status = rf_ring_stats_json(ring, stats, len + 64, &len);
    }
    CHECK(status, RF_OK);
    if (strlen(stats) != len || !strstr(stats, "\"published\"")) {
        fprintf(stderr, "stats: %s\n", stats);
        return 1;
    }
    free(stats);

    /* Error paths: typed statuses and a message, nothing crashes. */
    CHECK(rf_ring_open("/nonexistent/ring", &bad), RF_IO);
    if (!strstr(rf_last_error(), "nonexistent")) {
        fprintf(stderr, "last error: %s\n", rf_last_error());
        return 1;
    }
    CHECK(rf_ring_create(path, 3, 64, 1, &bad), RF_BAD_ARGUMENT);
    CHECK(rf_ring_open(NULL, &bad), RF_BAD_ARGUMENT);
    CHECK(rf_consumer_release(consumer, NULL), RF_BAD_ARGUMENT); /* nothing held */
    CHECK(rf_consumer_next(987654321, 0, NULL), RF_BAD_ARGUMENT);
    rf_frame f;
    CHECK(rf_consumer_next(987654321, 0, &f), RF_UNKNOWN_HANDLE);
    CHECK(rf_task_cancel(task), RF_UNKNOWN_HANDLE); /* it ended: its handle was freed */

    /* A consumer handle kept after its unregister is stale for good: the consumer registered
     * next takes its place in the handle table, and is not reachable through it. */
    uint64_t gone, next;
    CHECK(rf_consumer_register(ring, false, &gone), RF_OK);
    CHECK(rf_consumer_unregister(gone), RF_OK);
    CHECK(rf_consumer_register(ring, false, &next), RF_OK);
    if (next == gone) {
        fprintf(stderr, "the next consumer got the unregistered one's handle %llu\n",
                (unsigned long long)gone);
        return 1;
    }
    CHECK(rf_consumer_next(gone, 0, &f), RF_UNKNOWN_HANDLE);
    if (!strstr(rf_last_error(), "stale")) {
        fprintf(stderr, "last error: %s\n", rf_last_error());
        return 1;
    }
    CHECK(rf_consumer_release(gone, NULL), RF_UNKNOWN_HANDLE);
    CHECK(rf_consumer_unregister(gone), RF_UNKNOWN_HANDLE);
    CHECK(rf_consumer_next(ring, 0, &f), RF_UNKNOWN_HANDLE); /* a ring's handle is no consumer's */
    CHECK(rf_ring_wake(next), RF_UNKNOWN_HANDLE);            /* nor the other way round */
    CHECK(rf_consumer_next(next, 0, &f), RF_CLOSED); /* it reads: its ring is closed */
    CHECK(rf_consumer_unregister(next), RF_OK);

    /* A cancelled endless producer completes once, with its summary saying so. */
    uint64_t endless;
    struct done stopped = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, -1, {0}};
    CHECK(rf_ring_create(path, 64, size, 1, &ring), RF_OK);
    CHECK(rf_produce_async(ring, 0, -1, 0.0, on_done, &stopped, &endless), RF_OK);
    uint64_t published = 0;
    CHECK(rf_ring_wait(ring, 0, 10000, &published), RF_OK);
    CHECK(rf_task_cancel(endless), RF_OK);
    await_done(&stopped);
    if (stopped.fired != 1 || stopped.status != RF_OK || !strstr(stopped.json, "\"cancelled\":true")) {
        fprintf(stderr, "cancelled producer: %d %s\n", stopped.status, stopped.json);
        return 1;
    }
    CHECK(rf_ring_close(ring), RF_OK);
    CHECK(rf_ring_close(ring), RF_UNKNOWN_HANDLE);
    CHECK(rf_consumer_unregister(consumer), RF_OK);
    CHECK(rf_consumer_unregister(consumer), RF_UNKNOWN_HANDLE);
    /* The ring file goes; a second remove finds nothing, and a file that is no ring stays. */
    CHECK(rf_ring_remove(path), RF_OK);
    if (access(path, F_OK) == 0) {
        fprintf(stderr, "rf_ring_remove left %s\n", path);
        return 1;
    }
    CHECK(rf_ring_remove(path), RF_IO);
    CHECK(rf_ring_remove(NULL), RF_BAD_ARGUMENT);
    FILE *not_a_ring = fopen(path, "w");
    if (!not_a_ring || fputs("not a ring, long enough to hold a header? no.", not_a_ring) < 0) return 1;
    fclose(not_a_ring);
    CHECK(rf_ring_remove(path), RF_CORRUPT);
    if (access(path, F_OK) != 0) {
        fprintf(stderr, "rf_ring_remove removed a file that is no ring\n");
        return 1;
    }
    remove(path);
    printf("ok self %llu frames, version %s\n", (unsigned long long)n, rf_version());
    return 0;
}

static int run_open(const char *path, uint64_t frames) {
    uint64_t ring, consumer;
    CHECK(rf_ring_open(path, &ring), RF_OK);
    CHECK(rf_consumer_register(ring, false, &consumer), RF_OK);
    printf("registered\n");
    fflush(stdout);
    uint64_t n = read_all(consumer, frames);
    CHECK(rf_consumer_unregister(consumer), RF_OK);
    CHECK(rf_ring_close(ring), RF_OK);
    if (n != frames) {
        fprintf(stderr, "read %llu of %llu frames\n", (unsigned long long)n, (unsigned long long)frames);
        return 1;
    }
    printf("ok open %llu frames\n", (unsigned long long)n);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 5 && strcmp(argv[1], "self") == 0)
        return run_self(argv[2], strtoull(argv[3], NULL, 10), (uint32_t)strtoul(argv[4], NULL, 10));
    if (argc == 4 && strcmp(argv[1], "open") == 0)
        return run_open(argv[2], strtoull(argv[3], NULL, 10));
    fprintf(stderr, "usage: consumer self PATH FRAMES SIZE | consumer open PATH FRAMES\n");
    return 2;
}
