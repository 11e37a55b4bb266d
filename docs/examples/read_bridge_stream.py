#!/usr/bin/env python3
"""Reads a stream that `ringflow bridge push` wrote, with nothing but nats-py, and checks it.

    python3 read_bridge_stream.py nats://127.0.0.1:4222 STREAM FRAMES

Prints the ring schema from the stream's description, then checks FRAMES messages: each one's
Ringflow-Seq follows the last (plus Ringflow-Lost-Before), its Nats-Msg-Id is the ring id and
the sequence, and its payload is the `seq` pattern frame of that sequence (docs/BRIDGE.md;
ring/src/pattern.rs). Prints one JSON line and exits 0 if every frame checks, 1 otherwise.
"""

import asyncio
import json
import struct
import sys

import nats

PREFIX = "ringflow-bridge/1 "
MASK = (1 << 64) - 1


def pattern_ok(payload: bytes, seq: int) -> bool:
    """The `seq` pattern: a 16-byte tag (seq u64, producer u32, length u32, little-endian),
    then words of key ^ (word index in every byte)."""
    if len(payload) < 16:
        return False
    got_seq, producer, length = struct.unpack_from("<QII", payload)
    if got_seq != seq or length != len(payload):
        return False
    key = ((seq ^ (producer << 40)) * 0x9E3779B97F4A7C15) & MASK
    for i in range(16, len(payload)):
        word = i // 8
        expected = ((key >> ((i % 8) * 8)) & 0xFF) ^ (word & 0xFF)
        if payload[i] != expected:
            return False
    return True


async def main(url: str, stream: str, frames: int) -> int:
    nc = await nats.connect(url)
    js = nc.jetstream()
    info = await js.stream_info(stream)
    description = info.config.description or ""
    if not description.startswith(PREFIX):
        print(f"{stream} is not a ringflow stream", file=sys.stderr)
        return 1
    schema = json.loads(description[len(PREFIX):])
    # An ephemeral pull consumer from the first message.
    sub = await js.pull_subscribe(info.config.subjects[0], durable=None, stream=stream)
    expected, read, lost, bad = None, 0, 0, 0
    while read < frames:
        for msg in await sub.fetch(min(256, frames - read), timeout=10):
            h = msg.headers or {}
            seq = int(h["Ringflow-Seq"])
            lost_before = int(h["Ringflow-Lost-Before"])
            if expected is not None and seq != expected + lost_before:
                bad += 1
            if h["Nats-Msg-Id"] != f'{h["Ringflow-Ring"]}-{seq}':
                bad += 1
            if not pattern_ok(msg.data, seq):
                bad += 1
            expected = seq + 1
            lost += lost_before
            read += 1
            await msg.ack()
    await nc.close()
    print(json.dumps({"schema": schema, "frames": read, "lost": lost, "bad": bad}))
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]))))
