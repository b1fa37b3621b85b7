"""cocotb testbench: the generated `mx_convert` (16 f32 to one packed MX block, combinational)
on Icarus Verilog, every output checked against dacapo_mx as it happens. Run by
test_mx_convert_cocotb.py, which generates the RTL and starts the simulator."""

import random
import struct

import cocotb
import numpy as np
from cocotb.triggers import Timer

import dacapo_mx

FORMATS = [("mx9", 0), ("mx6", 1), ("mx4", 2)]
ROUNDINGS = [("nearest", 0), ("truncate", 1)]
# Random blocks per format and rounding; each also goes through every corner case below.
RANDOM_BLOCKS = 1500


def bits(value):
    return struct.unpack("<I", struct.pack("<f", value))[0]


def random_block(rng):
    """16 values around a random exponent, up to 30 binades below it (down into subnormals);
    every other block with only its top 3 fraction bits set, so that exact ties are common."""
    top = rng.randrange(1, 255)
    fraction = rng.choice([0x007FFFFF, 0x00700000])
    words = []
    for _ in range(16):
        exponent = max(top - rng.randrange(30), 0)
        words.append(rng.getrandbits(32) & (0x80000000 | fraction) | exponent << 23)
    return words


def corner_blocks():
    """Zeros, subnormals only, the largest finite values (rounding must saturate, not carry
    into the exponent), one infinity or NaN among finite values, and mixed signs of zero."""
    largest = bits(3.4028234663852886e38)
    return [
        [0] * 16,
        [0x80000000] * 16,
        [1, 0x80000001, 0x007FFFFF, 0x00400000] * 4,
        [largest, largest | 0x80000000] * 8,
        [0x7F7FFFFF - i for i in range(16)],
        [bits(1.0)] * 15 + [0x7F800000],
        [bits(-2.5)] * 15 + [0xFF800000],
        [0x7FC00000] + [bits(3.0)] * 15,
        [0x7F800001] + [0] * 15,
        [bits(1.0), bits(1.0 + 2**-3), bits(1.0 + 2**-4), bits(-1.75)] * 4,
    ]


def expected(words, format, rounding):
    values = np.array([words], dtype=np.uint32).view(np.float32)
    packed = dacapo_mx.MxMatrix.quantize(values, format, rounding=rounding).to_packed()
    return int.from_bytes(packed[0].tobytes(), "little")


@cocotb.test()
async def every_output_matches_the_golden_model(dut):
    rng = random.Random(19)
    blocks = corner_blocks() + [random_block(rng) for _ in range(RANDOM_BLOCKS)]
    checked = 0
    for format, format_code in FORMATS:
        for rounding, truncate in ROUNDINGS:
            for n, words in enumerate(blocks):
                dut.data_i.value = sum(w << (32 * i) for i, w in enumerate(words))
                dut.format_i.value = format_code
                dut.truncate_i.value = truncate
                await Timer(1, unit="ns")
                got = int(dut.block_o.value)
                want = expected(words, format, rounding)
                assert got == want, (
                    f"{format} {rounding}, block {n} {[f'{w:08x}' for w in words]}: "
                    f"mx_convert gives {got:036x}, the golden model {want:036x}"
                )
                checked += 1
    dut._log.info("%d blocks match the golden model", checked)
