//! The DPE arrays on Verilator against the golden dot product: every split, either part, both
//! parts at once in different formats, ragged tiles, back-to-back tiles; on the `small`
//! preset's 4 x 4 array and on a 3 x 2 array of the interleaved DPE (five outputs per DPE,
//! tiles ten columns wide).

use mx::rng::Rng;
use mx::{Block, Format};
use sim::{ArrayHarness, ArrayPorts, Part, Tile};

fn random_block(rng: &mut Rng, format: Format) -> Block {
    let max = u64::from(format.max_mag());
    Block {
        exp: 100 + rng.below(60) as u8,
        micro: rng.next_u32() as u8,
        signs: rng.next_u32() as u16,
        mags: std::array::from_fn(|_| rng.below(max + 1) as u8),
    }
}

fn random_tile(rng: &mut Rng, format: Format, rows: usize, cols: usize, blocks: usize) -> Tile {
    let line = |rng: &mut Rng| (0..blocks).map(|_| random_block(rng, format)).collect::<Vec<_>>();
    Tile { format, a: (0..rows).map(|_| line(rng)).collect(), b: (0..cols).map(|_| line(rng)).collect() }
}

fn bits(m: &[Vec<f32>]) -> Vec<Vec<u32>> {
    m.iter().map(|r| r.iter().map(|x| x.to_bits()).collect()).collect()
}

/// Runs one test on both arrays.
macro_rules! on_both_arrays {
    ($test:ident) => {
        mod $test {
            #[test]
            fn small() {
                super::$test::<sim::DpeArray4x4Model>()
            }
            #[test]
            fn interleaved() {
                super::$test::<sim::DpeArray3x2I5335Model>()
            }
        }
    };
}

on_both_arrays!(every_split_on_either_part_is_bit_exact);
on_both_arrays!(both_parts_busy_at_once_in_different_formats);
on_both_arrays!(a_new_split_right_after_a_tile_leaks_nothing);
on_both_arrays!(tile_cycles_follow_the_closed_form);

fn every_split_on_either_part_is_bit_exact<M: ArrayPorts>() {
    let mut rng = Rng::new(0xA77);
    let mut array = ArrayHarness::<M>::new();
    let rows_total = ArrayHarness::<M>::ROWS;
    let tile_cols = ArrayHarness::<M>::TILE_COLS as u64;
    for split in 0..=rows_total {
        array.set_split(split);
        for part in [Part::Top, Part::Bottom] {
            let rows = if part == Part::Top { split } else { rows_total - split };
            if rows == 0 {
                continue;
            }
            for format in Format::ALL {
                for _ in 0..4 {
                    let (m, n, blocks) = (
                        1 + rng.below(rows as u64) as usize,
                        1 + rng.below(tile_cols) as usize,
                        1 + rng.below(4) as usize,
                    );
                    let tile = random_tile(&mut rng, format, m, n, blocks);
                    let out = match part {
                        Part::Top => array.run(Some(&tile), None)[0].clone(),
                        Part::Bottom => array.run(None, Some(&tile))[1].clone(),
                    };
                    assert_eq!(
                        bits(&out.unwrap()),
                        bits(&tile.golden()),
                        "split {split} {part:?} {format} {m}x{n} K={blocks} blocks"
                    );
                }
            }
        }
    }
}

fn both_parts_busy_at_once_in_different_formats<M: ArrayPorts>() {
    let mut rng = Rng::new(0xB07);
    let mut array = ArrayHarness::<M>::new();
    let (rows, cols) = (ArrayHarness::<M>::ROWS, ArrayHarness::<M>::TILE_COLS);
    for split in 1..rows {
        array.set_split(split);
        for (top_format, bottom_format) in
            [(Format::Mx9, Format::Mx4), (Format::Mx4, Format::Mx6), (Format::Mx6, Format::Mx9)]
        {
            let (top_blocks, bottom_blocks) = (1 + rng.below(3) as usize, 1 + rng.below(5) as usize);
            let top = random_tile(&mut rng, top_format, split, cols, top_blocks);
            let bottom = random_tile(&mut rng, bottom_format, rows - split, cols, bottom_blocks);
            let [t, b] = array.run(Some(&top), Some(&bottom));
            assert_eq!(bits(&t.unwrap()), bits(&top.golden()), "top, split {split}");
            assert_eq!(bits(&b.unwrap()), bits(&bottom.golden()), "bottom, split {split}");
        }
    }
}

fn a_new_split_right_after_a_tile_leaks_nothing<M: ArrayPorts>() {
    // Regression: a drain word still in a skew line, or a result still in a drain chain, must
    // not reappear in the other part after the cut moves.
    let block = |exp: u8| Block { exp, micro: 0, signs: 0, mags: [1; 16] };
    let mut array = ArrayHarness::<M>::new();
    let (rows, cols) = (ArrayHarness::<M>::ROWS, ArrayHarness::<M>::TILE_COLS);
    let moves = [(rows - 1, rows), (1, 0), (rows - 2, rows - 1), (rows, 1)];
    for (from, to) in moves {
        array.set_split(from);
        let (part_rows, first) = if from < rows { (rows - from, Part::Bottom) } else { (from, Part::Top) };
        let tile = Tile {
            format: Format::Mx4,
            a: vec![vec![block(127); 4]; part_rows.min(1)],
            b: vec![vec![block(127); 4]],
        };
        let out = match first {
            Part::Top => array.run(Some(&tile), None)[0].clone(),
            Part::Bottom => array.run(None, Some(&tile))[1].clone(),
        };
        assert_eq!(bits(&out.unwrap()), bits(&tile.golden()));
        array.set_split(to);
        let part = if to > 0 { Part::Top } else { Part::Bottom };
        let next = Tile {
            format: Format::Mx6,
            a: vec![vec![block(130); 4]],
            b: (0..cols as u8).map(|j| vec![block(120 + j); 4]).collect(),
        };
        let out = match part {
            Part::Top => array.run(Some(&next), None)[0].clone(),
            Part::Bottom => array.run(None, Some(&next))[1].clone(),
        };
        assert_eq!(bits(&out.unwrap()), bits(&next.golden()), "split {from} -> {to}");
    }
}

fn tile_cycles_follow_the_closed_form<M: ArrayPorts>() {
    let mut rng = Rng::new(0xC7C);
    let mut array = ArrayHarness::<M>::new();
    let (rows, cols) = (ArrayHarness::<M>::ROWS, ArrayHarness::<M>::TILE_COLS);
    for split in 0..=rows {
        array.set_split(split);
        for format in Format::ALL {
            for blocks in 1..=3 {
                let top_rows = split;
                let bottom_rows = rows - split;
                let top = (top_rows > 0).then(|| random_tile(&mut rng, format, top_rows, cols, blocks));
                let bottom = (bottom_rows > 0)
                    .then(|| random_tile(&mut rng, Format::Mx6, bottom_rows, cols - 1, blocks + 1));
                let start = array.cycles();
                array.run(top.as_ref(), bottom.as_ref());
                // Both parts run side by side: the tile takes as long as the slower part alone.
                let want = [
                    top.as_ref().map(|_| ArrayHarness::<M>::tile_cycles(format, blocks, top_rows)),
                    bottom
                        .as_ref()
                        .map(|_| ArrayHarness::<M>::tile_cycles(Format::Mx6, blocks + 1, bottom_rows)),
                ]
                .into_iter()
                .flatten()
                .max()
                .unwrap();
                assert_eq!(array.cycles() - start, want, "split {split} {format} K={blocks} blocks");
            }
        }
    }
}
