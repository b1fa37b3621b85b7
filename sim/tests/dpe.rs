//! The generated `dpe` on Verilator against the golden dot product, block by block, and its
//! cycle behaviour: exactly 16 / 4 / 1 cycles per block.

use mx::rng::Rng;
use mx::{dot, Block, Format, BLOCK, CANONICAL_NAN};
use sim::{Dpe, InterleavedDpe};

/// A block with random micro-exponents, signs and magnitudes (full-scale ones often).
fn block_with_exp(rng: &mut Rng, format: Format, exp: u8) -> Block {
    let max = u64::from(format.max_mag());
    let mags = std::array::from_fn(|_| if rng.below(4) == 0 { max as u8 } else { rng.below(max + 1) as u8 });
    Block { exp, micro: rng.next_u32() as u8, signs: rng.next_u32() as u16, mags }
}

/// A block pair whose shared exponents land, as often as not, where the block value is
/// subnormal or rounds to zero (Ea + Eb near 105 + 2m) or overflows (Ea + Eb near 400);
/// otherwise anywhere, and now and then a NaN block.
fn random_pair(rng: &mut Rng, format: Format) -> (Block, Block) {
    let m = format.mag_bits() as i64;
    let sum = match rng.below(4) {
        0 => 105 + 2 * m + rng.below(50) as i64 - 30,
        1 => 380 + rng.below(40) as i64,
        _ => rng.below(509) as i64,
    };
    let ea = rng.below(255) as i64;
    let eb = (sum - ea).clamp(0, 254);
    let ea = (sum - eb).clamp(0, 254);
    let mut a = block_with_exp(rng, format, ea as u8);
    let mut b = block_with_exp(rng, format, eb as u8);
    match rng.below(40) {
        0 => a = Block::NAN,
        1 => b = Block::NAN,
        _ => {}
    }
    (a, b)
}

/// One block of a random pair.
fn random_block(rng: &mut Rng, format: Format) -> Block {
    random_pair(rng, format).0
}

/// The golden accumulator after each block of `a` x `b`, from `start`.
fn prefix_dots(a: &[Block], b: &[Block], format: Format, start: f32) -> Vec<u32> {
    (0..a.len()).map(|n| canonical(dot(&a[..=n], &b[..=n], format, start))).collect()
}

/// The bits the RTL gives for a value: every NaN as the canonical one.
fn canonical(x: f32) -> u32 {
    if x.is_nan() {
        CANONICAL_NAN.to_bits()
    } else {
        x.to_bits()
    }
}

fn values(done: &[(u64, u32, f32)]) -> Vec<u32> {
    done.iter().map(|&(_, _, v)| v.to_bits()).collect()
}

#[test]
fn random_dot_products_back_to_back() {
    let mut rng = Rng::new(0xD9E);
    let mut dpe = Dpe::new();
    for format in Format::ALL {
        for _ in 0..1500 {
            let blocks = 1 + rng.below(6) as usize;
            let (a, b): (Vec<Block>, Vec<Block>) = (0..blocks).map(|_| random_pair(&mut rng, format)).unzip();
            dpe.clear(0);
            for n in 0..blocks {
                dpe.feed(0, &a[n], &b[n], format);
            }
            dpe.flush();
            let want = prefix_dots(&a, &b, format, 0.0);
            assert_eq!(values(&dpe.take_done()), want, "{format}: {a:?} x {b:?}");
            assert_eq!(dpe.acc().to_bits(), want[blocks - 1]);
        }
    }
}

#[test]
fn accumulates_into_an_existing_value() {
    let mut rng = Rng::new(0xACC);
    let mut dpe = Dpe::new();
    let starts = [0.0f32, -0.0, 1.5, -3.0e-39, 1.0e38, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, f32::MAX];
    for format in Format::ALL {
        for _ in 0..300 {
            let start = if rng.below(3) == 0 {
                starts[rng.below(starts.len() as u64) as usize]
            } else {
                f32::from_bits(rng.next_u32())
            };
            let (a, b) = random_pair(&mut rng, format);
            dpe.load(0, start);
            dpe.feed(0, &a, &b, format);
            dpe.flush();
            let want = canonical(dot(&[a], &[b], format, start));
            assert_eq!(dpe.acc().to_bits(), want, "{format} from {start:e}: {a:?} x {b:?}");
            dpe.take_done();
        }
    }
}

/// block_done_o pulses exactly `LATENCY - 1` cycles after each block's last slice was clocked
/// in: 16, 4 and 1 cycles per block, every cycle in MX4.
#[test]
fn exactly_16_4_1_cycles_per_block_and_the_pipeline_latency() {
    let mut rng = Rng::new(0xC1C);
    let mut dpe = Dpe::new();
    let pipeline = u64::from(hdlgen::dpe::LATENCY) - 1;
    for format in Format::ALL {
        dpe.clear(0);
        dpe.flush();
        dpe.take_done();
        let start = dpe.cycles();
        let (a, b) = (random_block(&mut rng, format), random_block(&mut rng, format));
        for _ in 0..5 {
            dpe.feed(0, &a, &b, format);
        }
        dpe.flush();
        dpe.idle();
        let c = u64::from(format.cycles_per_block());
        let at: Vec<u64> = dpe.take_done().iter().map(|&(t, _, _)| t - start).collect();
        assert_eq!(at, (1..=5).map(|n| n * c + pipeline).collect::<Vec<_>>(), "{format}");
    }
}

#[test]
fn clear_restarts_and_formats_switch_between_outputs() {
    let mut rng = Rng::new(0x5EED);
    let mut dpe = Dpe::new();
    for _ in 0..200 {
        for format in [Format::Mx4, Format::Mx9, Format::Mx6] {
            let (a, b) = (random_block(&mut rng, format), random_block(&mut rng, format));
            dpe.clear(0);
            dpe.flush();
            assert_eq!(dpe.acc().to_bits(), 0);
            dpe.feed(0, &a, &b, format);
            dpe.flush();
            assert_eq!(dpe.acc().to_bits(), dot(&[a], &[b], format, 0.0).to_bits(), "{format}");
        }
    }
    // Exactly cancelling blocks leave +0; zero blocks keep the accumulator.
    let mut a = Block { exp: 130, micro: 0, signs: 0, mags: [3; BLOCK] };
    dpe.clear(0);
    dpe.feed(0, &a, &a, Format::Mx4);
    a.signs = 0xFFFF;
    let b = Block { signs: 0, ..a };
    dpe.feed(0, &a, &b, Format::Mx4);
    dpe.flush();
    assert_eq!(dpe.acc().to_bits(), 0);
}

/// A clear, a load or a drain given in the cycle right after a block (its sum still in the
/// pipeline) acts after that block, as the array gives them: the drain delivers the whole
/// output, and the next output starts from +0 or the loaded value. Outputs alternate formats,
/// so a format change follows a full pipeline too.
#[test]
fn clear_load_and_drain_with_blocks_in_flight() {
    let mut rng = Rng::new(0xF117);
    let mut dpe = Dpe::new();
    for round in 0..600 {
        let format = Format::ALL[round % 3];
        let blocks = 1 + rng.below(4) as usize;
        let (a, b): (Vec<Block>, Vec<Block>) = (0..blocks).map(|_| random_pair(&mut rng, format)).unzip();
        let start = match rng.below(3) {
            0 => {
                dpe.clear(0);
                0.0
            }
            1 => {
                let v = f32::from_bits(rng.next_u32());
                dpe.load(0, v);
                v
            }
            _ => 0.0, // the previous round's drain cleared it
        };
        for n in 0..blocks {
            dpe.feed(0, &a[n], &b[n], format);
        }
        dpe.drain(0);
        let want = prefix_dots(&a, &b, format, start);
        dpe.flush();
        assert_eq!(values(&dpe.take_done()), want, "round {round} {format}");
        assert_eq!(
            dpe.take_drained().iter().map(|&(_, v)| v.to_bits()).collect::<Vec<_>>(),
            [want[blocks - 1]]
        );
        assert_eq!(dpe.acc().to_bits(), 0, "the drain's clear empties the accumulator");
    }
}

/// The interleaved DPE (one output per slot, every stage split) with outputs of the given
/// lengths, one per slot: their blocks streamed in turn, slot after slot, each output started
/// by a clear or a load and ended by a drain given right behind the last blocks. Returns the
/// cycles from the first clear or load to the last block.
fn interleaved_round(dpe: &mut InterleavedDpe, rng: &mut Rng, format: Format, lengths: &[usize]) -> u64 {
    let slots = dpe.config().interleave as usize;
    assert_eq!(lengths.len(), slots);
    let pairs: Vec<(Vec<Block>, Vec<Block>)> =
        lengths.iter().map(|&n| (0..n).map(|_| random_pair(rng, format)).unzip()).collect();
    // Each output starts with a clear or a load right in front of its first block, so that
    // the block enters the adder while the clear or load is still in it.
    let starts: Vec<Option<f32>> =
        (0..slots).map(|_| (rng.below(2) == 0).then(|| f32::from_bits(rng.next_u32()))).collect();
    let begin = dpe.cycles();
    let longest = lengths.iter().copied().max().unwrap_or(0).max(1);
    for k in 0..longest {
        for (slot, (a, b)) in pairs.iter().enumerate() {
            if k == 0 {
                match starts[slot] {
                    Some(v) => dpe.load(slot as u32, v),
                    None => dpe.clear(slot as u32),
                }
            }
            if k < a.len() {
                dpe.feed(slot as u32, &a[k], &b[k], format);
            }
        }
    }
    let starts: Vec<f32> = starts.iter().map(|s| s.unwrap_or(0.0)).collect();
    let streamed = dpe.cycles() - begin;
    for slot in 0..slots {
        dpe.drain(slot as u32);
    }
    dpe.flush();
    let mut want_done = Vec::new();
    for k in 0..longest {
        for (slot, (a, b)) in pairs.iter().enumerate() {
            if k < a.len() {
                want_done.push((slot as u32, canonical(dot(&a[..=k], &b[..=k], format, starts[slot]))));
            }
        }
    }
    let done: Vec<(u32, u32)> = dpe.take_done().iter().map(|&(_, s, v)| (s, v.to_bits())).collect();
    // With a drain in the same cycle a block's pulse is not seen; every other one is.
    assert!(done.iter().all(|d| want_done.contains(d)), "{format} {lengths:?}: {done:x?} vs {want_done:x?}");
    assert!(done.len() + slots >= want_done.len(), "{format} {lengths:?}: pulses missing");
    let drained: Vec<(u32, u32)> = dpe.take_drained().iter().map(|&(s, v)| (s, v.to_bits())).collect();
    let want_drained: Vec<(u32, u32)> = (0..slots)
        .map(|slot| {
            let (a, b) = &pairs[slot];
            // Without a block the loaded value comes back as it was, NaN payload and all.
            let value = if a.is_empty() {
                starts[slot].to_bits()
            } else {
                canonical(dot(a, b, format, starts[slot]))
            };
            (slot as u32, value)
        })
        .collect();
    assert_eq!(drained, want_drained, "{format} {lengths:?}");
    streamed
}

/// Every slot's output interleaved at full rate: in MX4 a block every cycle, each of another output,
/// while each output's sums are still in the five-stage adder; drains right behind.
#[test]
fn interleaved_outputs_back_to_back_at_full_rate() {
    let mut rng = Rng::new(0x1A7E);
    let mut dpe = InterleavedDpe::new();
    for format in Format::ALL {
        for _ in 0..300 {
            let k = 1 + rng.below(5) as usize;
            let slots = dpe.config().interleave as usize;
            let streamed = interleaved_round(&mut dpe, &mut rng, format, &vec![k; slots]);
            // One cycle per clear or load, then the blocks without a bubble.
            let slots = slots as u64;
            assert_eq!(streamed, slots + slots * k as u64 * u64::from(format.cycles_per_block()), "{format}");
        }
    }
}

/// Outputs of different lengths: once the shorter ones end, fewer slots take turns, one slot's
/// blocks come back to the adder sooner, and where that would be sooner than the adder's
/// stages (MX4, MX6) the harness waits, as a compute unit must.
#[test]
fn interleaved_outputs_of_ragged_lengths() {
    let mut rng = Rng::new(0x8A66);
    let mut dpe = InterleavedDpe::new();
    for format in Format::ALL {
        for _ in 0..300 {
            let lengths: Vec<usize> = (0..dpe.config().interleave).map(|_| rng.below(5) as usize).collect();
            interleaved_round(&mut dpe, &mut rng, format, &lengths);
        }
    }
}

/// block_done_o pulses `latency - 1` cycles after each block's last slice, with its slot.
#[test]
fn interleaved_latency_and_slots() {
    let mut rng = Rng::new(0x5107);
    let mut dpe = InterleavedDpe::new();
    let pipeline = u64::from(dpe.config().latency()) - 1;
    assert_eq!(
        pipeline, 10,
        "three block-sum, three scaling and five adder stages, less the last slice's cycle"
    );
    for format in Format::ALL {
        let slots = dpe.config().interleave;
        for slot in 0..slots {
            dpe.clear(slot);
        }
        dpe.flush();
        dpe.take_done();
        let start = dpe.cycles();
        let (a, b) = (random_block(&mut rng, format), random_block(&mut rng, format));
        for n in 0..8 {
            dpe.feed(n % slots, &a, &b, format);
        }
        dpe.flush();
        dpe.idle();
        let c = u64::from(format.cycles_per_block());
        let at: Vec<(u64, u32)> = dpe.take_done().iter().map(|&(t, s, _)| (t - start, s)).collect();
        let want: Vec<(u64, u32)> = (1..=8).map(|n| (n * c + pipeline, (n - 1) as u32 % slots)).collect();
        assert_eq!(at, want, "{format}");
    }
}

/// A clear or a load in the middle of a block abandons it: its slices already in the block
/// sum's two stages never reach an accumulator, and the next block starts afresh.
#[test]
fn interleaved_clear_or_load_abandons_an_unfinished_block() {
    let mut rng = Rng::new(0xAB4D);
    let mut dpe = InterleavedDpe::new();
    for format in [Format::Mx9, Format::Mx6] {
        for _ in 0..200 {
            let slot = rng.below(u64::from(dpe.config().interleave)) as u32;
            let (x, y) = random_pair(&mut rng, format);
            let part = 1 + rng.below(u64::from(format.cycles_per_block()) - 1) as usize;
            dpe.feed_slices(slot, &x, &y, format, part);
            let start = if rng.below(2) == 0 {
                dpe.clear(slot);
                0.0
            } else {
                let v = f32::from_bits(rng.next_u32() & 0x7F7F_FFFF);
                dpe.load(slot, v);
                v
            };
            let (a, b) = random_pair(&mut rng, format);
            dpe.feed(slot, &a, &b, format);
            dpe.flush();
            dpe.drain(slot);
            dpe.flush();
            let want = canonical(dot(&[a], &[b], format, start));
            assert_eq!(
                dpe.take_done().iter().map(|&(_, s, v)| (s, v.to_bits())).collect::<Vec<_>>(),
                [(slot, want)]
            );
            assert_eq!(
                dpe.take_drained().iter().map(|&(s, v)| (s, v.to_bits())).collect::<Vec<_>>(),
                [(slot, want)]
            );
        }
    }
}
