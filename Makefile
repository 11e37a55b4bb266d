# ringflow: one entry point for people and CI. `make test` sets up and runs every test.

CARGO ?= cargo
# loom builds with other RUSTFLAGS: keep its artifacts apart so the two builds don't evict each other.
LOOM_TARGET := target/loom
FUZZ_SECONDS ?= 600
# The chaos test's long run publishes at least this many frames (CONTRIBUTING.md, "Chaos test").
CHAOS_FRAMES ?= 100000000

.PHONY: setup test lint loom ci chaos demo fuzz ir clean

# Everything the tests need, from the toolchain's own components and crates.io.
setup:
	@command -v $(CARGO) >/dev/null || { echo "cargo not found: install Rust with rustup (https://rustup.rs)"; exit 1; }
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@command -v mvn >/dev/null || { echo "mvn not found: install Maven 3.8+ and a JDK 17+ (Debian: apt-get install maven openjdk-17-jdk-headless)"; exit 1; }
	@command -v cc >/dev/null || { echo "cc not found: the C ABI's tests build a C program (Debian: apt-get install gcc)"; exit 1; }
	@command -v python3 >/dev/null || { echo "python3 not found: the C ABI's tests run a ctypes consumer (Debian: apt-get install python3)"; exit 1; }
	@command -v valgrind >/dev/null || { command -v apt-get >/dev/null && apt-get update -q >/dev/null && apt-get install -y -q valgrind >/dev/null; } || { echo "valgrind not found: the instruction-count check runs callgrind (Debian: apt-get install valgrind)"; exit 1; }
	@command -v nats-server >/dev/null || { command -v apt-get >/dev/null && apt-get update -q >/dev/null && apt-get install -y -q nats-server >/dev/null; } || { echo "nats-server not found: the bridge tests start their own servers (Debian: apt-get install nats-server; elsewhere a nats-server 2.9+ binary on PATH)"; exit 1; }
	@python3 -c 'import nats' 2>/dev/null || python3 -m pip install -q nats-py || python3 -m pip install -q --break-system-packages nats-py || { echo "nats-py not found: the bridge's Python example is tested (pip install nats-py)"; exit 1; }
	$(CARGO) fetch --locked

# Unit, integration (including the cross-process tests), proptest and doc tests of the workspace,
# then the Kotlin library's tests (Maven builds the JNI cdylib with cargo first), its packaged-jar
# tests (*IT, failsafe) and its install into the local Maven repository, which the sample app
# then takes as a dependency (offline: everything it needs is local by then).
test: setup
	$(CARGO) test --workspace --locked
	cd kotlin-consumer && mvn -B --no-transfer-progress install
	cd examples/kotlin-app && mvn -B -o --no-transfer-progress verify

# Formatting, and clippy with every warning an error.
lint: setup
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

# The loom models of every cursor protocol (see CONTRIBUTING.md).
loom: setup
	LOOM_MAX_PREEMPTIONS=2 RUSTFLAGS="--cfg loom" $(CARGO) test -p ringflow --lib --release --locked \
		--target-dir $(LOOM_TARGET) loom_models

ci: test lint loom

# The chaos test's long run: producers and readers killed at random until CHAOS_FRAMES frames
# were published (`make test` runs the same test for 30 s). Prints its seed and a summary.
chaos: setup
	RINGFLOW_CHAOS_FRAMES=$(CHAOS_FRAMES) RINGFLOW_CHAOS_SECS=0 $(CARGO) test -p ringflow --release \
		--locked --test chaos -- --nocapture

# The main job: audio and telemetry to a WAV recorder, a level meter and a JSON Lines log.
demo:
	$(CARGO) run --release --locked -p ringflow-engine --bin ringflow -- demo

# Instructions per frame of the one-thread loops, ringflow and rtrb (callgrind; see BENCHMARKS.md).
ir:
	$(CARGO) run --release --locked -p ringflow-ir -- report

# Fuzz Ring::open (needs a nightly toolchain and `cargo install cargo-fuzz`).
fuzz:
	cd ring && $(CARGO) +nightly fuzz run open -- -max_total_time=$(FUZZ_SECONDS)

clean:
	$(CARGO) clean
