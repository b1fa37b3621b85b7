//! Waveform tracing on request: a VCD file that GTKWave or Surfer opens, with the DPE's ports
//! and a time step per clock edge.

use mx::{Block, Format, BLOCK};
use sim::Dpe;

#[test]
fn dpe_writes_a_vcd_when_asked() {
    let dir = std::env::temp_dir().join(format!("dacapo-wave-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("dpe.vcd");
    let mut dpe = Dpe::new();
    dpe.model().trace_to(&path).unwrap();
    let block = Block { exp: 127, micro: 0, signs: 0, mags: [1; BLOCK] };
    dpe.clear(0);
    dpe.feed(0, &block, &block, Format::Mx6);
    dpe.model().trace_close().unwrap();
    let vcd = std::fs::read_to_string(&path).unwrap();
    assert!(vcd.contains("$enddefinitions"), "a VCD header");
    for signal in ["acc_o", "block_done_o", "slice_q", "block_sum_q"] {
        assert!(vcd.contains(signal), "{signal} is traced");
    }
    // Reset, clear and 4 MX6 slices: at least 10 time steps.
    assert!(vcd.lines().filter(|l| l.starts_with('#')).count() >= 10);
    std::fs::remove_dir_all(&dir).unwrap();
    // A folder that does not exist is an error, not a crash.
    assert!(Dpe::new().model().trace_to(std::path::Path::new("/no/such/dir/x.vcd")).is_err());
}

#[test]
fn a_write_error_is_reported_not_hung_on() {
    // /dev/full fails every write with ENOSPC, as a full disk does.
    let mut dpe = Dpe::new();
    dpe.model().trace_to(std::path::Path::new("/dev/full")).unwrap();
    let block = Block { exp: 127, micro: 0, signs: 0, mags: [1; BLOCK] };
    dpe.clear(0);
    dpe.feed(0, &block, &block, Format::Mx9);
    let error = dpe.model().trace_close().unwrap_err();
    assert_eq!(error.raw_os_error(), Some(28), "ENOSPC, got {error}");
    // The model goes on without a trace.
    dpe.feed(0, &block, &block, Format::Mx9);
}
