//! The first stage of loading: the TOML text deserialized into the raw model (`file`). Serde
//! stops at the first value of the wrong type or unknown key; so that one such mistake does
//! not hide the others, each one is reported and the lines of its key are commented out (same
//! byte offsets, so every later location still points into the file as written), and the
//! text is read again.

use std::ops::Range;

use super::file::RawFile;

/// After this many mistakes of shape the file is not read further.
const MAX_SHAPE_ERRORS: usize = 50;

/// A shape mistake: where, and what.
pub(super) struct ShapeError {
    pub(super) span: Range<usize>,
    pub(super) message: String,
}

/// What reading found.
pub(super) struct Read {
    /// The file, read past its shape mistakes (absent when one could not be stepped over:
    /// a syntax error, a missing required key).
    pub(super) raw: Option<RawFile>,
    /// Every shape mistake, in the order found.
    pub(super) errors: Vec<ShapeError>,
    /// Byte ranges of the lines commented out to step over them.
    pub(super) masked: Vec<Range<usize>>,
}

/// Reads `text` into the raw model, reporting every shape mistake it can step over.
pub(super) fn read(text: &str) -> Read {
    let mut read = Read {
        raw: None,
        errors: Vec::new(),
        masked: Vec::new(),
    };
    // A syntax error leaves nothing reliable to read on from.
    if let Err(e) = text.parse::<toml::Table>() {
        read.errors.push(shape_error(&e));
        return read;
    }
    let mut masked = text.to_string();
    let mut masked_keys: Vec<String> = Vec::new();
    while read.errors.len() < MAX_SHAPE_ERRORS {
        let e = match toml::from_str::<RawFile>(&masked) {
            Ok(raw) => {
                read.raw = Some(raw);
                break;
            }
            Err(e) => e,
        };
        let error = shape_error(&e);
        if let Some(key) = missing_field(&error.message) {
            // Missing because its line was commented out: the mistake already reported.
            if !masked_keys.iter().any(|k| k == key) {
                read.errors.push(error);
            }
            break;
        }
        let Some((lines, key)) = key_lines(&masked, &error.span) else {
            read.errors.push(error);
            break;
        };
        read.errors.push(error);
        comment_out(&mut masked, &lines);
        read.masked.push(lines);
        masked_keys.push(key);
    }
    read
}

fn shape_error(e: &toml::de::Error) -> ShapeError {
    ShapeError {
        span: e.span().unwrap_or(0..0),
        message: e.message().trim_end().to_string(),
    }
}

/// `key` of serde's "missing field `key`".
fn missing_field(message: &str) -> Option<&str> {
    message.strip_prefix("missing field `")?.split('`').next()
}

/// The whole lines holding `span` and the key they start with, when they are `key = value`
/// lines (never a table header: commenting one out would move its keys elsewhere).
fn key_lines(text: &str, span: &Range<usize>) -> Option<(Range<usize>, String)> {
    if span.start >= text.len() || span.end > text.len() {
        return None;
    }
    let start = text[..span.start].rfind('\n').map_or(0, |i| i + 1);
    let end = text[span.end.max(span.start + 1) - 1..]
        .find('\n')
        .map_or(text.len(), |i| span.end.max(span.start + 1) - 1 + i);
    let lines = &text[start..end];
    if lines.lines().any(|l| l.trim_start().starts_with('[')) {
        return None;
    }
    let first = lines.trim_start();
    let key = first.split('=').next()?.trim().trim_matches('"').to_string();
    if !first.contains('=') || key.is_empty() || first.starts_with('#') {
        return None;
    }
    // The last dotted part is the field serde names (`check.status` -> `status`).
    let key = key.rsplit('.').next().unwrap_or(&key).trim().to_string();
    Some((start..end, key))
}

/// The table `offset` is in: from its header line (or the file's start) to the next header.
pub(super) fn section(text: &str, offset: usize) -> Range<usize> {
    let is_header = |line: &str| line.trim_start().starts_with('[');
    let mut start = 0;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        let next = at + line.len();
        if at > offset && is_header(line) {
            return start..at;
        }
        if at <= offset && is_header(line) {
            start = at;
        }
        at = next;
    }
    start..text.len()
}

/// Comments out every line in `lines`: its first byte becomes `#` (a multi-byte character
/// there is replaced whole by `#` and spaces, so offsets do not move).
fn comment_out(text: &mut String, lines: &Range<usize>) {
    let mut out = String::with_capacity(text.len());
    out.push_str(&text[..lines.start]);
    for line in text[lines.clone()].split_inclusive('\n') {
        let mut chars = line.chars();
        if let Some(c) = chars.next() {
            out.push('#');
            out.extend(std::iter::repeat_n(' ', c.len_utf8() - 1));
            out.push_str(chars.as_str());
        }
    }
    out.push_str(&text[lines.end..]);
    *text = out;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commented_line_keeps_every_offset() {
        let mut text = "a = 1\nb = [\n  \"é\",\n]\nc = 2\n".to_string();
        let before = text.len();
        let span = text.find("[\n").unwrap()..text.find("]\n").unwrap() + 1;
        let (lines, key) = key_lines(&text, &span).unwrap();
        assert_eq!(key, "b");
        comment_out(&mut text, &lines);
        assert_eq!(text.len(), before);
        assert_eq!(text, "a = 1\n# = [\n# \"é\",\n#\nc = 2\n");
    }

    #[test]
    fn a_section_runs_from_its_header_to_the_next() {
        let text = "name = \"x\"\n[load]\nusers = 1\n[[scenario]]\nname = \"s\"\n";
        let users = text.find("users").unwrap();
        assert_eq!(&text[section(text, users)], "[load]\nusers = 1\n");
        assert_eq!(&text[section(text, 0)], "name = \"x\"\n");
        let s = text.find("name = \"s").unwrap();
        assert_eq!(&text[section(text, s)], "[[scenario]]\nname = \"s\"\n");
    }

    #[test]
    fn a_table_header_is_never_commented_out() {
        let text = "[load]\nusers = 1\n";
        assert!(key_lines(text, &(0..6)).is_none());
    }
}
