//! The bit-exact MX golden model (SPEC sections 2 and 3) as a C library, for the harnesses
//! regression suites live in: C and C++ testbenches, and SystemVerilog through DPI-C
//! (`sv/dacapo_mx_dpi.sv`). The header is `include/dacapo_mx.h`, generated from this file.
//!
//! Plain C types only, and the caller owns every buffer: nothing is allocated across the
//! boundary. Every function checks its arguments and returns a status (`DACAPO_MX_OK` or an
//! error code that `dacapo_mx_status_message` explains) instead of aborting; a panic inside
//! the library is caught and reported as `DACAPO_MX_ERR_INTERNAL`.

use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

use mx::{block_product, f32_add, gemm, Axis, Block, Format, MxMatrix, Rounding, BLOCK};

/// Success.
pub const DACAPO_MX_OK: i32 = 0;
/// A pointer argument is null (allowed only for buffers of length 0).
pub const DACAPO_MX_ERR_NULL: i32 = 1;
/// The format is none of the `DACAPO_MX_FORMAT_*` codes.
pub const DACAPO_MX_ERR_FORMAT: i32 = 2;
/// The rounding is none of the `DACAPO_MX_ROUND_*` codes.
pub const DACAPO_MX_ERR_ROUNDING: i32 = 3;
/// A buffer's length is not the one the format needs (`dacapo_mx_block_bytes`).
pub const DACAPO_MX_ERR_LENGTH: i32 = 4;
/// A matrix has more than `DACAPO_MX_MAX_ELEMENTS` elements.
pub const DACAPO_MX_ERR_SIZE: i32 = 5;
/// A bug in the library; please report it with the call that gave it.
pub const DACAPO_MX_ERR_INTERNAL: i32 = 6;

/// MX9 (m = 7), the code of the hardware's `format_i`.
pub const DACAPO_MX_FORMAT_MX9: i32 = 0;
/// MX6 (m = 4).
pub const DACAPO_MX_FORMAT_MX6: i32 = 1;
/// MX4 (m = 2).
pub const DACAPO_MX_FORMAT_MX4: i32 = 2;

/// To the nearest code, ties to even.
pub const DACAPO_MX_ROUND_NEAREST_EVEN: i32 = 0;
/// Toward zero.
pub const DACAPO_MX_ROUND_TRUNCATE: i32 = 1;
/// Up with probability equal to the discarded fraction, keyed by the seed and each element's
/// position (`block_id * 16 + i`), so the same call always rounds the same way.
pub const DACAPO_MX_ROUND_STOCHASTIC: i32 = 2;

/// Elements per block.
pub const DACAPO_MX_BLOCK: usize = 16;
const _: () = assert!(DACAPO_MX_BLOCK == BLOCK);
/// Bytes of the largest packed block (MX9).
pub const DACAPO_MX_MAX_BLOCK_BYTES: usize = 18;
/// The most elements one matrix of `dacapo_mx_gemm` may have (2^28, 1 GiB of float).
pub const DACAPO_MX_MAX_ELEMENTS: usize = 1 << 28;
/// 32-bit words of a packed block in the DPI functions: a SystemVerilog `bit [143:0]`.
pub const DACAPO_MX_DPI_BLOCK_WORDS: usize = 5;

type Status = Result<(), i32>;

/// Runs `body`, turning its error into its code and a panic into `DACAPO_MX_ERR_INTERNAL`.
fn guard(body: impl FnOnce() -> Status) -> i32 {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => DACAPO_MX_OK,
        Ok(Err(code)) => code,
        Err(_) => DACAPO_MX_ERR_INTERNAL,
    }
}

fn format(code: i32) -> Result<Format, i32> {
    match code {
        DACAPO_MX_FORMAT_MX9 => Ok(Format::Mx9),
        DACAPO_MX_FORMAT_MX6 => Ok(Format::Mx6),
        DACAPO_MX_FORMAT_MX4 => Ok(Format::Mx4),
        _ => Err(DACAPO_MX_ERR_FORMAT),
    }
}

fn rounding(code: i32, seed: u64) -> Result<Rounding, i32> {
    match code {
        DACAPO_MX_ROUND_NEAREST_EVEN => Ok(Rounding::NearestEven),
        DACAPO_MX_ROUND_TRUNCATE => Ok(Rounding::Truncate),
        DACAPO_MX_ROUND_STOCHASTIC => Ok(Rounding::Stochastic { seed }),
        _ => Err(DACAPO_MX_ERR_ROUNDING),
    }
}

/// The caller's buffer of `len` elements; null only where `len` is 0.
///
/// # Safety
/// A non-null `ptr` points to `len` readable elements that outlive the call.
unsafe fn input<'a, T>(ptr: *const T, len: usize) -> Result<&'a [T], i32> {
    match (ptr.is_null(), len) {
        (_, 0) => Ok(&[]),
        (true, _) => Err(DACAPO_MX_ERR_NULL),
        // SAFETY: the caller's contract.
        (false, _) => Ok(unsafe { std::slice::from_raw_parts(ptr, len) }),
    }
}

/// As `input`, writable.
///
/// # Safety
/// A non-null `ptr` points to `len` writable elements that nothing else uses during the call.
unsafe fn output<'a, T>(ptr: *mut T, len: usize) -> Result<&'a mut [T], i32> {
    match (ptr.is_null(), len) {
        (_, 0) => Ok(&mut []),
        (true, _) => Err(DACAPO_MX_ERR_NULL),
        // SAFETY: the caller's contract.
        (false, _) => Ok(unsafe { std::slice::from_raw_parts_mut(ptr, len) }),
    }
}

/// A packed block of `format` from `len` bytes.
fn packed_block(bytes: &[u8], format: Format) -> Result<Block, i32> {
    if bytes.len() != format.block_bytes() {
        return Err(DACAPO_MX_ERR_LENGTH);
    }
    Ok(Block::unpack(format, bytes))
}

/// Bytes of one packed block of `format` (18, 12 or 8), or 0 for an unknown format.
#[no_mangle]
pub extern "C" fn dacapo_mx_block_bytes(format_code: i32) -> usize {
    format(format_code).map_or(0, Format::block_bytes)
}

/// What a status code means, as a static NUL-terminated string (never null).
#[no_mangle]
pub extern "C" fn dacapo_mx_status_message(status: i32) -> *const c_char {
    let message: &'static [u8] = match status {
        DACAPO_MX_OK => b"ok\0",
        DACAPO_MX_ERR_NULL => b"a pointer argument is null\0",
        DACAPO_MX_ERR_FORMAT => b"unknown format: use DACAPO_MX_FORMAT_MX9, _MX6 or _MX4 (0, 1, 2)\0",
        DACAPO_MX_ERR_ROUNDING => {
            b"unknown rounding: use DACAPO_MX_ROUND_NEAREST_EVEN, _TRUNCATE or _STOCHASTIC (0, 1, 2)\0"
        }
        DACAPO_MX_ERR_LENGTH => b"a buffer length is not the one the format needs (dacapo_mx_block_bytes)\0",
        DACAPO_MX_ERR_SIZE => b"a matrix has more than DACAPO_MX_MAX_ELEMENTS (2^28) elements\0",
        DACAPO_MX_ERR_INTERNAL => b"internal error in the dacapo_mx library\0",
        _ => b"unknown status code\0",
    };
    message.as_ptr().cast()
}

/// Quantizes 16 floats (`values`) to one packed block of `format` (SPEC section 2) in
/// `packed`, which holds `packed_len` bytes: exactly `dacapo_mx_block_bytes(format)`. Any
/// NaN or infinity makes the NaN block. `seed` and `block_id` key stochastic rounding.
///
/// # Safety
/// `values` points to 16 floats and `packed` to `packed_len` writable bytes.
#[no_mangle]
pub unsafe extern "C" fn dacapo_mx_quantize_block(
    values: *const f32,
    format_code: i32,
    rounding_code: i32,
    seed: u64,
    block_id: u64,
    packed: *mut u8,
    packed_len: usize,
) -> i32 {
    guard(|| {
        let format = format(format_code)?;
        let rounding = rounding(rounding_code, seed)?;
        // SAFETY (both): the caller's contract.
        let values: &[f32; BLOCK] = unsafe { input(values, BLOCK) }?.try_into().expect("16 values");
        let packed = unsafe { output(packed, packed_len) }?;
        if packed.len() != format.block_bytes() {
            return Err(DACAPO_MX_ERR_LENGTH);
        }
        Block::encode(values, format, rounding, block_id).pack(format, packed);
        Ok(())
    })
}

/// The 16 values of a packed block (`packed_len` bytes of `format`) in `values`; a NaN
/// block gives 16 NaNs.
///
/// # Safety
/// `packed` points to `packed_len` bytes and `values` to 16 writable floats.
#[no_mangle]
pub unsafe extern "C" fn dacapo_mx_dequantize_block(
    packed: *const u8,
    packed_len: usize,
    format_code: i32,
    values: *mut f32,
) -> i32 {
    guard(|| {
        let format = format(format_code)?;
        // SAFETY (both): the caller's contract.
        let block = packed_block(unsafe { input(packed, packed_len) }?, format)?;
        unsafe { output(values, BLOCK) }?.copy_from_slice(&block.decode(format));
        Ok(())
    })
}

/// One DPE step (SPEC section 3): the block pair `a`, `b` (each `packed_len` bytes of
/// `format`) into the accumulator `acc`: `*result = acc + round(P * 2^(ka + kb))`, one IEEE
/// rounding for the scaling and one for the addition; NaN blocks give the canonical NaN.
///
/// # Safety
/// `a` and `b` point to `packed_len` bytes each, `result` to one writable float.
#[no_mangle]
pub unsafe extern "C" fn dacapo_mx_dpe_step(
    acc: f32,
    a: *const u8,
    b: *const u8,
    packed_len: usize,
    format_code: i32,
    result: *mut f32,
) -> i32 {
    guard(|| {
        let format = format(format_code)?;
        // SAFETY (all three): the caller's contract.
        let a = packed_block(unsafe { input(a, packed_len) }?, format)?;
        let b = packed_block(unsafe { input(b, packed_len) }?, format)?;
        unsafe { output(result, 1) }?[0] = f32_add(acc, block_product(&a, &b, format));
        Ok(())
    })
}

/// The DPE's IEEE f32 addition: round to nearest even, every NaN the canonical 0x7FC00000.
#[no_mangle]
pub extern "C" fn dacapo_mx_f32_add(a: f32, b: f32) -> f32 {
    f32_add(a, b)
}

/// C = A x B as the DPE array computes it: A (`m` x `k`, row-major) quantized along its rows,
/// B (`k` x `n`, row-major) down its columns, both to `format` (stochastic rounding: A with
/// `seed`, B with `seed + 1`), then SPEC section 3's GEMM into `c` (`m` x `n`, row-major).
///
/// # Safety
/// `a`, `b` and `c` point to `m * k`, `k * n` and `m * n` floats, `c` writable.
#[no_mangle]
pub unsafe extern "C" fn dacapo_mx_gemm(
    a: *const f32,
    b: *const f32,
    m: usize,
    k: usize,
    n: usize,
    format_code: i32,
    rounding_code: i32,
    seed: u64,
    c: *mut f32,
) -> i32 {
    guard(|| {
        let format = format(format_code)?;
        let elements = |rows: usize, cols: usize| {
            rows.checked_mul(cols).filter(|&e| e <= DACAPO_MX_MAX_ELEMENTS).ok_or(DACAPO_MX_ERR_SIZE)
        };
        let (a_len, b_len, c_len) = (elements(m, k)?, elements(k, n)?, elements(m, n)?);
        // SAFETY (all three): the caller's contract.
        let a = unsafe { input(a, a_len) }?;
        let b = unsafe { input(b, b_len) }?;
        let c = unsafe { output(c, c_len) }?;
        let rounding = rounding(rounding_code, seed)?;
        let quantize = |data, rows, cols, axis, operand| {
            MxMatrix::quantize(data, rows, cols, axis, format, rounding.for_operand(operand))
                .map_err(|_| DACAPO_MX_ERR_INTERNAL)
        };
        let qa = quantize(a, m, k, Axis::Row, 0)?;
        let qb = quantize(b, k, n, Axis::Col, 1)?;
        c.copy_from_slice(&gemm(&qa, &qb).map_err(|_| DACAPO_MX_ERR_INTERNAL)?);
        Ok(())
    })
}

// DPI-C entry points. SystemVerilog passes a packed `bit [N-1:0]` as 32-bit words (svBitVecVal),
// bit i in bit i % 32 of word i / 32, and these take floats as their bit patterns (`int
// unsigned`), which every simulator passes alike. A block is a `bit [143:0]`: the format's
// packed bits from bit 0, zeros above.

/// The block whose packed bytes DPI words hold.
fn words_to_block(words: &[u32], format: Format) -> Block {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).take(format.block_bytes()).collect();
    Block::unpack(format, &bytes)
}

/// A block's packed bytes as DPI words, zeros above them.
fn block_to_words(block: &Block, format: Format, words: &mut [u32]) {
    let mut bytes = [0u8; 4 * DACAPO_MX_DPI_BLOCK_WORDS];
    block.pack(format, &mut bytes[..format.block_bytes()]);
    for (word, bytes) in words.iter_mut().zip(bytes.chunks_exact(4)) {
        *word = u32::from_le_bytes(bytes.try_into().expect("4 bytes"));
    }
}

/// As `dacapo_mx_quantize_block`, for DPI: `values` is 16 words of f32 bits (a SystemVerilog
/// `bit [15:0][31:0]`, element i in word i), `packed` 5 words.
///
/// # Safety
/// `values` points to 16 words, `packed` to 5 writable words.
#[no_mangle]
pub unsafe extern "C" fn dacapo_mx_dpi_quantize_block(
    values: *const u32,
    format_code: i32,
    rounding_code: i32,
    seed: u64,
    block_id: u64,
    packed: *mut u32,
) -> i32 {
    guard(|| {
        let format = format(format_code)?;
        let rounding = rounding(rounding_code, seed)?;
        // SAFETY (both): the caller's contract.
        let values = unsafe { input(values, BLOCK) }?;
        let packed = unsafe { output(packed, DACAPO_MX_DPI_BLOCK_WORDS) }?;
        let values: [f32; BLOCK] = std::array::from_fn(|i| f32::from_bits(values[i]));
        block_to_words(&Block::encode(&values, format, rounding, block_id), format, packed);
        Ok(())
    })
}

/// As `dacapo_mx_dpe_step`, for DPI: `a` and `b` 5 words each, floats as bits.
///
/// # Safety
/// `a` and `b` point to 5 words each, `result` to one writable word.
#[no_mangle]
pub unsafe extern "C" fn dacapo_mx_dpi_dpe_step(
    acc: u32,
    a: *const u32,
    b: *const u32,
    format_code: i32,
    result: *mut u32,
) -> i32 {
    guard(|| {
        let format = format(format_code)?;
        // SAFETY (all three): the caller's contract.
        let a = words_to_block(unsafe { input(a, DACAPO_MX_DPI_BLOCK_WORDS) }?, format);
        let b = words_to_block(unsafe { input(b, DACAPO_MX_DPI_BLOCK_WORDS) }?, format);
        let sum = f32_add(f32::from_bits(acc), block_product(&a, &b, format));
        unsafe { output(result, 1) }?[0] = sum.to_bits();
        Ok(())
    })
}

/// As `dacapo_mx_f32_add`, for DPI: floats as bits.
#[no_mangle]
pub extern "C" fn dacapo_mx_dpi_f32_add(a: u32, b: u32) -> u32 {
    f32_add(f32::from_bits(a), f32::from_bits(b)).to_bits()
}
