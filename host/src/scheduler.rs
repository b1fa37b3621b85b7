//! Two parts at work at once: a queue per part of kernel runs, each part working through its
//! own queue while the other works through its, and a timeline of what ran on which rows,
//! when and at which precision. Costs come from the `Profiler`; a split change waits until
//! both parts are idle, as the chip's set-split command does. The continuous-learning runs on
//! the array place every kernel here (`cl::ArrayTiming`), and their `timeline.csv` is this
//! timeline.
//!
//! The two parts share the host port, and the top part wins every cycle both request. So a
//! part may run a job periodically (`periodic`: the student's inference of every frame),
//! and a kernel that starts on the bottom part while the top part runs one loses the port
//! cycles it takes (`Profiler::kernel_beside`, which `timing::PortShare` times exactly per
//! GEMM). Measured (`tests/scheduler.rs`): WideResNet-50-2 labeling on 14 rows takes 10.3 %
//! longer while ResNet-18 inference of every frame runs on the top 2 rows; the top part never
//! waits.

use anyhow::ensure;
use mx::Format;
use sim::Part;

use crate::latency::{Beside, Kernel, KernelKey, Profiler};
use crate::workloads::Model;

/// What a phase runs: `model`'s `kernel` at `batch` in `format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Job {
    pub model: Model,
    pub kernel: Kernel,
    pub format: Format,
    pub batch: u64,
}

impl Job {
    /// The profiler's key of one iteration on `rows` rows.
    pub fn on(self, rows: u32) -> KernelKey {
        (self.model, self.kernel, self.format, rows, self.batch)
    }

    /// This job on `rows` rows once every `period` cycles, as a kernel beside it sees it.
    pub fn every(self, period: u64, rows: u32) -> Beside {
        let Job { model, kernel, format, batch } = self;
        Beside { model, kernel, format, rows, batch, period }
    }
}

/// One entry of the timeline: `iterations` of a kernel on a part, from `start` to `end`
/// (cycles since the scheduler's start).
#[derive(Clone, Debug, PartialEq)]
pub struct Phase {
    pub part: Part,
    /// The part's rows: `first_row..first_row + rows` of the array.
    pub first_row: u32,
    pub rows: u32,
    pub start: u64,
    pub end: u64,
    pub job: Job,
    pub iterations: u64,
}

/// Places kernel runs on the two parts of an array.
pub struct Scheduler {
    profiler: Profiler,
    split: u32,
    /// The cycle each part (top, bottom) finishes its queue.
    free: [u64; 2],
    /// The top part's periodic job, as the bottom part's costs see it, and the cycle it ends.
    top_periodic: Option<(Beside, u64)>,
    timeline: Vec<Phase>,
}

impl Scheduler {
    /// Both parts idle at cycle 0, the array cut after row `split`.
    pub fn new(profiler: Profiler, split: u32) -> anyhow::Result<Scheduler> {
        let mut scheduler =
            Scheduler { profiler, split: 0, free: [0, 0], top_periodic: None, timeline: Vec::new() };
        scheduler.restart(split)?;
        Ok(scheduler)
    }

    /// Starts over with both parts idle at cycle 0 and an empty timeline, the array cut after
    /// row `split`; the profiler keeps the costs it knows.
    pub fn restart(&mut self, split: u32) -> anyhow::Result<()> {
        self.check_split(split)?;
        self.split = split;
        self.free = [0, 0];
        self.top_periodic = None;
        self.timeline.clear();
        Ok(())
    }

    fn check_split(&self, split: u32) -> anyhow::Result<()> {
        let rows = self.array_rows();
        ensure!(split <= rows, "split {split} is past the {rows} rows");
        Ok(())
    }

    pub fn profiler(&mut self) -> &mut Profiler {
        &mut self.profiler
    }

    /// Rows of the whole array.
    pub fn array_rows(&self) -> u32 {
        self.profiler.config().rows
    }

    pub fn split(&self) -> u32 {
        self.split
    }

    pub fn rows(&self, part: Part) -> u32 {
        part.rows(self.profiler.config().rows, self.split)
    }

    /// The cycle `part` finishes everything queued on it.
    pub fn free_at(&self, part: Part) -> u64 {
        self.free[part as usize]
    }

    /// Queues `iterations` of `job` on `part`, starting when the part is free and not before
    /// `not_before`. A job that starts on the bottom part while the top part runs its periodic
    /// job costs what it does beside it. Returns its phase.
    pub fn run(&mut self, part: Part, not_before: u64, job: Job, iterations: u64) -> anyhow::Result<&Phase> {
        let rows = self.rows(part);
        ensure!(rows > 0, "the {part:?} part has no rows under split {}", self.split);
        let start = self.free[part as usize].max(not_before);
        let cost = match self.top_periodic {
            Some((beside, until)) if part == Part::Bottom && start < until => {
                self.profiler.kernel_beside(job.on(rows), beside)?
            }
            _ => self.profiler.kernel(job.model, job.kernel, job.format, rows, job.batch)?,
        };
        Ok(self.push(part, start, start + iterations * cost.cycles, job, iterations))
    }

    /// Runs `job` on the top part once every `period` cycles from `start` (or when the part is
    /// free), as many times as whole periods fit before `end`, which the part is busy until:
    /// the student's inference of every frame. The bottom part's kernels that start meanwhile
    /// lose the port cycles it takes.
    pub fn periodic(&mut self, job: Job, period: u64, start: u64, end: u64) -> anyhow::Result<&Phase> {
        let rows = self.rows(Part::Top);
        ensure!(rows > 0, "the top part has no rows under split {}", self.split);
        let start = self.free[0].max(start);
        ensure!(
            end > start,
            "the periodic {} would end at cycle {end}, before it starts at cycle {start}",
            job.kernel.name()
        );
        let cycles = self.profiler.kernel(job.model, job.kernel, job.format, rows, job.batch)?.cycles;
        ensure!(
            cycles <= period,
            "one {} takes {cycles} cycles on {rows} rows, more than its period of {period}",
            job.kernel.name()
        );
        self.top_periodic = Some((job.every(period, rows), end));
        Ok(self.push(Part::Top, start, end, job, (end - start) / period))
    }

    fn push(&mut self, part: Part, start: u64, end: u64, job: Job, iterations: u64) -> &Phase {
        self.free[part as usize] = end;
        let first_row = if part == Part::Top { 0 } else { self.split };
        let rows = self.rows(part);
        self.timeline.push(Phase { part, first_row, rows, start, end, job, iterations });
        self.timeline.last().expect("just pushed")
    }

    /// Moves the cut once both parts are idle; returns the cycle it takes effect.
    pub fn set_split(&mut self, split: u32) -> anyhow::Result<u64> {
        self.check_split(split)?;
        let at = self.free[0].max(self.free[1]);
        self.free = [at, at];
        self.split = split;
        Ok(at)
    }

    pub fn timeline(&self) -> &[Phase] {
        &self.timeline
    }

    /// The timeline as CSV, times in seconds at `clock_mhz`, phases in start order.
    pub fn timeline_csv(&self, clock_mhz: f64) -> String {
        let mut phases: Vec<&Phase> = self.timeline.iter().collect();
        phases.sort_by_key(|p| (p.start, p.part as u8));
        let mut out =
            String::from("start_s,end_s,part,first_row,rows,model,kernel,format,batch,iterations\n");
        let s = |cycles: u64| cycles as f64 / (clock_mhz * 1e6);
        for p in phases {
            out += &format!(
                "{:.6},{:.6},{},{},{},{},{},{},{},{}\n",
                s(p.start),
                s(p.end),
                if p.part == Part::Top { "top" } else { "bottom" },
                p.first_row,
                p.rows,
                p.job.model.name(),
                p.job.kernel.name(),
                p.job.format,
                p.job.batch,
                p.iterations
            );
        }
        out
    }
}
