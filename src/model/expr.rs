//! **Target expressions** such as `2*tanh(1.5*x0)`, with the precedence of
//! mathematics and of every common language:
//!
//! ```text
//! expr    := term (('+' | '-') term)*
//! term    := unary (('*' | '/') unary)*
//! unary   := ('-' | '+') unary | power          −x0^2 = −(x0²)
//! power   := primary ('^' unary)?               2^3^2 = 2^9 (right to left)
//! primary := number | x<k> | pi | e | name '(' expr (',' expr)* ')' | '(' expr ')'
//! number  := 12 | 1.5 | .5 | 1e3 | 2.5E-4
//! ```
//!
//! Functions: sin, cos, tan, asin, acos, atan, sinh, cosh, tanh, exp, log
//! (natural), log10, sqrt, abs, sign, erf, sigmoid, relu, softplus (one
//! argument); min, max, pow, atan2 (two). Errors say what was expected, and
//! where, in the user's text.
//!
//! An expression is at most [`MAX_LENGTH`] characters and its tree at most
//! [`MAX_DEPTH`] deep (parentheses, signs, powers and chains of operators
//! all count): parsing, evaluating and dropping it recurse that deep, so a
//! hostile text is refused by name instead of overflowing the stack.

use crate::error::{Error, Result};

/// The longest expression, in characters.
pub const MAX_LENGTH: usize = 10_000;

/// The deepest expression tree.
pub const MAX_DEPTH: usize = 200;

/// A parsed expression in x0, x1, ….
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Num(f64),
    Var(usize),
    Neg(Box<Expr>),
    Bin(Op, Box<Expr>, Box<Expr>),
    Call(Func, Vec<Expr>),
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Pow,
}

/// Functions, with their number of arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    Sin,
    Cos,
    Tan,
    Asin,
    Acos,
    Atan,
    Sinh,
    Cosh,
    Tanh,
    Exp,
    Log,
    Log10,
    Sqrt,
    Abs,
    Sign,
    Erf,
    Sigmoid,
    Relu,
    Softplus,
    Min,
    Max,
    Pow,
    Atan2,
}

/// The table of function names (one place: parsing and the error message).
const FUNCS: [(&str, Func, usize); 23] = [
    ("sin", Func::Sin, 1),
    ("cos", Func::Cos, 1),
    ("tan", Func::Tan, 1),
    ("asin", Func::Asin, 1),
    ("acos", Func::Acos, 1),
    ("atan", Func::Atan, 1),
    ("sinh", Func::Sinh, 1),
    ("cosh", Func::Cosh, 1),
    ("tanh", Func::Tanh, 1),
    ("exp", Func::Exp, 1),
    ("log", Func::Log, 1),
    ("log10", Func::Log10, 1),
    ("sqrt", Func::Sqrt, 1),
    ("abs", Func::Abs, 1),
    ("sign", Func::Sign, 1),
    ("erf", Func::Erf, 1),
    ("sigmoid", Func::Sigmoid, 1),
    ("relu", Func::Relu, 1),
    ("softplus", Func::Softplus, 1),
    ("min", Func::Min, 2),
    ("max", Func::Max, 2),
    ("pow", Func::Pow, 2),
    ("atan2", Func::Atan2, 2),
];

impl Func {
    fn apply(self, a: &[f64]) -> f64 {
        let x = a[0];
        match self {
            Func::Sin => x.sin(),
            Func::Cos => x.cos(),
            Func::Tan => x.tan(),
            Func::Asin => x.asin(),
            Func::Acos => x.acos(),
            Func::Atan => x.atan(),
            Func::Sinh => x.sinh(),
            Func::Cosh => x.cosh(),
            Func::Tanh => x.tanh(),
            Func::Exp => x.exp(),
            Func::Log => x.ln(),
            Func::Log10 => x.log10(),
            Func::Sqrt => x.sqrt(),
            Func::Abs => x.abs(),
            Func::Sign => {
                if x > 0.0 {
                    1.0
                } else if x < 0.0 {
                    -1.0
                } else {
                    0.0
                }
            }
            Func::Erf => libm::erf(x),
            Func::Sigmoid => 1.0 / (1.0 + (-x).exp()),
            Func::Relu => x.max(0.0),
            Func::Softplus => x.max(0.0) + (-x.abs()).exp().ln_1p(),
            Func::Min => x.min(a[1]),
            Func::Max => x.max(a[1]),
            Func::Pow => x.powf(a[1]),
            Func::Atan2 => x.atan2(a[1]),
        }
    }
}

impl Expr {
    /// The value at x (x[k] for the variable x<k>).
    pub fn eval(&self, x: &[f64]) -> f64 {
        match self {
            Expr::Num(v) => *v,
            Expr::Var(k) => x[*k],
            Expr::Neg(e) => -e.eval(x),
            Expr::Bin(op, a, b) => {
                let (a, b) = (a.eval(x), b.eval(x));
                match op {
                    Op::Add => a + b,
                    Op::Sub => a - b,
                    Op::Mul => a * b,
                    Op::Div => a / b,
                    Op::Pow => a.powf(b),
                }
            }
            Expr::Call(f, args) => {
                let mut v = [0.0; 2];
                for (o, a) in v.iter_mut().zip(args) {
                    *o = a.eval(x);
                }
                f.apply(&v[..args.len()])
            }
        }
    }

    /// Parse `text` as an expression in x0 … x{dim − 1}.
    pub fn parse(text: &str, dim: usize) -> Result<Self> {
        Self::parse_in(text, &Variables::plain(dim))
    }

    /// Parse `text` as an expression in the variables `vars`.
    ///
    /// # Errors
    /// [`Error::Problem`] on `target.expression`, saying what was expected
    /// at which character.
    pub fn parse_in(text: &str, vars: &Variables) -> Result<Self> {
        if text.len() > MAX_LENGTH {
            return Err(Error::problem(
                "target.expression",
                format!("an expression of {} characters", text.len()),
                format!("at most {MAX_LENGTH} characters"),
            ));
        }
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
            text,
            vars,
            nest: 0,
        };
        let e = p.expr()?;
        p.space();
        if p.i < p.s.len() {
            return Err(p.error("an operator or the end of the expression"));
        }
        Ok(e)
    }
}

/// The variables an expression may name: per input index, its names.
#[derive(Debug, Clone, PartialEq)]
pub struct Variables {
    names: Vec<Vec<String>>,
}

impl Variables {
    /// x0 … x{dim − 1}.
    pub fn plain(dim: usize) -> Self {
        Variables {
            names: (0..dim).map(|k| vec![format!("x{k}")]).collect(),
        }
    }

    /// A reduced problem's input x̄ = (Uᵀx, |x⊥|) with k directions: `u1` …
    /// `uk` (also `x0` … `x{k − 1}`: the same coordinates of x along U) and
    /// `rperp` = |x⊥|, which no `x…` names (x1 would read as a second
    /// coordinate of x, not as |x⊥|).
    pub fn reduced(k: usize) -> Self {
        let mut names: Vec<Vec<String>> = (0..k)
            .map(|i| vec![format!("u{}", i + 1), format!("x{i}")])
            .collect();
        names.push(vec!["rperp".to_string()]);
        Variables { names }
    }

    /// The index named `name`.
    fn index(&self, name: &str) -> Option<usize> {
        self.names.iter().position(|n| n.iter().any(|v| v == name))
    }

    /// Every name, for messages.
    fn list(&self) -> String {
        self.names
            .iter()
            .map(|n| n.join(" = "))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    text: &'a str,
    vars: &'a Variables,
    /// How deep the recursion is (parentheses, arguments, signs, powers).
    nest: usize,
}

/// The depth of an expression's tree (bounded by [`MAX_DEPTH`] for every
/// tree the parser builds, so this recursion is too).
fn depth(e: &Expr) -> usize {
    match e {
        Expr::Num(_) | Expr::Var(_) => 1,
        Expr::Neg(a) => 1 + depth(a),
        Expr::Bin(_, a, b) => 1 + depth(a).max(depth(b)),
        Expr::Call(_, args) => 1 + args.iter().map(depth).max().unwrap_or(0),
    }
}

impl Parser<'_> {
    fn error(&self, expected: &str) -> Error {
        let at = self.text.get(self.i..).unwrap_or("");
        let found = match at.chars().next() {
            Some(c) => format!("`{c}` at character {}", self.i + 1),
            None => "the end".to_string(),
        };
        Error::problem(
            "target.expression",
            format!("{:?}", self.text),
            format!(
                "{expected}, found {found} (an expression in {} with + - * / ^, parentheses and functions such as tanh, exp, sin, sqrt, abs, erf, min, max)",
                self.vars.list()
            ),
        )
    }

    /// Refuse a tree deeper than [`MAX_DEPTH`].
    fn too_deep(&self) -> Error {
        Error::problem(
            "target.expression",
            format!("{:?}", self.text.chars().take(60).collect::<String>()),
            format!("an expression nested at most {MAX_DEPTH} deep (parentheses, signs, powers and chains of operators count)"),
        )
    }

    /// Go one level deeper.
    fn enter(&mut self) -> Result<()> {
        self.nest += 1;
        if self.nest > MAX_DEPTH {
            return Err(self.too_deep());
        }
        Ok(())
    }

    /// `Bin(op, a, b)`, refused when deeper than [`MAX_DEPTH`] (`da`: a's
    /// depth; returns the new one).
    fn join(&self, op: Op, a: Expr, da: usize, b: Expr) -> Result<(Expr, usize)> {
        let d = 1 + da.max(depth(&b));
        if d > MAX_DEPTH {
            return Err(self.too_deep());
        }
        Ok((Expr::Bin(op, Box::new(a), Box::new(b)), d))
    }

    fn space(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.space();
        self.s.get(self.i).copied()
    }

    fn eat(&mut self, c: u8) -> bool {
        if self.peek() == Some(c) {
            self.i += 1;
            true
        } else {
            false
        }
    }

    fn expr(&mut self) -> Result<Expr> {
        self.enter()?;
        let mut e = self.term()?;
        let mut d = depth(&e);
        loop {
            let op = match self.peek() {
                Some(b'+') => Op::Add,
                Some(b'-') => Op::Sub,
                _ => break,
            };
            self.i += 1;
            let t = self.term()?;
            (e, d) = self.join(op, e, d, t)?;
        }
        self.nest -= 1;
        Ok(e)
    }

    fn term(&mut self) -> Result<Expr> {
        let mut e = self.unary()?;
        let mut d = depth(&e);
        loop {
            let op = match self.peek() {
                Some(b'*') => Op::Mul,
                Some(b'/') => Op::Div,
                _ => return Ok(e),
            };
            self.i += 1;
            let u = self.unary()?;
            (e, d) = self.join(op, e, d, u)?;
        }
    }

    fn unary(&mut self) -> Result<Expr> {
        self.enter()?;
        let e = if self.eat(b'-') {
            Expr::Neg(Box::new(self.unary()?))
        } else if self.eat(b'+') {
            self.unary()?
        } else {
            self.power()?
        };
        self.nest -= 1;
        Ok(e)
    }

    fn power(&mut self) -> Result<Expr> {
        let base = self.primary()?;
        if self.eat(b'^') {
            // right to left, and the exponent may carry its own sign
            let exp = self.unary()?;
            let d = depth(&base);
            return Ok(self.join(Op::Pow, base, d, exp)?.0);
        }
        Ok(base)
    }

    fn primary(&mut self) -> Result<Expr> {
        match self.peek() {
            Some(b'(') => {
                self.i += 1;
                let e = self.expr()?;
                if !self.eat(b')') {
                    return Err(self.error("`)`"));
                }
                Ok(e)
            }
            Some(c) if c.is_ascii_digit() || c == b'.' => self.number(),
            Some(c) if c.is_ascii_alphabetic() => self.name(),
            _ => Err(self.error("a number, x0.., a function or `(`")),
        }
    }

    fn number(&mut self) -> Result<Expr> {
        let start = self.i;
        let digits = |p: &mut Self| {
            let s = p.i;
            while p.i < p.s.len() && p.s[p.i].is_ascii_digit() {
                p.i += 1;
            }
            p.i > s
        };
        let whole = digits(self);
        let mut frac = false;
        if self.i < self.s.len() && self.s[self.i] == b'.' {
            self.i += 1;
            frac = digits(self);
        }
        if !whole && !frac {
            self.i = start;
            return Err(self.error("a number"));
        }
        if self.i < self.s.len() && (self.s[self.i] == b'e' || self.s[self.i] == b'E') {
            let mark = self.i;
            self.i += 1;
            if self.i < self.s.len() && (self.s[self.i] == b'+' || self.s[self.i] == b'-') {
                self.i += 1;
            }
            if !digits(self) {
                self.i = mark;
                return Err(self.error("the digits of an exponent, as in 1e3"));
            }
        }
        let text = &self.text[start..self.i];
        text.parse::<f64>()
            .map(Expr::Num)
            .map_err(|_| self.error("a number"))
    }

    fn name(&mut self) -> Result<Expr> {
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || self.s[self.i] == b'_')
        {
            self.i += 1;
        }
        let name = &self.text[start..self.i];
        if let Some(k) = self.vars.index(name) {
            return Ok(Expr::Var(k));
        }
        let variable_like = name
            .strip_prefix('x')
            .is_some_and(|d| d.parse::<usize>().is_ok())
            || name
                .strip_prefix('u')
                .is_some_and(|d| d.parse::<usize>().is_ok());
        if variable_like {
            self.i = start;
            return Err(self.error(&format!("a variable ({})", self.vars.list())));
        }
        match name {
            "pi" => return Ok(Expr::Num(std::f64::consts::PI)),
            "e" => return Ok(Expr::Num(std::f64::consts::E)),
            _ => {}
        }
        let Some(&(_, func, arity)) = FUNCS.iter().find(|f| f.0 == name) else {
            self.i = start;
            let names: Vec<&str> = FUNCS.iter().map(|f| f.0).collect();
            return Err(self.error(&format!(
                "a variable x0.., pi, e or a function ({})",
                names.join(", ")
            )));
        };
        if !self.eat(b'(') {
            return Err(self.error(&format!("`(` after {name}")));
        }
        let mut args = vec![self.expr()?];
        while self.eat(b',') {
            args.push(self.expr()?);
        }
        if !self.eat(b')') {
            return Err(self.error("`,` or `)`"));
        }
        if args.len() != arity {
            return Err(self.error(&format!(
                "{arity} argument(s) to {name}, not {}",
                args.len()
            )));
        }
        Ok(Expr::Call(func, args))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expressions with known values at x = (0.7, −1.3).
    #[test]
    fn precedence_and_numbers_follow_mathematics() {
        let (a, b) = (0.7f64, -1.3f64);
        let cases: &[(&str, f64)] = &[
            ("-x0^2", -(a * a)),
            ("2^3^2", 512.0),
            ("(2^3)^2", 64.0),
            ("2^-1", 0.5),
            ("-2^2", -4.0),
            ("1e3*x0", 1e3 * a),
            ("2.5E-1 + .5", 0.75),
            ("x0 - x1 - 1", a - b - 1.0),
            ("8 / 4 / 2", 1.0),
            ("2*tanh(1.5*x0)", 2.0 * (1.5 * a).tanh()),
            ("-x0*x1", -(a * b)),
            ("x0*-x1", a * -b),
            ("3 - -x1", 3.0 + b),
            ("max(x0, x1) + min(x0, x1)", a + b),
            ("pow(2, 10)", 1024.0),
            ("exp(log(3))", 3.0),
            ("sqrt(abs(x1))", b.abs().sqrt()),
            ("sin(pi/2) + e", 1.0 + std::f64::consts::E),
            ("relu(x1) + sign(x1)", -1.0),
            ("sigmoid(0)", 0.5),
            ("  1 + 2 * 3 ", 7.0),
            ("erf(0)", 0.0),
        ];
        for (text, want) in cases {
            let e = Expr::parse(text, 2).unwrap_or_else(|err| panic!("{text}: {err}"));
            let v = e.eval(&[a, b]);
            assert!(
                (v - want).abs() <= 1e-12 * want.abs().max(1.0),
                "{text} = {v}, not {want}"
            );
        }
    }

    #[test]
    fn errors_say_what_and_where() {
        for (text, hint) in [
            ("2 +", "the end"),
            ("x2 + 1", "a variable (x0, x1)"),
            ("tanh x0", "`(` after tanh"),
            ("gelu(x0)", "a function"),
            ("1e", "exponent"),
            ("(x0", "`)`"),
            ("max(x0)", "2 argument"),
            ("x0 x1", "an operator"),
        ] {
            let e = Expr::parse(text, 2).unwrap_err();
            assert_eq!(e.field(), Some("target.expression"));
            assert!(e.to_string().contains(hint), "{text}: {e}");
        }
    }

    /// Texts that recursed until the stack overflowed: refused by name,
    /// while long but shallow and deep-enough texts parse.
    #[test]
    fn deep_and_long_expressions_are_refused_by_name() {
        let n = 100_000;
        let hostile = [
            format!("{}x0{}", "(".repeat(n), ")".repeat(n)),
            vec!["1"; n].join("+"),
            format!("{}x0", "-".repeat(n)),
            vec!["2"; n].join("^"),
            format!("{}x0{}", "sin(".repeat(n), ")".repeat(n)),
            format!("{}1{}", "max(1,".repeat(2000), ")".repeat(2000)),
            format!("{}x0{}", "(".repeat(150), ")".repeat(150)),
            vec!["x0"; 300].join("*"),
        ];
        for text in &hostile {
            let e = Expr::parse(text, 1).unwrap_err();
            assert_eq!(e.field(), Some("target.expression"), "{}", &text[..20]);
            assert!(
                e.to_string().contains("nested at most") || e.to_string().contains("characters"),
                "{e}"
            );
        }
        // within the limits
        let ok = format!("{}x0{}", "(".repeat(60), ")".repeat(60));
        assert_eq!(Expr::parse(&ok, 1).unwrap().eval(&[0.5]), 0.5);
        let sum = vec!["x0"; 150].join("+");
        assert_eq!(Expr::parse(&sum, 1).unwrap().eval(&[1.0]), 150.0);
    }
}
