//! Threshold expressions, k6-style: `p(99) < 250ms`, `p(50) <= 40ms`, `rate < 0.01`,
//! `count == 0`, `avg < 100ms`, `max < 1s`. Parsed once, when the scenario is validated, so a
//! malformed expression is an input error (exit 2) before any request is sent.

use std::fmt;

/// What a threshold aggregates.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Aggregate {
    /// A percentile, 0 to 100.
    Percentile(f64),
    /// Mean.
    Avg,
    /// Minimum.
    Min,
    /// Maximum.
    Max,
    /// Share of events that are "true" (failed requests, passed checks), 0 to 1.
    Rate,
    /// Number of events.
    Count,
}

/// Comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `==`
    Eq,
    /// `!=`
    Ne,
}

impl Op {
    fn holds(self, left: f64, right: f64) -> bool {
        match self {
            Op::Lt => left < right,
            Op::Le => left <= right,
            Op::Gt => left > right,
            Op::Ge => left >= right,
            Op::Eq => left == right,
            Op::Ne => left != right,
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }
}

/// A parsed condition; durations are held in microseconds (the unit of the histograms).
#[derive(Debug, Clone, PartialEq)]
pub struct Condition {
    /// Left side.
    pub aggregate: Aggregate,
    /// Operator.
    pub op: Op,
    /// Right side: microseconds for durations, a plain number otherwise.
    pub value: f64,
    /// Whether the right side was written as a duration.
    pub is_duration: bool,
}

/// Why an expression does not parse; the message says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ThresholdSyntax(pub String);

impl Condition {
    /// Parses `AGGREGATE OP VALUE`.
    pub fn parse(text: &str) -> Result<Condition, ThresholdSyntax> {
        let err = |m: &str| ThresholdSyntax(format!("threshold {text:?}: {m}"));
        let s = text.trim();
        let op_at = s
            .find(['<', '>', '=', '!'])
            .ok_or_else(|| err("expected an operator (<, <=, >, >=, ==, !=)"))?;
        let (left, rest) = s.split_at(op_at);
        let (op, right) = [
            ("<=", Op::Le),
            (">=", Op::Ge),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            ("<", Op::Lt),
            (">", Op::Gt),
        ]
        .iter()
        .find_map(|(sym, op)| rest.strip_prefix(sym).map(|r| (*op, r)))
        .ok_or_else(|| err("expected an operator (<, <=, >, >=, ==, !=)"))?;
        let aggregate = parse_aggregate(left.trim()).map_err(|m| err(&m))?;
        let (value, is_duration) = parse_value(right.trim()).map_err(|m| err(&m))?;
        Ok(Condition {
            aggregate,
            op,
            value,
            is_duration,
        })
    }

    /// Whether the condition holds for `observed` (in the same unit as `value`).
    pub fn holds(&self, observed: f64) -> bool {
        self.op.holds(observed, self.value)
    }
}

fn parse_aggregate(left: &str) -> Result<Aggregate, String> {
    match left {
        "avg" => Ok(Aggregate::Avg),
        "min" => Ok(Aggregate::Min),
        "max" => Ok(Aggregate::Max),
        "med" => Ok(Aggregate::Percentile(50.0)),
        "rate" => Ok(Aggregate::Rate),
        "count" => Ok(Aggregate::Count),
        _ => {
            let inner = left
                .strip_prefix("p(")
                .and_then(|r| r.strip_suffix(')'))
                .ok_or_else(|| {
                    format!("unknown aggregate {left:?}: use p(N), avg, min, max, med, rate or count")
                })?;
            let p: f64 = inner
                .trim()
                .parse()
                .map_err(|_| format!("percentile {inner:?} is not a number"))?;
            if !(0.0..=100.0).contains(&p) {
                return Err(format!("percentile {p} is outside 0..100"));
            }
            Ok(Aggregate::Percentile(p))
        }
    }
}

/// A number, optionally with a duration unit (`us`, `ms`, `s`, `m`) or `%`.
fn parse_value(right: &str) -> Result<(f64, bool), String> {
    let split = right
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
        .unwrap_or(right.len());
    let (number, unit) = right.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("expected a number, found {right:?}"))?;
    let (factor, is_duration) = match unit.trim() {
        "" => (1.0, false),
        "%" => (0.01, false),
        "us" | "µs" => (1.0, true),
        "ms" => (1_000.0, true),
        "s" => (1_000_000.0, true),
        "m" => (60_000_000.0, true),
        other => return Err(format!("unknown unit {other:?}: use us, ms, s, m or %")),
    };
    Ok((n * factor, is_duration))
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.aggregate {
            Aggregate::Percentile(p) => write!(f, "p({p})")?,
            Aggregate::Avg => f.write_str("avg")?,
            Aggregate::Min => f.write_str("min")?,
            Aggregate::Max => f.write_str("max")?,
            Aggregate::Rate => f.write_str("rate")?,
            Aggregate::Count => f.write_str("count")?,
        }
        write!(f, " {} ", self.op.symbol())?;
        if self.is_duration {
            write!(f, "{}ms", self.value / 1000.0)
        } else {
            write!(f, "{}", self.value)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_k6_style_conditions() {
        let c = Condition::parse("p(99) < 250ms").unwrap();
        assert_eq!(c.aggregate, Aggregate::Percentile(99.0));
        assert_eq!(c.op, Op::Lt);
        assert_eq!(c.value, 250_000.0);
        assert!(c.is_duration);
        assert_eq!(Condition::parse("rate<0.01").unwrap().value, 0.01);
        assert_eq!(Condition::parse("count == 0").unwrap().op, Op::Eq);
        assert_eq!(Condition::parse("p(99.9) <= 1.5s").unwrap().value, 1_500_000.0);
        assert_eq!(Condition::parse("rate > 99%").unwrap().value, 0.99);
    }

    #[test]
    fn holds_compares_observed_to_the_bound() {
        let c = Condition::parse("p(99) < 250ms").unwrap();
        assert!(c.holds(249_999.0));
        assert!(!c.holds(250_000.0));
    }

    #[test]
    fn malformed_expressions_say_what_is_wrong() {
        for (text, needle) in [
            ("p(99) 250ms", "operator"),
            ("p99 < 1ms", "unknown aggregate"),
            ("p(101) < 1ms", "outside"),
            ("avg < 3 parsecs", "unknown unit"),
            ("avg < fast", "expected a number"),
        ] {
            let err = Condition::parse(text).unwrap_err().0;
            assert!(err.contains(needle), "{text}: {err}");
        }
    }
}
