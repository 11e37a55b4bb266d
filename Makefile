# ringflow: one entry point for people and CI. `make test` sets up and runs every test.

CARGO ?= cargo
# loom builds with other RUSTFLAGS: keep its artifacts apart so the two builds don't evict each other.
LOOM_TARGET := target/loom
FUZZ_SECONDS ?= 600

.PHONY: setup test lint loom ci demo fuzz clean

# Everything the tests need, from the toolchain's own components and crates.io.
setup:
	@command -v $(CARGO) >/dev/null || { echo "cargo not found: install Rust with rustup (https://rustup.rs)"; exit 1; }
	@$(CARGO) clippy --version >/dev/null 2>&1 || rustup component add clippy
	@$(CARGO) fmt --version >/dev/null 2>&1 || rustup component add rustfmt
	@command -v mvn >/dev/null || { echo "mvn not found: install Maven 3.8+ and a JDK 17+ (Debian: apt-get install maven openjdk-17-jdk-headless)"; exit 1; }
	@command -v cc >/dev/null || { echo "cc not found: the C ABI's tests build a C program (Debian: apt-get install gcc)"; exit 1; }
	@command -v python3 >/dev/null || { echo "python3 not found: the C ABI's tests run a ctypes consumer (Debian: apt-get install python3)"; exit 1; }
	@command -v nats-server >/dev/null || { command -v apt-get >/dev/null && apt-get update -q >/dev/null && apt-get install -y -q nats-server >/dev/null; } || { echo "nats-server not found: the bridge tests start their own servers (Debian: apt-get install nats-server; elsewhere a nats-server 2.9+ binary on PATH)"; exit 1; }
	@python3 -c 'import nats' 2>/dev/null || python3 -m pip install -q nats-py || python3 -m pip install -q --break-system-packages nats-py || { echo "nats-py not found: the bridge's Python example is tested (pip install nats-py)"; exit 1; }
	$(CARGO) fetch --locked

# Unit, integration (including the cross-process tests), proptest and doc tests of the workspace,
# then the Kotlin library's tests (Maven builds the JNI cdylib with cargo first).
test: setup
	$(CARGO) test --workspace --locked
	cd kotlin-consumer && mvn -B --no-transfer-progress test

# Formatting, and clippy with every warning an error.
lint: setup
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

# The loom models of every cursor protocol (see CONTRIBUTING.md).
loom: setup
	LOOM_MAX_PREEMPTIONS=2 RUSTFLAGS="--cfg loom" $(CARGO) test -p ringflow --lib --release --locked \
		--target-dir $(LOOM_TARGET) loom_models

ci: test lint loom

# The main job: audio and telemetry to a WAV recorder, a level meter and a JSON Lines log.
demo:
	$(CARGO) run --release --locked -p ringflow-engine --bin ringflow -- demo

# Fuzz Ring::open (needs a nightly toolchain and `cargo install cargo-fuzz`).
fuzz:
	cd ring && $(CARGO) +nightly fuzz run open -- -max_total_time=$(FUZZ_SECONDS)

clean:
	$(CARGO) clean
