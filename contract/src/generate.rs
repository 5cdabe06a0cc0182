//! Request data from schemas: valid values (from examples where the spec has them, else
//! generated within the schema's constraints, seeded so a run can be repeated) and invalid
//! variants of a valid object (a required field missing, a wrong type, a value out of range,
//! a value outside an enum), each named for the report.

use serde_json::{Map, Value, json};

/// Seeded generator.
pub struct Generator<'a> {
    doc: &'a Value,
    state: u64,
    /// What is left of [`MAX_VALUE_SIZE`] for the value being generated.
    budget: usize,
    /// Set when a value had to be smaller than its schema asks (see [`Generator::oversized`]).
    oversized: Option<String>,
}

/// How deep nested schemas are followed (guards against recursive schemas).
const MAX_DEPTH: usize = 8;

/// The largest value generated, in characters of strings plus one per node: whatever a schema
/// says (`minLength: 2000000000`, `minItems` nested eight deep), generating stays within
/// memory and time. A schema that asks for more is noted, not obeyed (issue 20).
pub const MAX_VALUE_SIZE: usize = 1 << 20;

impl<'a> Generator<'a> {
    /// A generator over the spec `doc` (for `$ref`s), seeded with `seed`.
    pub fn new(doc: &'a Value, seed: u64) -> Self {
        Generator {
            doc,
            state: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
            budget: MAX_VALUE_SIZE,
            oversized: None,
        }
    }

    /// Why the last value generated (by [`Generator::valid`] at depth 0) is smaller than its
    /// schema asks, if it is: it then does not conform, and should not be sent as valid.
    pub fn oversized(&self) -> Option<&str> {
        self.oversized.as_deref()
    }

    /// Takes `n` from the budget, or notes that `what` asked for more than is left.
    fn spend(&mut self, n: usize, what: impl FnOnce() -> String) -> usize {
        if n > self.budget {
            self.oversized.get_or_insert_with(|| {
                format!(
                    "{} (larger than the generator's bound of {MAX_VALUE_SIZE})",
                    what()
                )
            });
        }
        let n = n.min(self.budget);
        self.budget -= n;
        n
    }

    fn next(&mut self) -> u64 {
        gauntlet_client::random::next_random(&mut self.state)
    }

    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }

    /// Follows `$ref`s (local ones) to the schema they name.
    pub fn resolve(&self, schema: &'a Value) -> &'a Value {
        let mut s = schema;
        for _ in 0..MAX_DEPTH {
            match s
                .get("$ref")
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix('#'))
            {
                Some(pointer) => match self.doc.pointer(pointer) {
                    Some(target) => s = target,
                    None => return s,
                },
                None => return s,
            }
        }
        s
    }

    /// The schema's own example, if it has one.
    pub fn example(&self, schema: &'a Value) -> Option<Value> {
        let s = self.resolve(schema);
        s.get("example")
            .cloned()
            .or_else(|| s.get("examples").and_then(|e| e.get(0)).cloned())
    }

    fn schema_type(s: &Value) -> Option<&str> {
        match s.get("type") {
            Some(Value::String(t)) => Some(t.as_str()),
            Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).find(|t| *t != "null"),
            _ => None,
        }
    }

    /// A valid value for `schema`; `fresh` ignores examples (for variety).
    pub fn valid(&mut self, schema: &'a Value, fresh: bool, depth: usize) -> Value {
        if depth == 0 {
            self.budget = MAX_VALUE_SIZE;
            self.oversized = None;
        }
        let s = self.resolve(schema);
        if depth > MAX_DEPTH || self.spend(1, || "a value with too many nodes".into()) == 0 {
            return Value::Null;
        }
        if !fresh && let Some(example) = self.example(s) {
            return example;
        }
        if let Some(options) = s.get("enum").and_then(Value::as_array).filter(|o| !o.is_empty()) {
            let i = self.below(options.len() as u64) as usize;
            return options[i].clone();
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(first) = s.get(key).and_then(Value::as_array).and_then(|b| b.first()) {
                return self.valid(first, fresh, depth + 1);
            }
        }
        if let Some(parts) = s.get("allOf").and_then(Value::as_array) {
            let mut merged = Map::new();
            for part in parts {
                if let Value::Object(o) = self.valid(part, fresh, depth + 1) {
                    merged.extend(o);
                }
            }
            return Value::Object(merged);
        }
        match Self::schema_type(s).unwrap_or(if s.get("properties").is_some() {
            "object"
        } else {
            "string"
        }) {
            "object" => {
                let mut out = Map::new();
                let required: Vec<&str> = s
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                if let Some(props) = s.get("properties").and_then(Value::as_object) {
                    for (name, prop) in props {
                        if required.contains(&name.as_str()) || self.below(2) == 0 {
                            let read_only = self
                                .resolve(prop)
                                .get("readOnly")
                                .and_then(Value::as_bool)
                                .unwrap_or(false);
                            if !read_only {
                                out.insert(name.clone(), self.valid(prop, fresh, depth + 1));
                            }
                        }
                    }
                }
                Value::Object(out)
            }
            "array" => {
                let min = s.get("minItems").and_then(Value::as_u64).unwrap_or(0);
                let max = s.get("maxItems").and_then(Value::as_u64).unwrap_or(min.max(3));
                let n = (min.max(1)).min(max.max(min));
                let items = s.get("items").unwrap_or(&Value::Null);
                let mut out = Vec::new();
                for _ in 0..n {
                    if self.budget == 0 {
                        self.spend(1, || format!("minItems {min}"));
                        break;
                    }
                    out.push(self.valid(items, fresh, depth + 1));
                }
                Value::Array(out)
            }
            "integer" => {
                let low = s.get("minimum").and_then(Value::as_i64).unwrap_or(1);
                let high = s
                    .get("maximum")
                    .and_then(Value::as_i64)
                    .unwrap_or(low.saturating_add(100))
                    .max(low);
                // The whole i64 range has 2^64 values: one more than a u64 counts.
                let span = high.abs_diff(low);
                let offset = if span == u64::MAX {
                    self.next()
                } else {
                    self.below(span + 1)
                };
                json!(low.wrapping_add_unsigned(offset))
            }
            "number" => {
                let low = s.get("minimum").and_then(Value::as_f64).unwrap_or(0.0);
                let high = s
                    .get("maximum")
                    .and_then(Value::as_f64)
                    .unwrap_or(low + 100.0)
                    .max(low);
                let v = low + (high - low) * (self.below(1000) as f64 / 1000.0);
                json!((v * 100.0).round() / 100.0)
            }
            "boolean" => json!(self.below(2) == 0),
            _ => Value::String(self.string(s)),
        }
    }

    fn string(&mut self, s: &Value) -> String {
        match s.get("format").and_then(Value::as_str) {
            Some("uuid") => return uuid::Uuid::new_v4().to_string(),
            Some("date-time") => return "2026-01-01T00:00:00Z".into(),
            Some("date") => return "2026-01-01".into(),
            Some("email") => return format!("user{}@example.com", self.below(10_000)),
            Some("uri") => return "http://example.com/x".into(),
            _ => {}
        }
        let min = s.get("minLength").and_then(Value::as_u64).unwrap_or(1) as usize;
        let max = s
            .get("maxLength")
            .and_then(Value::as_u64)
            .map_or(min.max(12), |m| m as usize);
        let len = min.max(3).min(max.max(min));
        let len = self.spend(len, || format!("minLength {min}"));
        // Letters only: fits most `pattern`s of names and identifiers.
        (0..len).map(|_| (b'a' + self.below(26) as u8) as char).collect()
    }

    /// Invalid variants of a valid object for `schema`: (what is wrong, the value).
    pub fn invalid(&mut self, schema: &'a Value, valid: &Value) -> Vec<(String, Value)> {
        let s = self.resolve(schema);
        let Value::Object(object) = valid else {
            return vec![("not an object".into(), json!("not an object"))];
        };
        let mut out = Vec::new();
        let required: Vec<String> = s
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).map(str::to_string).collect())
            .unwrap_or_default();
        for name in &required {
            let mut v = object.clone();
            v.remove(name);
            out.push((format!("required field {name} missing"), Value::Object(v)));
        }
        let Some(props) = s.get("properties").and_then(Value::as_object) else {
            return out;
        };
        for (name, prop) in props {
            let p = self.resolve(prop);
            let wrong = match Self::schema_type(p) {
                Some("string") => json!(12345),
                Some("integer" | "number") => json!("not a number"),
                Some("boolean") => json!("yes"),
                Some("array") => json!("not an array"),
                Some("object") => json!("not an object"),
                _ => continue,
            };
            let mut v = object.clone();
            v.insert(name.clone(), wrong);
            out.push((format!("{name} of the wrong type"), Value::Object(v)));
            if let Some(min) = p.get("minimum").and_then(Value::as_f64) {
                let mut v = object.clone();
                v.insert(name.clone(), json!(min - 1.0));
                out.push((format!("{name} below its minimum {min}"), Value::Object(v)));
            }
            if let Some(max) = p
                .get("maxLength")
                .and_then(Value::as_u64)
                .filter(|max| *max < MAX_VALUE_SIZE as u64)
            {
                let mut v = object.clone();
                v.insert(name.clone(), json!("x".repeat(max as usize + 1)));
                out.push((format!("{name} longer than {max}"), Value::Object(v)));
            }
            if p.get("enum").is_some() {
                let mut v = object.clone();
                v.insert(name.clone(), json!("not-in-the-enum"));
                out.push((format!("{name} outside its enum"), Value::Object(v)));
            }
        }
        if s.get("additionalProperties") == Some(&Value::Bool(false)) {
            let mut v = object.clone();
            v.insert("unexpected_field".into(), json!(1));
            out.push((
                "an undocumented field (additionalProperties: false)".into(),
                Value::Object(v),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_values_satisfy_their_schema_and_variants_break_it() {
        let doc = json!({ "components": { "schemas": { "Movie": {
            "type": "object", "additionalProperties": false, "required": ["title", "year"],
            "properties": {
                "title": { "type": "string", "minLength": 1, "maxLength": 20 },
                "year": { "type": "integer", "minimum": 1888, "maximum": 2100 },
                "genres": { "type": "array", "maxItems": 10, "items": { "type": "string" } },
                "kind": { "type": "string", "enum": ["film", "series"] }
            }
        }}}});
        let schema = json!({ "$ref": "#/components/schemas/Movie" });
        let validator = jsonschema::validator_for(doc.pointer("/components/schemas/Movie").unwrap()).unwrap();
        let mut g = Generator::new(&doc, 7);
        for _ in 0..20 {
            let v = g.valid(&schema, true, 0);
            assert!(validator.is_valid(&v), "{v}");
        }
        let valid = g.valid(&schema, true, 0);
        let variants = g.invalid(&schema, &valid);
        assert!(variants.len() >= 6, "{variants:?}");
        for (what, v) in &variants {
            assert!(!validator.is_valid(v), "{what}: {v} should be invalid");
        }
    }

    /// Issue 20: `minLength: 2000000000` or `minItems: 1000000000` made the generator
    /// allocate gigabytes (and ignore `--max-time`). Values stay within the bound, and say so.
    #[test]
    fn huge_minimums_are_bounded_and_noted() {
        let doc = json!({});
        let mut g = Generator::new(&doc, 1);
        let long = json!({ "type": "string", "minLength": 2_000_000_000u64 });
        let v = g.valid(&long, true, 0);
        assert_eq!(v.as_str().unwrap().len(), MAX_VALUE_SIZE - 1);
        assert!(g.oversized().unwrap().contains("minLength 2000000000"));

        let nested = json!({ "type": "array", "minItems": 1_000_000_000u64, "items":
            { "type": "array", "minItems": 1_000_000_000u64, "items": { "type": "integer" } } });
        let v = g.valid(&nested, true, 0);
        let nodes: usize = v
            .as_array()
            .unwrap()
            .iter()
            .map(|a| a.as_array().map_or(0, Vec::len) + 1)
            .sum();
        assert!(nodes <= MAX_VALUE_SIZE, "{nodes}");
        assert!(g.oversized().unwrap().contains("minItems 1000000000"));

        // A value within bounds clears the note.
        let short = json!({ "type": "string", "maxLength": 5 });
        g.valid(&short, true, 0);
        assert_eq!(g.oversized(), None);
        // And no 2 GB "longer than maxLength" variant either.
        let object = json!({ "type": "object", "properties": { "s": { "type": "string", "maxLength": 2_000_000_000u64 } } });
        let valid = g.valid(&object, true, 0);
        assert!(
            g.invalid(&object, &valid)
                .iter()
                .all(|(what, _)| !what.contains("longer"))
        );
    }

    /// The whole i64 range as minimum..maximum overflowed `high - low`.
    #[test]
    fn an_integer_over_the_whole_range_does_not_overflow() {
        let doc = json!({});
        let mut g = Generator::new(&doc, 3);
        let all = json!({ "type": "integer", "minimum": i64::MIN, "maximum": i64::MAX });
        for _ in 0..100 {
            assert!(g.valid(&all, true, 0).as_i64().is_some());
        }
    }
}
