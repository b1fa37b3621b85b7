//! Typed expressions for the emitter. A signal is a handle ([`Sig`]) that carries its width,
//! which a module hands out when it declares the signal; an expression ([`Expr`]) is a small
//! tree of literals, references, slices, concatenations, operators, conditionals and function
//! calls. Building a tree never fails; the module that takes it checks it ([`Expr::check`]):
//! every reference declared there with the handle's width, and the operands of every operator
//! as wide as the operator needs. So a width mismatch or an undeclared name stops the
//! generator with a message that names the signal, before any simulator reads the Verilog.

use std::fmt;
use std::ops::{Add, BitAnd, BitOr, BitXor, Not, Shl, Shr, Sub};

use crate::error::HdlError;

/// A declared signal: its name and width.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sig {
    name: String,
    width: u32,
}

impl Sig {
    pub(crate) fn new(name: impl Into<String>, width: u32) -> Sig {
        Sig { name: name.into(), width }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn width(&self) -> u32 {
        self.width
    }

    /// The signal as an expression.
    pub fn e(&self) -> Expr {
        Expr::Ref(self.clone())
    }

    /// Bit `index`.
    pub fn bit(&self, index: u32) -> Expr {
        self.slice(index, 1)
    }

    /// `width` bits from `lsb`.
    pub fn slice(&self, lsb: u32, width: u32) -> Expr {
        self.e().slice(lsb, width)
    }
}

/// Binary operators, by the widths they take and give.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    /// Operands of one width, a result of that width.
    Add,
    Sub,
    And,
    Or,
    Xor,
    /// Operands of one width, one result bit.
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    /// One-bit operands and result.
    LogicAnd,
    LogicOr,
    /// The left operand's width; the shift amount has any width.
    Shl,
    Shr,
}

impl BinOp {
    fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::And => "&",
            BinOp::Or => "|",
            BinOp::Xor => "^",
            BinOp::Eq => "==",
            BinOp::Ne => "!=",
            BinOp::Lt => "<",
            BinOp::Le => "<=",
            BinOp::Gt => ">",
            BinOp::Ge => ">=",
            BinOp::LogicAnd => "&&",
            BinOp::LogicOr => "||",
            BinOp::Shl => "<<",
            BinOp::Shr => ">>",
        }
    }
}

/// An expression tree; its width follows from its leaves.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Expr {
    /// `width'd value`.
    Lit {
        value: u64,
        width: u32,
    },
    Ref(Sig),
    /// `base[lsb +: width]` (`base[lsb]` for one bit).
    Slice {
        base: Box<Expr>,
        lsb: u32,
        width: u32,
    },
    /// `{a, b, ...}`, the first part most significant.
    Concat(Vec<Expr>),
    /// `!a` on one bit.
    LogicNot(Box<Expr>),
    /// `~a`.
    Invert(Box<Expr>),
    Binary(BinOp, Box<Expr>, Box<Expr>),
    /// `cond ? then : otherwise`.
    Cond(Box<Expr>, Box<Expr>, Box<Expr>),
    /// A call of a function returning `width` bits, whose inputs have `inputs` widths.
    Call {
        name: String,
        width: u32,
        inputs: Vec<u32>,
        args: Vec<Expr>,
    },
    /// `width'(a)`: the one way to change an expression's width.
    Resize(u32, Box<Expr>),
}

/// `width'd value`.
pub fn lit(value: u64, width: u32) -> Expr {
    Expr::Lit { value, width }
}

/// `{parts}`, the first most significant.
pub fn concat(parts: impl IntoIterator<Item = Expr>) -> Expr {
    Expr::Concat(parts.into_iter().collect())
}

impl Expr {
    fn binary(self, op: BinOp, other: Expr) -> Expr {
        Expr::Binary(op, Box::new(self), Box::new(other))
    }

    pub fn equals(self, other: Expr) -> Expr {
        self.binary(BinOp::Eq, other)
    }

    pub fn differs(self, other: Expr) -> Expr {
        self.binary(BinOp::Ne, other)
    }

    pub fn less(self, other: Expr) -> Expr {
        self.binary(BinOp::Lt, other)
    }

    pub fn less_eq(self, other: Expr) -> Expr {
        self.binary(BinOp::Le, other)
    }

    pub fn greater(self, other: Expr) -> Expr {
        self.binary(BinOp::Gt, other)
    }

    pub fn greater_eq(self, other: Expr) -> Expr {
        self.binary(BinOp::Ge, other)
    }

    pub fn and(self, other: Expr) -> Expr {
        self.binary(BinOp::LogicAnd, other)
    }

    pub fn or(self, other: Expr) -> Expr {
        self.binary(BinOp::LogicOr, other)
    }

    /// `!self`, for a one-bit condition (`!expr` in Rust is Verilog's `~`).
    pub fn logic_not(self) -> Expr {
        Expr::LogicNot(Box::new(self))
    }

    /// `self ? then : otherwise`.
    pub fn select(self, then: Expr, otherwise: Expr) -> Expr {
        Expr::Cond(Box::new(self), Box::new(then), Box::new(otherwise))
    }

    /// `width` bits from `lsb`.
    pub fn slice(self, lsb: u32, width: u32) -> Expr {
        Expr::Slice { base: Box::new(self), lsb, width }
    }

    /// `width'(self)`, zero-extended or truncated.
    pub fn resize(self, width: u32) -> Expr {
        Expr::Resize(width, Box::new(self))
    }

    /// The expression's width, once every reference is checked against `declared` (the width
    /// a name is declared with in the module, or None) and every operator against its
    /// operands.
    pub fn check(&self, declared: &dyn Fn(&str) -> Option<u32>) -> Result<u32, HdlError> {
        let same = |what: &str, a: &Expr, b: &Expr| -> Result<u32, HdlError> {
            let (wa, wb) = (a.check(declared)?, b.check(declared)?);
            if wa == wb {
                Ok(wa)
            } else {
                Err(HdlError::WidthMismatch { expr: format!("{a} {what} {b}"), left: wa, right: wb })
            }
        };
        let one_bit = |what: &str, a: &Expr| -> Result<(), HdlError> {
            match a.check(declared)? {
                1 => Ok(()),
                w => Err(HdlError::WidthMismatch { expr: format!("{a} as {what}"), left: w, right: 1 }),
            }
        };
        match self {
            Expr::Lit { value, width } => {
                if *width == 0 || (*width < 64 && *value >> width != 0) {
                    Err(HdlError::LiteralTooWide { value: *value, width: *width })
                } else {
                    Ok(*width)
                }
            }
            Expr::Ref(sig) => match declared(&sig.name) {
                None => Err(HdlError::Undeclared(sig.name.clone())),
                Some(w) if w != sig.width => {
                    Err(HdlError::WidthMismatch { expr: sig.name.clone(), left: sig.width, right: w })
                }
                Some(w) => Ok(w),
            },
            Expr::Slice { base, lsb, width } => {
                if !matches!(**base, Expr::Ref(_)) {
                    return Err(HdlError::SliceOfExpression(base.to_string()));
                }
                let bits = base.check(declared)?;
                if *width == 0 || lsb + width > bits {
                    Err(HdlError::SliceOutOfRange { expr: base.to_string(), lsb: *lsb, width: *width, bits })
                } else {
                    Ok(*width)
                }
            }
            Expr::Concat(parts) => parts.iter().map(|p| p.check(declared)).sum(),
            Expr::LogicNot(a) => one_bit("a condition", a).map(|()| 1),
            Expr::Invert(a) => a.check(declared),
            Expr::Binary(op, a, b) => match op {
                BinOp::Add | BinOp::Sub | BinOp::And | BinOp::Or | BinOp::Xor => same(op.symbol(), a, b),
                BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                    same(op.symbol(), a, b).map(|_| 1)
                }
                BinOp::LogicAnd | BinOp::LogicOr => {
                    one_bit("a condition", a)?;
                    one_bit("a condition", b)?;
                    Ok(1)
                }
                BinOp::Shl | BinOp::Shr => {
                    b.check(declared)?;
                    a.check(declared)
                }
            },
            Expr::Cond(cond, then, otherwise) => {
                one_bit("a condition", cond)?;
                same(":", then, otherwise)
            }
            Expr::Call { name, width, inputs, args } => {
                if inputs.len() != args.len() {
                    return Err(HdlError::Arguments {
                        function: name.clone(),
                        want: inputs.len(),
                        got: args.len(),
                    });
                }
                for (arg, &want) in args.iter().zip(inputs) {
                    let got = arg.check(declared)?;
                    if got != want {
                        return Err(HdlError::WidthMismatch {
                            expr: format!("{arg} as an argument of {name}"),
                            left: got,
                            right: want,
                        });
                    }
                }
                Ok(*width)
            }
            Expr::Resize(width, a) => a.check(declared).map(|_| *width),
        }
    }

    /// Whether the expression prints as one operand: a name, literal, slice, concatenation,
    /// call or cast, which need no parentheses inside an operator.
    fn atomic(&self) -> bool {
        !matches!(self, Expr::Binary(..) | Expr::Cond(..))
    }

    fn fmt_operand(&self, f: &mut fmt::Formatter) -> fmt::Result {
        if self.atomic() {
            write!(f, "{self}")
        } else {
            write!(f, "({self})")
        }
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        match self {
            Expr::Lit { value, width: 1 } => write!(f, "1'b{value}"),
            Expr::Lit { value, width } if *value < 10 => write!(f, "{width}'d{value}"),
            Expr::Lit { value, width } => write!(f, "{width}'h{value:X}"),
            Expr::Ref(sig) => write!(f, "{}", sig.name),
            Expr::Slice { base, lsb, width } => {
                base.fmt_operand(f)?;
                match width {
                    1 => write!(f, "[{lsb}]"),
                    w => write!(f, "[{}:{lsb}]", lsb + w - 1),
                }
            }
            Expr::Concat(parts) => {
                let parts: Vec<String> = parts.iter().map(Expr::to_string).collect();
                write!(f, "{{{}}}", parts.join(", "))
            }
            Expr::LogicNot(a) => {
                write!(f, "!")?;
                a.fmt_operand(f)
            }
            Expr::Invert(a) => {
                write!(f, "~")?;
                a.fmt_operand(f)
            }
            Expr::Binary(op, a, b) => {
                a.fmt_operand(f)?;
                write!(f, " {} ", op.symbol())?;
                b.fmt_operand(f)
            }
            Expr::Cond(cond, then, otherwise) => {
                cond.fmt_operand(f)?;
                write!(f, " ? ")?;
                then.fmt_operand(f)?;
                write!(f, " : ")?;
                // A chain of conditionals reads flat.
                match **otherwise {
                    Expr::Cond(..) => write!(f, "{otherwise}"),
                    _ => otherwise.fmt_operand(f),
                }
            }
            Expr::Call { name, args, .. } => {
                let args: Vec<String> = args.iter().map(Expr::to_string).collect();
                write!(f, "{name}({})", args.join(", "))
            }
            Expr::Resize(width, a) => write!(f, "{width}'({a})"),
        }
    }
}

macro_rules! operator {
    ($trait:ident, $method:ident, $op:expr) => {
        impl $trait for Expr {
            type Output = Expr;
            fn $method(self, other: Expr) -> Expr {
                self.binary($op, other)
            }
        }
    };
}

operator!(Add, add, BinOp::Add);
operator!(Sub, sub, BinOp::Sub);
operator!(BitAnd, bitand, BinOp::And);
operator!(BitOr, bitor, BinOp::Or);
operator!(BitXor, bitxor, BinOp::Xor);
operator!(Shl, shl, BinOp::Shl);
operator!(Shr, shr, BinOp::Shr);

impl Not for Expr {
    type Output = Expr;
    fn not(self) -> Expr {
        Expr::Invert(Box::new(self))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(name: &str) -> Option<u32> {
        match name {
            "a_i" | "b_i" => Some(8),
            "valid_i" => Some(1),
            "wide_i" => Some(9),
            _ => None,
        }
    }

    #[test]
    fn widths_follow_the_operators() {
        let (a, b, valid) = (Sig::new("a_i", 8), Sig::new("b_i", 8), Sig::new("valid_i", 1));
        assert_eq!((a.e() + b.e()).check(&scope), Ok(8));
        assert_eq!(a.e().less(b.e()).and(valid.e()).check(&scope), Ok(1));
        assert_eq!(concat([a.e(), valid.e(), a.slice(2, 3)]).check(&scope), Ok(12));
        assert_eq!((a.e() << lit(3, 2)).check(&scope), Ok(8));
        assert_eq!(valid.e().select(a.e(), b.e()).resize(16).check(&scope), Ok(16));
    }

    #[test]
    fn mismatches_name_the_signals() {
        let (a, wide) = (Sig::new("a_i", 8), Sig::new("wide_i", 9));
        let err = (a.e() + wide.e()).check(&scope).unwrap_err();
        assert_eq!(err, HdlError::WidthMismatch { expr: "a_i + wide_i".into(), left: 8, right: 9 });
        assert!(err.to_string().contains("a_i + wide_i") && err.to_string().contains("8 and 9"), "{err}");
        let err = Sig::new("valid_i", 1).e().and(a.e()).check(&scope).unwrap_err();
        assert!(err.to_string().contains("a_i as a condition"), "{err}");
        assert_eq!(
            a.slice(4, 5).check(&scope).unwrap_err().to_string(),
            "a_i[8:4] is past the 8 bits of a_i"
        );
        assert_eq!(lit(256, 8).check(&scope), Err(HdlError::LiteralTooWide { value: 256, width: 8 }));
        let sum = a.e() + a.e();
        assert_eq!(sum.slice(0, 4).check(&scope), Err(HdlError::SliceOfExpression("a_i + a_i".into())));
    }

    #[test]
    fn an_undeclared_or_stale_handle_is_rejected() {
        assert_eq!(Sig::new("c_i", 8).e().check(&scope), Err(HdlError::Undeclared("c_i".into())));
        let stale = Sig::new("a_i", 7);
        assert!(matches!(stale.e().check(&scope), Err(HdlError::WidthMismatch { .. })));
    }

    #[test]
    fn operands_print_with_the_parentheses_they_need() {
        let (a, b, valid) = (Sig::new("a_i", 8), Sig::new("b_i", 8), Sig::new("valid_i", 1));
        assert_eq!(((a.e() + b.e()) & !a.e()).to_string(), "(a_i + b_i) & ~a_i");
        assert_eq!(
            valid.e().select(a.e(), valid.e().logic_not().select(b.e(), lit(200, 8))).to_string(),
            "valid_i ? a_i : !valid_i ? b_i : 8'hC8"
        );
        assert_eq!(concat([a.bit(7), lit(0, 1), b.slice(0, 4)]).to_string(), "{a_i[7], 1'b0, b_i[3:0]}");
    }
}
