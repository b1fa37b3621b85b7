"""The bit-exact MX golden model of the DaCapo accelerator (SPEC sections 2 and 3).

numpy in, numpy out, with the names and meanings of the Rust API. Formats are "mx9", "mx6"
and "mx4"; roundings "nearest" (ties to even, the default), "truncate" and "stochastic" (with a
seed). Bad dtypes and dimensions raise TypeError; bad formats, roundings, seeds and shapes
ValueError; failures of the model itself dacapo_mx.Error.
"""

from typing import Literal, Optional, overload

import numpy as np
import numpy.typing as npt

Format = Literal["mx9", "mx6", "mx4"]
Rounding = Literal["nearest", "truncate", "stochastic"]
Axis = Literal["row", "col"]

class Error(Exception):
    """An operation of the MX golden model failed."""

class MxMatrix:
    """A matrix of MX blocks: each row (axis="row") or column (axis="col") cut into blocks of
    16 along it, the last zero-padded."""

    @staticmethod
    def quantize(
        x: npt.NDArray[np.float32],
        format: Format,
        axis: Axis = "row",
        rounding: Rounding = "nearest",
        seed: Optional[int] = None,
    ) -> "MxMatrix":
        """Quantizes a 2-D float32 array along `axis`."""
    @staticmethod
    def from_packed(
        packed: npt.NDArray[np.uint8], rows: int, cols: int, format: Format, axis: Axis = "row"
    ) -> "MxMatrix":
        """Rebuilds a matrix from `to_packed`'s bytes."""
    def dequantize(self) -> npt.NDArray[np.float32]:
        """The values the blocks hold, as float32 (rows x cols)."""
    def to_packed(self) -> npt.NDArray[np.uint8]:
        """The packed blocks (SPEC section 2) as uint8, one line (row or column) per row."""
    @property
    def rows(self) -> int: ...
    @property
    def cols(self) -> int: ...
    @property
    def format(self) -> Format: ...
    @property
    def axis(self) -> Axis: ...

def quantize(
    x: npt.NDArray[np.float32], format: Format, rounding: Rounding = "nearest", seed: Optional[int] = None
) -> npt.NDArray[np.float32]:
    """Each row quantized to MX blocks along it and back: what `dacapo mx quantize` writes."""

def dot(
    a: npt.NDArray[np.float32],
    b: npt.NDArray[np.float32],
    format: Format,
    rounding: Rounding = "nearest",
    seed: Optional[int] = None,
    acc: float = 0.0,
) -> float:
    """One output of a DPE: both vectors quantized, one f32 addition per block pair into acc."""

@overload
def gemm(a: MxMatrix, b: MxMatrix) -> npt.NDArray[np.float32]: ...
@overload
def gemm(
    a: npt.NDArray[np.float32],
    b: npt.NDArray[np.float32],
    format: Format,
    rounding: Rounding = "nearest",
    seed: Optional[int] = None,
) -> npt.NDArray[np.float32]: ...
def block_bytes(format: Format) -> int:
    """Bytes of one packed block: 18, 12 or 8."""

def unpack(packed: npt.NDArray[np.uint8], format: Format) -> npt.NDArray[np.float32]:
    """The values of packed blocks (1-D uint8, a whole number of blocks)."""
