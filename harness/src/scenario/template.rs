//! `${name}` templates: parsed once into literal and variable parts, rendered per request
//! without re-parsing. Names: scenario variables (`[vars]`, `--var`), values extracted by
//! earlier steps, `env.NAME` (resolved when the plan is built), and built-ins:
//! `uuid`, `user` (the virtual user's index), `iteration`, `random(A,B)` (an integer in A..=B).

use std::fmt::Write;

use gauntlet_client::random::next_random;

/// A built-in value, computed per use.
#[derive(Debug, Clone, PartialEq)]
pub enum Builtin {
    /// A random UUID v4.
    Uuid,
    /// The virtual user's index (0-based).
    User,
    /// The user's iteration number (0-based).
    Iteration,
    /// A random integer in `lo..=hi`.
    Random(i64, i64),
}

/// One part of a template.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    /// Text as written.
    Literal(String),
    /// A user variable (from `[vars]` or `extract`), by slot index.
    Var(usize),
    /// A built-in.
    Builtin(Builtin),
    /// A column of the current row of a data feeder (`${feeder.column}`).
    Feed {
        /// Feeder index in the plan.
        feeder: usize,
        /// Column index.
        column: usize,
    },
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Template {
    parts: Vec<Part>,
}

/// A reference found while parsing, before it is resolved to a slot.
#[derive(Debug, Clone, PartialEq)]
pub enum Reference {
    /// `${name}`.
    Name(String),
    /// `${env.NAME}`.
    Env(String),
}

/// Why a template does not parse, with the byte offset in the template text.
#[derive(Debug, Clone, PartialEq)]
pub struct TemplateError {
    /// Offset of the problem within the template.
    pub offset: usize,
    /// What is wrong.
    pub message: String,
}

/// Resolves names to slots while parsing.
pub trait Resolver {
    /// The slot of a variable, or an error message when it is not defined here.
    fn var(&mut self, name: &str) -> Result<usize, String>;
    /// The value of an environment variable, or an error message when unset.
    fn env(&self, name: &str) -> Result<String, String>;
    /// `feeder.column` of a data feeder: `None` when no feeder has that name, else its slot
    /// or an error message (unknown column).
    fn feed(&mut self, _name: &str) -> Option<Result<(usize, usize), String>> {
        None
    }
}

impl Template {
    /// Parses `text`, resolving every `${..}` through `resolver`.
    pub fn parse(text: &str, resolver: &mut dyn Resolver) -> Result<Template, TemplateError> {
        let mut parts = Vec::new();
        let mut literal = String::new();
        let mut rest = text;
        let mut offset = 0;
        while let Some(start) = rest.find("${") {
            literal.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let end = after.find('}').ok_or(TemplateError {
                offset: offset + start,
                message: "unclosed ${".into(),
            })?;
            let name = after[..end].trim();
            let at = offset + start;
            let fail = |message: String| TemplateError { offset: at, message };
            let part = if let Some(env) = name.strip_prefix("env.") {
                literal.push_str(&resolver.env(env).map_err(fail)?);
                None
            } else {
                Some(match name {
                    "uuid" => Part::Builtin(Builtin::Uuid),
                    "user" => Part::Builtin(Builtin::User),
                    "iteration" => Part::Builtin(Builtin::Iteration),
                    _ if name.starts_with("random(") && name.ends_with(')') => {
                        let args = &name[7..name.len() - 1];
                        let bounds: Vec<Option<i64>> =
                            args.split(',').map(|a| a.trim().parse().ok()).collect();
                        match bounds.as_slice() {
                            [Some(lo), Some(hi)] if lo <= hi => Part::Builtin(Builtin::Random(*lo, *hi)),
                            _ => return Err(fail(format!("random({args}) needs two integers A <= B"))),
                        }
                    }
                    "" => return Err(fail("empty ${}".into())),
                    _ => match resolver.feed(name) {
                        Some(Ok((feeder, column))) => Part::Feed { feeder, column },
                        Some(Err(message)) => return Err(fail(message)),
                        None => Part::Var(resolver.var(name).map_err(fail)?),
                    },
                })
            };
            if let Some(part) = part {
                if !literal.is_empty() {
                    parts.push(Part::Literal(std::mem::take(&mut literal)));
                }
                parts.push(part);
            }
            offset += start + 2 + end + 1;
            rest = &after[end + 1..];
        }
        literal.push_str(rest);
        if !literal.is_empty() {
            parts.push(Part::Literal(literal));
        }
        Ok(Template { parts })
    }

    /// A template that is just this text.
    pub fn literal(text: &str) -> Template {
        Template {
            parts: vec![Part::Literal(text.to_string())],
        }
    }

    /// The parts, in order.
    pub fn parts(&self) -> &[Part] {
        &self.parts
    }

    /// Whether the template has no variable parts.
    pub fn is_static(&self) -> bool {
        self.parts.iter().all(|p| matches!(p, Part::Literal(_)))
    }

    /// Renders into `out`.
    pub fn render_into(&self, out: &mut String, ctx: &mut dyn Context) {
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Var(slot) => out.push_str(ctx.var(*slot)),
                Part::Builtin(b) => ctx.builtin(b, out),
                Part::Feed { feeder, column } => out.push_str(ctx.feed(*feeder, *column)),
            }
        }
    }

    /// Renders to a new string.
    pub fn render(&self, ctx: &mut dyn Context) -> String {
        let mut out = String::new();
        self.render_into(&mut out, ctx);
        out
    }
}

/// What a render reads values from: the virtual user's state.
pub trait Context {
    /// The current value of a variable slot.
    fn var(&self, slot: usize) -> &str;
    /// Appends a built-in's value.
    fn builtin(&mut self, builtin: &Builtin, out: &mut String);
    /// The current row's value of a feeder column.
    fn feed(&self, _feeder: usize, _column: usize) -> &str {
        ""
    }
}

/// Writes a built-in using the given user index, iteration and random source.
pub fn write_builtin(builtin: &Builtin, user: usize, iteration: u64, rng: &mut u64, out: &mut String) {
    match builtin {
        Builtin::Uuid => {
            let _ = write!(out, "{}", uuid::Uuid::new_v4());
        }
        Builtin::User => {
            let _ = write!(out, "{user}");
        }
        Builtin::Iteration => {
            let _ = write!(out, "{iteration}");
        }
        Builtin::Random(lo, hi) => {
            let _ = write!(out, "{}", random_in(*lo, *hi, rng));
        }
    }
}

/// A uniform-enough integer in `lo..=hi` (`lo <= hi`), for any bounds: the whole `i64` range
/// has 2^64 values, one more than a `u64` span can count, so it takes the raw draw.
fn random_in(lo: i64, hi: i64, rng: &mut u64) -> i64 {
    let draw = next_random(rng);
    let offset = match (hi.wrapping_sub(lo) as u64).checked_add(1) {
        Some(span) => draw % span,
        None => draw,
    };
    lo.wrapping_add(offset as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Names(Vec<String>);
    impl Resolver for Names {
        fn var(&mut self, name: &str) -> Result<usize, String> {
            self.0
                .iter()
                .position(|n| n == name)
                .ok_or_else(|| format!("undefined variable {name}"))
        }
        fn env(&self, name: &str) -> Result<String, String> {
            if name == "HOME" {
                Ok("/root".into())
            } else {
                Err(format!("environment variable {name} is not set"))
            }
        }
    }

    struct Ctx(Vec<String>);
    impl Context for Ctx {
        fn var(&self, slot: usize) -> &str {
            &self.0[slot]
        }
        fn builtin(&mut self, b: &Builtin, out: &mut String) {
            let mut rng = 7;
            write_builtin(b, 3, 9, &mut rng, out);
        }
    }

    #[test]
    fn renders_vars_env_and_builtins() {
        let mut names = Names(vec!["token".into()]);
        let t = Template::parse("Bearer ${token} ${env.HOME} u${user}/i${ iteration }", &mut names).unwrap();
        assert_eq!(t.render(&mut Ctx(vec!["abc".into()])), "Bearer abc /root u3/i9");
        let r = Template::parse("${random(5,5)}", &mut names).unwrap();
        assert_eq!(r.render(&mut Ctx(vec![])), "5");
    }

    #[test]
    fn errors_point_at_the_offending_reference() {
        let mut names = Names(vec![]);
        let e = Template::parse("/movies/${id}", &mut names).unwrap_err();
        assert_eq!(e.offset, 8);
        assert!(e.message.contains("undefined variable id"));
        assert!(
            Template::parse("${env.NOPE}", &mut names)
                .unwrap_err()
                .message
                .contains("NOPE")
        );
        assert!(
            Template::parse("a ${b", &mut names)
                .unwrap_err()
                .message
                .contains("unclosed")
        );
        assert!(Template::parse("${random(9,1)}", &mut names).is_err());
    }

    /// Issue 20: `random(-9223372036854775808,9223372036854775807)` panicked (remainder by
    /// zero) in every user, and the run then reported 0 requests as PASSED.
    #[test]
    fn random_takes_the_whole_i64_range_and_stays_within_any_bounds() {
        let mut rng = 0x1234_5678_9abc_def1;
        for _ in 0..1000 {
            let _ = random_in(i64::MIN, i64::MAX, &mut rng);
            assert!((i64::MIN..=i64::MIN + 1).contains(&random_in(i64::MIN, i64::MIN + 1, &mut rng)));
            assert!((i64::MAX - 2..=i64::MAX).contains(&random_in(i64::MAX - 2, i64::MAX, &mut rng)));
            assert!((-3..=5).contains(&random_in(-3, 5, &mut rng)));
            assert_eq!(random_in(7, 7, &mut rng), 7);
        }
    }
}
