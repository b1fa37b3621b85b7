//! A drifting 9-class camera stream: small RGB frames at 30 fps in six scenarios of fourteen
//! 120-s windows, whose conditions drift the way driving video does (daylight to dusk to
//! night, rain and fog, glare, a shifted camera, changing class frequencies), gradually
//! within windows and sometimes abruptly between them.
//!
//! Every frame is a pure function of (scenario, frame index): a counter-keyed generator draws
//! it, so frames can be made in any order, in parallel, and twice with the same bits. A frame
//! shows one object of its class (a shape drawn in the class's colour, with jitter in size,
//! colour and place) over a textured background; the scene stays for 1.5 s segments (one
//! object moving slowly), so consecutive frames look alike as in video. The conditions then
//! act on the whole image: light and tint scale the colours, fog blends toward grey, glare
//! adds a bright blob, rain adds noise, the camera shift moves the scene.
//!
//! A student that learned in clear daylight leans on the objects' colours; dusk tint, night
//! and fog change them, so it loses accuracy until it learns the new look. A teacher that saw
//! every condition keeps its accuracy.

use anyhow::ensure;
use mx::rng::{splitmix64, Rng};

pub const CLASSES: usize = 9;
/// Frames are 3 x SIZE x SIZE (NCHW, one image).
pub const SIZE: usize = 16;
/// The scene's side in its own units (object sizes, paths and the camera shift use them);
/// each pixel samples the scene at its centre.
const SCENE: f32 = 32.0;
pub const FPS: u64 = 30;
pub const WINDOW_SECONDS: u64 = 120;
pub const WINDOWS: usize = 14;
pub const FRAMES_PER_WINDOW: u64 = FPS * WINDOW_SECONDS;
pub const SCENARIOS: usize = 6;
/// Frames of one scene segment (one object, moving).
const SEGMENT: u64 = 45;

/// What the camera sees through at one moment.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Conditions {
    /// Overall light: 1 in daylight, about 0.3 at night.
    pub light: f32,
    /// Per-channel gain (R, G, B): dusk is warm, night blue.
    pub tint: [f32; 3],
    /// Fog: the share of each pixel replaced by grey (0..1).
    pub fog: f32,
    /// Glare: the peak of a bright blob added to the image (0..1).
    pub glare: f32,
    /// Rain and sensor noise: the standard deviation of per-pixel noise.
    pub noise: f32,
    /// Camera shift in scene units (a 32nd of the frame's side): the scene moves right and
    /// down, the object off centre.
    pub shift: f32,
    /// Relative frequency of each class.
    pub weights: [f32; CLASSES],
}

impl Conditions {
    /// Clear daylight, every class alike: the student's pretraining conditions.
    pub const DAY: Conditions = Conditions {
        light: 1.0,
        tint: [1.0, 1.0, 1.0],
        fog: 0.0,
        glare: 0.0,
        noise: 0.02,
        shift: 0.0,
        weights: [1.0; CLASSES],
    };

    fn lerp(a: &Conditions, b: &Conditions, f: f32) -> Conditions {
        let l = |x: f32, y: f32| x + (y - x) * f;
        Conditions {
            light: l(a.light, b.light),
            tint: std::array::from_fn(|i| l(a.tint[i], b.tint[i])),
            fog: l(a.fog, b.fog),
            glare: l(a.glare, b.glare),
            noise: l(a.noise, b.noise),
            shift: l(a.shift, b.shift),
            weights: std::array::from_fn(|i| l(a.weights[i], b.weights[i])),
        }
    }

    fn dusk() -> Conditions {
        Conditions { light: 0.6, tint: [1.25, 0.9, 0.6], noise: 0.04, ..Conditions::DAY }
    }

    fn night() -> Conditions {
        Conditions { light: 0.3, tint: [0.75, 0.85, 1.35], noise: 0.06, ..Conditions::DAY }
    }

    fn rain() -> Conditions {
        Conditions { light: 0.7, fog: 0.25, noise: 0.12, tint: [0.9, 0.95, 1.05], ..Conditions::DAY }
    }

    fn fog() -> Conditions {
        Conditions { light: 0.9, fog: 0.6, noise: 0.04, ..Conditions::DAY }
    }

    fn with(mut self, f: impl FnOnce(&mut Conditions)) -> Conditions {
        f(&mut self);
        self
    }
}

/// Class frequencies favouring `classes` (four times as frequent as the others).
fn favour(classes: &[usize]) -> [f32; CLASSES] {
    std::array::from_fn(|c| if classes.contains(&c) { 4.0 } else { 1.0 })
}

/// A window's conditions at its start and at its end; in between they move linearly.
#[derive(Clone, Copy, Debug)]
struct Window {
    start: Conditions,
    end: Conditions,
}

/// One scenario's 14 windows. `steady` windows keep their conditions; `to` windows drift from
/// where the previous window ended; `jump` windows start abruptly elsewhere.
fn scenario_windows(scenario: usize) -> Vec<Window> {
    let day = Conditions::DAY;
    let mut windows: Vec<Window> = Vec::new();
    let last = |w: &Vec<Window>| w.last().map_or(day, |w| w.end);
    let steady = |w: &mut Vec<Window>| {
        let c = last(w);
        w.push(Window { start: c, end: c });
    };
    let to = |w: &mut Vec<Window>, c: Conditions| {
        let s = last(w);
        w.push(Window { start: s, end: c });
    };
    let jump = |w: &mut Vec<Window>, c: Conditions| w.push(Window { start: c, end: c });
    match scenario {
        // Evening commute: daylight into dusk into night; the traffic mix changes at night.
        1 => {
            (0..4).for_each(|_| steady(&mut windows));
            to(&mut windows, Conditions::dusk().with(|c| c.light = 0.8));
            to(&mut windows, Conditions::dusk());
            steady(&mut windows);
            to(&mut windows, Conditions::night().with(|c| c.light = 0.4));
            to(&mut windows, Conditions::night());
            to(&mut windows, Conditions::night().with(|c| c.weights = favour(&[0, 4, 7])));
            steady(&mut windows);
            jump(&mut windows, Conditions::night().with(|c| c.glare = 0.7));
            jump(&mut windows, Conditions::night().with(|c| c.weights = favour(&[2, 5])));
            steady(&mut windows);
        }
        // Showers: rain comes and goes abruptly over a dull day.
        2 => {
            let dull = day.with(|c| c.light = 0.8);
            (0..3).for_each(|_| steady(&mut windows));
            to(&mut windows, dull);
            jump(&mut windows, Conditions::rain());
            steady(&mut windows);
            jump(&mut windows, dull);
            jump(&mut windows, Conditions::rain().with(|c| c.noise = 0.16));
            to(&mut windows, Conditions::rain().with(|c| c.weights = favour(&[1, 3])));
            jump(&mut windows, dull.with(|c| c.weights = favour(&[1, 3])));
            jump(&mut windows, Conditions::rain());
            to(&mut windows, Conditions::rain().with(|c| c.light = 0.5));
            steady(&mut windows);
            jump(&mut windows, dull);
        }
        // Mountain road: fog banks, then low sun glare.
        3 => {
            (0..3).for_each(|_| steady(&mut windows));
            to(&mut windows, Conditions::fog().with(|c| c.fog = 0.3));
            to(&mut windows, Conditions::fog());
            steady(&mut windows);
            to(&mut windows, day);
            jump(&mut windows, day.with(|c| c.glare = 0.8));
            steady(&mut windows);
            to(&mut windows, Conditions::dusk().with(|c| c.glare = 0.5));
            jump(&mut windows, Conditions::fog().with(|c| c.light = 0.6));
            to(&mut windows, Conditions::fog().with(|c| c.fog = 0.75));
            steady(&mut windows);
            to(&mut windows, Conditions::dusk());
        }
        // A knocked camera and a city centre: the view shifts, the class mix swings.
        4 => {
            (0..4).for_each(|_| steady(&mut windows));
            jump(&mut windows, day.with(|c| c.shift = 7.0));
            steady(&mut windows);
            jump(&mut windows, day.with(|c| c.shift = 7.0).with(|c| c.weights = favour(&[6, 7, 8])));
            to(
                &mut windows,
                Conditions::dusk().with(|c| c.shift = 7.0).with(|c| c.weights = favour(&[6, 7, 8])),
            );
            jump(&mut windows, Conditions::dusk().with(|c| c.shift = -6.0));
            steady(&mut windows);
            jump(
                &mut windows,
                Conditions::night().with(|c| c.shift = -6.0).with(|c| c.weights = favour(&[0, 1])),
            );
            steady(&mut windows);
            to(&mut windows, Conditions::night().with(|c| c.shift = 0.0));
            steady(&mut windows);
        }
        // Night highway: darkness, oncoming headlights, rain late on.
        5 => {
            jump(&mut windows, Conditions::dusk());
            to(&mut windows, Conditions::night().with(|c| c.light = 0.45));
            (0..2).for_each(|_| steady(&mut windows));
            to(&mut windows, Conditions::night());
            jump(&mut windows, Conditions::night().with(|c| c.glare = 0.9));
            jump(&mut windows, Conditions::night());
            jump(
                &mut windows,
                Conditions::night().with(|c| c.glare = 0.9).with(|c| c.weights = favour(&[3, 8])),
            );
            steady(&mut windows);
            to(&mut windows, Conditions::night().with(|c| c.noise = 0.12).with(|c| c.fog = 0.2));
            steady(&mut windows);
            jump(&mut windows, Conditions::night().with(|c| c.light = 0.2));
            to(&mut windows, Conditions::night().with(|c| c.weights = favour(&[4, 5])));
            steady(&mut windows);
        }
        // A long day out: every condition, in a seeded order, half of the changes abrupt.
        _ => {
            let mut rng = Rng::new(6);
            let looks = [day, Conditions::dusk(), Conditions::night(), Conditions::rain(), Conditions::fog()];
            (0..2).for_each(|_| steady(&mut windows));
            while windows.len() < WINDOWS {
                let mut c = looks[rng.below(looks.len() as u64) as usize];
                if rng.below(3) == 0 {
                    c.glare = 0.6;
                }
                if rng.below(3) == 0 {
                    let a = rng.below(CLASSES as u64) as usize;
                    c.weights = favour(&[a, (a + 4) % CLASSES]);
                }
                if rng.below(2) == 0 {
                    jump(&mut windows, c);
                } else {
                    to(&mut windows, c);
                }
            }
        }
    }
    windows
}

/// One scenario of the stream.
#[derive(Clone, Debug)]
pub struct Stream {
    scenario: usize,
    /// Which take of the scenario: the same conditions over other scenes (0 is the one the
    /// runs play; pretraining uses other takes, so no network trains on the frames it is
    /// scored on).
    take: u64,
    windows: Vec<Window>,
}

/// Class colours in daylight (R, G, B).
const COLOURS: [[f32; 3]; CLASSES] = [
    [0.9, 0.15, 0.1],
    [0.1, 0.7, 0.2],
    [0.15, 0.3, 0.9],
    [0.95, 0.85, 0.1],
    [0.8, 0.2, 0.8],
    [0.1, 0.8, 0.85],
    [0.95, 0.55, 0.1],
    [0.55, 0.35, 0.2],
    [0.95, 0.95, 0.95],
];

impl Stream {
    /// Scenario 1..=6.
    pub fn new(scenario: usize) -> anyhow::Result<Stream> {
        Stream::take(scenario, 0)
    }

    /// Another take of scenario `scenario`: its conditions over other scenes.
    pub fn take(scenario: usize, take: u64) -> anyhow::Result<Stream> {
        ensure!(
            (1..=SCENARIOS).contains(&scenario),
            "scenario {scenario} does not exist; they are 1 to {SCENARIOS}"
        );
        Ok(Stream { scenario, take, windows: scenario_windows(scenario) })
    }

    pub fn scenario(&self) -> usize {
        self.scenario
    }

    /// Frames in the whole scenario.
    pub fn frames(&self) -> u64 {
        WINDOWS as u64 * FRAMES_PER_WINDOW
    }

    /// The conditions when frame `frame` is taken.
    pub fn conditions(&self, frame: u64) -> Conditions {
        let w = ((frame / FRAMES_PER_WINDOW) as usize).min(WINDOWS - 1);
        let f = (frame - w as u64 * FRAMES_PER_WINDOW) as f32 / FRAMES_PER_WINDOW as f32;
        Conditions::lerp(&self.windows[w].start, &self.windows[w].end, f.min(1.0))
    }

    fn rng(&self, what: u64, index: u64) -> Rng {
        Rng::new(splitmix64(splitmix64(self.scenario as u64 ^ what << 8 ^ self.take << 16) ^ index))
    }

    /// The class of frame `frame`: the class of its segment, drawn with the frequencies of
    /// the segment's start.
    pub fn label(&self, frame: u64) -> usize {
        let segment = frame / SEGMENT;
        let weights = self.conditions(segment * SEGMENT).weights;
        let total: f32 = weights.iter().sum();
        let mut pick = self.rng(1, segment).unit_f64() as f32 * total;
        for (c, w) in weights.iter().enumerate() {
            if pick < *w {
                return c;
            }
            pick -= w;
        }
        CLASSES - 1
    }

    /// Frame `frame` (3 x SIZE x SIZE, normalized to about zero mean and unit spread).
    pub fn frame(&self, frame: u64) -> Vec<f32> {
        let mut out = vec![0.0; 3 * SIZE * SIZE];
        self.render(frame, &self.conditions(frame), &mut out);
        out
    }

    /// Frame `frame` under the given conditions (as if the scene were seen then).
    pub fn render(&self, frame: u64, cond: &Conditions, out: &mut [f32]) {
        let class = self.label(frame);
        let segment = frame / SEGMENT;
        let mut seg = self.rng(2, segment);
        let mut noise = self.rng(3, frame);
        let phase = (frame % SEGMENT) as f32 / SEGMENT as f32;
        // The scene of the segment: background texture and the object's look and path.
        let bg: [f32; 3] = std::array::from_fn(|_| 0.25 + 0.25 * seg.unit_f64() as f32);
        let (fx, fy, fp) = (
            0.1 + 0.3 * seg.unit_f64() as f32,
            0.1 + 0.3 * seg.unit_f64() as f32,
            6.3 * seg.unit_f64() as f32,
        );
        let radius = 6.0 + 5.0 * seg.unit_f64() as f32;
        let colour: [f32; 3] =
            std::array::from_fn(|i| (COLOURS[class][i] + 0.15 * seg.normal() as f32).clamp(0.0, 1.0));
        let start = [4.0 * seg.normal() as f32, 4.0 * seg.normal() as f32];
        let velocity = [3.0 * seg.normal() as f32, 3.0 * seg.normal() as f32];
        let centre = [
            SCENE / 2.0 + start[0] + velocity[0] * phase + cond.shift,
            SCENE / 2.0 + start[1] + velocity[1] * phase + 0.5 * cond.shift,
        ];
        let glare_at = [SCENE * seg.unit_f64() as f32, SCENE * 0.3 * seg.unit_f64() as f32];
        let unit = SCENE / SIZE as f32;
        for y in 0..SIZE {
            for x in 0..SIZE {
                // The pixel's centre in scene units.
                let (sx, sy) = ((x as f32 + 0.5) * unit, (y as f32 + 0.5) * unit);
                let (px, py) = (sx - cond.shift, sy - 0.5 * cond.shift);
                let texture = 0.08 * ((fx * px + fy * py + fp).sin() + (fy * px - fx * py).cos());
                let on = shape(class, (sx - centre[0]) / radius, (sy - centre[1]) / radius);
                let glare =
                    cond.glare * (-((sx - glare_at[0]).powi(2) + (sy - glare_at[1]).powi(2)) / 60.0).exp();
                for c in 0..3 {
                    let scene = if on { colour[c] } else { bg[c] + texture };
                    let lit = scene * cond.light * cond.tint[c];
                    let seen =
                        lit * (1.0 - cond.fog) + 0.55 * cond.fog + glare + cond.noise * noise.normal() as f32;
                    out[(c * SIZE + y) * SIZE + x] = (seen.clamp(0.0, 1.0) - 0.45) / 0.25;
                }
            }
        }
    }
}

/// Whether (dx, dy), in units of the object's radius from its centre, is on class `class`'s
/// shape.
fn shape(class: usize, dx: f32, dy: f32) -> bool {
    let (ax, ay) = (dx.abs(), dy.abs());
    let r2 = dx * dx + dy * dy;
    match class {
        0 => r2 < 1.0,                                           // disk
        1 => ax < 0.8 && ay < 0.8,                               // square
        2 => dy < 0.7 && dy > -0.9 && ax < (dy + 0.9) / 1.8,     // triangle
        3 => r2 < 1.0 && r2 > 0.4,                               // ring
        4 => (ax < 0.25 && ay < 1.0) || (ay < 0.25 && ax < 1.0), // plus
        5 => ax < 1.0 && (ay - 0.5).abs() < 0.2,                 // two horizontal bars
        6 => ay < 1.0 && (ax - 0.5).abs() < 0.2,                 // two vertical bars
        7 => ax + ay < 1.0,                                      // diamond
        _ => (ax - ay).abs() < 0.25 && ax < 0.9,                 // cross (X)
    }
}
