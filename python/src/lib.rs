//! `dacapo_mx`: the bit-exact MX golden model (SPEC sections 2 and 3) for Python, numpy in and
//! numpy out, with the names and meanings of the Rust API (`mx`). Formats and roundings are
//! named as on the command line (`"mx6"`, `rounding="nearest"`). Bad arguments raise
//! `TypeError` (dtype, dimensions), `ValueError` (format, rounding, seed, shapes) or
//! `dacapo_mx.Error`; large GEMMs release the GIL.

use numpy::{
    IntoPyArray, PyArray1, PyArray2, PyArrayMethods, PyReadonlyArray1, PyReadonlyArray2,
    PyUntypedArrayMethods,
};
use pyo3::create_exception;
use pyo3::exceptions::{PyException, PyValueError};
use pyo3::prelude::*;

use mx::{Axis, Format, Rounding};

create_exception!(dacapo_mx, Error, PyException, "An operation of the MX golden model failed.");

fn format(name: &str) -> PyResult<Format> {
    name.parse().map_err(|e: mx::Error| PyValueError::new_err(e.to_string()))
}

/// The rounding of GEMM operand `operand` (0 for A, 1 for B: `Rounding::for_operand`).
fn rounding(name: &str, seed: Option<u64>, operand: u64) -> PyResult<Rounding> {
    match (name, seed) {
        ("nearest", None) => Ok(Rounding::NearestEven),
        ("truncate", None) => Ok(Rounding::Truncate),
        ("stochastic", seed) => Ok(Rounding::Stochastic { seed: seed.unwrap_or(0) }.for_operand(operand)),
        ("nearest" | "truncate", Some(_)) => {
            Err(PyValueError::new_err("seed only applies to rounding='stochastic'"))
        }
        (other, _) => Err(PyValueError::new_err(format!(
            "unknown rounding '{other}'; use 'nearest', 'truncate' or 'stochastic'"
        ))),
    }
}

fn axis(name: &str) -> PyResult<Axis> {
    match name {
        "row" => Ok(Axis::Row),
        "col" => Ok(Axis::Col),
        other => Err(PyValueError::new_err(format!("unknown axis '{other}'; use 'row' or 'col'"))),
    }
}

fn mx_error(e: mx::Error) -> PyErr {
    Error::new_err(e.to_string())
}

/// A 2-D float32 array's values in row-major order, whatever its strides.
fn values(x: &PyReadonlyArray2<f32>) -> Vec<f32> {
    x.as_slice().map_or_else(|_| x.as_array().iter().copied().collect(), <[f32]>::to_vec)
}

/// A 2-D float32 array quantized to blocks along `axis`.
fn to_matrix(
    x: &PyReadonlyArray2<f32>,
    format: Format,
    axis: Axis,
    rounding: Rounding,
) -> PyResult<mx::MxMatrix> {
    let (rows, cols) = (x.shape()[0], x.shape()[1]);
    mx::MxMatrix::quantize(&values(x), rows, cols, axis, format, rounding).map_err(mx_error)
}

/// A matrix of MX blocks: each row (`axis="row"`) or column (`axis="col"`) cut into blocks
/// of 16 along it, the last zero-padded.
#[pyclass(name = "MxMatrix", module = "dacapo_mx", frozen)]
struct PyMxMatrix(mx::MxMatrix);

#[pymethods]
impl PyMxMatrix {
    /// Quantizes a 2-D float32 array along `axis`.
    #[staticmethod]
    #[pyo3(signature = (x, format, axis = "row", rounding = "nearest", seed = None))]
    fn quantize(
        x: PyReadonlyArray2<f32>,
        format: &str,
        axis: &str,
        rounding: &str,
        seed: Option<u64>,
    ) -> PyResult<Self> {
        to_matrix(&x, self::format(format)?, self::axis(axis)?, self::rounding(rounding, seed, 0)?)
            .map(PyMxMatrix)
    }

    /// Rebuilds a matrix from `to_packed`'s bytes.
    #[staticmethod]
    #[pyo3(signature = (packed, rows, cols, format, axis = "row"))]
    fn from_packed(
        packed: PyReadonlyArray2<u8>,
        rows: usize,
        cols: usize,
        format: &str,
        axis: &str,
    ) -> PyResult<Self> {
        let bytes = packed.as_array().iter().copied().collect::<Vec<u8>>();
        mx::MxMatrix::from_packed(&bytes, rows, cols, self::axis(axis)?, self::format(format)?)
            .map(PyMxMatrix)
            .map_err(mx_error)
    }

    /// The values the blocks hold, as float32 (rows x cols).
    fn dequantize<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        self.0.dequantize().into_pyarray(py).reshape([self.0.rows(), self.0.cols()])
    }

    /// The packed blocks (SPEC section 2) as uint8, one line (row or column) per row.
    fn to_packed<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<u8>>> {
        self.0.to_packed().into_pyarray(py).reshape([self.0.lines(), self.0.packed_line_bytes()])
    }

    #[getter]
    fn rows(&self) -> usize {
        self.0.rows()
    }

    #[getter]
    fn cols(&self) -> usize {
        self.0.cols()
    }

    #[getter]
    fn format(&self) -> &'static str {
        self.0.format().name()
    }

    #[getter]
    fn axis(&self) -> &'static str {
        match self.0.axis() {
            Axis::Row => "row",
            Axis::Col => "col",
        }
    }

    fn __repr__(&self) -> String {
        format!("MxMatrix({} x {}, {}, axis={})", self.0.rows(), self.0.cols(), self.0.format(), self.axis())
    }
}

/// Each row of a 2-D float32 array quantized to MX blocks along it and back: what
/// `dacapo mx quantize` writes.
#[pyfunction]
#[pyo3(signature = (x, format, rounding = "nearest", seed = None))]
fn quantize<'py>(
    py: Python<'py>,
    x: PyReadonlyArray2<'py, f32>,
    format: &str,
    rounding: &str,
    seed: Option<u64>,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    PyMxMatrix::quantize(x, format, "row", rounding, seed)?.dequantize(py)
}

/// What a DPE computes for one output: the two float32 vectors quantized to `format`, then
/// one IEEE f32 addition per block pair into `acc`, in order (SPEC section 3).
#[pyfunction]
#[pyo3(signature = (a, b, format, rounding = "nearest", seed = None, acc = 0.0))]
fn dot(
    a: PyReadonlyArray1<f32>,
    b: PyReadonlyArray1<f32>,
    format: &str,
    rounding: &str,
    seed: Option<u64>,
    acc: f32,
) -> PyResult<f32> {
    let (a, b) = (a.as_array().to_vec(), b.as_array().to_vec());
    if a.len() != b.len() {
        return Err(PyValueError::new_err(format!("dot of vectors of lengths {} and {}", a.len(), b.len())));
    }
    let format = self::format(format)?;
    let line = |x: &[f32], stream| -> PyResult<mx::MxMatrix> {
        mx::MxMatrix::quantize(x, 1, x.len(), Axis::Row, format, self::rounding(rounding, seed, stream)?)
            .map_err(mx_error)
    };
    let (qa, qb) = (line(&a, 0)?, line(&b, 1)?);
    Ok(mx::dot(qa.line(0), qb.line(0), format, acc))
}

/// C = A x B as the DPE array computes it. Either two `MxMatrix` (A along rows, B down
/// columns, one format), or two 2-D float32 arrays and a format: A is quantized along its
/// rows (with `seed`), B down its columns (with `seed + 1`). Returns float32 (M x N). The GIL
/// is released while it multiplies.
#[pyfunction]
#[pyo3(signature = (a, b, format = None, rounding = "nearest", seed = None))]
fn gemm<'py>(
    py: Python<'py>,
    a: &Bound<'py, PyAny>,
    b: &Bound<'py, PyAny>,
    format: Option<&str>,
    rounding: &str,
    seed: Option<u64>,
) -> PyResult<Bound<'py, PyArray2<f32>>> {
    let product = |qa: &mx::MxMatrix, qb: &mx::MxMatrix| {
        let c = py.allow_threads(|| mx::gemm(qa, qb)).map_err(mx_error)?;
        c.into_pyarray(py).reshape([qa.rows(), qb.cols()])
    };
    if let (Ok(qa), Ok(qb)) = (a.downcast::<PyMxMatrix>(), b.downcast::<PyMxMatrix>()) {
        if format.is_some() {
            return Err(PyValueError::new_err("format applies to arrays; MxMatrix operands carry their own"));
        }
        return product(&qa.get().0, &qb.get().0);
    }
    let format = format
        .ok_or_else(|| PyValueError::new_err("gemm of arrays needs a format: 'mx9', 'mx6' or 'mx4'"))?;
    let (a, b): (PyReadonlyArray2<f32>, PyReadonlyArray2<f32>) = (a.extract()?, b.extract()?);
    let format = self::format(format)?;
    let qa = to_matrix(&a, format, Axis::Row, self::rounding(rounding, seed, 0)?)?;
    let qb = to_matrix(&b, format, Axis::Col, self::rounding(rounding, seed, 1)?)?;
    product(&qa, &qb)
}

/// The bytes of a block of each format: 18, 12 or 8.
#[pyfunction]
fn block_bytes(format: &str) -> PyResult<usize> {
    Ok(self::format(format)?.block_bytes())
}

/// The values of packed blocks (uint8, 1-D, a whole number of blocks of `format`).
#[pyfunction]
fn unpack<'py>(
    py: Python<'py>,
    packed: PyReadonlyArray1<'py, u8>,
    format: &str,
) -> PyResult<Bound<'py, PyArray1<f32>>> {
    let format = self::format(format)?;
    let bytes = packed.as_array().to_vec();
    if !bytes.len().is_multiple_of(format.block_bytes()) {
        return Err(PyValueError::new_err(format!(
            "{} bytes are no whole number of {format} blocks ({} bytes each)",
            bytes.len(),
            format.block_bytes()
        )));
    }
    let values: Vec<f32> = bytes
        .chunks_exact(format.block_bytes())
        .flat_map(|b| mx::Block::unpack(format, b).decode(format))
        .collect();
    Ok(values.into_pyarray(py))
}

#[pymodule]
fn dacapo_mx(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("Error", m.py().get_type::<Error>())?;
    m.add_class::<PyMxMatrix>()?;
    m.add_function(wrap_pyfunction!(quantize, m)?)?;
    m.add_function(wrap_pyfunction!(dot, m)?)?;
    m.add_function(wrap_pyfunction!(gemm, m)?)?;
    m.add_function(wrap_pyfunction!(block_bytes, m)?)?;
    m.add_function(wrap_pyfunction!(unpack, m)?)?;
    Ok(())
}
