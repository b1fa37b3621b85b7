//! Matrices quantized into MX blocks along one axis, the reduction axis of the GEMM they feed.

use super::block::Block;
use super::format::{Format, Rounding, BLOCK};

/// The axis along which a matrix's 16-element blocks run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Axis {
    /// Blocks run along each row (numpy axis 1, the last axis): the A operand of A x B.
    Row,
    /// Blocks run down each column (numpy axis 0): the B operand of A x B.
    Col,
}

/// A rows x cols matrix stored as MX blocks. Each line (a row for `Axis::Row`, a column for
/// `Axis::Col`) holds `ceil(len / 16)` blocks; a ragged tail is zero-padded.
#[derive(Clone, Debug, PartialEq)]
pub struct MxMatrix {
    format: Format,
    rows: usize,
    cols: usize,
    axis: Axis,
    blocks: Vec<Block>,
}

impl MxMatrix {
    /// Quantizes a row-major f32 matrix. Under stochastic rounding, element i of block number
    /// n (in storage order) draws the random number with index 16 n + i.
    pub fn quantize(
        data: &[f32],
        rows: usize,
        cols: usize,
        axis: Axis,
        format: Format,
        rounding: Rounding,
    ) -> crate::Result<MxMatrix> {
        if data.len() != rows * cols {
            return Err(crate::Error::ValueCount { rows, cols, got: data.len() });
        }
        let mut m = MxMatrix { format, rows, cols, axis, blocks: Vec::new() };
        let (lines, blocks_per_line) = (m.lines(), m.blocks_per_line());
        m.blocks.reserve(lines * blocks_per_line);
        for line in 0..lines {
            for b in 0..blocks_per_line {
                let values =
                    std::array::from_fn(|i| m.element_index(line, b * BLOCK + i).map_or(0.0, |at| data[at]));
                let id = (line * blocks_per_line + b) as u64;
                m.blocks.push(Block::encode(&values, format, rounding, id));
            }
        }
        Ok(m)
    }

    /// Rebuilds a matrix from packed blocks in storage order (line by line).
    pub fn from_packed(
        bytes: &[u8],
        rows: usize,
        cols: usize,
        axis: Axis,
        format: Format,
    ) -> crate::Result<MxMatrix> {
        let mut m = MxMatrix { format, rows, cols, axis, blocks: Vec::new() };
        let expected = m.lines() * m.blocks_per_line() * format.block_bytes();
        if bytes.len() != expected {
            return Err(crate::Error::PackedSize { rows, cols, format, expected, got: bytes.len() });
        }
        m.blocks = bytes.chunks_exact(format.block_bytes()).map(|c| Block::unpack(format, c)).collect();
        Ok(m)
    }

    /// The packed blocks in storage order: `lines() * packed_line_bytes()` bytes.
    pub fn to_packed(&self) -> Vec<u8> {
        let size = self.format.block_bytes();
        let mut out = vec![0; self.blocks.len() * size];
        for (block, chunk) in self.blocks.iter().zip(out.chunks_exact_mut(size)) {
            block.pack(self.format, chunk);
        }
        out
    }

    /// The values the blocks stand for, as a row-major rows x cols f32 matrix.
    pub fn dequantize(&self) -> Vec<f32> {
        let mut out = vec![0.0; self.rows * self.cols];
        let per_line = self.blocks_per_line();
        for (n, block) in self.blocks.iter().enumerate() {
            let (line, b) = (n / per_line, n % per_line);
            for (i, v) in block.decode(self.format).into_iter().enumerate() {
                if let Some(at) = self.element_index(line, b * BLOCK + i) {
                    out[at] = v;
                }
            }
        }
        out
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn axis(&self) -> Axis {
        self.axis
    }

    /// Rows for `Axis::Row`, columns for `Axis::Col`.
    pub fn lines(&self) -> usize {
        match self.axis {
            Axis::Row => self.rows,
            Axis::Col => self.cols,
        }
    }

    /// The length of the blocked axis (the reduction length K of a GEMM operand).
    pub fn line_len(&self) -> usize {
        match self.axis {
            Axis::Row => self.cols,
            Axis::Col => self.rows,
        }
    }

    pub fn blocks_per_line(&self) -> usize {
        self.line_len().div_ceil(BLOCK)
    }

    pub fn packed_line_bytes(&self) -> usize {
        self.blocks_per_line() * self.format.block_bytes()
    }

    /// The blocks of one line, in reduction order.
    pub fn line(&self, line: usize) -> &[Block] {
        let per_line = self.blocks_per_line();
        &self.blocks[line * per_line..(line + 1) * per_line]
    }

    /// The row-major index of position `along` on `line`, or None in the zero padding.
    fn element_index(&self, line: usize, along: usize) -> Option<usize> {
        (along < self.line_len()).then(|| match self.axis {
            Axis::Row => line * self.cols + along,
            Axis::Col => along * self.cols + line,
        })
    }
}
