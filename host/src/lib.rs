//! The DaCapo host runtime. For now: the bit-exact MX golden model and `.npy` file I/O.
//! Kernels, the two-part scheduler and the backends build on these.

pub mod mx;
pub mod npy;
pub mod rng;
