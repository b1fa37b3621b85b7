// The bit-exact MX golden model (SPEC sections 2 and 3) for SystemVerilog testbenches, through
// DPI-C. Link the C library (target/release/libdacapo_mx.a from `cargo build --release -p
// dacapo-mx`, with -lpthread -ldl -lm); capi/sv/dpe_tb.sv shows the use.
//
// Floats cross as their IEEE bit patterns (int unsigned), which every simulator passes alike;
// blocks as packed vectors, the format's packed bits from bit 0 and zeros above. Every
// function returns a status: STATUS_OK, or a code whose meaning dacapo_mx_status_message gives
// in C (include/dacapo_mx.h).
package dacapo_mx_dpi;
  // A testbench uses the codes it needs.
  /* verilator lint_off UNUSEDPARAM */

  localparam int STATUS_OK = 0;

  // The hardware's format_i codes.
  localparam int FORMAT_MX9 = 0;
  localparam int FORMAT_MX6 = 1;
  localparam int FORMAT_MX4 = 2;

  localparam int ROUND_NEAREST_EVEN = 0;
  localparam int ROUND_TRUNCATE = 1;
  localparam int ROUND_STOCHASTIC = 2;
  /* verilator lint_on UNUSEDPARAM */

  // One packed block, wide enough for MX9 (144 bits).
  typedef bit [143:0] mx_block_t;
  // 16 f32 values as bits, element i in [i].
  typedef bit [15:0][31:0] mx_values_t;

  // 16 values to one block of `format`; `seed` and `block_id` key stochastic rounding.
  import "DPI-C" function int dacapo_mx_dpi_quantize_block(
    input  mx_values_t      values,
    input  int              format,
    input  int              rounding,
    input  longint unsigned seed,
    input  longint unsigned block_id,
    output mx_block_t       packed_block
  );

  // One DPE step: result = acc + the block pair's scaled sum, as the DPE rounds it.
  import "DPI-C" function int dacapo_mx_dpi_dpe_step(
    input  int unsigned acc,
    input  mx_block_t   a,
    input  mx_block_t   b,
    input  int          format,
    output int unsigned result
  );

  // The DPE's f32 addition (nearest even, NaNs canonical).
  import "DPI-C" function int unsigned dacapo_mx_dpi_f32_add(
    input int unsigned a,
    input int unsigned b
  );

  // Magnitude bits per element of a format.
  function automatic int mag_bits(input int format);
    return format == FORMAT_MX9 ? 7 : format == FORMAT_MX6 ? 4 : 2;
  endfunction

endpackage
