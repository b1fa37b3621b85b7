//! The DaCapo host runtime: GEMM plans and their timing model, the backends that run them
//! (golden model or Verilator chip), the DNN kernels on top, the networks' layer lists and
//! their latencies on the accelerator, and `.npy` file I/O.

pub use mx;
pub use mx::rng;

pub mod backend;
pub mod cl;
pub mod kernels;
pub mod latency;
pub mod named;
pub mod net;
pub mod npy;
pub mod ops;
pub mod plan;
pub mod rtl;
pub mod scheduler;
pub mod stream;
pub mod tensor;
pub mod timing;
pub mod workloads;
