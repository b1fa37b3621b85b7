//! The golden backend and the Verilator backend agree on random GEMMs: same bits, same cycles.

use host::backend::{Backend, Golden, Rtl};
use mx::rng::Rng;
use mx::{Axis, Format, MxMatrix, Rounding};
use sim::Part;

#[test]
fn golden_and_rtl_agree_on_bits_and_cycles() {
    let mut golden = Golden::new("small").unwrap();
    let mut rtl = Rtl::new("small").unwrap();
    let mut rng = Rng::new(99);
    for round in 0..24 {
        let split = rng.below(5) as u32;
        golden.set_split(split).unwrap();
        rtl.set_split(split).unwrap();
        let part = if split == 0 || (split < 4 && round % 2 == 1) { Part::Bottom } else { Part::Top };
        let format = Format::ALL[round % 3];
        let (m, k, n) = (1 + rng.below(40) as usize, 1 + rng.below(200) as usize, 1 + rng.below(40) as usize);
        let mut data = |len: usize| -> Vec<f32> { (0..len).map(|_| rng.normal() as f32).collect() };
        let a = MxMatrix::quantize(&data(m * k), m, k, Axis::Row, format, Rounding::NearestEven).unwrap();
        let b = MxMatrix::quantize(&data(k * n), k, n, Axis::Col, format, Rounding::NearestEven).unwrap();
        let g = golden.gemm(part, &a, &b).unwrap();
        let r = rtl.gemm(part, &a, &b).unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&g.c), bits(&r.c), "{m}x{k}x{n} {format} split {split} {part:?}");
        assert_eq!(g.cycles, r.cycles, "{m}x{k}x{n} {format} split {split} {part:?}");
    }
    assert!(golden.set_split(5).is_err() && rtl.set_split(5).is_err());
}
