//! `[[data]]` CSV feeders: read and checked when the plan is built (file relative to the
//! scenario file, a header row, at least one data row, the same number of fields per row).

use std::path::Path;

use toml::Spanned;

use super::Validator;
use super::file::RawData;
use super::plan::{FeedMode, Feeder};

/// The largest data file read: its rows are held in memory for the whole run.
const MAX_DATA_BYTES: u64 = 256 << 20;

/// Splits CSV text (RFC 4180: quoted fields may hold commas, quotes as `""`, newlines) into
/// records; a line that ends inside quotes is an error naming its line.
pub fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                if !(record.len() == 1 && record[0].is_empty()) {
                    records.push(std::mem::take(&mut record));
                } else {
                    record.clear();
                }
                line += 1;
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(format!("line {line}: a quoted field is not closed"));
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

impl Validator<'_> {
    pub(super) fn feeders(&mut self, raw: &[Spanned<RawData>], base_dir: Option<&Path>) -> Vec<Feeder> {
        let mut feeders: Vec<Feeder> = Vec::new();
        for data in raw {
            let span = data.span();
            let data = data.get_ref();
            if feeders.iter().any(|f| f.name == data.name) {
                self.error(span.clone(), format!("data {:?} is defined twice", data.name));
                continue;
            }
            if data.name.is_empty() || data.name.contains('.') {
                self.error(
                    span.clone(),
                    format!("data name {:?} must be non-empty and without '.'", data.name),
                );
                continue;
            }
            let mode = match data.mode.as_ref().map(|m| m.get_ref().as_str()) {
                None | Some("per_user") => FeedMode::PerUser,
                Some("shared") => FeedMode::Shared,
                Some(other) => {
                    let at = data.mode.as_ref().map_or(span.clone(), Spanned::span);
                    self.error(at, format!("data mode {other:?}: use \"per_user\" or \"shared\""));
                    FeedMode::PerUser
                }
            };
            let file = Path::new(data.file.get_ref());
            let path = match base_dir {
                Some(dir) if file.is_relative() => dir.join(file),
                _ => file.to_path_buf(),
            };
            let text = match gauntlet_contract::text::read_capped(&path, MAX_DATA_BYTES) {
                Ok(text) => text,
                Err(e) => {
                    self.error(data.file.span(), format!("cannot read {}: {e}", path.display()));
                    continue;
                }
            };
            let mut records = match parse_csv(&text) {
                Ok(records) => records,
                Err(e) => {
                    self.error(data.file.span(), format!("{}: {e}", path.display()));
                    continue;
                }
            };
            if records.len() < 2 {
                self.error(
                    data.file.span(),
                    format!("{}: needs a header row and at least one data row", path.display()),
                );
                continue;
            }
            let columns = records.remove(0);
            if let Some((i, row)) = records.iter().enumerate().find(|(_, r)| r.len() != columns.len()) {
                let message = format!(
                    "{}: data row {} has {} fields, the header has {}",
                    path.display(),
                    i + 1,
                    row.len(),
                    columns.len()
                );
                self.error(data.file.span(), message);
                continue;
            }
            feeders.push(Feeder {
                name: data.name.clone(),
                mode,
                columns,
                rows: records,
            });
        }
        feeders
    }
}

#[cfg(test)]
mod tests {
    use super::parse_csv;

    #[test]
    fn parses_quoted_fields_and_skips_blank_lines() {
        let rows = parse_csv("user,note\nalice,\"a, \"\"quoted\"\" note\"\n\nbob,plain\r\n").unwrap();
        assert_eq!(
            rows,
            vec![
                vec!["user", "note"],
                vec!["alice", "a, \"quoted\" note"],
                vec!["bob", "plain"]
            ]
        );
        assert!(parse_csv("a\n\"open").unwrap_err().contains("line 2"));
    }
}
