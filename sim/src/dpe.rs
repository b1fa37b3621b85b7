//! The simulated `dpe`, driven with MX blocks.

use mx::{Block, Format, BLOCK};

use hdlgen::dpe::DpeConfig;

use crate::{DpeI5335Model, DpeModel};

/// A generated DPE's Verilator model, as [`DpeHarness`] drives it: every DPE configuration
/// the sim crate builds has these ports (with one accumulator, no slot ports: slot 0).
pub trait DpePorts {
    /// The generator parameters of the model.
    const CONFIG: DpeConfig;
    fn create() -> Self;
    fn reset(&mut self);
    fn tick(&mut self);
    fn set_format_i(&mut self, value: u64);
    fn set_clear_i(&mut self, value: u64);
    fn set_load_i(&mut self, value: u64);
    fn set_load_data_i(&mut self, value: u64);
    fn set_drain_i(&mut self, value: u64);
    fn set_valid_i(&mut self, value: u64);
    fn set_slot_i(&mut self, value: u64);
    fn set_a_exp_i(&mut self, value: u64);
    fn set_b_exp_i(&mut self, value: u64);
    fn set_a_micro_i(&mut self, value: u64);
    fn set_b_micro_i(&mut self, value: u64);
    fn set_a_sign_i(&mut self, value: u64);
    fn set_a_mag_i(&mut self, value: u64);
    fn set_b_sign_i(&mut self, value: u64);
    fn set_b_mag_i(&mut self, value: u64);
    fn acc_o(&self) -> u64;
    fn block_done_o(&self) -> u64;
    fn drain_o(&self) -> u64;
    fn slot_o(&self) -> u64;
}

macro_rules! dpe_ports {
    ($model:ident, $config:expr $(, $slot_in:ident, $slot_out:ident)?) => {
        impl DpePorts for $model {
            const CONFIG: DpeConfig = $config;
            fn create() -> Self {
                $model::new()
            }
            fn reset(&mut self) {
                $model::reset(self)
            }
            fn tick(&mut self) {
                $model::tick(self)
            }
            dpe_ports!(@set $model: set_format_i, set_clear_i, set_load_i, set_load_data_i, set_drain_i,
                set_valid_i, set_a_exp_i, set_b_exp_i, set_a_micro_i, set_b_micro_i, set_a_sign_i,
                set_a_mag_i, set_b_sign_i, set_b_mag_i);
            dpe_ports!(@get $model: acc_o, block_done_o, drain_o);
            fn set_slot_i(&mut self, _value: u64) {
                $($model::$slot_in(self, _value);)?
            }
            fn slot_o(&self) -> u64 {
                0 $(+ $model::$slot_out(self))?
            }
        }
    };
    (@set $model:ident: $($name:ident),*) => {
        $(fn $name(&mut self, value: u64) {
            $model::$name(self, value)
        })*
    };
    (@get $model:ident: $($name:ident),*) => {
        $(fn $name(&self) -> u64 {
            $model::$name(self)
        })*
    };
}

dpe_ports!(DpeModel, DpeConfig::SINGLE);
dpe_ports!(DpeI5335Model, DpeConfig::INTERLEAVED, set_slot_i, slot_o);

/// The presets' DPE (one accumulator, the addition in one cycle).
pub type Dpe = DpeHarness<DpeModel>;
/// The interleaved DPE (`DpeConfig::INTERLEAVED`): five accumulators, the block sum and the
/// scaling in three stages each, the addition in five.
pub type InterleavedDpe = DpeHarness<DpeI5335Model>;

/// One dot-product engine on the generated RTL, clocked one cycle at a time. Blocks stream
/// back to back; the accumulator reaches the outputs `latency` cycles after a block's last
/// slice, so the harness records what the DPE delivers: the accumulator of the slot at every
/// `block_done_o` pulse and at every `drain_o`.
pub struct DpeHarness<M> {
    model: M,
    cycles: u64,
    /// The cycle each slot's last block ended in (its last slice was clocked in).
    block_ends: Vec<Option<u64>>,
    done: Vec<(u64, u32, f32)>,
    drained: Vec<(u32, f32)>,
}

impl<M: DpePorts> Default for DpeHarness<M> {
    fn default() -> Self {
        DpeHarness::new()
    }
}

/// hdlgen's view of a format.
pub fn hw_format(format: Format) -> hdlgen::MxFormat {
    match format {
        Format::Mx9 => hdlgen::MxFormat::MX9,
        Format::Mx6 => hdlgen::MxFormat::MX6,
        Format::Mx4 => hdlgen::MxFormat::MX4,
    }
}

/// The format code on `format_i` (hdlgen's `MxFormat::code`).
pub fn format_code(format: Format) -> u64 {
    u64::from(hw_format(format).code)
}

impl<M: DpePorts> DpeHarness<M> {
    /// A DPE just out of reset: accumulators +0, no block in flight.
    pub fn new() -> Self {
        let block_ends = vec![None; M::CONFIG.interleave as usize];
        let mut dpe =
            DpeHarness { model: M::create(), cycles: 0, block_ends, done: Vec::new(), drained: Vec::new() };
        dpe.model.reset();
        dpe
    }

    /// The generator parameters of the DPE.
    pub fn config(&self) -> DpeConfig {
        M::CONFIG
    }

    /// One clock cycle, then the one-cycle inputs back to idle for the next; records what the
    /// outputs deliver after the edge.
    fn tick(&mut self) {
        self.model.tick();
        self.model.set_clear_i(0);
        self.model.set_load_i(0);
        self.model.set_valid_i(0);
        self.model.set_drain_i(0);
        self.cycles += 1;
        let slot = self.model.slot_o() as u32;
        let draining = self.model.drain_o() == 1;
        if draining {
            self.drained.push((slot, self.acc()));
        }
        // In a drain's cycle an interleaved DPE's acc_o shows the drained slot, which need not
        // be the one whose block completed.
        if self.model.block_done_o() == 1 && (!draining || M::CONFIG.interleave == 1) {
            self.done.push((self.cycles, slot, self.acc()));
        }
    }

    /// Starts a new output at +0 in `slot` (one cycle), after the blocks already streamed.
    pub fn clear(&mut self, slot: u32) {
        self.model.set_slot_i(u64::from(slot));
        self.model.set_clear_i(1);
        self.tick();
    }

    /// Sets the accumulator of `slot` to `value`, to accumulate into an existing output (one
    /// cycle).
    pub fn load(&mut self, slot: u32, value: f32) {
        self.model.set_slot_i(u64::from(slot));
        self.model.set_load_i(1);
        self.model.set_load_data_i(u64::from(value.to_bits()));
        self.tick();
    }

    /// Drains `slot` as the array does (one cycle): the drain, with a clear, after the blocks
    /// already streamed; `take_drained` returns the value it delivers.
    pub fn drain(&mut self, slot: u32) {
        self.model.set_slot_i(u64::from(slot));
        self.model.set_drain_i(1);
        self.model.set_clear_i(1);
        self.tick();
    }

    /// Streams one block pair into `slot`, one slice per cycle; returns after its last slice has
    /// been clocked in. Its sum reaches the accumulator `latency - 1` cycles later.
    pub fn feed(&mut self, slot: u32, a: &Block, b: &Block, format: Format) {
        self.feed_slices(slot, a, b, format, format.cycles_per_block() as usize);
    }

    /// Streams the first `count` slices of a block pair into `slot` (fewer than all leave the
    /// block unfinished, for a clear or load to abandon). A whole block of a slot whose last
    /// block ended fewer than `add_stages` cycles before this one would end waits idle cycles
    /// first, as the DPE requires (its sum must be out of the adder).
    pub fn feed_slices(&mut self, slot: u32, a: &Block, b: &Block, format: Format, count: usize) {
        if count == format.cycles_per_block() as usize {
            let end = self.cycles + count as u64;
            if let Some(previous) = self.block_ends[slot as usize] {
                for _ in end..previous + u64::from(M::CONFIG.add_stages) {
                    self.tick();
                }
            }
            self.block_ends[slot as usize] = Some(self.cycles + count as u64);
        }
        self.model.set_format_i(format_code(format));
        self.model.set_slot_i(u64::from(slot));
        self.model.set_a_exp_i(u64::from(a.exp));
        self.model.set_b_exp_i(u64::from(b.exp));
        self.model.set_a_micro_i(u64::from(a.micro));
        self.model.set_b_micro_i(u64::from(b.micro));
        for slice in slices(a, b, format).into_iter().take(count) {
            self.model.set_valid_i(1);
            self.model.set_a_sign_i(slice.a_sign);
            self.model.set_a_mag_i(slice.a_mag);
            self.model.set_b_sign_i(slice.b_sign);
            self.model.set_b_mag_i(slice.b_mag);
            self.tick();
        }
    }

    /// One idle cycle.
    pub fn idle(&mut self) {
        self.tick();
    }

    /// Idles until everything streamed so far has reached the accumulators.
    pub fn flush(&mut self) {
        for _ in 1..M::CONFIG.latency() {
            self.tick();
        }
    }

    /// The accumulator on `acc_o` (of the slot on `slot_o`).
    pub fn acc(&self) -> f32 {
        f32::from_bits(self.model.acc_o() as u32)
    }

    /// The cycle of each `block_done_o` pulse since the last call, with its slot and the slot's
    /// accumulator then (which includes that block). With interleave, a pulse in a drain's cycle
    /// is not seen.
    pub fn take_done(&mut self) -> Vec<(u64, u32, f32)> {
        std::mem::take(&mut self.done)
    }

    /// The slot and value delivered with each `drain_o` since the last call.
    pub fn take_drained(&mut self) -> Vec<(u32, f32)> {
        std::mem::take(&mut self.drained)
    }

    /// Rising clock edges since construction.
    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    /// The underlying model, for waveform tracing.
    pub fn model(&mut self) -> &mut M {
        &mut self.model
    }
}

/// What the `dpe` operand ports carry in one cycle of a block pair.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slice {
    pub a_sign: u64,
    pub a_mag: u64,
    pub b_sign: u64,
    pub b_mag: u64,
}

/// The 16, 4 or 1 slices that stream a block pair through a DPE, in cycle order.
pub fn slices(a: &Block, b: &Block, format: Format) -> Vec<Slice> {
    operand_slices(a, format)
        .into_iter()
        .zip(operand_slices(b, format))
        .map(|((a_sign, a_mag), (b_sign, b_mag))| Slice { a_sign, a_mag, b_sign, b_mag })
        .collect()
}

/// One operand's (signs, two-bit digits) per slice, in cycle order.
pub fn operand_slices(block: &Block, format: Format) -> Vec<(u64, u64)> {
    let per_slice = BLOCK / format.cycles_per_block() as usize;
    (0..format.cycles_per_block() as usize)
        .map(|slice| slice_lanes(block, slice * per_slice..(slice + 1) * per_slice, format))
        .collect()
}

/// The sign and two-bit-digit lanes of the `elements` of one slice (the `dpe` port layout):
/// element e of the slice has its magnitude at bit `e * 2 * digits` and its sign at bit e.
fn slice_lanes(block: &Block, elements: std::ops::Range<usize>, format: Format) -> (u64, u64) {
    let digit_bits = 2 * format.mag_bits().div_ceil(2) as usize;
    elements.enumerate().fold((0, 0), |(signs, mags), (e, i)| {
        (signs | u64::from(block.signs >> i & 1) << e, mags | u64::from(block.mags[i]) << (e * digit_bits))
    })
}
