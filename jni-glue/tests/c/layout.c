/* Prints every value ringflow.h gives a C program, as the C compiler sees it: each status code and policy,
 * and the size, alignment and field offsets of each struct. tests/c_abi.rs holds the lines
 * against the Rust side (the constants and `#[repr(C)]` structs of src/capi.rs). */
#include <stdalign.h>
#include <stddef.h>
#include <stdio.h>

#include "ringflow.h"

#define VALUE(name) printf("%s %lld\n", #name, (long long)(name))
#define SHAPE(type) printf("sizeof %s %zu\nalignof %s %zu\n", #type, sizeof(type), #type, alignof(type))
#define FIELD(type, field) printf("offsetof %s.%s %zu\n", #type, #field, offsetof(type, field))

int main(void) {
    VALUE(RF_OK);
    VALUE(RF_TIMEOUT);
    VALUE(RF_CLOSED);
    VALUE(RF_PRODUCER_GONE);
    VALUE(RF_CORRUPT);
    VALUE(RF_FULL);
    VALUE(RF_EVICTED);
    VALUE(RF_BAD_ARGUMENT);
    VALUE(RF_UNKNOWN_HANDLE);
    VALUE(RF_BUFFER_TOO_SMALL);
    VALUE(RF_PANIC);
    VALUE(RF_CANCELLED);
    VALUE(RF_IO);
    VALUE(RF_WOKEN);
    VALUE(RF_BUSY);
    VALUE(RF_EXISTS);
    VALUE(RF_ALREADY_INITIALIZED);
    VALUE(RF_ABANDONED);
    VALUE(RF_REPLACED);
    VALUE(RF_POLICY_BLOCK);
    VALUE(RF_POLICY_FAIL);
    VALUE(RF_POLICY_OVERWRITE);
    SHAPE(rf_frame);
    FIELD(rf_frame, seq);
    FIELD(rf_frame, timestamp_ns);
    FIELD(rf_frame, lost_before);
    FIELD(rf_frame, data);
    FIELD(rf_frame, len);
    FIELD(rf_frame, kind);
    SHAPE(rf_cobject);
    FIELD(rf_cobject, kind);
    FIELD(rf_cobject, as_string);
    SHAPE(rf_slot);
    FIELD(rf_slot, seq);
    FIELD(rf_slot, data);
    FIELD(rf_slot, capacity);
    return 0;
}
