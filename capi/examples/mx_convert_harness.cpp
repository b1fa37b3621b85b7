// A C++ harness: the generated `mx_convert` as a Verilator C++ model, every block it outputs
// checked against the golden model through the C library. Build and run from the repository's
// root, after `make capi`:
//   dacapo rtl --units mx_convert --out rtl-units
//   verilator --cc --exe --build -j 2 -Wall rtl-units/mx_convert.sv capi/examples/mx_convert_harness.cpp
//     -CFLAGS -I$PWD/capi/include $PWD/target/release/libdacapo_mx.a -LDFLAGS "-lpthread -ldl -lm"
// (one command line).
//   ./obj_dir/Vmx_convert
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <random>
#include <stdexcept>
#include <string>

#include "Vmx_convert.h"
#include "dacapo_mx.h"

namespace {

// The golden model's packed block for 16 f32 bit patterns, as the 5 words of `block_o`.
void golden_block(const uint32_t (&bits)[DACAPO_MX_BLOCK], int32_t format, bool truncate, uint32_t (&out)[5]) {
    uint32_t words[5] = {};
    int32_t rounding = truncate ? DACAPO_MX_ROUND_TRUNCATE : DACAPO_MX_ROUND_NEAREST_EVEN;
    int32_t status = dacapo_mx_dpi_quantize_block(bits, format, rounding, 0, 0, words);
    if (status != DACAPO_MX_OK) throw std::runtime_error(dacapo_mx_status_message(status));
    std::memcpy(out, words, sizeof out);
}

// 16 values around a random exponent, down to 30 binades below it (into subnormals); with
// `short_significands`, only their top 3 fraction bits set, so that exact ties are common.
void random_values(std::mt19937 &rng, bool short_significands, uint32_t (&bits)[DACAPO_MX_BLOCK]) {
    int top = static_cast<int>(rng() % 254) + 1;
    uint32_t fraction = short_significands ? 0x00700000u : 0x007FFFFFu;
    for (uint32_t &b : bits) {
        int exponent = top - static_cast<int>(rng() % 30);
        b = (rng() & (0x80000000u | fraction)) | static_cast<uint32_t>(exponent < 0 ? 0 : exponent) << 23;
    }
}

}  // namespace

int main() {
    Vmx_convert dut;
    std::mt19937 rng(5);
    const int32_t formats[] = {DACAPO_MX_FORMAT_MX9, DACAPO_MX_FORMAT_MX6, DACAPO_MX_FORMAT_MX4};
    long checked = 0;
    for (int n = 0; n < 20000; n++) {
        uint32_t bits[DACAPO_MX_BLOCK];
        random_values(rng, n % 2 == 1, bits);
        int32_t format = formats[n % 3];
        bool truncate = (n / 6) % 2 == 1;
        for (int i = 0; i < DACAPO_MX_BLOCK; i++) dut.data_i[i] = bits[i];
        dut.format_i = static_cast<uint8_t>(format);
        dut.truncate_i = truncate;
        dut.eval();
        uint32_t want[5];
        golden_block(bits, format, truncate, want);
        for (int w = 0; w < 5; w++) {
            if (dut.block_o[w] != want[w]) {
                std::fprintf(stderr, "block %d (format %d, truncate %d): word %d is %08x, the golden model's %08x\n",
                             n, format, truncate, w, dut.block_o[w], want[w]);
                return 1;
            }
        }
        checked++;
    }
    dut.final();
    std::printf("mx_convert_harness: %ld blocks checked against the golden model, bit for bit\n", checked);
    return 0;
}
