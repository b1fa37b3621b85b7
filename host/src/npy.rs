//! Reading and writing 2-D numpy `.npy` files (format versions 1.0 to 3.0), the exchange
//! format of regression suites. Only what a bit-exact flow needs: little-endian f32 in C order
//! in, f32 or u8 out.

use std::fs;
use std::io::{Read, Write};
use std::path::Path;

use anyhow::{bail, ensure, Context};

const MAGIC: &[u8] = b"\x93NUMPY";

/// A row-major 2-D f32 array.
#[derive(Clone, Debug, PartialEq)]
pub struct Array2 {
    pub rows: usize,
    pub cols: usize,
    pub data: Vec<f32>,
}

/// The largest array read or written: 2^28 elements (1 GiB as float32). Sizes are checked
/// against it before anything is allocated.
pub const MAX_ELEMENTS: usize = 1 << 28;

/// The longest header read (numpy writes about 120 bytes for a 2-D array).
const MAX_HEADER: usize = 1 << 16;

/// The element count of a `rows` x `cols` array called `what`, or an error when it passes
/// [`MAX_ELEMENTS`].
pub fn checked_size(what: &str, rows: usize, cols: usize) -> anyhow::Result<usize> {
    match rows.checked_mul(cols) {
        Some(n) if n <= MAX_ELEMENTS => Ok(n),
        _ => bail!(
            "{what} would be {rows} x {cols}, more than the {MAX_ELEMENTS} elements (2^28, 1 GiB of \
             float32) this tool handles in one array; split the work into smaller arrays"
        ),
    }
}

/// Reads a 2-D little-endian float32 array in C order; any other file gets an error that
/// names the file, what it holds and what is expected. Reads no more than the header and the
/// data that the header's shape announces (plus one byte, to notice extra data).
pub fn read_f32(path: &Path) -> anyhow::Result<Array2> {
    let file = fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    read_from(std::io::BufReader::new(file))
        .with_context(|| format!("{} is not a usable array", path.display()))
}

fn read_from(mut input: impl Read) -> anyhow::Result<Array2> {
    let header = read_header(&mut input)?;
    let descr = header.descr.as_str();
    if descr != "<f4" && descr != "=f4" {
        bail!("it has dtype {}; expected float32 ('<f4', np.float32)", dtype_name(descr));
    }
    if header.fortran_order {
        bail!("it is stored in Fortran order; save it in C order (np.ascontiguousarray)");
    }
    let shape = header.shape;
    let [rows, cols] = shape[..] else {
        bail!("it has shape {shape:?} (rank {}); expected a 2-D array", shape.len());
    };
    let need = 4 * checked_size("it", rows, cols)?;
    let mut body = Vec::with_capacity(need);
    input.take(need as u64 + 1).read_to_end(&mut body).context("cannot read its data")?;
    match body.len().cmp(&need) {
        std::cmp::Ordering::Less => {
            bail!("its shape {rows} x {cols} needs {need} data bytes but it holds {}", body.len())
        }
        std::cmp::Ordering::Greater => {
            bail!("its shape {rows} x {cols} needs {need} data bytes but it holds more")
        }
        std::cmp::Ordering::Equal => {}
    }
    let data = body.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
    Ok(Array2 { rows, cols, data })
}

/// What a `.npy` header says.
struct Header {
    descr: String,
    fortran_order: bool,
    shape: Vec<usize>,
}

fn read_header(input: &mut impl Read) -> anyhow::Result<Header> {
    let mut prefix = [0u8; 8];
    input
        .read_exact(&mut prefix)
        .map_err(|_| anyhow::anyhow!("it is not a .npy file (no \\x93NUMPY magic)"))?;
    if &prefix[..6] != MAGIC {
        bail!("it is not a .npy file (no \\x93NUMPY magic)");
    }
    let len = match prefix[6] {
        1 => {
            let mut len = [0u8; 2];
            input.read_exact(&mut len).context("its header is truncated")?;
            usize::from(u16::from_le_bytes(len))
        }
        2 | 3 => {
            let mut len = [0u8; 4];
            input.read_exact(&mut len).context("its header is truncated")?;
            u32::from_le_bytes(len) as usize
        }
        v => bail!("it has .npy format version {v}, which this tool does not read (1 to 3 are)"),
    };
    ensure!(len <= MAX_HEADER, "its header claims {len} bytes; this tool reads headers up to {MAX_HEADER}");
    let mut header = vec![0u8; len];
    input.read_exact(&mut header).context("its header is truncated")?;
    let header = std::str::from_utf8(&header).context("its header is not text")?;
    parse_header(header)
}

/// The header's Python dict literal, as numpy reads it: exactly the keys `descr`,
/// `fortran_order` and `shape`, a repeated key taking its last value.
fn parse_header(text: &str) -> anyhow::Result<Header> {
    let mut p = Literal { rest: text };
    let (mut descr, mut fortran_order, mut shape) = (None, None, None);
    p.expect('{')?;
    while !p.eat('}') {
        let key = p.string()?;
        p.expect(':')?;
        match key {
            "descr" => descr = Some(p.string()?.to_string()),
            "fortran_order" => fortran_order = Some(p.boolean()?),
            "shape" => shape = Some(p.tuple()?),
            _ => bail!("its header has the key '{key}'; a .npy header has descr, fortran_order and shape"),
        }
        if !p.eat(',') {
            p.expect('}')?;
            break;
        }
    }
    ensure!(p.rest.trim().is_empty(), "its header has text after the dict");
    let missing = |key: &str| anyhow::anyhow!("its header has no '{key}'");
    Ok(Header {
        descr: descr.ok_or_else(|| missing("descr"))?,
        fortran_order: fortran_order.ok_or_else(|| missing("fortran_order"))?,
        shape: shape.ok_or_else(|| missing("shape"))?,
    })
}

/// A cursor over a Python literal.
struct Literal<'a> {
    rest: &'a str,
}

impl<'a> Literal<'a> {
    /// Skips white space, then takes `c` if it comes next.
    fn eat(&mut self, c: char) -> bool {
        self.rest = self.rest.trim_start();
        match self.rest.strip_prefix(c) {
            Some(rest) => {
                self.rest = rest;
                true
            }
            None => false,
        }
    }

    fn expect(&mut self, c: char) -> anyhow::Result<()> {
        ensure!(self.eat(c), "its header is malformed (expected '{c}' at '{}')", self.excerpt());
        Ok(())
    }

    fn excerpt(&self) -> String {
        self.rest.chars().take(20).collect()
    }

    /// A quoted string without escapes.
    fn string(&mut self) -> anyhow::Result<&'a str> {
        self.rest = self.rest.trim_start();
        let quote = self.rest.chars().next().filter(|&c| c == '\'' || c == '"');
        let Some(quote) = quote else {
            bail!("its header is malformed (expected a string at '{}')", self.excerpt())
        };
        let body = &self.rest[1..];
        let end = body.find(quote).context("its header has an unterminated string")?;
        ensure!(!body[..end].contains('\\'), "its header has an escaped string, which no dtype or key needs");
        self.rest = &body[end + 1..];
        Ok(&body[..end])
    }

    fn boolean(&mut self) -> anyhow::Result<bool> {
        self.rest = self.rest.trim_start();
        for (word, value) in [("True", true), ("False", false)] {
            if let Some(rest) = self.rest.strip_prefix(word) {
                self.rest = rest;
                return Ok(value);
            }
        }
        bail!("its fortran_order is not True or False (at '{}')", self.excerpt())
    }

    /// A tuple of non-negative integers.
    fn tuple(&mut self) -> anyhow::Result<Vec<usize>> {
        self.expect('(')?;
        let mut items = Vec::new();
        while !self.eat(')') {
            self.rest = self.rest.trim_start();
            let digits = self.rest.find(|c: char| !c.is_ascii_digit()).unwrap_or(self.rest.len());
            let item = &self.rest[..digits];
            items.push(
                item.parse()
                    .with_context(|| format!("its shape has a bad dimension at '{}'", self.excerpt()))?,
            );
            self.rest = &self.rest[digits..];
            if !self.eat(',') {
                self.expect(')')?;
                break;
            }
        }
        Ok(items)
    }
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

/// A temporary name beside `path` (same folder, so a rename moves it into place): hidden and
/// marked with this process's id.
pub fn temp_beside(path: &Path) -> anyhow::Result<std::path::PathBuf> {
    let name = path.file_name().with_context(|| format!("{} is not a file name", path.display()))?;
    Ok(path.with_file_name(format!(".{}.{}.tmp", name.to_string_lossy(), std::process::id())))
}

/// Writes `bytes` to `path` whole or not at all: through a temporary file beside it that is
/// renamed into place, so a failure never leaves a partial output file.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = temp_beside(path)?;
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
        let back = read_from(&bytes[..]).unwrap();
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
            read_from(&bytes[..]).unwrap_err().to_string()
        };
        assert!(wrong("<f8", "False", "(2, 2)", 32).contains("float64"));
        assert!(wrong(">f4", "False", "(2, 2)", 16).contains("big-endian float32"));
        assert!(wrong("<f4", "True", "(2, 2)", 16).contains("Fortran order"));
        assert!(wrong("<f4", "False", "(4,)", 16).contains("rank 1"));
        assert!(wrong("<f4", "False", "(2, 2, 1)", 16).contains("rank 3"));
        assert!(wrong("<f4", "False", "(2, 2)", 12).contains("needs 16 data bytes"));
        assert!(read_from(&b"not numpy"[..]).unwrap_err().to_string().contains("magic"));
    }

    fn file(header: &str, body: impl Read) -> impl Read {
        let mut bytes = MAGIC.to_vec();
        bytes.extend_from_slice(&[1, 0]);
        bytes.extend_from_slice(&(header.len() as u16).to_le_bytes());
        bytes.extend_from_slice(header.as_bytes());
        std::io::Cursor::new(bytes).chain(body)
    }

    #[test]
    fn headers_are_read_as_numpy_reads_them() {
        let zeros = |n| std::io::repeat(0).take(n);
        // A repeated key takes its last value.
        let last =
            "{'descr': '<f8', 'shape': (9, 9), 'fortran_order': False, 'descr': '<f4', 'shape': (1, 2)}";
        let a = read_from(file(last, zeros(8))).unwrap();
        assert_eq!((a.rows, a.cols), (1, 2));
        // Spacing and trailing commas as numpy's own files and hand-written ones have them.
        let spaced = "{ \"descr\":'<f4' ,'fortran_order':False,'shape':( 2 ,3 , ), }   \n";
        assert_eq!(read_from(file(spaced, zeros(24))).unwrap().cols, 3);
        for (header, error) in [
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1), 'extra': 1}", "key 'extra'"),
            ("{'descr': '<f4', 'fortran_order': False}", "no 'shape'"),
            ("{'descr': '<f4', 'fortran_order': 0, 'shape': (1, 1)}", "not True or False"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1, -1)}", "bad dimension"),
            ("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1)} x", "text after"),
            ("{'descr': '<f4' 'fortran_order': False, 'shape': (1, 1)}", "malformed"),
        ] {
            let got = read_from(file(header, zeros(4))).unwrap_err().to_string();
            assert!(got.contains(error), "{header}: {got}");
        }
    }

    #[test]
    fn sizes_are_bounded_before_reading() {
        let header = |shape: &str| format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}}}");
        // An endless body: the reader stops one byte past what the shape announces.
        let endless = read_from(file(&header("(2, 2)"), std::io::repeat(7))).unwrap_err().to_string();
        assert!(endless.contains("holds more"), "{endless}");
        // Shapes past the limit (or past usize) fail before any allocation.
        for shape in ["(8589934592, 8589934592)", "(100000, 100000)", "(99999999999999999999, 1)"] {
            let got = read_from(file(&header(shape), std::io::empty())).unwrap_err().to_string();
            assert!(got.contains("2^28") || got.contains("bad dimension"), "{shape}: {got}");
        }
        // Not .npy at all (/dev/zero): rejected after eight bytes.
        assert!(read_from(std::io::repeat(0)).unwrap_err().to_string().contains("magic"));
        // A version 2 header length of 4 GiB.
        let mut big = MAGIC.to_vec();
        big.extend_from_slice(&[2, 0, 0xff, 0xff, 0xff, 0xff]);
        assert!(read_from(&big[..]).unwrap_err().to_string().contains("headers up to"));
        assert!(checked_size("C", 1 << 14, 1 << 14).is_ok());
        assert!(checked_size("C", (1 << 14) + 1, 1 << 14).unwrap_err().to_string().starts_with("C would be"));
    }
}
