# dacapo: generate, verify and run the DaCapo continuous-learning accelerator.
# `make run` plays the main job, `make test` runs every check CI runs.

CARGO ?= cargo
DACAPO = $(CARGO) run --release --quiet --

.PHONY: all deps run run-rtl results test test-long timing rtl lint synth asic fpga wave bench bench-sim profile capi python clean

all: test

# External tools (verilator, yosys, iverilog, libclang) from Debian's packages, when missing.
deps:
	bash scripts/install-deps.sh

# The main job: the drifting stream's six scenarios under every allocation policy, phases
# timed by ResNet-18 / WideResNet-50-2 on the 16 x 16 array; results in runs/resnet18/.
run: deps
	$(DACAPO) run --pair resnet18 --policy all --out runs/resnet18

# The seed study behind the README's results (19 to 23 minutes on 2 cores): docs/results/.
results: deps
	$(DACAPO) results --pair resnet18 --seeds 5 --out docs/results

# One window of DaCapo-Spatiotemporal with every kernel on the Verilator chip (small preset),
# checked bit for bit against the golden model.
run-rtl: deps
	$(DACAPO) run-rtl --preset small --scenario s1

# Clippy in the release profile, as the tests: the dependencies' build scripts and macros
# compile once for both (and the Verilator models are shared by every profile anyway).
test: deps
	$(CARGO) fmt --all -- --check
	$(CARGO) fmt --manifest-path python/Cargo.toml -- --check
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings
	$(CARGO) clippy --release --manifest-path python/Cargo.toml -- -D warnings
	INSTA_UPDATE=no $(CARGO) test --workspace --release
	$(MAKE) --no-print-directory python
	python3 -m pytest -q python/tests
	$(MAKE) --no-print-directory lint
	$(DACAPO) synth --accel small --out target/synth-check.md
	$(MAKE) --no-print-directory timing

# The long checks that `make test` leaves out to stay within CI's 20 minutes: the tests marked
# ignored (the 32 x 32 array's lint) and the synthesis of every shape (`make synth`).
test-long: test
	INSTA_UPDATE=no $(CARGO) test --workspace --release -- --ignored
	$(MAKE) --no-print-directory synth

# The timing gate of `make test`: the DPE through the ASIC flow (seconds); fails when its
# critical register-to-register path is longer than the 10 ns target.
timing:
	$(DACAPO) asic --units dpe --max-path-ns 10 --out target/asic-check.md

# The generated Verilog of every preset (rtl/dacapo, rtl/small, rtl/fpga, and rtl/common for
# the modules they share) with its config.json, for FPGA and ASIC flows.
rtl:
	$(DACAPO) rtl --out rtl

# Every checked-in module of every preset under Verilator's full lint; no warning is waived.
# A preset's modules are its folder and rtl/common; packages are read first (Verilator needs a
# package before the modules that name it).
# The parameterized modules beyond their defaults (which the loop above lints): a preset's
# values and a shape no preset has, as module:Name=value,...
PARAMETER_SETS = sram:Width=32,Depth=8 sram:Width=20,Depth=2 \
	skew_line:Width=70,Depth=3 skew_line:Width=5,Depth=1 \
	dpe_array:Rows=2,Cols=2 dpe_array:Rows=8,Cols=3 dpe_array_i5_335:Rows=2,Cols=3 dpe_array_i5_335:Rows=5,Cols=2 \
	part_queue:Width=5,Depth=2 part_queue:Width=300,Depth=16

lint:
	@for d in $(filter-out rtl/common/,$(wildcard rtl/*/)); do \
	  modules="$$(ls $$d*.sv rtl/common/*.sv | grep -v '_pkg\.sv$$')"; \
	  for f in $$modules; do \
	    verilator --lint-only -Wall --top-module $$(basename $$f .sv) rtl/common/*_pkg.sv $$modules || exit 1; \
	  done; \
	done
	@for set in $(PARAMETER_SETS); do \
	  module=$${set%%:*}; params=$$(echo $${set#*:} | tr , ' '); \
	  files="rtl/common/dacapo_pkg.sv $$(ls rtl/common/*.sv $$(dirname rtl/*/$$module.sv)/*.sv | grep -v '_pkg\.sv$$' | sort -u)"; \
	  verilator --lint-only -Wall --top-module $$module $$(printf -- '-G%s ' $$params) $$files \
	    || exit 1; \
	done
	@echo "lint: rtl/*/*.sv clean under verilator --lint-only -Wall, the parameterized modules at three parameter sets each"

# Yosys checks (no latches, no undriven or multi-driven nets) and resource counts of the
# datapath units, both presets and the 8 x 16 and 32 x 32 shapes: reports/synth.md. Yosys
# needs about 25 minutes for all of it here (14 for the 32 x 32); `make test` checks the
# small preset.
synth:
	$(DACAPO) synth --accel small,8x16,dacapo,32x32 --out reports/synth.md

# ASIC timing (OSU 0.18 um cells, Yosys, OpenSTA) of every datapath unit, both baseline PEs
# and the small accelerator: critical path, Fmax, area and power in reports/asic.md (minutes).
asic: deps
	$(DACAPO) asic --accel small --out reports/asic.md

# FPGA place and route (ECP5-85F speed 8, YoWASP Yosys and nextpnr) of the presets' DPE, the
# DPE for FPGA fabric (dpe_i5_335: every stage cut, five outputs interleaved), a 3 x 2 array
# of it, the pipelined f32 baseline PE and a 2 x 2 accelerator of that DPE: Fmax, LUT4,
# flip-flops, carries, block RAMs, multipliers in reports/fpga.md. 25 to 45 minutes; its tools
# come from PyPI. (The 3 x 2 `fpga` preset, 41 500 LUT4, had not finished placing and routing
# after 105 minutes.)
fpga:
	bash scripts/install-deps.sh fpga
	$(DACAPO) fpga --units dpe,dpe_i5_335,dpe_array_3x2_i5_335,mac_f32_pipe --accel 2x2_i5_335 --out reports/fpga.md

# A VCD waveform of two small GEMMs at once, one per part, on the small preset (GTKWave, Surfer).
wave:
	$(DACAPO) sim wave --out waves/accel_gemm.vcd

# The golden model as a C library for C, C++ and DPI-C testbenches: target/release/
# libdacapo_mx.a and libdacapo_mx.so, header capi/include/dacapo_mx.h (README: "Using the golden
# model in your testbench").
capi:
	$(CARGO) build --release -p dacapo-mx

# The golden model as a Python package, `dacapo_mx` (numpy in, numpy out): built by maturin and
# installed into the python3 on the PATH (also where that is Debian's, which pip otherwise
# refuses to touch).
python: deps
	python3 -m pip install --quiet --root-user-action=ignore --break-system-packages ./python

# Criterion benchmark of the bit-exact MX GEMM against an f32 GEMM; prints the speed ratios.
bench: python
	$(CARGO) bench -p mx --bench gemm
	python3 python/bench.py
	MMTEST_FEATURE=sse2,avx,avx2,fma CARGO_TARGET_DIR=$(CURDIR)/target/bench-avx2 $(CARGO) bench -p mx --bench gemm

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
