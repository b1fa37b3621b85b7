//! GEMMs on the Verilator accelerator (the `small` preset, and the `fpga` preset of interleaved
//! DPEs where a test's point applies to both) against the golden model, bit for bit, with the
//! cycles the timing model predicts.

use hdlgen::accel::AccelConfig;
use host::rtl::{run_gemms, GemmJob};
use host::timing::{schedule, PortShare};
use mx::rng::Rng;
use mx::{gemm, Axis, Format, MxMatrix, Rounding};
use sim::{Chip, Command, MemoryRate, Part};

fn matrix(rng: &mut Rng, rows: usize, cols: usize, axis: Axis, format: Format) -> MxMatrix {
    let data: Vec<f32> = (0..rows * cols).map(|_| (rng.normal() * 4.0) as f32).collect();
    MxMatrix::quantize(&data, rows, cols, axis, format, Rounding::NearestEven).unwrap()
}

/// A (M x K, blocked along rows) and B (K x N, blocked along columns) for `(m, n, k)`.
fn operands(rng: &mut Rng, (m, n, k): (usize, usize, usize), format: Format) -> (MxMatrix, MxMatrix) {
    (matrix(rng, m, k, Axis::Row, format), matrix(rng, k, n, Axis::Col, format))
}

fn set_split(chip: &mut Chip, s: u32) {
    chip.set_split(s).unwrap();
    assert_eq!(chip.split(), s);
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

fn dims(rng: &mut Rng) -> (usize, usize, usize) {
    (1 + rng.below(70) as usize, 1 + rng.below(70) as usize, 1 + rng.below(70) as usize)
}

/// The presets whose tests run on every `make test`: one DPE per output, and five.
const PRESETS: [&str; 2] = ["small", "fpga"];

#[test]
fn random_gemms_every_split_and_part() {
    for preset in PRESETS {
        random_gemms_on(preset);
    }
}

fn random_gemms_on(preset: &str) {
    let mut chip = Chip::new(preset).unwrap();
    let mut rng = Rng::new(7);
    for s in 0..=chip.config().rows {
        set_split(&mut chip, s);
        for part in [Part::Top, Part::Bottom] {
            if chip.part_rows(part) == 0 {
                continue;
            }
            for format in Format::ALL {
                for chunk in [None, Some(1 + rng.below(3) as u32)] {
                    let (m, n, k) = dims(&mut rng);
                    let (a, b) = operands(&mut rng, (m, n, k), format);
                    let run = &run_gemms(&mut chip, &[GemmJob { part, a: &a, b: &b }], chunk).unwrap()[0];
                    let what = format!("{preset}: {m}x{k}x{n} {format} split {s} {part:?} chunk {chunk:?}");
                    assert_eq!(bits(&run.c), bits(&gemm(&a, &b).unwrap()), "{what}");
                    assert_eq!(run.cycles, run.model.cycles, "{what}");
                }
            }
        }
    }
}

#[test]
fn both_parts_at_once_in_different_formats() {
    for preset in PRESETS {
        both_parts_on(preset);
    }
}

fn both_parts_on(preset: &str) {
    let mut chip = Chip::new(preset).unwrap();
    let mut rng = Rng::new(11);
    for s in 1..chip.config().rows {
        set_split(&mut chip, s);
        for (ft, fb) in [(Format::Mx6, Format::Mx4), (Format::Mx9, Format::Mx6), (Format::Mx4, Format::Mx9)] {
            let ((m1, n1, k1), (m2, n2, k2)) = (dims(&mut rng), dims(&mut rng));
            let (a1, b1) = operands(&mut rng, (m1, n1, k1), ft);
            let (a2, b2) = operands(&mut rng, (m2, n2, k2), fb);
            let jobs =
                [GemmJob { part: Part::Top, a: &a1, b: &b1 }, GemmJob { part: Part::Bottom, a: &a2, b: &b2 }];
            let runs = run_gemms(&mut chip, &jobs, None).unwrap();
            let what = format!("{preset} split {s}: {m1}x{k1}x{n1} {ft} over {m2}x{k2}x{n2} {fb}");
            assert_eq!(bits(&runs[0].c), bits(&gemm(&a1, &b1).unwrap()), "top, {what}");
            assert_eq!(bits(&runs[1].c), bits(&gemm(&a2, &b2).unwrap()), "bottom, {what}");
            assert_eq!(runs[0].cycles, runs[0].model.cycles, "top, {what}");
            assert_eq!(runs[1].cycles, runs[1].model.cycles, "bottom, {what}");
            assert_eq!(runs[0].counters.stall_port, 0, "the top part never waits for the port");
            // The top part runs exactly as alone; the bottom part only loses port cycles.
            let alone = run_gemms(&mut chip, &jobs[..1], None).unwrap();
            assert_eq!(alone[0].cycles, runs[0].cycles, "top alone, {what}");
            let alone = run_gemms(&mut chip, &jobs[1..], None).unwrap();
            assert_eq!(bits(&alone[0].c), bits(&runs[1].c));
            assert!(runs[1].cycles >= alone[0].cycles, "{what}");
            assert!(runs[1].cycles - alone[0].cycles <= runs[1].counters.stall_port, "{what}");
        }
    }
}

#[test]
fn tight_memory_bandwidth_stalls_exactly_as_modeled() {
    for preset in PRESETS {
        tight_memory_on(preset);
    }
}

fn tight_memory_on(preset: &str) {
    let mut chip = Chip::new(preset).unwrap();
    let mut rng = Rng::new(23);
    // From a beat every 9 cycles (every GEMM memory-bound) to 7 of 8.
    for (n, (beats, cycles)) in [(1, 9), (1, 3), (2, 5), (3, 4), (7, 8), (1, 2)].into_iter().enumerate() {
        let rate = MemoryRate::new(beats, cycles).unwrap();
        let split = 1 + n as u32 % (chip.config().rows - 1);
        set_split(&mut chip, split);
        // The slots count from an origin a few cycles back, so runs start mid-pattern too.
        chip.set_memory_rate(rate);
        let ft = Format::ALL[n % 3];
        let fb = Format::ALL[(n + 1) % 3];
        let ((m1, n1, k1), (m2, n2, k2)) = (dims(&mut rng), dims(&mut rng));
        let (a1, b1) = operands(&mut rng, (m1, n1, k1), ft);
        let (a2, b2) = operands(&mut rng, (m2, n2, k2), fb);
        let jobs =
            [GemmJob { part: Part::Top, a: &a1, b: &b1 }, GemmJob { part: Part::Bottom, a: &a2, b: &b2 }];
        for (what, jobs) in [("top alone", &jobs[..1]), ("bottom alone", &jobs[1..]), ("both", &jobs[..])] {
            let chunk = Some(1 + rng.below(2) as u32);
            let runs = run_gemms(&mut chip, jobs, chunk).unwrap();
            for (job, run) in jobs.iter().zip(&runs) {
                let what = format!("{beats}/{cycles} {what} {:?}", job.part);
                assert_eq!(bits(&run.c), bits(&gemm(job.a, job.b).unwrap()), "{what}");
                assert_eq!(run.cycles, run.model.cycles, "{what}");
                assert_eq!(run.counters.stall_memory, run.model.stall_memory, "{what}");
                assert_eq!(run.counters.stall_port, run.model.stall_port, "{what}");
            }
            // A slow memory stalls every transfer longer than a beat.
            assert!(runs[0].counters.stall_memory > 0, "{beats}/{cycles} {what}");
        }
    }
    chip.set_memory_rate(MemoryRate::FULL);
    let (a, b) = operands(&mut rng, (9, 9, 40), Format::Mx6);
    let run = &run_gemms(&mut chip, &[GemmJob { part: Part::Top, a: &a, b: &b }], None).unwrap()[0];
    assert_eq!(run.counters.stall_memory, 0, "a full-rate memory never stalls");
}

/// Runs `command` alone on `part` and checks that the chip rejected it with `code`.
fn expect_error(chip: &mut Chip, part: Part, command: Command, code: u32) {
    let before = chip.status(part);
    let split = chip.split();
    chip.push(part, command);
    chip.run(1000).unwrap();
    let after = chip.status(part);
    assert_eq!((after.last_error, after.errors), (code, before.errors + 1), "{command:?} on {part:?}");
    assert_eq!(chip.split(), split, "{command:?} changed the split");
}

/// A command word with a field overwritten.
fn with(command: Command, field: hdlgen::accel::cmd::Field, value: u128) -> Command {
    let mask = ((1u128 << field.1) - 1) << field.0;
    Command::Raw(command.encode() & !mask | (value << field.0) & mask)
}

#[test]
fn illegal_commands_set_their_code_and_change_nothing() {
    use hdlgen::accel::{cmd, error};
    let mut chip = Chip::new("small").unwrap();
    let mut rng = Rng::new(5);
    let f = Format::Mx6;
    let load_a = Command::LoadA { format: f, lanes: 2, lines: 4, spad: 0, host: 0 };
    let load_b = Command::LoadB { format: f, lanes: 4, lines: 4, spad: 0, host: 0 };
    let compute = Command::Compute {
        format: f,
        rows: 2,
        cols: 4,
        blocks: 4,
        a: 0,
        b: 0,
        clear: true,
        drain: true,
        buffer: 0,
    };
    let store = Command::Store { format: None, truncate: false, buffer: 0, rows: 2, cols: 4, host: 0 };

    // An empty top part (split 0) takes no A load, compute or store.
    set_split(&mut chip, 0);
    for c in [load_a, compute, store] {
        expect_error(&mut chip, Part::Top, c, error::EMPTY_PART);
    }
    set_split(&mut chip, 2);

    // A GEMM whose operands are loaded, then every illegal command aimed at them, then its
    // compute and store: the result must still be right.
    let (a, b) = operands(&mut rng, (2, 4, 60), f);
    let plan = host::plan::GemmPlan::new(chip.config(), 2, &a, &b, 0, None).unwrap();
    for (beat, words) in plan.operand_beats(&a, &b) {
        chip.write_host(beat, &words);
    }
    let (loads, rest) = plan.commands.split_at(2);
    for &c in loads {
        chip.push(Part::Top, c);
    }
    chip.run(1000).unwrap();
    let overflow = Command::LoadA { format: f, lanes: 2, lines: 2, spad: 0, host: u32::MAX };
    let cases = [
        (Command::Raw(0), error::OPCODE),
        (with(load_a, cmd::OPCODE, 9), error::OPCODE),
        (with(load_a, cmd::Field(127, 1), 1), error::OPCODE),
        (with(load_a, cmd::FORMAT, 3), error::FORMAT),
        (with(compute, cmd::FORMAT, 3), error::FORMAT),
        (with(load_a, cmd::ROWS, 0), error::SHAPE),
        (with(load_a, cmd::ROWS, 3), error::SHAPE),
        (with(load_b, cmd::ROWS, 5), error::SHAPE),
        (with(load_a, cmd::COUNT, 0), error::SHAPE),
        (with(compute, cmd::ROWS, 3), error::SHAPE),
        (with(compute, cmd::COLS, 5), error::SHAPE),
        (with(compute, cmd::COLS, 0), error::SHAPE),
        (with(compute, cmd::COUNT, 0), error::SHAPE),
        (with(store, cmd::ROWS, 3), error::SHAPE),
        (with(store, cmd::COLS, 5), error::SHAPE),
        (with(load_a, cmd::ADDR, 253), error::RANGE),
        (with(load_b, cmd::ADDR, 255), error::RANGE),
        (with(compute, cmd::ADDR, 253), error::RANGE),
        (with(compute, cmd::B_ADDR, 255), error::RANGE),
        (overflow, error::RANGE),
        (Command::SetSplit(5), error::SPLIT_RANGE),
    ];
    for (c, code) in cases {
        expect_error(&mut chip, Part::Top, c, code);
    }
    // Set-split while the other part works.
    chip.push(
        Part::Bottom,
        Command::Compute {
            format: Format::Mx9,
            rows: 2,
            cols: 4,
            blocks: 8,
            a: 0,
            b: 0,
            clear: true,
            drain: false,
            buffer: 0,
        },
    );
    chip.step();
    chip.step();
    expect_error(&mut chip, Part::Top, Command::SetSplit(1), error::SPLIT_BUSY);

    for &c in rest {
        chip.push(Part::Top, c);
    }
    chip.run(10_000).unwrap();
    let c = plan.results(|beat, beats| chip.read_host(beat, beats));
    assert_eq!(bits(&c), bits(&gemm(&a, &b).unwrap()));
    assert_eq!(chip.status(Part::Bottom).errors, 0);
}

/// A command that is illegal on a part of `rows` rows of an accelerator, built from a legal one.
fn illegal(rng: &mut Rng, config: AccelConfig, rows: u32) -> Command {
    use hdlgen::accel::{cmd, MAX_TILE_COLS};
    let f = Format::ALL[rng.below(3) as usize];
    let compute = Command::Compute {
        format: f,
        rows: 1,
        cols: 1,
        blocks: 1,
        a: 0,
        b: 0,
        clear: false,
        drain: true,
        buffer: 0,
    };
    let load = Command::LoadB { format: f, lanes: 1, lines: 1, spad: 0, host: 0 };
    match rng.below(7) {
        0 => Command::Raw(u128::from(rng.next_u64()) << 64 | u128::from(rng.next_u64()) | 1 << 127),
        1 => with(load, cmd::FORMAT, 3),
        2 => with(compute, cmd::ROWS, u128::from(rows) + 1 + rng.below(4) as u128),
        3 => with(
            compute,
            cmd::COLS,
            u128::from(config.tile_cols() + 1)
                + u128::from(rng.below(u64::from(MAX_TILE_COLS - config.tile_cols()))),
        ),
        4 => with(load, cmd::ADDR, u128::from(config.b_depth) + rng.below(1000) as u128),
        5 => with(compute, cmd::COUNT, 0),
        _ => Command::SetSplit(config.rows + 1 + rng.below(100) as u32),
    }
}

#[test]
fn random_command_streams_never_hang_and_stay_exact() {
    for preset in PRESETS {
        random_streams_on(preset);
    }
}

fn random_streams_on(preset: &str) {
    let mut chip = Chip::new(preset).unwrap();
    let mut rng = Rng::new(2024);
    let mut commands = 0;
    for _round in 0..40 {
        let split = rng.below(u64::from(chip.config().rows) + 1) as u32;
        set_split(&mut chip, split);
        let mut expected = Vec::new();
        let mut host = chip.host_beats();
        let mut errors = [0u32; 2];
        let before = [chip.status(Part::Top).errors, chip.status(Part::Bottom).errors];
        for part in [Part::Top, Part::Bottom] {
            let rows = chip.part_rows(part);
            if rows == 0 {
                continue;
            }
            let format = Format::ALL[rng.below(3) as usize];
            let (m, n, k) =
                (1 + rng.below(40) as usize, 1 + rng.below(40) as usize, 1 + rng.below(90) as usize);
            let (a, b) = operands(&mut rng, (m, n, k), format);
            let chunk = (rng.below(2) == 0).then(|| 1 + rng.below(4) as u32);
            let plan = host::plan::GemmPlan::new(chip.config(), rows, &a, &b, host, chunk).unwrap();
            for (beat, words) in plan.operand_beats(&a, &b) {
                chip.write_host(beat, &words);
            }
            host = plan.host_end;
            for &c in &plan.commands {
                while rng.below(3) == 0 {
                    chip.push(part, illegal(&mut rng, chip.config(), rows));
                    errors[part as usize] += 1;
                }
                if rng.below(8) == 0 {
                    chip.push(part, Command::Fence);
                    commands += 1;
                }
                chip.push(part, c);
            }
            commands += plan.commands.len() + errors[part as usize] as usize;
            expected.push((plan, gemm(&a, &b).unwrap()));
        }
        chip.run(1_000_000).expect("the watchdog: every stream ends");
        for (plan, golden) in expected {
            assert_eq!(bits(&plan.results(|beat, beats| chip.read_host(beat, beats))), bits(&golden));
        }
        for part in [Part::Top, Part::Bottom] {
            assert_eq!(chip.status(part).errors - before[part as usize], errors[part as usize]);
        }
    }
    assert!(commands > 2000, "{preset}: only {commands} commands");
}

#[test]
fn compute_bound_gemms_take_the_closed_form() {
    use host::timing::gemm_cycles;
    for preset in PRESETS {
        let mut chip = Chip::new(preset).unwrap();
        let mut rng = Rng::new(3);
        let split = chip.config().rows - 1;
        set_split(&mut chip, split);
        // K fits one scratchpad half; N spans a few tiles.
        let k_mx4 = if preset == "fpga" { 1024 } else { 2048 };
        for (format, m, k, n) in
            [(Format::Mx9, 9, 300, 10), (Format::Mx6, 12, 700, 8), (Format::Mx4, 11, k_mx4, 9)]
        {
            for part in [Part::Top, Part::Bottom] {
                let (a, b) = operands(&mut rng, (m, n, k), format);
                let run = &run_gemms(&mut chip, &[GemmJob { part, a: &a, b: &b }], None).unwrap()[0];
                let rows = chip.part_rows(part);
                let closed = gemm_cycles(chip.config(), rows, format, m as u64, n as u64, k as u64);
                assert_eq!(Some(run.cycles), closed, "{preset}: {m}x{k}x{n} {format} on {rows} rows");
                assert_eq!(bits(&run.c), bits(&gemm(&a, &b).unwrap()));
            }
        }
    }
}

#[test]
fn dacapo_preset_several_splits_both_parts() {
    let mut chip = Chip::new("dacapo").unwrap();
    let mut rng = Rng::new(16);
    for (s, formats) in
        [(16, [Format::Mx6, Format::Mx9]), (5, [Format::Mx4, Format::Mx6]), (11, [Format::Mx9, Format::Mx4])]
    {
        set_split(&mut chip, s);
        let mut mats = Vec::new();
        for format in formats {
            let (m, n, k) = dims(&mut rng);
            mats.push(operands(&mut rng, (m, n, k), format));
        }
        let parts = if s == 16 { vec![Part::Top] } else { vec![Part::Top, Part::Bottom] };
        let jobs: Vec<GemmJob> =
            parts.iter().zip(&mats).map(|(&part, (a, b))| GemmJob { part, a, b }).collect();
        let runs = run_gemms(&mut chip, &jobs, None).unwrap();
        for (run, job) in runs.iter().zip(&jobs) {
            assert_eq!(bits(&run.c), bits(&gemm(job.a, job.b).unwrap()), "split {s} {:?}", job.part);
            assert_eq!(run.cycles, run.model.cycles, "split {s} {:?}", job.part);
        }
    }
}

/// The result buffer's rows stored as MX blocks equal the golden encoder's blocks of the f32
/// results (16 columns per block, zero past the tile), in both roundings; behind a slow memory
/// the rows back up through every register of the conversion, and each store still takes the
/// model's cycles.
#[test]
fn stores_convert_results_to_mx_blocks() {
    use mx::Block;
    let tiles =
        [("small", 4u32, 3usize), ("dacapo", 16, 16), ("dacapo", 7, 11), ("fpga", 3, 10), ("fpga", 2, 7)];
    for (preset, rows, n) in tiles {
        let mut chip = Chip::new(preset).unwrap();
        let mut rng = Rng::new(u64::from(rows));
        set_split(&mut chip, rows);
        let m = rows as usize;
        let (a, b) = operands(&mut rng, (m, n, 40), Format::Mx9);
        let c = run_gemms(&mut chip, &[GemmJob { part: Part::Top, a: &a, b: &b }], None).unwrap().remove(0).c;
        let rates = [MemoryRate::FULL, MemoryRate::new(1, 3).unwrap(), MemoryRate::new(2, 5).unwrap()];
        for (i, format) in Format::ALL.into_iter().enumerate() {
            for truncate in [false, true] {
                let host = chip.host_beats();
                let store =
                    Command::Store { format: Some(format), truncate, buffer: 0, rows, cols: n as u32, host };
                chip.set_memory_rate(rates[(2 * i + usize::from(truncate)) % rates.len()]);
                let port = PortShare { rate: chip.memory_rate(), phase: chip.memory_phase(), blocked: &[] };
                let model = schedule(chip.config(), rows, &[store], port).unwrap();
                let start = chip.cycles();
                chip.push(Part::Top, store);
                let idle_at = chip.run(1000).unwrap();
                assert_eq!(idle_at[0] - start, model.cycles, "{preset} {format} truncate {truncate} cycles");
                let beats = chip.config().store_beats(Some(sim::hw_format(format)), n as u32);
                let words = chip.read_host(host, rows * beats);
                let rounding = if truncate { Rounding::Truncate } else { Rounding::NearestEven };
                let per_row = (beats * chip.config().port_bits / 32) as usize;
                for r in 0..m {
                    let values: [f32; 16] = std::array::from_fn(|j| if j < n { c[r * n + j] } else { 0.0 });
                    let mut want = vec![0u8; format.block_bytes()];
                    Block::encode(&values, format, rounding, 0).pack(format, &mut want);
                    let got: Vec<u8> =
                        words[r * per_row..].iter().flat_map(|w| w.to_le_bytes()).take(want.len()).collect();
                    assert_eq!(got, want, "{preset} row {r} {format} truncate {truncate}");
                }
            }
        }
    }
}

/// With five outputs per DPE a tile is ten columns wide and a compute reads five B words per
/// K step: the checks take both, and the last legal B word is legal.
#[test]
fn interleaved_preset_checks_tile_columns_and_b_words() {
    use hdlgen::accel::{cmd, error};
    let mut chip = Chip::new("fpga").unwrap();
    set_split(&mut chip, 2);
    let config = chip.config();
    let (f, blocks, tile_cols) = (Format::Mx6, 4, config.tile_cols());
    let compute = Command::Compute {
        format: f,
        rows: 2,
        cols: tile_cols,
        blocks,
        a: 0,
        b: 0,
        clear: true,
        drain: true,
        buffer: 0,
    };
    let store =
        Command::Store { format: None, truncate: false, buffer: 0, rows: 2, cols: tile_cols, host: 0 };
    let load_b = Command::LoadB { format: f, lanes: config.cols, lines: 1, spad: 0, host: 0 };
    let b_words = blocks * config.dpe.interleave;
    let last_b = config.b_depth - b_words;
    for (c, code) in [
        (with(compute, cmd::COLS, u128::from(tile_cols) + 1), error::SHAPE),
        (with(store, cmd::COLS, u128::from(tile_cols) + 1), error::SHAPE),
        (with(load_b, cmd::ROWS, u128::from(config.cols) + 1), error::SHAPE),
        (with(compute, cmd::B_ADDR, u128::from(last_b) + 1), error::RANGE),
    ] {
        expect_error(&mut chip, Part::Top, c, code);
    }
    let errors = chip.status(Part::Top).errors;
    for c in [with(compute, cmd::B_ADDR, u128::from(last_b)), store] {
        chip.push(Part::Top, c);
    }
    chip.run(10_000).unwrap();
    assert_eq!(chip.status(Part::Top).errors, errors, "a compute reading B's last words is legal");
}

/// What the chip refuses or runs into comes back as `sim::Error`, with what went wrong.
#[test]
fn chip_errors_are_typed() {
    use hdlgen::accel::error;
    use sim::Error;
    assert!(matches!(Chip::new("big"), Err(Error::Config(hdlgen::ConfigError::UnknownPreset { .. }))));
    let mut chip = Chip::new("small").unwrap();
    assert_eq!(chip.set_split(5).unwrap_err(), Error::SplitPastRows { split: 5, rows: 4 });
    set_split(&mut chip, 2);
    // A long compute on the bottom part: the top part's set-split is refused, and a run too
    // short to finish it reports a hang.
    let compute = Command::Compute {
        format: Format::Mx9,
        rows: 2,
        cols: 4,
        blocks: 64,
        a: 0,
        b: 0,
        clear: true,
        drain: true,
        buffer: 0,
    };
    chip.push(Part::Bottom, compute);
    chip.step();
    chip.step();
    match chip.set_split(1) {
        Err(Error::SplitRefused { split: 1, status }) => assert_eq!(status.last_error, error::SPLIT_BUSY),
        other => panic!("set-split beside a busy part: {other:?}"),
    }
    chip.push(Part::Bottom, compute);
    assert_eq!(chip.run(100), Err(Error::Hung { limit: 100 }));
    assert_eq!(Error::Hung { limit: 100 }.to_string(), "the chip hung: not idle after 100 cycles");
    chip.run(10_000).unwrap();
}

/// A plan checks its operands as the golden model does, with the same typed errors.
#[test]
fn plans_reject_operands_that_do_not_fit() {
    use host::plan::GemmShape;
    let mut rng = Rng::new(9);
    let (a, b) = operands(&mut rng, (3, 5, 40), Format::Mx6);
    let (_, b9) = operands(&mut rng, (3, 5, 40), Format::Mx9);
    let (_, b_short) = operands(&mut rng, (3, 5, 32), Format::Mx6);
    assert_eq!(GemmShape::of(&a, &b).map(|s| (s.m, s.n, s.k)), Ok((3, 5, 40)));
    assert_eq!(GemmShape::of(&a, &b9), Err(mx::Error::FormatMismatch { a: Format::Mx6, b: Format::Mx9 }));
    assert_eq!(GemmShape::of(&a, &b_short), Err(mx::Error::ShapeMismatch { a: (3, 40), b: (32, 5) }));
    assert_eq!(GemmShape::of(&b, &a), Err(mx::Error::AxisOfA));
}
