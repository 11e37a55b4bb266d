/* What the C test programs (blocked.c, consumer.c, producer.c) share: a status check, a
 * condition check, ringflow's test pattern (ring/src/pattern.rs) and two clock helpers.
 * Everything is `static inline`, so a program that uses only part of it gets no warning. */
#ifndef RF_TEST_H
#define RF_TEST_H

#include "ringflow.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Exits 1, naming the call, what it returned and `rf_last_error()`, unless `call` returns `want`. */
#define CHECK(call, want)                                                                   \
    do {                                                                                    \
        int32_t got_ = (call);                                                              \
        if (got_ != (want)) {                                                               \
            fprintf(stderr, "%s:%d: %s returned %d, expected %d (%s)\n", __FILE__, __LINE__, \
                    #call, got_, (want), rf_last_error());                                  \
            exit(1);                                                                        \
        }                                                                                   \
    } while (0)

/* Exits 1, naming the condition, unless it holds. */
#define EXPECT(cond)                                                              \
    do {                                                                          \
        if (!(cond)) {                                                            \
            fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #cond); \
            exit(1);                                                              \
        }                                                                         \
    } while (0)

/* The per-frame key of pattern frame `seq` of `writer`. */
static inline uint64_t pattern_key(uint64_t seq, uint32_t writer) {
    return (seq ^ ((uint64_t)writer << 40)) * 0x9E3779B97F4A7C15ull;
}

/* Byte `i` (>= 16) of the pattern frame with `key`. */
static inline uint8_t pattern_byte(uint64_t key, size_t i) {
    return (uint8_t)(key >> ((i % 8) * 8)) ^ (uint8_t)(i / 8);
}

static inline void put_le(uint8_t *at, uint64_t v, size_t n) {
    for (size_t i = 0; i < n; i++) at[i] = (uint8_t)(v >> (8 * i));
}

static inline uint64_t get_le(const uint8_t *at, size_t n) {
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) v |= (uint64_t)at[i] << (8 * i);
    return v;
}

/* Fills `len` (>= 16) bytes at `buf` with pattern frame `seq` of `writer`: its sequence, writer
 * and length (little-endian), then the filler. */
static inline void pattern_fill(uint8_t *buf, size_t len, uint32_t writer, uint64_t seq) {
    put_le(buf, seq, 8);
    put_le(buf + 8, writer, 4);
    put_le(buf + 12, len, 4);
    uint64_t key = pattern_key(seq, writer);
    for (size_t i = 16; i < len; i++) buf[i] = pattern_byte(key, i);
}

/* Whether `len` bytes at `p` are pattern frame `seq` of `writer`, every byte. */
static inline int pattern_ok(const uint8_t *p, size_t len, uint32_t writer, uint64_t seq) {
    if (len < 16 || get_le(p, 8) != seq || get_le(p + 8, 4) != writer || get_le(p + 12, 4) != len)
        return 0;
    uint64_t key = pattern_key(seq, writer);
    for (size_t i = 16; i < len; i++)
        if (p[i] != pattern_byte(key, i)) return 0;
    return 1;
}

/* CLOCK_MONOTONIC in milliseconds. */
static inline double now_ms(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static inline void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

#endif
