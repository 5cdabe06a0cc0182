//! `${..}` templates: any text parses to a template or an error with an offset, renders
//! without panicking, and `random(A,B)` stays within its bounds.

#![no_main]

use gauntlet_harness::scenario::template::{Builtin, Context, Part, Resolver, Template, write_builtin};
use libfuzzer_sys::fuzz_target;

const VARS: [&str; 3] = ["id", "token", "title"];

struct Names;

impl Resolver for Names {
    fn var(&mut self, name: &str) -> Result<usize, String> {
        VARS.iter()
            .position(|v| *v == name)
            .ok_or_else(|| format!("undefined variable {name}"))
    }

    fn env(&self, name: &str) -> Result<String, String> {
        match name {
            "HOME" => Ok("/root".into()),
            "EMPTY" => Ok(String::new()),
            _ => Err(format!("environment variable {name} is not set")),
        }
    }

    fn feed(&mut self, name: &str) -> Option<Result<(usize, usize), String>> {
        let column = name.strip_prefix("movies.")?;
        Some(match column {
            "title" => Ok((0, 0)),
            "year" => Ok((0, 1)),
            _ => Err(format!("feeder movies has no column {column:?}")),
        })
    }
}

struct User {
    index: usize,
    iteration: u64,
    rng: u64,
}

impl Context for User {
    fn var(&self, slot: usize) -> &str {
        ["42", "t0ken", "Alien"][slot]
    }

    fn builtin(&mut self, builtin: &Builtin, out: &mut String) {
        write_builtin(builtin, self.index, self.iteration, &mut self.rng, out);
    }

    fn feed(&self, _feeder: usize, column: usize) -> &str {
        ["Alien", "1979"][column]
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(template) = Template::parse(text, &mut Names) else {
        return;
    };
    let mut user = User {
        index: usize::MAX,
        iteration: u64::MAX,
        rng: data.len() as u64 | 1,
    };
    let rendered = template.render(&mut user);
    if !text.contains("${") {
        assert!(template.is_static());
        assert_eq!(rendered, text);
    }
    for part in template.parts() {
        if let Part::Builtin(Builtin::Random(lo, hi)) = part {
            for _ in 0..4 {
                let mut out = String::new();
                user.builtin(&Builtin::Random(*lo, *hi), &mut out);
                let value: i64 = out.parse().expect("random() renders an integer");
                assert!((*lo..=*hi).contains(&value), "random({lo},{hi}) gave {value}");
            }
        }
    }
});
