//! The host memory's pace behind the accelerator's port: it takes at most one beat per
//! cycle, in fixed slots. The simulated chip raises `mem_ready_i` in exactly the slot cycles,
//! and `host::timing` counts the same slots, so throttled runs stay exact to the cycle.

use crate::Error;

/// `beats` beats per `cycles` clock cycles, at most one per cycle. Counting cycles from the
/// rate's origin, cycle t is a slot when floor((t + 1) beats / cycles) > floor(t beats / cycles):
/// the slots spread as evenly as whole cycles allow, and a slot nobody uses is lost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MemoryRate {
    beats: u64,
    cycles: u64,
}

impl Default for MemoryRate {
    fn default() -> MemoryRate {
        MemoryRate::FULL
    }
}

impl MemoryRate {
    /// A beat every cycle: the port's own width is the limit.
    pub const FULL: MemoryRate = MemoryRate { beats: 1, cycles: 1 };

    /// `beats` per `cycles` cycles; anything at or above one per cycle is `FULL`.
    pub fn new(beats: u64, cycles: u64) -> Result<MemoryRate, Error> {
        if beats == 0 || cycles == 0 {
            return Err(Error::NoMemoryRate { beats, cycles });
        }
        if beats >= cycles {
            return Ok(MemoryRate::FULL);
        }
        let g = gcd(beats, cycles);
        Ok(MemoryRate { beats: beats / g, cycles: cycles / g })
    }

    /// The rate of a memory of `gb_per_s` GB/s (10^9 bytes) behind a `port_bits` port clocked
    /// at `mhz` MHz, exact to 1 MB/s and 1 kHz.
    pub fn from_bandwidth(gb_per_s: f64, mhz: f64, port_bits: u32) -> Result<MemoryRate, Error> {
        for (what, value, unit) in [("memory bandwidth", gb_per_s, "GB/s"), ("clock", mhz, "MHz")] {
            if !(value.is_finite() && (0.001..=1e6).contains(&value)) {
                return Err(Error::OutOfRange { what, value, unit });
            }
        }
        // Bytes per second over bytes per beat per second: (MB/s x 8) / (kHz x bits / 1000).
        let mb_per_s = (gb_per_s * 1e3).round() as u64;
        let khz = (mhz * 1e3).round() as u64;
        MemoryRate::new(mb_per_s * 8 * 1000, khz * u64::from(port_bits))
    }

    /// Beats per cycle.
    pub fn per_cycle(self) -> f64 {
        self.beats as f64 / self.cycles as f64
    }

    /// Whether cycle `t` (from the origin) is a slot.
    pub fn ready(self, t: u64) -> bool {
        self.slots_before(t + 1) > self.slots_before(t)
    }

    /// Slots in cycles 0..t.
    pub fn slots_before(self, t: u64) -> u64 {
        (u128::from(t) * u128::from(self.beats) / u128::from(self.cycles)) as u64
    }

    /// The cycle of the `n`-th slot (n >= 1) at or after cycle `t`.
    pub fn nth_slot_from(self, t: u64, n: u64) -> u64 {
        let want = u128::from(self.slots_before(t) + n);
        // The first x with slots_before(x + 1) >= want.
        (want * u128::from(self.cycles)).div_ceil(u128::from(self.beats)) as u64 - 1
    }
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 {
        a
    } else {
        gcd(b, a % b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_follow_the_rate() {
        for (beats, cycles) in [(1, 1), (1, 3), (2, 5), (3, 4), (7, 9), (5, 5), (9, 4)] {
            let rate = MemoryRate::new(beats, cycles).unwrap();
            let slots: Vec<u64> = (0..200).filter(|&t| rate.ready(t)).collect();
            // Every window of `cycles` cycles holds `beats` slots (capped at one per cycle).
            let want = beats.min(cycles);
            for w in 0..100 {
                assert_eq!(slots.iter().filter(|&&t| t >= w && t < w + cycles).count() as u64, want);
            }
            for t in 0..60 {
                for n in 1..20 {
                    let found = *slots.iter().filter(|&&s| s >= t).nth(n as usize - 1).unwrap();
                    assert_eq!(rate.nth_slot_from(t, n), found, "{beats}/{cycles} t {t} n {n}");
                }
            }
        }
    }

    #[test]
    fn bandwidth_converts_to_beats_per_cycle() {
        // 204.8 GB/s at 500 MHz is 409.6 bytes a cycle: more than a 2048-bit port moves.
        assert_eq!(MemoryRate::from_bandwidth(204.8, 500.0, 2048).unwrap(), MemoryRate::FULL);
        // 64 GB/s at 500 MHz on 2048 bits: 128 of 256 bytes.
        assert_eq!(MemoryRate::from_bandwidth(64.0, 500.0, 2048).unwrap(), MemoryRate::new(1, 2).unwrap());
        assert_eq!(MemoryRate::from_bandwidth(12.0, 250.0, 512).unwrap().per_cycle(), 0.75);
        let bandwidth = |value| Err(Error::OutOfRange { what: "memory bandwidth", value, unit: "GB/s" });
        assert_eq!(MemoryRate::from_bandwidth(0.0, 500.0, 512), bandwidth(0.0));
        assert!(matches!(MemoryRate::from_bandwidth(f64::NAN, 500.0, 512), Err(Error::OutOfRange { .. })));
        assert_eq!(
            MemoryRate::from_bandwidth(1.0, -3.0, 512).unwrap_err().to_string(),
            "clock -3 MHz is out of range: give 0.001 to 1000000 MHz"
        );
        assert_eq!(MemoryRate::new(0, 3), Err(Error::NoMemoryRate { beats: 0, cycles: 3 }));
    }
}
