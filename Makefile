# dacapo: generate, verify and run the DaCapo continuous-learning accelerator.
# `make run` plays the main job, `make test` runs every check CI runs.

CARGO ?= cargo
DACAPO = $(CARGO) run --release --quiet --

.PHONY: all deps run run-rtl test rtl lint synth wave bench bench-sim profile clean

all: test

# External tools (verilator, yosys, iverilog, libclang) from Debian's packages, when missing.
deps:
	bash scripts/install-deps.sh

# The main job: the drifting stream's six scenarios under every allocation policy, phases
# timed by ResNet-18 / WideResNet-50-2 on the 16 x 16 array; results in runs/resnet18/.
run:
	$(DACAPO) run --pair resnet18 --policy all --out runs/resnet18

# One window of DaCapo-Spatiotemporal with every kernel on the Verilator chip (small preset),
# checked bit for bit against the golden model.
run-rtl:
	$(DACAPO) run-rtl --preset small --scenario s1

test: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	INSTA_UPDATE=no $(CARGO) test --workspace --release
	$(MAKE) --no-print-directory lint
	$(DACAPO) synth --accel small --out target/synth-check.md

# The generated Verilog of every preset (rtl/dacapo, rtl/small) with its config.json, for
# FPGA and ASIC flows.
rtl:
	$(DACAPO) rtl --out rtl

# Every checked-in module of every preset under Verilator's full lint; no warning is waived.
lint:
	@for d in rtl/*/; do \
	  for f in $$d*.sv; do \
	    verilator --lint-only -Wall --top-module $$(basename $$f .sv) $$d*.sv || exit 1; \
	  done; \
	done
	@echo "lint: rtl/*/*.sv clean under verilator --lint-only -Wall"

# Yosys checks (no latches, no undriven or multi-driven nets) and resource counts of the
# datapath units, both presets and the 8 x 16 and 32 x 32 shapes: reports/synth.md. Yosys
# needs about 25 minutes for all of it here (14 for the 32 x 32); `make test` checks the
# small preset.
synth:
	$(DACAPO) synth --accel small,8x16,dacapo,32x32 --out reports/synth.md

# A VCD waveform of two small GEMMs at once, one per part, on the small preset (GTKWave, Surfer).
wave:
	$(DACAPO) sim wave --out waves/accel_gemm.vcd

# Criterion benchmark of the bit-exact MX GEMM against an f32 GEMM; prints the speed ratios.
bench:
	$(CARGO) bench -p mx --bench gemm

# Utilization of a large GEMM on the whole simulated array, and the simulation speed, per
# format, for both presets.
bench-sim:
	$(DACAPO) sim bench --preset small
	$(DACAPO) sim bench --preset dacapo

# Seconds per iteration of every network kernel on every part size: reports/latency.csv.
profile:
	$(DACAPO) profile --out reports/latency.csv

clean:
	$(CARGO) clean
	rm -rf waves
