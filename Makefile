# dacapo: generate, verify and run the DaCapo continuous-learning accelerator.
# `make run` plays the main job, `make test` runs every check CI runs.

CARGO ?= cargo

.PHONY: all deps run test bench clean

all: test

# External tools (verilator, yosys, iverilog, libclang) from Debian's packages, when missing.
deps:
	bash scripts/install-deps.sh

# The main job. For now: the MX golden model's accuracy and speed on a random GEMM.
run:
	$(CARGO) run --release --quiet -- demo

test: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	INSTA_UPDATE=no $(CARGO) test --workspace

# Criterion benchmark of the bit-exact MX GEMM against an f32 GEMM; prints the speed ratios.
bench:
	$(CARGO) bench -p mx --bench gemm

clean:
	$(CARGO) clean
