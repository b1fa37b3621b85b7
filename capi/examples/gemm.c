// The golden model from C: quantize a block, one DPE step, and a small GEMM, checking every
// status. Build and run from the repository's root, after `cargo build --release -p dacapo-mx`:
//   cc -std=c99 -Wall -I capi/include capi/examples/gemm.c target/release/libdacapo_mx.a
//      -lpthread -ldl -lm -o gemm && ./gemm
#include <stdio.h>
#include <string.h>

#include "dacapo_mx.h"

static int check(int32_t status, const char *what) {
    if (status != DACAPO_MX_OK) {
        fprintf(stderr, "%s: %s\n", what, dacapo_mx_status_message(status));
        return 1;
    }
    return 0;
}

static unsigned bits(float x) {
    unsigned u;
    memcpy(&u, &x, sizeof u);
    return u;
}

int main(void) {
    float values[DACAPO_MX_BLOCK];
    for (int i = 0; i < DACAPO_MX_BLOCK; i++) values[i] = 0.1f * (float)(i - 7);

    // One MX6 block, its values as the hardware sees them, and the block times itself.
    uint8_t block[DACAPO_MX_MAX_BLOCK_BYTES];
    size_t len = dacapo_mx_block_bytes(DACAPO_MX_FORMAT_MX6);
    if (check(dacapo_mx_quantize_block(values, DACAPO_MX_FORMAT_MX6, DACAPO_MX_ROUND_NEAREST_EVEN, 0, 0,
                                       block, len), "quantize")) return 1;
    float decoded[DACAPO_MX_BLOCK];
    if (check(dacapo_mx_dequantize_block(block, len, DACAPO_MX_FORMAT_MX6, decoded), "dequantize")) return 1;
    float acc = 0.0f;
    if (check(dacapo_mx_dpe_step(acc, block, block, len, DACAPO_MX_FORMAT_MX6, &acc), "dpe step")) return 1;
    printf("block[15] %08x dot %08x\n", bits(decoded[15]), bits(acc));

    // C = A x B in MX9, A 2 x 16, B 16 x 3.
    float a[2 * 16], b[16 * 3], c[2 * 3];
    for (int i = 0; i < 2 * 16; i++) a[i] = (float)(i % 5) - 2.0f;
    for (int i = 0; i < 16 * 3; i++) b[i] = 0.25f * (float)(i % 7);
    if (check(dacapo_mx_gemm(a, b, 2, 16, 3, DACAPO_MX_FORMAT_MX9, DACAPO_MX_ROUND_NEAREST_EVEN, 0, c), "gemm"))
        return 1;
    printf("gemm");
    for (int i = 0; i < 2 * 3; i++) printf(" %08x", bits(c[i]));
    printf("\n");

    // A bad argument is a status, never a crash.
    int32_t status = dacapo_mx_gemm(a, b, 2, 16, 3, 7, DACAPO_MX_ROUND_NEAREST_EVEN, 0, c);
    printf("format 7: %s\n", dacapo_mx_status_message(status));
    return 0;
}
