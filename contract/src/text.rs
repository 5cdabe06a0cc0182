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

/// Reads a file a user names, up to `limit` bytes: one larger (a log named by mistake, or a
/// device such as /dev/zero, whose size says 0) is refused without reading further, with an
/// `InvalidData` error that says so, instead of filling memory (issue 20).
pub fn read_capped_bytes(path: &std::path::Path, limit: u64) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!(
                "larger than {} MiB, the most gauntlet reads from such a file",
                limit >> 20
            ),
        ));
    }
    Ok(bytes)
}

/// [`read_capped_bytes`], as UTF-8 text.
pub fn read_capped(path: &std::path::Path, limit: u64) -> std::io::Result<String> {
    String::from_utf8(read_capped_bytes(path, limit)?)
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
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

    /// A device that never ends is refused at the cap, not read into memory.
    #[test]
    fn an_endless_file_is_refused_at_the_cap() {
        let err = read_capped(std::path::Path::new("/dev/zero"), 1 << 20).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidData);
        assert!(err.to_string().contains("larger than 1 MiB"), "{err}");
        let small = std::env::temp_dir().join(format!("gauntlet-capped-{}", std::process::id()));
        std::fs::write(&small, "a,b\n1,2\n").unwrap();
        assert_eq!(read_capped(&small, 1 << 20).unwrap(), "a,b\n1,2\n");
        let _ = std::fs::remove_file(&small);
    }

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
