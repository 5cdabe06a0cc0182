//! Human durations: `250ms`, `10s`, `1.5s`, `2m`, `1h`, `500us`.

use std::time::Duration;

/// Parses a duration with a unit; the error says what is accepted.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let n: f64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 250ms, 10s or 2m"))?;
    let seconds = match unit.trim() {
        "us" | "µs" => n / 1e6,
        "ms" => n / 1e3,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        "" => return Err(format!("{text:?} needs a unit (us, ms, s, m, h)")),
        other => {
            return Err(format!(
                "unknown unit {other:?} in {text:?} (use us, ms, s, m, h)"
            ));
        }
    };
    Duration::try_from_secs_f64(seconds).map_err(|_| format!("{text:?} is out of range"))
}

/// Parses `250ms` (fixed) or `100ms..300ms` (uniform range) into (min, max).
pub fn parse_range(text: &str) -> Result<(Duration, Duration), String> {
    match text.split_once("..") {
        None => parse_duration(text).map(|d| (d, d)),
        Some((lo, hi)) => {
            let (lo, hi) = (parse_duration(lo)?, parse_duration(hi)?);
            if lo > hi {
                return Err(format!("{text:?}: the lower bound is above the upper one"));
            }
            Ok((lo, hi))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units_and_ranges() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert!(parse_duration("10").unwrap_err().contains("needs a unit"));
        assert!(parse_duration("10 parsecs").is_err());
        assert_eq!(
            parse_range("1s..2s").unwrap(),
            (Duration::from_secs(1), Duration::from_secs(2))
        );
        assert!(parse_range("2s..1s").is_err());
    }
}
