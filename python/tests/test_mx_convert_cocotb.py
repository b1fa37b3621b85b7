"""Runs the cocotb testbench cocotb_mx_convert.py on Icarus Verilog against the `mx_convert`
that `dacapo rtl --units mx_convert` generates."""

import os
import pathlib
import subprocess

import pytest

from cocotb_tools.runner import get_results, get_runner

TESTS = pathlib.Path(__file__).resolve().parent
REPO = TESTS.parents[1]
DACAPO = pathlib.Path(os.environ.get("DACAPO", REPO / "target" / "release" / "dacapo"))


def run_testbench(rtl, build):
    """Builds `rtl`/mx_convert.sv with Icarus and runs the cocotb test; (tests, failures).
    The runner exits when a test fails; the results file still counts them."""
    runner = get_runner("icarus")
    runner.build(
        sources=[rtl / "mx_convert.sv"],
        hdl_toplevel="mx_convert",
        build_dir=build,
        build_args=["-g2012"],
        timescale=("1ns", "1ps"),
    )
    results = build / "results.xml"
    try:
        runner.test(
            hdl_toplevel="mx_convert",
            test_module="cocotb_mx_convert",
            build_dir=build,
            test_dir=build,
            results_xml=str(results),
            extra_env={"PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")]))},
        )
    except SystemExit:
        pass
    return get_results(results)


def test_mx_convert_matches_the_golden_model_on_icarus(tmp_path):
    subprocess.run([str(DACAPO), "rtl", "--units", "mx_convert", "--out", str(tmp_path / "rtl")], check=True)
    tests, failures = run_testbench(tmp_path / "rtl", tmp_path / "build")
    assert (tests, failures) == (1, 0)


# Broken copies of the RTL the testbench must reject: rounding ties away from zero instead of
# to even, and magnitudes that wrap instead of saturating.
MUTATIONS = {
    "ties away": ("half && (sticky || kept[9*i])", "half"),
    "no saturation": ("(rounded_mag > max_mag) ? max_mag[7:0] : rounded_mag[7:0]", "rounded_mag[7:0]"),
}


@pytest.mark.parametrize("mutation", MUTATIONS)
def test_the_testbench_fails_on_broken_rtl(tmp_path, mutation):
    rtl = tmp_path / "rtl"
    subprocess.run([str(DACAPO), "rtl", "--units", "mx_convert", "--out", str(rtl)], check=True)
    source = rtl / "mx_convert.sv"
    old, new = MUTATIONS[mutation]
    text = source.read_text()
    assert text.count(old) == 1, f"the generated mx_convert no longer holds `{old}`"
    source.write_text(text.replace(old, new))
    assert run_testbench(rtl, tmp_path / "build") == (1, 1)
