//! Reading what users write in files. Positions in source text, for messages that say where: a byte offset (what `toml`'s spans,
//! protox's labels and YAML parsers give) as the 1-based line and column an editor shows —
//! the column counted in characters, not bytes. The scenario loader uses it too, so every
//! `file:line:col` gauntlet prints is counted the same way.

/// 1-based line and column (in characters) of a byte offset into `text`; an offset past the
/// end is the end, one inside a character is that character's start.
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..text.floor_char_boundary(offset.min(text.len()))];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// A TOML value as JSON: scenario bodies and checks, and gRPC example messages, are written in
/// TOML and sent or compared as JSON. Datetimes become their RFC 3339 text; a non-finite float
/// becomes `null` (JSON has none).
pub fn toml_to_json(value: &toml::Value) -> serde_json::Value {
    match value {
        toml::Value::String(s) => serde_json::Value::String(s.clone()),
        toml::Value::Integer(i) => (*i).into(),
        toml::Value::Float(f) => serde_json::Number::from_f64(*f).map_or(serde_json::Value::Null, Into::into),
        toml::Value::Boolean(b) => (*b).into(),
        toml::Value::Datetime(d) => serde_json::Value::String(d.to_string()),
        toml::Value::Array(a) => a.iter().map(toml_to_json).collect(),
        toml::Value::Table(t) => t.iter().map(|(k, v)| (k.clone(), toml_to_json(v))).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_columns_count_from_one_in_characters() {
        assert_eq!(line_col("ab\ncd", 0), (1, 1));
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        assert_eq!(line_col("ab", 99), (1, 3));
        // "é" is two bytes, one column; an offset inside it is its start.
        assert_eq!(line_col("é=x", 2), (1, 2));
        assert_eq!(line_col("é=x", 1), (1, 1));
    }
}
