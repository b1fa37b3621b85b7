//! Two parts at work at once: a queue per part of kernel runs, each part working through its
//! own queue while the other works through its, and a timeline of what ran on which rows,
//! when and at which precision. Costs come from the `Profiler`; a split change waits until
//! both parts are idle, as the chip's set-split command does.
//!
//! Each kernel here is timed as if its part had the host port to itself. On the chip the
//! bottom part also waits for the port cycles the top part takes (`timing::PortShare` models
//! that exactly for single GEMMs; `Profiler::kernel_beside` for a whole kernel beside the
//! inference of every frame, which the continuous-learning runs use). Measured
//! (`tests/scheduler.rs`): WideResNet-50-2 labeling on 14 rows takes 10.3 % longer while
//! ResNet-18 inference of every frame runs on the top 2 rows; the top part never waits.

use anyhow::ensure;
use mx::Format;
use sim::Part;

use crate::latency::{Kernel, Profiler};
use crate::workloads::Model;

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
    pub model: Model,
    pub kernel: Kernel,
    pub format: Format,
    pub batch: u64,
    pub iterations: u64,
}

/// Places kernel runs on the two parts of an array.
pub struct Scheduler {
    profiler: Profiler,
    split: u32,
    /// The cycle each part (top, bottom) finishes its queue.
    free: [u64; 2],
    timeline: Vec<Phase>,
}

impl Scheduler {
    /// Both parts idle at cycle 0, the array cut after row `split`.
    pub fn new(profiler: Profiler, split: u32) -> anyhow::Result<Scheduler> {
        let rows = profiler.config().rows;
        ensure!(split <= rows, "split {split} is past the {rows} rows");
        Ok(Scheduler { profiler, split, free: [0, 0], timeline: Vec::new() })
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

    /// Queues `iterations` of a kernel on `part`, starting when the part is free and not
    /// before `not_before`. Returns its phase.
    #[allow(clippy::too_many_arguments)]
    pub fn run(
        &mut self,
        part: Part,
        not_before: u64,
        model: Model,
        kernel: Kernel,
        format: Format,
        batch: u64,
        iterations: u64,
    ) -> anyhow::Result<&Phase> {
        let rows = self.rows(part);
        ensure!(rows > 0, "the {part:?} part has no rows under split {}", self.split);
        let cost = self.profiler.kernel(model, kernel, format, rows, batch)?;
        let start = self.free[part as usize].max(not_before);
        let end = start + iterations * cost.cycles;
        self.free[part as usize] = end;
        let first_row = if part == Part::Top { 0 } else { self.split };
        self.timeline.push(Phase {
            part,
            first_row,
            rows,
            start,
            end,
            model,
            kernel,
            format,
            batch,
            iterations,
        });
        Ok(self.timeline.last().expect("just pushed"))
    }

    /// Moves the cut once both parts are idle; returns the cycle it takes effect.
    pub fn set_split(&mut self, split: u32) -> anyhow::Result<u64> {
        let rows = self.profiler.config().rows;
        ensure!(split <= rows, "split {split} is past the {rows} rows");
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
                p.model.name(),
                p.kernel.name(),
                p.format,
                p.batch,
                p.iterations
            );
        }
        out
    }
}
