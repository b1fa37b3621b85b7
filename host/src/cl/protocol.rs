//! The evaluation protocol: per-frame correctness, 120-s window accuracies, the first four
//! windows dropped as warm-up, the geometric mean of the rest per scenario, and the geometric
//! mean over scenarios.

use crate::stream::{FRAMES_PER_WINDOW, WINDOWS};

/// Windows at the start of each scenario that are not scored.
pub const WARM_UP_WINDOWS: usize = 4;

/// The accuracy (0..1) of each window, from the correctness of scored frames (frame index,
/// correct). Windows without scored frames count as 0.
pub fn window_accuracies(scored: &[(u64, bool)]) -> Vec<f64> {
    let mut hits = [0u64; WINDOWS];
    let mut counts = [0u64; WINDOWS];
    for &(frame, correct) in scored {
        let w = ((frame / FRAMES_PER_WINDOW) as usize).min(WINDOWS - 1);
        counts[w] += 1;
        hits[w] += u64::from(correct);
    }
    (0..WINDOWS).map(|w| if counts[w] == 0 { 0.0 } else { hits[w] as f64 / counts[w] as f64 }).collect()
}

/// The geometric mean of `values` (0 if any is 0; 0 for none).
pub fn geomean(values: &[f64]) -> f64 {
    if values.is_empty() || values.iter().any(|&v| v <= 0.0) {
        return 0.0;
    }
    (values.iter().map(|v| v.ln()).sum::<f64>() / values.len() as f64).exp()
}

/// A scenario's score: the geometric mean of its window accuracies after the warm-up.
pub fn scenario_score(windows: &[f64]) -> f64 {
    geomean(&windows[WARM_UP_WINDOWS.min(windows.len())..])
}
