package dev.ringflow.jmh;

import com.lmax.disruptor.EventPoller;
import com.lmax.disruptor.RingBuffer;
import com.lmax.disruptor.YieldingWaitStrategy;
import dev.ringflow.Ring;
import java.io.File;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import org.agrona.concurrent.UnsafeBuffer;
import org.agrona.concurrent.ringbuffer.OneToOneRingBuffer;
import org.agrona.concurrent.ringbuffer.RingBufferDescriptor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Frames per second delivered to a JVM consumer, 64 and 256-byte frames, against JVM peers.
 * One operation is one frame ({@code @OperationsPerInvocation}), so the score is frames/s and
 * {@code -prof gc}'s {@code gc.alloc.rate.norm} is bytes allocated per frame.
 *
 * <ul>
 *   <li>{@code ringflowFrames}, {@code ringflowBatches}: the Kotlin Flow over a ring a Rust engine
 *       producer in this process writes (an endless {@code fill} producer started per trial: every
 *       byte of a frame is its number, the cheapest Rust frames).
 *   <li>{@code naiveJniChannel}: the same producer, read by one JNI call per frame copying into a
 *       new {@code ByteArray}, sent on a kotlinx {@code Channel}.
 *   <li>{@code agronaOneToOne}: Agrona's {@code OneToOneRingBuffer} (4096 slots' worth of bytes),
 *       a Java producer thread writing, the benchmark thread reading.
 *   <li>{@code lmaxDisruptor}: the LMAX Disruptor, a Java producer thread publishing
 *       {@code byte[]} events, the benchmark thread polling with an {@code EventPoller}.
 * </ul>
 * Every consumer reads every byte of every frame; every producer writes every byte.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
public class RingBenchmarks {
    static final int FRAMES = 100_000;
    static final int SLOTS = 4096;

    /** The frame size, shared by every state of a trial. */
    @State(Scope.Benchmark)
    public static class Size {
        @Param({"64", "256"})
        public int frameSize;
    }

    /** A ring in /dev/shm with an endless Rust {@code fill} producer in this process. */
    @State(Scope.Benchmark)
    public static class Ringflow {
        Ring ring;
        long producerTask;
        File file;
        int frameSize;

        @Setup(Level.Trial)
        public void setUp(Size size) throws Exception {
            frameSize = size.frameSize;
            file = File.createTempFile("ringflow-jmh", ".ring", new File("/dev/shm"));
            ring = Ring.Companion.create(file.getPath(), SLOTS, frameSize, 8);
            producerTask = ring.startProducer(dev.ringflow.Source.Fill, -1, 0.0);
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            ring.cancelTask(producerTask);
            ring.close();
            file.delete();
        }
    }

    /**
     * A ring in /dev/shm written by a JVM producer thread through the Kotlin producer
     * ({@code Ring.producer}: {@code claim}, the frame written in place once, {@code commit}),
     * the JVM-side writer to hold against Agrona's {@code tryClaim}/{@code commit}. The reader is
     * the same {@code batches()} collector as {@link #ringflowBatches}.
     */
    @State(Scope.Benchmark)
    public static class KotlinProducer {
        Ring ring;
        File file;
        Thread producer;
        volatile boolean running = true;

        @Setup(Level.Trial)
        public void setUp(Size size) throws Exception {
            int frameSize = size.frameSize;
            file = File.createTempFile("ringflow-jmh", ".ring", new File("/dev/shm"));
            ring = Ring.Companion.create(file.getPath(), SLOTS, frameSize, 8);
            dev.ringflow.RingProducer p = ring.producer(new dev.ringflow.ProducerPolicy.Block(100L));
            producer = new Thread(() -> {
                long i = 0;
                try {
                    while (running) {
                        dev.ringflow.WriteSlot slot;
                        try {
                            slot = p.claim();
                        } catch (dev.ringflow.RingTimeoutException e) {
                            continue; // no reader between invocations: look at `running` again
                        }
                        ByteBuffer b = slot.getBuffer();
                        long v = 0x0101010101010101L * ((i++) & 0xff);
                        int k = 0;
                        for (; k + 8 <= frameSize; k += 8) b.putLong(k, v);
                        for (; k < frameSize; k++) b.put(k, (byte) v);
                        slot.commit(frameSize, 0);
                    }
                } finally {
                    p.close();
                }
            }, "kotlin-producer");
            producer.setDaemon(true);
            producer.start();
        }

        @TearDown(Level.Trial)
        public void tearDown() throws Exception {
            running = false;
            producer.join();
            ring.close();
            file.delete();
        }
    }

    /** Agrona's OneToOneRingBuffer with a Java producer thread writing in place. */
    @State(Scope.Benchmark)
    public static class Agrona {
        OneToOneRingBuffer buffer;
        Thread producer;
        volatile boolean running = true;

        @Setup(Level.Trial)
        public void setUp(Size size) {
            int frameSize = size.frameSize;
            int capacity = Integer.highestOneBit(SLOTS * (frameSize + 8)) * 2;
            buffer = new OneToOneRingBuffer(new UnsafeBuffer(
                    ByteBuffer.allocateDirect(capacity + RingBufferDescriptor.TRAILER_LENGTH)));
            producer = new Thread(() -> {
                // tryClaim/commit: the frame written in place, once (Agrona's fastest path).
                long i = 0;
                while (running) {
                    int index = buffer.tryClaim(1, frameSize);
                    if (index < 0) {
                        Thread.onSpinWait();
                        continue;
                    }
                    buffer.buffer().setMemory(index, frameSize, (byte) i++);
                    buffer.commit(index);
                }
            }, "agrona-producer");
            producer.setDaemon(true);
            producer.start();
        }

        @TearDown(Level.Trial)
        public void tearDown() throws Exception {
            running = false;
            producer.join();
        }
    }

    /** The LMAX Disruptor with a Java producer thread and an EventPoller for the reader. */
    @State(Scope.Benchmark)
    public static class Lmax {
        RingBuffer<byte[][]> ring;
        EventPoller<byte[][]> poller;
        Thread producer;
        volatile boolean running = true;

        @Setup(Level.Trial)
        public void setUp(Size size) {
            int frameSize = size.frameSize;
            ring = RingBuffer.createSingleProducer(() -> new byte[][] {new byte[frameSize]}, SLOTS,
                    new YieldingWaitStrategy());
            poller = ring.newPoller();
            ring.addGatingSequences(poller.getSequence());
            producer = new Thread(() -> {
                long i = 0;
                while (running) {
                    long seq;
                    try {
                        seq = ring.tryNext();
                    } catch (com.lmax.disruptor.InsufficientCapacityException e) {
                        Thread.onSpinWait();
                        continue;
                    }
                    java.util.Arrays.fill(ring.get(seq)[0], (byte) i++);
                    ring.publish(seq);
                }
            }, "disruptor-producer");
            producer.setDaemon(true);
            producer.start();
        }

        @TearDown(Level.Trial)
        public void tearDown() throws Exception {
            running = false;
            producer.join();
        }
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public long ringflowFrames(Ringflow s) {
        return Drain.frames(s.ring, FRAMES);
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public long ringflowBatches(Ringflow s) {
        return Drain.batches(s.ring, FRAMES);
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public long kotlinProducerBatches(KotlinProducer s) {
        return Drain.batches(s.ring, FRAMES);
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public long naiveJniChannel(Ringflow s) {
        return Drain.naive(s.ring, FRAMES, s.frameSize);
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public long agronaOneToOne(Agrona s) {
        long[] acc = {0};
        int[] got = {0};
        org.agrona.concurrent.MessageHandler handler = (type, buffer, index, length) -> {
            long a = 0;
            int i = 0;
            for (; i + 8 <= length; i += 8) a ^= buffer.getLong(index + i);
            for (; i < length; i++) a ^= buffer.getByte(index + i);
            acc[0] ^= a;
        };
        while (got[0] < FRAMES) {
            got[0] += s.buffer.read(handler, FRAMES - got[0]);
        }
        return acc[0];
    }

    @Benchmark
    @OperationsPerInvocation(FRAMES)
    public long lmaxDisruptor(Lmax s) throws Exception {
        long[] acc = {0};
        int[] got = {0};
        EventPoller.Handler<byte[][]> handler = (event, sequence, endOfBatch) -> {
            byte[] bytes = event[0];
            long a = 0;
            for (byte b : bytes) a ^= b;
            acc[0] ^= a;
            return ++got[0] < FRAMES;
        };
        while (got[0] < FRAMES) {
            s.poller.poll(handler);
        }
        return acc[0];
    }
}
