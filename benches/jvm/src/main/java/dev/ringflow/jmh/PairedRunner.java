package dev.ringflow.jmh;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.ToLongFunction;

/**
 * The JVM contestants of {@link RingBenchmarks}, run in interleaved rounds (each round runs every
 * contestant once, in a rotating order) so that ratios compare contestants under the same
 * placement of the VM's two vCPUs; JMH runs each benchmark minutes apart, which on this VM
 * swings results 3-4x. Prints each contestant's median and the median of per-round ratios.
 *
 * <pre>
 * java -Dringflow.lib=$PWD/target/release/libringflow_jni.so -cp benches/jvm/target/benchmarks.jar \
 *     dev.ringflow.jmh.PairedRunner [rounds]
 * </pre>
 */
public final class PairedRunner {
    /** Invocations (of {@link RingBenchmarks#FRAMES} frames each) per timed run. */
    static final int INVOCATIONS = 20;

    interface Contestant {
        /** Sets up, warms up, times {@link #INVOCATIONS} invocations, tears down: frames/s. */
        double run(int frameSize) throws Exception;
    }

    static double timed(ToLongFunction<Void> body) {
        for (int i = 0; i < 3; i++) body.applyAsLong(null); // warm-up
        long start = System.nanoTime();
        long acc = 0;
        for (int i = 0; i < INVOCATIONS; i++) acc ^= body.applyAsLong(null);
        double seconds = (System.nanoTime() - start) / 1e9;
        if (acc == 42) System.out.print(""); // keep the result alive
        return (double) INVOCATIONS * RingBenchmarks.FRAMES / seconds;
    }

    static RingBenchmarks.Size size(int frameSize) {
        RingBenchmarks.Size s = new RingBenchmarks.Size();
        s.frameSize = frameSize;
        return s;
    }

    static double ringflow(int frameSize, int which) throws Exception {
        RingBenchmarks b = new RingBenchmarks();
        RingBenchmarks.Ringflow s = new RingBenchmarks.Ringflow();
        s.setUp(size(frameSize));
        try {
            double fps = timed(v -> which == 0 ? b.ringflowFrames(s) : which == 1 ? b.ringflowBatches(s) : b.naiveJniChannel(s));
            // Futex wakes the run cost, per million frames the producer published (it runs
            // between invocations too, with no reader to wait for).
            dev.ringflow.RingStats st = s.ring.stats();
            double perM = 1e6 / Math.max(1, st.getPublished());
            System.out.printf("# %s %d B: %.2f M frames/s; wakes per million published: data %.1f, space %.1f%n",
                    which == 0 ? "ringflowFrames" : which == 1 ? "ringflowBatches" : "naiveJniChannel", frameSize,
                    fps / 1e6, st.getDataWakes() * perM, st.getSpaceWakes() * perM);
            return fps;
        } finally {
            s.tearDown();
        }
    }

    static double kotlinProducer(int frameSize) throws Exception {
        RingBenchmarks b = new RingBenchmarks();
        RingBenchmarks.KotlinProducer s = new RingBenchmarks.KotlinProducer();
        s.setUp(size(frameSize));
        try {
            return timed(v -> b.kotlinProducerBatches(s));
        } finally {
            s.tearDown();
        }
    }

    static double agrona(int frameSize) throws Exception {
        RingBenchmarks b = new RingBenchmarks();
        RingBenchmarks.Agrona s = new RingBenchmarks.Agrona();
        s.setUp(size(frameSize));
        try {
            return timed(v -> b.agronaOneToOne(s));
        } finally {
            s.tearDown();
        }
    }

    static double lmax(int frameSize) throws Exception {
        RingBenchmarks b = new RingBenchmarks();
        RingBenchmarks.Lmax s = new RingBenchmarks.Lmax();
        s.setUp(size(frameSize));
        try {
            return timed(v -> {
                try {
                    return b.lmaxDisruptor(s);
                } catch (Exception e) {
                    throw new RuntimeException(e);
                }
            });
        } finally {
            s.tearDown();
        }
    }

    static double median(double[] v) {
        double[] c = v.clone();
        Arrays.sort(c);
        return c[c.length / 2];
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 7;
        String[] names = {"ringflowFrames", "ringflowBatches", "naiveJniChannel", "agronaOneToOne", "lmaxDisruptor",
                "kotlinProducerBatches"};
        List<Contestant> contestants = List.of(
                fs -> ringflow(fs, 0), fs -> ringflow(fs, 1), fs -> ringflow(fs, 2),
                PairedRunner::agrona, PairedRunner::lmax, PairedRunner::kotlinProducer);
        System.out.printf("# JVM paired runner: %d rounds, %d x %d frames per run%n", rounds, INVOCATIONS, RingBenchmarks.FRAMES);
        for (int frameSize : new int[] {64, 256}) {
            double[][] fps = new double[names.length][rounds];
            for (int r = 0; r < rounds; r++) {
                for (int k = 0; k < names.length; k++) {
                    int c = (r + k) % names.length;
                    fps[c][r] = contestants.get(c).run(frameSize);
                }
            }
            System.out.printf("%n### %d-byte frames to a JVM consumer: M frames/s%n%n", frameSize);
            System.out.println("| contestant | median | min .. max |");
            System.out.println("|---|---:|---:|");
            for (int c = 0; c < names.length; c++) {
                System.out.printf("| %s | %.2f | %.2f .. %.2f |%n", names[c], median(fps[c]) / 1e6,
                        Arrays.stream(fps[c]).min().getAsDouble() / 1e6, Arrays.stream(fps[c]).max().getAsDouble() / 1e6);
            }
            System.out.println();
            System.out.println("| ratio (same round) | median | min .. max |");
            System.out.println("|---|---:|---:|");
            int[][] pairs = {{1, 3}, {1, 2}, {0, 3}, {0, 2}, {1, 4}, {5, 3}, {5, 1}};
            for (int[] p : pairs) {
                double[] ratio = new double[rounds];
                for (int r = 0; r < rounds; r++) ratio[r] = fps[p[0]][r] / fps[p[1]][r];
                System.out.printf("| %s / %s | %.2f | %.2f .. %.2f |%n", names[p[0]], names[p[1]], median(ratio),
                        Arrays.stream(ratio).min().getAsDouble(), Arrays.stream(ratio).max().getAsDouble());
            }
        }
    }
}
