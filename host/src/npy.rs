//! Reading and writing 2-D numpy `.npy` files (format versions 1.0 to 3.0), the exchange
//! format of regression suites. Only what a bit-exact flow needs: little-endian f32 in C order
//! in, f32 or u8 out.

use std::fs;
use std::io::Write;
use std::path::Path;

use anyhow::{bail, Context};

const MAGIC: &[u8] = b"\x93NUMPY";

/// A row-major 2-D f32 array.
#[derive(Clone, Debug, PartialEq)]
pub struct Array2 {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

/// Reads a 2-D little-endian float32 array in C order; any other file gets an error that
/// names the file, what it holds and what is expected.
pub fn read_f32(path: &Path) -> anyhow::Result<Array2> {
    let bytes = fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_f32(&bytes).with_context(|| format!("{} is not a usable array", path.display()))
}

fn parse_f32(bytes: &[u8]) -> anyhow::Result<Array2> {
    let (header, body) = split_header(bytes)?;
    let descr = dict_value(header, "descr")?;
    let descr = descr.trim_matches(|c| c == '\'' || c == '"');
    if descr != "<f4" && descr != "=f4" {
        bail!("it has dtype {}; expected float32 ('<f4', np.float32)", dtype_name(descr));
    }
    if dict_value(header, "fortran_order")? != "False" {
        bail!("it is stored in Fortran order; save it in C order (np.ascontiguousarray)");
    }
    let shape = parse_shape(dict_value(header, "shape")?)?;
    let [rows, cols] = shape[..] else {
        bail!("it has shape {shape:?} (rank {}); expected a 2-D array", shape.len());
    };
    let count = rows.checked_mul(cols).context("its shape overflows")?;
    if body.len() != count * 4 {
        bail!("its shape {rows} x {cols} needs {} data bytes but it holds {}", count * 4, body.len());
    }
    let data = body.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    Ok(Array2 { rows, cols, data })
}

/// The numpy name of a dtype descriptor, for error messages.
fn dtype_name(descr: &str) -> String {
    let name = match descr.trim_start_matches(['<', '>', '=', '|']) {
        "f2" => "float16",
        "f4" => "float32",
        "f8" => "float64",
        "i1" => "int8",
        "i2" => "int16",
        "i4" => "int32",
        "i8" => "int64",
        "u1" => "uint8",
        "u2" => "uint16",
        "u4" => "uint32",
        "u8" => "uint64",
        "b1" => "bool",
        _ => return format!("'{descr}'"),
    };
    if descr.starts_with('>') {
        format!("big-endian {name} ('{descr}')")
    } else {
        format!("{name} ('{descr}')")
    }
}

fn split_header(bytes: &[u8]) -> anyhow::Result<(&str, &[u8])> {
    if !bytes.starts_with(MAGIC) || bytes.len() < 10 {
        bail!("it is not a .npy file (no \\x93NUMPY magic)");
    }
    let (len, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => {
            (u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize, 12)
        }
        v => bail!("it has .npy format version {v}, which this tool does not read (1 to 3 are)"),
    };
    let header = bytes.get(start..start + len).context("its header is truncated")?;
    let header = std::str::from_utf8(header).context("its header is not text")?;
    Ok((header, &bytes[start + len..]))
}

/// The literal after `'key':` in the header's Python dict.
fn dict_value<'a>(header: &'a str, key: &str) -> anyhow::Result<&'a str> {
    let at = header.find(&format!("'{key}'")).with_context(|| format!("its header has no '{key}'"))?;
    let rest =
        header[at + key.len() + 2..].trim_start().strip_prefix(':').context("its header is malformed")?;
    let rest = rest.trim_start();
    let end = if rest.starts_with('(') { rest.find(')').map(|i| i + 1) } else { rest.find([',', '}']) };
    Ok(rest[..end.context("its header is malformed")?].trim())
}

fn parse_shape(literal: &str) -> anyhow::Result<Vec<usize>> {
    let inner =
        literal.strip_prefix('(').and_then(|s| s.strip_suffix(')')).context("its shape is malformed")?;
    inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().with_context(|| format!("its shape has a bad dimension '{s}'")))
        .collect()
}

/// The bytes of a version 1.0 `.npy` file holding a 2-D C-order array.
fn encode(descr: &str, rows: usize, cols: usize, body: &[u8]) -> Vec<u8> {
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    // Pad with spaces so the data starts on a 64-byte boundary, as numpy does.
    let unpadded = MAGIC.len() + 4 + header.len() + 1;
    header.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    header.push('\n');
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + header.len() + body.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&[1, 0]);
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(body);
    out
}

pub fn encode_f32(array: &Array2) -> Vec<u8> {
    let body: Vec<u8> = array.data.iter().flat_map(|v| v.to_le_bytes()).collect();
    encode("<f4", array.rows, array.cols, &body)
}

pub fn encode_u8(rows: usize, cols: usize, data: &[u8]) -> Vec<u8> {
    assert_eq!(data.len(), rows * cols, "u8 array data does not match its shape");
    encode("|u1", rows, cols, data)
}

/// Writes `bytes` to `path` whole or not at all: through a temporary file beside it that is
/// renamed into place, so a failure never leaves a partial output file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path.file_name().with_context(|| format!("{} is not a file name", path.display()))?;
    let tmp = path.with_file_name(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id()));
    let written = fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(bytes).and_then(|()| f.sync_all()))
        .and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn f32_round_trip_and_alignment() {
        let array =
            Array2 { rows: 2, cols: 3, data: vec![1.0, -0.0, f32::MIN_POSITIVE, 3.5, f32::MAX, -7.25] };
        let bytes = encode_f32(&array);
        let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
        assert_eq!((10 + header_len) % 64, 0);
        let back = parse_f32(&bytes).unwrap();
        assert_eq!(back.rows, 2);
        assert_eq!(back.cols, 3);
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&back.data), bits(&array.data));
    }

    #[test]
    fn rejects_other_dtypes_ranks_and_orders() {
        let wrong = |descr: &str, order: &str, shape: &str, body: usize| {
            let header = format!("{{'descr': '{descr}', 'fortran_order': {order}, 'shape': {shape}, }}\n");
            let mut bytes = MAGIC.to_vec();
            bytes.extend_from_slice(&[1, 0]);
            bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
            bytes.extend_from_slice(header.as_bytes());
            bytes.extend(std::iter::repeat_n(0u8, body));
            parse_f32(&bytes).unwrap_err().to_string()
        };
        assert!(wrong("<f8", "False", "(2, 2)", 32).contains("float64"));
        assert!(wrong(">f4", "False", "(2, 2)", 16).contains("big-endian float32"));
        assert!(wrong("<f4", "True", "(2, 2)", 16).contains("Fortran order"));
        assert!(wrong("<f4", "False", "(4,)", 16).contains("rank 1"));
        assert!(wrong("<f4", "False", "(2, 2, 1)", 16).contains("rank 3"));
        assert!(wrong("<f4", "False", "(2, 2)", 12).contains("needs 16 data bytes"));
        assert!(parse_f32(b"not numpy").unwrap_err().to_string().contains("magic"));
    }
}
