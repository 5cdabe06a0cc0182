//! protobuf breaking-change detection with buf's rules: OLD and NEW proto roots are compiled
//! with protox into descriptor pools (source info kept), elements are paired the way buf pairs
//! them (files by path; messages, enums and services by full name; fields by number; enum
//! values by number; rpcs by name), and each pair is checked by the rules of the chosen
//! category. See `rules.rs` for the table and `docs/contracts.md` for what is implemented.

mod checks;
pub mod load;
pub mod rules;

use std::path::Path;

use crate::diff::{DiffError, Finding, Location, Severity};

/// buf's breaking categories, strictest first. `--level` picks one; the rules that run are
/// exactly buf's rules of that category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// Source-compatible per file: also catches moving types between files.
    File,
    /// Source-compatible per package: types may move between files of a package.
    Package,
    /// Wire- and JSON-compatible: names may change where JSON does not see them.
    WireJson,
    /// Wire-compatible only: what binary-encoded peers need.
    Wire,
}

impl Category {
    /// Parses `FILE`, `PACKAGE`, `WIRE_JSON` or `WIRE` (any case).
    pub fn parse(text: &str) -> Option<Category> {
        match text.to_ascii_uppercase().replace('-', "_").as_str() {
            "FILE" => Some(Category::File),
            "PACKAGE" => Some(Category::Package),
            "WIRE_JSON" => Some(Category::WireJson),
            "WIRE" => Some(Category::Wire),
            _ => None,
        }
    }

    /// buf's name for it.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::File => "FILE",
            Category::Package => "PACKAGE",
            Category::WireJson => "WIRE_JSON",
            Category::Wire => "WIRE",
        }
    }
}

/// A finding before it is filtered by category: rule id, where, what.
#[derive(Debug, Clone)]
pub(crate) struct Raw {
    pub rule: &'static str,
    pub location: Location,
    pub message: String,
}

/// Compiles both roots and returns the findings of the rules in `category`.
pub fn diff(old: &Path, new: &Path, category: Category) -> Result<Vec<Finding>, DiffError> {
    let old_side = load::load(old)?;
    let new_side = load::load(new)?;
    // Two single files are compared with each other whatever their names (buf pairs files by
    // path, which for two directories is the path under the root).
    let alias = (old_side.given.is_file() && new_side.given.is_file())
        .then(|| (old_side.files[0].clone(), new_side.files[0].clone()))
        .filter(|(a, b)| a != b);
    let raws = checks::run(&old_side, &new_side, alias.as_ref());
    Ok(raws
        .into_iter()
        .filter_map(|raw| {
            let rule = rules::rule(raw.rule)?;
            rule.categories.contains(&category).then(|| Finding {
                id: rule.id.to_string(),
                level: Severity::Error,
                categories: rule.categories.iter().map(|c| c.as_str().to_string()).collect(),
                location: raw.location,
                message: raw.message,
            })
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_rule_has_a_category_and_a_unique_id() {
        assert_eq!(rules::RULES.len(), 64);
        let mut ids: Vec<_> = rules::RULES.iter().map(|r| r.id).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 64);
        assert!(rules::RULES.iter().all(|r| !r.categories.is_empty()));
    }

    #[test]
    fn every_rule_the_checks_emit_is_in_the_table() {
        for id in checks::EMITTED {
            assert!(rules::rule(id).is_some(), "{id} is not one of buf's rules");
        }
    }

    #[test]
    fn categories_parse_as_buf_spells_them() {
        for c in [
            Category::File,
            Category::Package,
            Category::WireJson,
            Category::Wire,
        ] {
            assert_eq!(Category::parse(c.as_str()), Some(c));
        }
        assert_eq!(Category::parse("wire-json"), Some(Category::WireJson));
        assert_eq!(Category::parse("CSR"), None);
    }
}
