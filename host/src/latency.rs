//! What a kernel of a whole network costs on a part of the accelerator, from the timing model:
//! every GEMM of the network's layer list runs as its `GemmPlan` on an idle part, one after
//! the other, with the host memory paced by a `MemoryRate`. The allocation algorithm reads
//! these numbers (seconds per iteration) from the table `dacapo profile` writes.

use std::collections::HashMap;
use std::ops::{Add, Mul};

use anyhow::ensure;
use hdlgen::accel::AccelConfig;
use mx::Format;
use sim::MemoryRate;

use crate::plan::{GemmPlan, GemmShape};
use crate::timing::{schedule, PortShare};
use crate::workloads::{network, Gemm, Model};

/// The three kernels of continuous learning.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    /// The student classifying frames: its forward GEMMs.
    Infer,
    /// The teacher labeling frames: its forward GEMMs (the same work as `Infer` on that model).
    Label,
    /// One training iteration: per layer the forward, input-gradient and weight-gradient GEMMs.
    Train,
}

impl Kernel {
    pub const ALL: [Kernel; 3] = [Kernel::Infer, Kernel::Label, Kernel::Train];

    pub fn name(self) -> &'static str {
        match self {
            Kernel::Infer => "infer",
            Kernel::Label => "label",
            Kernel::Train => "train",
        }
    }

    pub fn parse(name: &str) -> anyhow::Result<Kernel> {
        crate::named::by_name(&Kernel::ALL, Kernel::name, name, ("kernel", "kernels"))
    }

    /// The GEMMs one iteration of this kernel runs.
    pub fn gemms(self, model: Model, batch: u64, classes: u64) -> Vec<Gemm> {
        let forward = network(model, batch, classes).gemms;
        match self {
            Kernel::Infer | Kernel::Label => forward,
            Kernel::Train => forward.iter().flat_map(Gemm::training).collect(),
        }
    }
}

/// Cycles and what filled them, for one GEMM or a sum of them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cost {
    /// Cycles from the first command until the part is idle with the results stored.
    pub cycles: u64,
    /// Cycles the compute unit streamed (clear, slices, drains).
    pub compute: u64,
    /// Cycles the DMA unit waited for a memory slot.
    pub stall_memory: u64,
    /// Useful multiply-accumulates.
    pub macs: u64,
}

impl Add for Cost {
    type Output = Cost;
    fn add(self, o: Cost) -> Cost {
        Cost {
            cycles: self.cycles + o.cycles,
            compute: self.compute + o.compute,
            stall_memory: self.stall_memory + o.stall_memory,
            macs: self.macs + o.macs,
        }
    }
}

impl Mul<u64> for Cost {
    type Output = Cost;
    fn mul(self, n: u64) -> Cost {
        Cost {
            cycles: self.cycles * n,
            compute: self.compute * n,
            stall_memory: self.stall_memory * n,
            macs: self.macs * n,
        }
    }
}

impl Cost {
    /// Useful MACs over the MAC slots of `dpes` DPEs in `format` during `cycles`.
    pub fn utilization(&self, dpes: u64, format: Format) -> f64 {
        let per_cycle = (mx::BLOCK as u32 / format.cycles_per_block()) as u64;
        self.macs as f64 / (dpes * per_cycle * self.cycles.max(1)) as f64
    }
}

/// Tile rows scheduled in full before a GEMM's cost is extrapolated. After the first few
/// tile rows a plan repeats itself every two tile rows (the result buffers and scratchpad
/// halves alternate per tile, so an odd tile count per row flips them from row to row).
const STEADY_AFTER: usize = 4;

/// Pairs of tile rows averaged under a throttled memory.
const THROTTLED_PAIRS: usize = 8;

/// The top part's periodic work beside a kernel on the bottom part: one iteration of
/// `model`'s `kernel` at `batch` in `format` on its `rows` rows, started every `period` cycles
/// (the student's inference of every frame).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Beside {
    pub model: Model,
    pub kernel: Kernel,
    pub format: Format,
    pub rows: u32,
    pub batch: u64,
    pub period: u64,
}

/// Starting phases within the top part's period that `Profiler::kernel_beside` averages.
const BESIDE_PHASES: u64 = 4;

/// A kernel iteration's key: model, kernel, format, part rows, batch.
pub type KernelKey = (Model, Kernel, Format, u32, u64);

/// GEMM and kernel costs on one accelerator configuration, remembered per GEMM shape.
pub struct Profiler {
    config: AccelConfig,
    rate: MemoryRate,
    known: HashMap<(u32, GemmShape), Cost>,
    known_beside: HashMap<(KernelKey, Beside), Cost>,
}

impl Profiler {
    pub fn new(config: AccelConfig, rate: MemoryRate) -> Profiler {
        Profiler { config, rate, known: HashMap::new(), known_beside: HashMap::new() }
    }

    pub fn config(&self) -> AccelConfig {
        self.config
    }

    /// The schedule of the whole plan for GEMMs of a few tile rows; beyond, the first tile
    /// rows scheduled (the last one ragged as in the full GEMM) plus the cycles of every
    /// further pair of tile rows, taken from the last scheduled pair(s). Exact at full memory
    /// rate (tested against the full schedule).
    pub fn gemm(&mut self, part_rows: u32, shape: GemmShape) -> anyhow::Result<Cost> {
        if let Some(&cost) = self.known.get(&(part_rows, shape)) {
            return Ok(cost);
        }
        let p = part_rows.max(1) as usize;
        let tile_rows = shape.m.div_ceil(p);
        let m_last = shape.m - (tile_rows.max(1) - 1) * p;
        let first =
            |rows: usize| self.scheduled(part_rows, GemmShape { m: (rows - 1) * p + m_last, ..shape });
        // Under a throttled memory the pairs start at different phases of its slot
        // pattern; averaging over several keeps the estimate within a few per mille.
        let span = if self.rate == MemoryRate::FULL { 1 } else { THROTTLED_PAIRS };
        let cost = if tile_rows <= STEADY_AFTER + 2 * span {
            first(tile_rows)?
        } else {
            let odd = (tile_rows - STEADY_AFTER) % 2;
            let pairs = ((tile_rows - STEADY_AFTER) / 2) as u64;
            let (before, after) = (first(STEADY_AFTER + odd)?, first(STEADY_AFTER + odd + 2 * span)?);
            let more = |b: u64, a: u64| b + pairs * (a - b) / span as u64;
            Cost {
                cycles: more(before.cycles, after.cycles),
                compute: more(before.compute, after.compute),
                stall_memory: more(before.stall_memory, after.stall_memory),
                macs: (shape.m * shape.n * shape.k) as u64,
            }
        };
        self.known.insert((part_rows, shape), cost);
        Ok(cost)
    }

    fn scheduled(&self, part_rows: u32, shape: GemmShape) -> anyhow::Result<Cost> {
        let plan = GemmPlan::for_shape(self.config, part_rows, shape, 0, None)?;
        let port = PortShare { rate: self.rate, ..PortShare::default() };
        let s = schedule(self.config, part_rows, &plan.commands, port)?;
        Ok(Cost { cycles: s.cycles, compute: s.compute, stall_memory: s.stall_memory, macs: plan.macs() })
    }

    /// One iteration of `kernel` on the bottom part (`part_rows` rows) while the top part runs
    /// `beside`, as the chip arbitrates the host port: the top part wins every cycle both
    /// request, so each of the kernel's GEMMs, scheduled in full and in order, loses the
    /// cycles the top part's requests take at that time. The mean over four starting phases
    /// within the top part's period.
    pub fn kernel_beside(
        &mut self,
        (model, kernel, format, part_rows, batch): KernelKey,
        beside: Beside,
    ) -> anyhow::Result<Cost> {
        let key = ((model, kernel, format, part_rows, batch), beside);
        if let Some(&cost) = self.known_beside.get(&key) {
            return Ok(cost);
        }
        let mut top = Vec::new();
        let mut period_used = 0;
        for (plan, _, count) in
            self.plans(beside.model, beside.kernel, beside.format, beside.rows, beside.batch)?
        {
            for _ in 0..count {
                let port = PortShare { rate: self.rate, phase: period_used, blocked: &[] };
                let s = schedule(self.config, beside.rows, &plan.commands, port)?;
                top.extend(s.requests.iter().map(|&(lo, hi)| (lo + period_used, hi + period_used)));
                period_used += s.cycles;
            }
        }
        ensure!(
            period_used <= beside.period,
            "the top part's {} takes {period_used} cycles, more than its period of {}",
            beside.kernel.name(),
            beside.period
        );
        let bottom = self.plans(model, kernel, format, part_rows, batch)?;
        let mut total = Cost::default();
        for phase in 0..BESIDE_PHASES {
            let mut at = phase * beside.period / BESIDE_PHASES;
            for (plan, macs, _) in bottom.iter().flat_map(|g| std::iter::repeat_n(g, g.2 as usize)) {
                // The top part's requests from `at` on, in the GEMM's cycles, over a span the
                // GEMM stays within (it gets at least the port cycles the top part leaves).
                let alone = schedule(
                    self.config,
                    part_rows,
                    &plan.commands,
                    PortShare { rate: self.rate, phase: at, blocked: &[] },
                )?
                .cycles;
                let mut span = 2 * alone + beside.period;
                let s = loop {
                    let blocked = repeat_from(&top, beside.period, at, span);
                    let port = PortShare { rate: self.rate, phase: at, blocked: &blocked };
                    let s = schedule(self.config, part_rows, &plan.commands, port)?;
                    if s.cycles < span {
                        break s;
                    }
                    span *= 2;
                };
                total = total
                    + Cost {
                        cycles: s.cycles,
                        compute: s.compute,
                        stall_memory: s.stall_memory,
                        macs: *macs,
                    };
                at += s.cycles;
            }
        }
        let mean = |x: u64| x / BESIDE_PHASES;
        let cost = Cost {
            cycles: mean(total.cycles),
            compute: mean(total.compute),
            stall_memory: mean(total.stall_memory),
            macs: mean(total.macs),
        };
        self.known_beside.insert(key, cost);
        Ok(cost)
    }

    /// The plans of one iteration of a kernel's GEMMs, in order, with their useful MACs and
    /// how many times each runs in a row.
    fn plans(
        &self,
        model: Model,
        kernel: Kernel,
        format: Format,
        part_rows: u32,
        batch: u64,
    ) -> anyhow::Result<Vec<(GemmPlan, u64, u64)>> {
        kernel
            .gemms(model, batch, CLASSES)
            .into_iter()
            .map(|g| {
                let shape = GemmShape { format, m: g.m as usize, n: g.n as usize, k: g.k as usize };
                let plan = GemmPlan::for_shape(self.config, part_rows, shape, 0, None)?;
                let macs = plan.macs();
                Ok((plan, macs, g.count))
            })
            .collect()
    }

    /// One iteration of `kernel` on `model` at `batch`, every GEMM in `format`, on a part of
    /// `part_rows` rows: the sum of its GEMMs, each from an idle part.
    pub fn kernel(
        &mut self,
        model: Model,
        kernel: Kernel,
        format: Format,
        part_rows: u32,
        batch: u64,
    ) -> anyhow::Result<Cost> {
        let mut total = Cost::default();
        for g in kernel.gemms(model, batch, CLASSES) {
            let shape = GemmShape { format, m: g.m as usize, n: g.n as usize, k: g.k as usize };
            total = total + self.gemm(part_rows, shape)? * g.count;
        }
        Ok(total)
    }
}

/// `requests` (cycles within one period, sorted) repeated every `period` cycles, as seen from
/// cycle `at` for `span` cycles: shifted so that `at` is cycle 0.
fn repeat_from(requests: &[(u64, u64)], period: u64, at: u64, span: u64) -> Vec<(u64, u64)> {
    let mut out = Vec::new();
    let mut start = at / period * period;
    while start < at + span {
        for &(lo, hi) in requests {
            let (lo, hi) = (lo + start, hi + start);
            if hi >= at && lo < at + span {
                out.push((lo.max(at) - at, hi - at));
            }
        }
        start += period;
    }
    out
}

/// Output classes of every network in the scenarios.
pub const CLASSES: u64 = 9;

/// The batch sizes of the table: 1 (inference, labeling) and 16 (retraining, validation).
pub const BATCHES: [u64; 2] = [1, 16];

/// One row of the latency table.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Entry {
    pub model: Model,
    pub kernel: Kernel,
    pub format: Format,
    pub rows: u32,
    pub batch: u64,
    pub cost: Cost,
}

/// Seconds per iteration of every model x kernel x format x part rows (1..=R) x batch, for
/// one accelerator configuration, memory rate and clock.
#[derive(Clone, Debug, PartialEq)]
pub struct Table {
    pub cols: u32,
    pub clock_mhz: f64,
    pub entries: Vec<Entry>,
}

const CSV_HEADER: &str = "model,kernel,format,rows,batch,seconds,cycles,utilization,compute_cycles,\
                          idle_cycles,stall_memory_cycles,macs";

impl Table {
    /// Computes every entry; `progress(done, total)` after each model.
    pub fn compute(
        profiler: &mut Profiler,
        clock_mhz: f64,
        mut progress: impl FnMut(usize, usize),
    ) -> anyhow::Result<Table> {
        let config = profiler.config();
        let mut entries = Vec::new();
        for (done, model) in Model::ALL.into_iter().enumerate() {
            for kernel in Kernel::ALL {
                for format in Format::ALL {
                    for rows in 1..=config.rows {
                        for batch in BATCHES {
                            let cost = profiler.kernel(model, kernel, format, rows, batch)?;
                            entries.push(Entry { model, kernel, format, rows, batch, cost });
                        }
                    }
                }
            }
            progress(done + 1, Model::ALL.len());
        }
        Ok(Table { cols: config.cols, clock_mhz, entries })
    }

    pub fn seconds(&self, entry: &Entry) -> f64 {
        entry.cost.cycles as f64 / (self.clock_mhz * 1e6)
    }

    pub fn utilization(&self, entry: &Entry) -> f64 {
        entry.cost.utilization(u64::from(entry.rows * self.cols), entry.format)
    }

    pub fn get(&self, model: Model, kernel: Kernel, format: Format, rows: u32, batch: u64) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|e| (e.model, e.kernel, e.format, e.rows, e.batch) == (model, kernel, format, rows, batch))
    }

    /// The fewest rows on which one iteration takes at most `seconds`.
    pub fn fewest_rows(
        &self,
        model: Model,
        kernel: Kernel,
        format: Format,
        batch: u64,
        seconds: f64,
    ) -> Option<u32> {
        self.entries
            .iter()
            .filter(|e| (e.model, e.kernel, e.format, e.batch) == (model, kernel, format, batch))
            .filter(|e| self.seconds(e) <= seconds)
            .map(|e| e.rows)
            .min()
    }

    pub fn to_csv(&self) -> String {
        let mut out = format!("{CSV_HEADER}\n");
        for e in &self.entries {
            let c = e.cost;
            out += &format!(
                "{},{},{},{},{},{:.9},{},{:.4},{},{},{},{}\n",
                e.model.name(),
                e.kernel.name(),
                e.format,
                e.rows,
                e.batch,
                self.seconds(e),
                c.cycles,
                self.utilization(e),
                c.compute,
                c.cycles - c.compute,
                c.stall_memory,
                c.macs
            );
        }
        out
    }

    /// Reads what `to_csv` wrote (the cycle columns; seconds and utilization follow from them).
    pub fn from_csv(text: &str, cols: u32, clock_mhz: f64) -> anyhow::Result<Table> {
        let mut lines = text.lines();
        anyhow::ensure!(lines.next() == Some(CSV_HEADER), "not a latency table: the header differs");
        let mut entries = Vec::new();
        for (i, line) in lines.enumerate() {
            let f: Vec<&str> = line.split(',').collect();
            anyhow::ensure!(f.len() == 12, "line {}: {} fields, expected 12", i + 2, f.len());
            let num = |j: usize| -> anyhow::Result<u64> {
                f[j].parse().map_err(|_| anyhow::anyhow!("line {}: '{}' is not a count", i + 2, f[j]))
            };
            entries.push(Entry {
                model: Model::parse(f[0])?,
                kernel: Kernel::parse(f[1])?,
                format: f[2].parse()?,
                rows: num(3)? as u32,
                batch: num(4)?,
                cost: Cost { cycles: num(6)?, compute: num(8)?, stall_memory: num(10)?, macs: num(11)? },
            });
        }
        Ok(Table { cols, clock_mhz, entries })
    }
}

/// A key for cached tables: changes with the configuration, the memory rate, the clock and
/// the source of everything the numbers come from (plans, timing, layer lists, this file).
pub fn cache_key(config: AccelConfig, rate: MemoryRate, clock_mhz: f64) -> String {
    crate::named::cache_key(
        format!("{config:?} {rate:?} {clock_mhz}"),
        &[
            include_str!("plan.rs"),
            include_str!("timing.rs"),
            include_str!("workloads.rs"),
            include_str!("latency.rs"),
            include_str!("../../hdlgen/src/accel.rs"),
            include_str!("../../hdlgen/src/array.rs"),
            include_str!("../../hdlgen/src/dpe.rs"),
        ],
    )
}
