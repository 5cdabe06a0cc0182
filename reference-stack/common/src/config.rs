//! One typed configuration per service: built-in defaults, then a TOML file, then environment
//! variables `PREFIX_KEY` (nested keys joined with `__`). The environment is passed in as a list
//! of pairs so tests never have to mutate the process environment.

use std::path::Path;

use serde::{Serialize, de::DeserializeOwned};
use toml::{Table, Value};

/// Why a configuration could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("config file {path}: {source}")]
    Unreadable {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not valid TOML or a value has the wrong type / an unknown key.
    #[error("config {origin}: {message}")]
    Invalid {
        /// The file (with line and column where known) or the environment variable.
        origin: String,
        /// What is wrong.
        message: String,
    },
}

/// Loads `T` from its defaults, an optional TOML file and the `PREFIX_*` variables in `env`.
///
/// `T` should use `#[serde(deny_unknown_fields)]` so a misspelt key is an error, not ignored.
pub fn load<T>(
    file: Option<&Path>,
    env_prefix: &str,
    env: impl IntoIterator<Item = (String, String)>,
) -> Result<T, ConfigError>
where
    T: Serialize + DeserializeOwned + Default,
{
    let mut merged = Value::try_from(T::default())
        .map_err(|e| invalid("defaults", e.to_string()))?
        .as_table()
        .cloned()
        .unwrap_or_default();
    let mut origin = "defaults".to_string();

    if let Some(path) = file {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Unreadable {
            path: path.display().to_string(),
            source,
        })?;
        let table: Table = text
            .parse()
            .map_err(|e: toml::de::Error| invalid(&located(path, &text, &e), e.message()))?;
        merge(&mut merged, table);
        origin = path.display().to_string();
    }

    let prefix = format!("{env_prefix}_");
    let mut from_env = Vec::new();
    for (name, raw) in env {
        let Some(key) = name.strip_prefix(&prefix) else {
            continue;
        };
        let path: Vec<String> = key.split("__").map(|p| p.to_ascii_lowercase()).collect();
        set_path(&mut merged, &path, parse_env_value(&raw));
        from_env.push(name);
    }
    if !from_env.is_empty() {
        origin = format!("{origin} + environment ({})", from_env.join(", "));
    }

    Value::Table(merged)
        .try_into()
        .map_err(|e: toml::de::Error| invalid(&origin, e.message()))
}

fn invalid(origin: &str, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        origin: origin.to_string(),
        message: message.into(),
    }
}

/// `file:line:col` for a TOML parse error.
fn located(path: &Path, text: &str, err: &toml::de::Error) -> String {
    match err.span() {
        Some(span) => {
            let (line, col) = line_col(text, span.start);
            format!("{}:{line}:{col}", path.display())
        }
        None => path.display().to_string(),
    }
}

/// 1-based line and column (in characters, as an editor shows them) of a byte offset into
/// `text`: the stack's one copy (the gauntlet crates have theirs in `gauntlet-contract`, which
/// the stack may not import).
pub fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..text.floor_char_boundary(offset.min(text.len()))];
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, col)
}

/// A value from the environment is a TOML literal when it parses as one (`42`, `true`,
/// `["a", "b"]`), else a plain string.
fn parse_env_value(raw: &str) -> Value {
    format!("v = {raw}")
        .parse::<Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_string()))
}

fn merge(into: &mut Table, from: Table) {
    for (key, value) in from {
        match (into.get_mut(&key), value) {
            (Some(Value::Table(existing)), Value::Table(incoming)) => merge(existing, incoming),
            (_, value) => {
                into.insert(key, value);
            }
        }
    }
}

fn set_path(table: &mut Table, path: &[String], value: Value) {
    match path {
        [] => {}
        [last] => {
            table.insert(last.clone(), value);
        }
        [first, rest @ ..] => {
            let entry = table
                .entry(first.clone())
                .or_insert_with(|| Value::Table(Table::new()));
            if !entry.is_table() {
                *entry = Value::Table(Table::new());
            }
            if let Value::Table(inner) = entry {
                set_path(inner, rest, value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[test]
    fn line_col_counts_columns_in_characters() {
        assert_eq!(line_col("ab\ncd", 4), (2, 2));
        // "é" is two bytes, one column: a config with a non-ASCII value is located right.
        assert_eq!(line_col("k = \"é\" x", 9), (1, 9));
        assert_eq!(line_col("ab", 99), (1, 3));
    }

    #[derive(Debug, Default, Serialize, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Inner {
        password: String,
    }

    #[derive(Debug, Serialize, Deserialize, PartialEq)]
    #[serde(deny_unknown_fields, default)]
    struct Sample {
        port: u16,
        name: String,
        admin: Inner,
    }

    impl Default for Sample {
        fn default() -> Self {
            Sample {
                port: 1,
                name: "x".into(),
                admin: Inner { password: "p".into() },
            }
        }
    }

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn file_then_environment_override_defaults() {
        let dir = std::env::temp_dir().join(format!("cfg-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.toml");
        std::fs::write(&file, "port = 5\n[admin]\npassword = \"file\"\n").unwrap();
        let cfg: Sample = load(
            Some(&file),
            "T",
            env(&[("T_NAME", "env"), ("T_ADMIN__PASSWORD", "envpw"), ("OTHER", "1")]),
        )
        .unwrap();
        assert_eq!(
            cfg,
            Sample {
                port: 5,
                name: "env".into(),
                admin: Inner {
                    password: "envpw".into()
                }
            }
        );
    }

    #[test]
    fn unknown_key_in_file_is_an_error_naming_it() {
        let dir = std::env::temp_dir().join(format!("cfg2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("b.toml");
        std::fs::write(&file, "prot = 5\n").unwrap();
        let err = load::<Sample>(Some(&file), "T", env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("prot"), "{err}");
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        let dir = std::env::temp_dir().join(format!("cfg3-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("c.toml");
        std::fs::write(&file, "port = 5\nname = \n").unwrap();
        let err = load::<Sample>(Some(&file), "T", env(&[]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("c.toml:2:"), "{err}");
    }

    #[test]
    fn bad_type_from_environment_names_the_variable() {
        let err = load::<Sample>(None, "T", env(&[("T_PORT", "\"many\"")]))
            .unwrap_err()
            .to_string();
        assert!(err.contains("T_PORT"), "{err}");
    }
}
