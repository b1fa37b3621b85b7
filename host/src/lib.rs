//! The DaCapo host runtime. For now: `.npy` file I/O, and the MX golden model re-exported
//! from the `mx` crate. Kernels, the two-part scheduler and the backends build on these.

pub use mx;
pub use mx::rng;

pub mod backend;
pub mod kernels;
pub mod npy;
pub mod plan;
pub mod rtl;
pub mod timing;
pub mod workloads;
