//! The simulated accelerator top (`hdlgen::accel`) of a preset: a cycle-stepped `Chip` that
//! feeds each part's command queue, plays the host memory behind the port, and reads the
//! status and counters. `host::rtl` runs whole GEMMs on it.

use std::collections::VecDeque;

use hdlgen::accel::{cmd, AccelConfig, Counters, Status, COUNTERS};
use mx::Format;

use crate::{format_code, Accel16x16Model, Accel3x2I5335Model, Accel4x4Model, Error, MemoryRate, Part};

/// The ports the driver uses, over the generated model of any preset.
trait Ports: Send {
    fn reset(&mut self);
    fn tick(&mut self);
    fn set_cmd(&mut self, valid: u64, words: &[u32]);
    fn cmd_ready(&self) -> u64;
    /// `(request, write, address)` of the port, with the write data into `wdata`.
    fn mem_out(&self, wdata: &mut Vec<u32>) -> (bool, bool, u32);
    fn set_mem_rdata(&mut self, words: &[u32]);
    fn set_mem_ready(&mut self, ready: bool);
    fn split(&self) -> u64;
    fn status(&self) -> u64;
    fn counters(&self) -> Vec<u32>;
    fn trace_to(&mut self, path: &std::path::Path) -> std::io::Result<()>;
    fn trace_close(&mut self) -> std::io::Result<()>;
}

macro_rules! ports {
    ($model:ty) => {
        impl Ports for $model {
            fn reset(&mut self) {
                <$model>::reset(self)
            }
            fn tick(&mut self) {
                <$model>::tick(self)
            }
            fn set_cmd(&mut self, valid: u64, words: &[u32]) {
                self.set_cmd_valid_i(valid);
                self.set_cmd_i(words.try_into().expect("two 128-bit commands"));
            }
            fn cmd_ready(&self) -> u64 {
                self.cmd_ready_o()
            }
            fn mem_out(&self, wdata: &mut Vec<u32>) -> (bool, bool, u32) {
                let req = self.mem_req_o() == 1;
                let we = self.mem_we_o() == 1;
                if req && we {
                    wdata.clear();
                    wdata.extend_from_slice(&self.mem_wdata_o());
                }
                (req, we, self.mem_addr_o() as u32)
            }
            fn set_mem_rdata(&mut self, words: &[u32]) {
                self.set_mem_rdata_i(words.try_into().expect("one beat"));
            }
            fn set_mem_ready(&mut self, ready: bool) {
                self.set_mem_ready_i(ready.into());
            }
            fn split(&self) -> u64 {
                self.split_o()
            }
            fn status(&self) -> u64 {
                self.status_o()
            }
            fn counters(&self) -> Vec<u32> {
                self.counters_o().to_vec()
            }
            fn trace_to(&mut self, path: &std::path::Path) -> std::io::Result<()> {
                <$model>::trace_to(self, path)
            }
            fn trace_close(&mut self) -> std::io::Result<()> {
                <$model>::trace_close(self)
            }
        }
    };
}
ports!(Accel4x4Model);
ports!(Accel16x16Model);
ports!(Accel3x2I5335Model);

/// One command for a part's queue (see `hdlgen::accel::cmd` and docs/timing.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    /// `lines` words into each of the part's first `lanes` A banks from word `spad` on.
    LoadA {
        format: Format,
        lanes: u32,
        lines: u32,
        spad: u32,
        host: u32,
    },
    /// The same into the part's first `lanes` B banks (columns).
    LoadB {
        format: Format,
        lanes: u32,
        lines: u32,
        spad: u32,
        host: u32,
    },
    /// A `rows` x `cols` tile over `blocks` K blocks from A word `a` and B word `b`.
    Compute {
        format: Format,
        rows: u32,
        cols: u32,
        blocks: u32,
        a: u32,
        b: u32,
        clear: bool,
        drain: bool,
        buffer: u32,
    },
    /// Result rows of a buffer to the host, as f32 (`format: None`) or MX blocks.
    Store {
        format: Option<Format>,
        truncate: bool,
        buffer: u32,
        rows: u32,
        cols: u32,
        host: u32,
    },
    SetSplit(u32),
    Fence,
    /// Any 128-bit word, to test the command checks.
    Raw(u128),
}

fn put(word: &mut u128, field: cmd::Field, value: u64) {
    let mask = (1u128 << field.1) - 1;
    *word |= (u128::from(value) & mask) << field.0;
}

impl Command {
    pub fn encode(self) -> u128 {
        let mut w = 0u128;
        let fmt = |f: Format| format_code(f);
        match self {
            Command::LoadA { format, lanes, lines, spad, host }
            | Command::LoadB { format, lanes, lines, spad, host } => {
                let op = if matches!(self, Command::LoadA { .. }) { cmd::LOAD_A } else { cmd::LOAD_B };
                put(&mut w, cmd::OPCODE, op);
                put(&mut w, cmd::FORMAT, fmt(format));
                put(&mut w, cmd::ROWS, lanes.into());
                put(&mut w, cmd::COUNT, lines.into());
                put(&mut w, cmd::ADDR, spad.into());
                put(&mut w, cmd::HOST, host.into());
            }
            Command::Compute { format, rows, cols, blocks, a, b, clear, drain, buffer } => {
                put(&mut w, cmd::OPCODE, cmd::COMPUTE);
                put(&mut w, cmd::FORMAT, fmt(format));
                put(&mut w, cmd::CLEAR_OR_TRUNCATE, clear.into());
                put(&mut w, cmd::DRAIN, drain.into());
                put(&mut w, cmd::BUFFER, buffer.into());
                put(&mut w, cmd::ROWS, rows.into());
                put(&mut w, cmd::COLS, cols.into());
                put(&mut w, cmd::COUNT, blocks.into());
                put(&mut w, cmd::ADDR, a.into());
                put(&mut w, cmd::B_ADDR, b.into());
            }
            Command::Store { format, truncate, buffer, rows, cols, host } => {
                put(&mut w, cmd::OPCODE, cmd::STORE);
                put(&mut w, cmd::FORMAT, format.map_or(cmd::F32, fmt));
                put(&mut w, cmd::CLEAR_OR_TRUNCATE, truncate.into());
                put(&mut w, cmd::BUFFER, buffer.into());
                put(&mut w, cmd::ROWS, rows.into());
                put(&mut w, cmd::COLS, cols.into());
                put(&mut w, cmd::HOST, host.into());
            }
            Command::SetSplit(split) => {
                put(&mut w, cmd::OPCODE, cmd::SET_SPLIT);
                put(&mut w, cmd::ROWS, split.into());
            }
            Command::Fence => put(&mut w, cmd::OPCODE, cmd::FENCE),
            Command::Raw(word) => w = word,
        }
        w
    }
}

/// The simulated accelerator of one preset.
pub struct Chip {
    ports: Box<dyn Ports>,
    config: AccelConfig,
    memory: Vec<u32>,
    waiting: [VecDeque<u128>; 2],
    cycles: u64,
    wdata: Vec<u32>,
    rate: MemoryRate,
    /// The cycle the memory rate's slots count from.
    rate_origin: u64,
}

impl Chip {
    /// The chip of a preset (`hdlgen::accel::PRESETS`), just out of reset.
    pub fn new(preset: &str) -> Result<Chip, Error> {
        let config = hdlgen::preset(preset)?;
        let ports: Box<dyn Ports> = match preset {
            "small" => Box::new(Accel4x4Model::new()),
            "dacapo" => Box::new(Accel16x16Model::new()),
            "fpga" => Box::new(Accel3x2I5335Model::new()),
            // The build script verilates every preset: this is one the arms above lack.
            _ => return Err(Error::NoModel { preset: preset.into(), built: hdlgen::accel::preset_names() }),
        };
        let mut chip = Chip {
            ports,
            config,
            memory: Vec::new(),
            waiting: Default::default(),
            cycles: 0,
            wdata: Vec::new(),
            rate: MemoryRate::FULL,
            rate_origin: 0,
        };
        chip.ports.reset();
        Ok(chip)
    }

    pub fn config(&self) -> AccelConfig {
        self.config
    }

    pub fn cycles(&self) -> u64 {
        self.cycles
    }

    pub fn split(&self) -> u32 {
        self.ports.split() as u32
    }

    /// Rows of a part under the current split.
    pub fn part_rows(&self, part: Part) -> u32 {
        part.rows(self.config.rows, self.split())
    }

    /// Moves the cut between the parts (a set-split command), both parts being idle.
    pub fn set_split(&mut self, split: u32) -> Result<(), Error> {
        if split > self.config.rows {
            return Err(Error::SplitPastRows { split, rows: self.config.rows });
        }
        self.push(Part::Top, Command::SetSplit(split));
        self.run(10_000)?;
        if self.split() != split {
            return Err(Error::SplitRefused { split, status: self.status(Part::Top) });
        }
        Ok(())
    }

    /// Paces the host memory from this cycle on (`MemoryRate::FULL` at construction).
    pub fn set_memory_rate(&mut self, rate: MemoryRate) {
        self.rate = rate;
        self.rate_origin = self.cycles;
    }

    pub fn memory_rate(&self) -> MemoryRate {
        self.rate
    }

    /// The memory rate's cycle count now (what `host::timing` needs to place its slots).
    pub fn memory_phase(&self) -> u64 {
        self.cycles - self.rate_origin
    }

    fn words_per_beat(&self) -> usize {
        (self.config.port_bits / 32) as usize
    }

    /// Host beats written so far (the first free beat of a bump allocation).
    pub fn host_beats(&self) -> u32 {
        self.memory.len().div_ceil(self.words_per_beat()) as u32
    }

    /// Writes whole beats of host memory from beat `beat` on.
    pub fn write_host(&mut self, beat: u32, words: &[u32]) {
        let at = beat as usize * self.words_per_beat();
        if self.memory.len() < at + words.len() {
            self.memory.resize(at + words.len(), 0);
        }
        self.memory[at..at + words.len()].copy_from_slice(words);
    }

    /// `beats` beats of host memory from beat `beat` on (zero where never written).
    pub fn read_host(&self, beat: u32, beats: u32) -> Vec<u32> {
        let wpb = self.words_per_beat();
        let at = beat as usize * wpb;
        (at..at + beats as usize * wpb).map(|i| self.memory.get(i).copied().unwrap_or(0)).collect()
    }

    /// Queues a command for a part; it enters the chip's queue when there is room.
    pub fn push(&mut self, part: Part, command: Command) {
        self.waiting[part as usize].push_back(command.encode());
    }

    pub fn status(&self, part: Part) -> Status {
        Status::from_word((self.ports.status() >> (32 * part as u32)) as u32)
    }

    pub fn counters(&self, part: Part) -> Counters {
        let words = self.ports.counters();
        let n = COUNTERS.len();
        Counters::from_words(words[n * part as usize..][..n].try_into().expect("a part's counters"))
    }

    /// Whether a part has nothing left to do: no command waiting or queued or running.
    pub fn idle(&self, part: Part) -> bool {
        self.waiting[part as usize].is_empty() && !self.status(part).busy
    }

    /// One clock cycle: commands enter the queues that have room, the memory says whether
    /// this cycle is one of its slots, the chip steps, and the host memory serves the port
    /// request made at this edge (read data for the next cycle).
    pub fn step(&mut self) {
        let ready = self.ports.cmd_ready();
        let mut valid = 0;
        let mut words = [0u32; 8];
        for part in 0..2 {
            if let (true, Some(&c)) = (ready >> part & 1 == 1, self.waiting[part].front()) {
                valid |= 1 << part;
                for i in 0..4 {
                    words[4 * part + i] = (c >> (32 * i)) as u32;
                }
            }
        }
        self.ports.set_cmd(valid, &words);
        self.ports.set_mem_ready(self.rate.ready(self.memory_phase()));
        self.ports.tick();
        for part in 0..2 {
            if valid >> part & 1 == 1 {
                self.waiting[part].pop_front();
            }
        }
        self.cycles += 1;
        let mut wdata = std::mem::take(&mut self.wdata);
        let (req, we, addr) = self.ports.mem_out(&mut wdata);
        if req && we {
            self.write_host(addr, &wdata);
        } else if req {
            let beat = self.read_host(addr, 1);
            self.ports.set_mem_rdata(&beat);
        }
        self.wdata = wdata;
    }

    /// Steps until both parts are idle; returns the cycle (since construction) at which each
    /// part became idle. Fails if that takes more than `limit` cycles.
    pub fn run(&mut self, limit: u64) -> Result<[u64; 2], Error> {
        let start = self.cycles;
        let mut idle_at = [None, None];
        loop {
            for (p, part) in [Part::Top, Part::Bottom].into_iter().enumerate() {
                match (self.idle(part), idle_at[p]) {
                    (true, None) => idle_at[p] = Some(self.cycles),
                    (false, _) => idle_at[p] = None,
                    _ => {}
                }
            }
            if let [Some(top), Some(bottom)] = idle_at {
                return Ok([top, bottom]);
            }
            if self.cycles - start >= limit {
                return Err(Error::Hung { limit });
            }
            self.step();
        }
    }

    /// Writes a VCD waveform of everything that follows to `path`.
    pub fn trace_to(&mut self, path: &std::path::Path) -> std::io::Result<()> {
        self.ports.trace_to(path)
    }

    pub fn trace_close(&mut self) -> std::io::Result<()> {
        self.ports.trace_close()
    }
}
