"""dacapo_mx against the command line's golden model (identical bytes), against numpy's float64
product of the quantized operands (within the bound of one f32 rounding per block), and on bad
input (the exception and its reason)."""

import os
import pathlib
import subprocess

import numpy as np
import pytest

import dacapo_mx

REPO = pathlib.Path(__file__).resolve().parents[2]
DACAPO = pathlib.Path(os.environ.get("DACAPO", REPO / "target" / "release" / "dacapo"))
FORMATS = ["mx9", "mx6", "mx4"]


def random_matrix(rng, rows, cols):
    scales = rng.integers(-10, 10, size=(rows, 1)).astype(np.float32)
    return (rng.standard_normal((rows, cols)) * 2.0**scales).astype(np.float32)


@pytest.mark.parametrize("format", FORMATS)
@pytest.mark.parametrize("rounding,seed", [("nearest", None), ("truncate", None), ("stochastic", 7)])
def test_gemm_is_the_command_lines_to_the_byte(tmp_path, format, rounding, seed):
    rng = np.random.default_rng(3)
    a, b = random_matrix(rng, 13, 70), random_matrix(rng, 70, 9)
    np.save(tmp_path / "a.npy", a)
    np.save(tmp_path / "b.npy", b)
    args = [str(DACAPO), "mx", "gemm", "--format", format, "--rounding", rounding]
    args += ["--seed", str(seed)] if seed is not None else []
    subprocess.run(args + [str(tmp_path / f) for f in ("a.npy", "b.npy", "c.npy")], check=True)
    want = np.load(tmp_path / "c.npy")
    got = dacapo_mx.gemm(a, b, format, rounding=rounding, seed=seed)
    assert got.dtype == np.float32 and got.shape == (13, 9)
    assert got.tobytes() == want.tobytes()


@pytest.mark.parametrize("format", FORMATS)
def test_gemm_is_within_one_rounding_per_block_of_float64(format):
    rng = np.random.default_rng(4)
    a, b = random_matrix(rng, 20, 100), random_matrix(rng, 100, 30)
    qa = dacapo_mx.MxMatrix.quantize(a, format, axis="row")
    qb = dacapo_mx.MxMatrix.quantize(b, format, axis="col")
    exact = qa.dequantize().astype(np.float64) @ qb.dequantize().astype(np.float64)
    magnitude = np.abs(qa.dequantize()).astype(np.float64) @ np.abs(qb.dequantize()).astype(np.float64)
    blocks = -(-100 // 16)
    got = dacapo_mx.gemm(qa, qb)
    # Each block's addition rounds once, by at most half an ulp of a sum no larger than
    # `magnitude`: 2^-24 relative to it per block.
    assert np.all(np.abs(got - exact) <= blocks * 2.0**-24 * magnitude)
    assert np.array_equal(got, dacapo_mx.gemm(a, b, format))


def test_packed_blocks_round_trip_and_unpack_to_the_values():
    rng = np.random.default_rng(5)
    x = random_matrix(rng, 3, 40)
    for format in FORMATS:
        m = dacapo_mx.MxMatrix.quantize(x, format)
        packed = m.to_packed()
        assert packed.dtype == np.uint8 and packed.shape == (3, 3 * dacapo_mx.block_bytes(format))
        again = dacapo_mx.MxMatrix.from_packed(packed, 3, 40, format)
        assert np.array_equal(again.to_packed(), packed)
        values = dacapo_mx.unpack(packed.reshape(-1), format).reshape(3, 48)
        assert np.array_equal(values[:, :40], m.dequantize())
        assert np.array_equal(m.dequantize(), dacapo_mx.quantize(x, format))
        assert (m.rows, m.cols, m.format, m.axis) == (3, 40, format, "row")


def test_dot_is_one_output_of_the_gemm():
    rng = np.random.default_rng(6)
    a, b = random_matrix(rng, 1, 50), random_matrix(rng, 50, 1)
    for format in FORMATS:
        c = dacapo_mx.gemm(a, b, format)
        assert np.float32(dacapo_mx.dot(a[0], b[:, 0].copy(), format)) == c[0, 0]
        # Strided views are read as their values.
        assert dacapo_mx.dot(a[0], b[:, 0], format) == dacapo_mx.dot(a[0], b[:, 0].copy(), format)


def test_stochastic_rounding_is_seeded():
    x = np.linspace(-1, 1, 64, dtype=np.float32).reshape(2, 32) / 3
    q = [dacapo_mx.quantize(x, "mx4", rounding="stochastic", seed=s) for s in (1, 1, 2)]
    assert np.array_equal(q[0], q[1]) and not np.array_equal(q[0], q[2])


def test_bad_input_raises_with_the_reason():
    a = np.ones((2, 16), dtype=np.float32)
    b = np.ones((16, 3), dtype=np.float32)
    with pytest.raises(TypeError):
        dacapo_mx.gemm(a.astype(np.float64), b, "mx6")
    with pytest.raises(TypeError):
        dacapo_mx.gemm(a[0], b, "mx6")
    with pytest.raises(ValueError, match="unknown MX format 'mx5'"):
        dacapo_mx.gemm(a, b, "mx5")
    with pytest.raises(ValueError, match="unknown rounding 'up'"):
        dacapo_mx.gemm(a, b, "mx6", rounding="up")
    with pytest.raises(ValueError, match="seed only applies"):
        dacapo_mx.quantize(a, "mx6", seed=3)
    with pytest.raises(ValueError, match="needs a format"):
        dacapo_mx.gemm(a, b)
    with pytest.raises(dacapo_mx.Error, match="A's columns must equal B's rows"):
        dacapo_mx.gemm(a, np.ones((17, 3), dtype=np.float32), "mx6")
    qa = dacapo_mx.MxMatrix.quantize(a, "mx6")
    with pytest.raises(dacapo_mx.Error, match="blocked down its columns"):
        dacapo_mx.gemm(qa, qa)
    with pytest.raises(ValueError, match="carry their own"):
        dacapo_mx.gemm(qa, qa, "mx6")
    with pytest.raises(ValueError, match="no whole number of mx9 blocks"):
        dacapo_mx.unpack(np.zeros(10, dtype=np.uint8), "mx9")
    with pytest.raises(ValueError, match="unknown axis"):
        dacapo_mx.MxMatrix.quantize(a, "mx6", axis="diagonal")
    with pytest.raises(ValueError, match="lengths 16 and 3"):
        dacapo_mx.dot(a[0], b[0], "mx6")
    assert issubclass(dacapo_mx.Error, Exception)
