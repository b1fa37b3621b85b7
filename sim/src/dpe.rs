//! The simulated `dpe`, driven with MX blocks.

use mx::{Block, Format, BLOCK};

use crate::DpeModel;

/// One dot-product engine on the generated RTL, clocked one cycle at a time. Blocks stream
/// back to back; the accumulator reaches the outputs `hdlgen::dpe::LATENCY` cycles after a
/// block's last slice, so the harness records what the DPE delivers: the accumulator at every
/// `block_done_o` pulse and at every `drain_o`.
pub struct Dpe {
    model: DpeModel,
    cycles: u64,
    done: Vec<(u64, f32)>,
    drained: Vec<f32>,
}

impl Default for Dpe {
    fn default() -> Self {
        Dpe::new()
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

impl Dpe {
    /// A DPE just out of reset: accumulator +0, no block in flight.
    pub fn new() -> Dpe {
        let mut dpe = Dpe { model: DpeModel::new(), cycles: 0, done: Vec::new(), drained: Vec::new() };
        dpe.model.reset();
        dpe
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
        if self.model.block_done_o() == 1 {
            self.done.push((self.cycles, self.acc()));
        }
        if self.model.drain_o() == 1 {
            self.drained.push(self.acc());
        }
    }

    /// Starts a new output at +0 (one cycle), after the blocks already streamed.
    pub fn clear(&mut self) {
        self.model.set_clear_i(1);
        self.tick();
    }

    /// Sets the accumulator to `value`, to accumulate into an existing output (one cycle).
    pub fn load(&mut self, value: f32) {
        self.model.set_load_i(1);
        self.model.set_load_data_i(u64::from(value.to_bits()));
        self.tick();
    }

    /// Drains the output as the array does (one cycle): the drain, with a clear, after the
    /// blocks already streamed; `drained` returns the value it delivers.
    pub fn drain(&mut self) {
        self.model.set_drain_i(1);
        self.model.set_clear_i(1);
        self.tick();
    }

    /// Streams one block pair, one slice per cycle; returns after its last slice has been
    /// clocked in. Its sum reaches the accumulator `LATENCY - 1` cycles later.
    pub fn feed(&mut self, a: &Block, b: &Block, format: Format) {
        self.model.set_format_i(format_code(format));
        self.model.set_a_exp_i(u64::from(a.exp));
        self.model.set_b_exp_i(u64::from(b.exp));
        self.model.set_a_micro_i(u64::from(a.micro));
        self.model.set_b_micro_i(u64::from(b.micro));
        for slice in slices(a, b, format) {
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

    /// Idles until everything streamed so far has reached the accumulator.
    pub fn flush(&mut self) {
        for _ in 1..hdlgen::dpe::LATENCY {
            self.tick();
        }
    }

    pub fn acc(&self) -> f32 {
        f32::from_bits(self.model.acc_o() as u32)
    }

    /// The cycle of each `block_done_o` pulse since the last call, with the accumulator then
    /// (which includes that block).
    pub fn take_done(&mut self) -> Vec<(u64, f32)> {
        std::mem::take(&mut self.done)
    }

    /// The values delivered with `drain_o` since the last call.
    pub fn take_drained(&mut self) -> Vec<f32> {
        std::mem::take(&mut self.drained)
    }

    /// Rising clock edges since construction.
    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    /// The underlying model, for waveform tracing.
    pub fn model(&mut self) -> &mut DpeModel {
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
