// Checks the generated DPE against the golden model, transaction by transaction, through
// DPI-C (dacapo_mx_dpi.sv): random block pairs in every format (random f32 values quantized by
// the model, with zeros, subnormal and huge scales, NaN and infinity), back to back or with
// gaps, a clear or a load before each output. Every accumulator value the DPE reports with
// block_done_o must equal dacapo_mx_dpi_dpe_step's, bit for bit; a mismatch stops the run
// with $fatal. Verilator: see capi/tests/dpi_dpe.rs for the command.
module dpe_tb;
  import dacapo_mx_dpi::*;

  // Outputs to check, each of 1 to 8 blocks.
  localparam int Outputs = 5000;

  logic        clk_i = 1'b0;
  logic        rst_ni = 1'b0;
  logic [1:0]  format_i = '0;
  logic        clear_i = 1'b0;
  logic        load_i = 1'b0;
  logic [31:0] load_data_i = '0;
  logic        drain_i = 1'b0;
  logic        drain_tag_i = 1'b0;
  logic        valid_i = 1'b0;
  logic [7:0]  a_exp_i = '0;
  logic [7:0]  b_exp_i = '0;
  logic [7:0]  a_micro_i = '0;
  logic [7:0]  b_micro_i = '0;
  logic [15:0] a_sign_i = '0;
  logic [31:0] a_mag_i = '0;
  logic [15:0] b_sign_i = '0;
  logic [31:0] b_mag_i = '0;
  logic [31:0] acc_o;
  logic        block_done_o;
  // Drains are the array's business; this bench checks block by block.
  /* verilator lint_off UNUSEDSIGNAL */
  logic        drain_o;
  logic        drain_tag_o;
  /* verilator lint_on UNUSEDSIGNAL */

  dpe dut (.*);

  initial forever #5 clk_i = ~clk_i;

  // The model's accumulator after each block sent, oldest first.
  int unsigned expected[$];
  int checked = 0;

  always @(posedge clk_i) begin
    if (block_done_o) begin
      if (expected.size() == 0) $fatal(1, "dpe_tb: block_done_o with no block in flight");
      if (acc_o !== expected[0]) begin
        $fatal(1, "dpe_tb: block %0d: the DPE gives %h, the golden model %h", checked, acc_o, expected[0]);
      end
      void'(expected.pop_front());
      checked <= checked + 1;
    end
  end

  // Random f32 bits with a biased exponent near `scale`; zero, NaN or infinity now and then.
  function automatic int unsigned random_value(input int scale);
    bit sign = 1'($urandom);
    bit [22:0] fraction = 23'($urandom);
    int pick = int'($urandom_range(99));
    if (pick < 3) return 32'h0;
    if (pick == 3) return {sign, 31'h7F80_0000};
    if (pick == 4) return 32'h7FC0_0000;
    return {sign, 8'(scale - int'($urandom_range(7))), fraction};
  endfunction

  // A biased exponent for both blocks of a pair: mostly near 1.0, sometimes tiny (so that their
  // product is subnormal and the scaling rounds), huge (so that it overflows), or anywhere.
  function automatic int random_scale(input int regime);
    case (regime)
      0, 1, 2: return 40 + int'($urandom_range(30));
      3: return 200 + int'($urandom_range(54));
      4: return int'($urandom_range(8, 254));
      default: return 120 + int'($urandom_range(14));
    endcase
  endfunction

  // A block of `format` quantized by the golden model from 16 random values at one scale.
  function automatic mx_block_t random_block(input int format, input int regime, input longint unsigned id);
    mx_values_t values;
    mx_block_t packed_block;
    int scale = random_scale(regime);
    for (int i = 0; i < 16; i++) values[i] = random_value(scale);
    if (dacapo_mx_dpi_quantize_block(values, format, ROUND_NEAREST_EVEN, 0, id, packed_block) != STATUS_OK) begin
      $fatal(1, "dpe_tb: dacapo_mx_dpi_quantize_block failed");
    end
    return packed_block;
  endfunction

  // Sign and magnitude of element i of a packed block (SPEC section 2's layout).
  function automatic bit element_sign(input mx_block_t block, input int format, input int i);
    return block[16 + i * (mag_bits(format) + 1) + mag_bits(format)];
  endfunction

  function automatic bit [7:0] element_mag(input mx_block_t block, input int format, input int i);
    bit [7:0] mag = '0;
    for (int j = 0; j < mag_bits(format); j++) mag[j] = block[16 + i * (mag_bits(format) + 1) + j];
    return mag;
  endfunction

  // Streams one block pair as the DPE takes it: 16, 4 or 1 slices of 1, 4 or 16 elements, each
  // element's magnitude in a digit field of 8, 4 or 2 bits, its sign in bit e of the slice.
  task automatic send_block(input int format, input mx_block_t a, input mx_block_t b);
    int per_slice = format == FORMAT_MX9 ? 1 : format == FORMAT_MX6 ? 4 : 16;
    int digit_bits = format == FORMAT_MX9 ? 8 : format == FORMAT_MX6 ? 4 : 2;
    a_exp_i = a[7:0];
    b_exp_i = b[7:0];
    a_micro_i = a[15:8];
    b_micro_i = b[15:8];
    for (int s = 0; s < 16 / per_slice; s++) begin
      a_sign_i = '0;
      b_sign_i = '0;
      a_mag_i = '0;
      b_mag_i = '0;
      for (int e = 0; e < per_slice; e++) begin
        bit [7:0] a_mag = element_mag(a, format, s * per_slice + e);
        bit [7:0] b_mag = element_mag(b, format, s * per_slice + e);
        a_sign_i[e] = element_sign(a, format, s * per_slice + e);
        b_sign_i[e] = element_sign(b, format, s * per_slice + e);
        for (int j = 0; j < digit_bits; j++) begin
          a_mag_i[e * digit_bits + j] = a_mag[j];
          b_mag_i[e * digit_bits + j] = b_mag[j];
        end
      end
      valid_i = 1'b1;
      @(negedge clk_i);
    end
    valid_i = 1'b0;
  endtask

  initial begin
    int unsigned acc;
    longint unsigned id = 0;
    repeat (2) @(negedge clk_i);
    rst_ni = 1'b1;
    @(negedge clk_i);
    for (int o = 0; o < Outputs; o++) begin
      int format = int'($urandom_range(2));
      format_i = 2'(format);
      if ($urandom_range(3) == 0) begin
        load_i = 1'b1;
        load_data_i = random_value(127);
        acc = load_data_i;
      end else begin
        clear_i = 1'b1;
        acc = 0;
      end
      @(negedge clk_i);
      clear_i = 1'b0;
      load_i = 1'b0;
      repeat ($urandom_range(1, 8)) begin
        int regime = int'($urandom_range(9));
        mx_block_t a = random_block(format, regime, id);
        mx_block_t b = random_block(format, regime, id + 1);
        id += 2;
        if (dacapo_mx_dpi_dpe_step(acc, a, b, format, acc) != STATUS_OK) begin
          $fatal(1, "dpe_tb: dacapo_mx_dpi_dpe_step failed");
        end
        expected.push_back(acc);
        send_block(format, a, b);
        if ($urandom_range(4) == 0) @(negedge clk_i);
      end
    end
    repeat (8) @(negedge clk_i);
    if (expected.size() != 0) $fatal(1, "dpe_tb: %0d blocks were never reported", expected.size());
    $display("dpe_tb: %0d blocks checked against the golden model, bit for bit", checked);
    $finish;
  end

endmodule
