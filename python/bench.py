"""`make bench`'s Python part: dacapo_mx.gemm on two MxMatrix at 512^3 against mx::gemm on the
same operands, timed by criterion in the same `make bench` (group gemm_512_binding). Prints
the ratio Rust time / Python time per format (>= 0.9: the binding costs at most 10 %)."""

import json
import os
import pathlib
import timeit

import numpy as np

import dacapo_mx

SIZE = 512
TARGET = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", pathlib.Path(__file__).resolve().parents[1] / "target"))


def rust_mean_ns(format):
    estimates = TARGET / "criterion" / f"gemm_{SIZE}_binding" / format / "new" / "estimates.json"
    return json.loads(estimates.read_text())["mean"]["point_estimate"]


def main():
    rng = np.random.default_rng(8)
    a = rng.standard_normal((SIZE, SIZE)).astype(np.float32)
    b = rng.standard_normal((SIZE, SIZE)).astype(np.float32)
    print(f"\nPython dacapo_mx.gemm(MxMatrix, MxMatrix) against Rust mx::gemm, {SIZE}^3:")
    for format in ["mx9", "mx6", "mx4"]:
        qa = dacapo_mx.MxMatrix.quantize(a, format, axis="row")
        qb = dacapo_mx.MxMatrix.quantize(b, format, axis="col")
        runs = timeit.repeat(lambda: dacapo_mx.gemm(qa, qb), number=1, repeat=40)
        python_ns = sorted(runs)[len(runs) // 2] * 1e9
        rust_ns = rust_mean_ns(format)
        print(f"  {format}: Python {python_ns / 1e6:8.3f} ms (median), Rust {rust_ns / 1e6:8.3f} ms (mean), "
              f"ratio {rust_ns / python_ns:.2f}")


if __name__ == "__main__":
    main()
