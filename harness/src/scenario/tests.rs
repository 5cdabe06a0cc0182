//! Scenario validation: good files become plans; each kind of mistake is reported at its place.

use super::*;
use plan::{Limit, LoadModel, LoadPlan, Shard, StepKind};

fn env(name: &str) -> Option<String> {
    (name == "TARGET_USER").then(|| "alice".to_string())
}

fn parse(text: &str) -> Result<RunPlan, LoadError> {
    from_str(text, "s.toml", "s", &env, &Overrides::default())
}

fn errors(text: &str) -> Vec<String> {
    match parse(text) {
        Ok(_) => panic!("expected errors"),
        Err(LoadError::Invalid(e)) => e.iter().map(ToString::to_string).collect(),
        Err(other) => panic!("{other}"),
    }
}

const GOOD: &str = r#"
name = "browse"
[target]
base_url = "http://127.0.0.1:8082/"
[vars]
iam = "http://127.0.0.1:8081"
who = "${env.TARGET_USER}"
[load]
users = 4
duration = "2s"
[[scenario]]
name = "reader"
weight = 3
[[scenario.step]]
name = "login"
request = "POST ${iam}/v1/token"
form = { grant_type = "password", username = "${who}", password = "pw" }
check = { status = [200], body = { "/token_type" = "Bearer" } }
extract = { token = "json:/access_token" }
[[scenario.step]]
request = "GET /v1/movies"
query = { limit = 10 }
headers = { authorization = "Bearer ${token}" }
think_time = "10ms..20ms"
[[scenario.step]]
sleep = "5ms"
[thresholds]
"http_req_duration{step:login}" = ["p(99) < 500ms", "avg < 100ms"]
http_req_failed = ["rate < 0.01"]
"#;

#[test]
fn a_valid_file_becomes_a_plan() {
    let plan = parse(GOOD).unwrap();
    assert_eq!(plan.name, "browse");
    assert_eq!(plan.base_url, "http://127.0.0.1:8082");
    assert_eq!(
        plan.load,
        LoadPlan {
            model: LoadModel::Closed {
                users: 4,
                limit: Limit::Duration(Duration::from_secs(2))
            },
            shard: Shard::default()
        }
    );
    let steps = &plan.scenarios[0].steps;
    assert_eq!(
        steps.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(),
        ["login", "GET /v1/movies", "sleep 5ms"]
    );
    assert_eq!(plan.vars.iter().find(|(n, _)| n == "who").unwrap().1, "alice");
    assert!(plan.vars.iter().any(|(n, v)| n == "token" && v.is_empty()));
    assert_eq!(plan.thresholds.len(), 2);
    assert_eq!(
        plan.thresholds[0].metric.to_string(),
        "http_req_duration{step:login}"
    );
}

#[test]
fn toml_mistakes_point_at_line_and_column() {
    let e = errors("[target]\nbase_url = \"http://x\"\nbase_ulr = 1\n");
    // The unknown key, and (read past it) the missing [load] table.
    assert!(
        e.iter()
            .any(|e| e.starts_with("s.toml:3:1: unknown field `base_ulr`")),
        "{e:?}"
    );
    assert!(e.iter().any(|e| e.contains("missing field `load`")), "{e:?}");
    let e = errors(&GOOD.replace("users = 4", "users = \"four\""));
    assert!(e[0].starts_with("s.toml:9:9:"), "{e:?}");
}

#[test]
fn an_undefined_variable_is_reported_where_it_is_used() {
    let text = GOOD.replace("Bearer ${token}", "Bearer ${tokn}");
    let e = errors(&text);
    assert_eq!(e.len(), 1, "{e:?}");
    let line = text.lines().position(|l| l.contains("${tokn}")).unwrap() + 1;
    assert!(e[0].starts_with(&format!("s.toml:{line}:")), "{e:?}");
    assert!(
        e[0].contains("undefined variable \"tokn\"") && e[0].contains("token"),
        "{e:?}"
    );
}

#[test]
fn a_variable_extracted_later_is_not_visible_earlier() {
    let text = GOOD.replace("username = \"${who}\"", "username = \"${token}\"");
    assert!(errors(&text)[0].contains("undefined variable \"token\""));
}

#[test]
fn unset_environment_variables_are_errors() {
    let e = errors(&GOOD.replace("TARGET_USER", "NOT_SET_ANYWHERE"));
    assert!(e[0].contains("NOT_SET_ANYWHERE is not set"), "{e:?}");
}

#[test]
fn unknown_metric_step_or_aggregate_in_thresholds_is_an_error() {
    let e = errors(&GOOD.replace("http_req_failed = ", "http_req_faild = "));
    assert!(e[0].contains("unknown metric \"http_req_faild\""), "{e:?}");
    let e = errors(&GOOD.replace("{step:login}", "{step:logn}"));
    assert!(e[0].contains("no step named \"logn\""), "{e:?}");
    let e = errors(&GOOD.replace("rate < 0.01", "p(99) < 1ms"));
    assert!(e[0].contains("does not apply to http_req_failed"), "{e:?}");
    let e = errors(&GOOD.replace("p(99) < 500ms", "p(99) < 500"));
    assert!(e[0].contains("unit"), "{e:?}");
}

#[test]
fn every_mistake_is_reported_at_once() {
    let text = GOOD
        .replace("duration = \"2s\"", "duration = \"2 seconds\"")
        .replace("sleep = \"5ms\"", "sleep = \"5\"");
    assert_eq!(errors(&text).len(), 2);
}

#[test]
fn a_bad_pattern_in_check_matches_is_located() {
    let text = GOOD.replace(
        "check = { status = [200], body",
        "check = { status = [200], matches = { \"/x\" = \"(unclosed\" }, body",
    );
    let e = errors(&text);
    let line = text.lines().position(|l| l.contains("(unclosed")).unwrap() + 1;
    assert!(
        e[0].starts_with(&format!("s.toml:{line}:")) && e[0].contains("check.matches./x"),
        "{e:?}"
    );
}

#[test]
fn bad_request_lines_and_duplicate_names_are_errors() {
    assert!(errors(&GOOD.replace("GET /v1/movies", "get /v1/movies"))[0].contains("METHOD URL"));
    assert!(errors(&GOOD.replace("name = \"login\"", "name = \"sleep 5ms\""))[0].contains("already used"));
}

#[test]
fn overrides_replace_target_vars_and_load() {
    let overrides = Overrides {
        base_url: Some("http://127.0.0.1:9".into()),
        vars: vec![("iam".into(), "http://elsewhere".into())],
        duration: Some(Duration::from_secs(1)),
        users: Some(2),
        shard: None,
    };
    let plan = from_str(GOOD, "s.toml", "s", &env, &overrides).unwrap();
    assert_eq!(plan.base_url, "http://127.0.0.1:9");
    assert_eq!(
        plan.vars.iter().find(|(n, _)| n == "iam").unwrap().1,
        "http://elsewhere"
    );
    assert_eq!(
        plan.load,
        LoadPlan {
            model: LoadModel::Closed {
                users: 2,
                limit: Limit::Duration(Duration::from_secs(1))
            },
            shard: Shard::default()
        }
    );
}

#[test]
fn paced_and_staged_load_models_validate() {
    let paced = GOOD.replace(
        "users = 4\nduration = \"2s\"",
        "rate = 50.5\nusers = 4\nduration = \"2s\"",
    );
    assert_eq!(
        parse(&paced).unwrap().load.model,
        LoadModel::Paced {
            rate: 50.5,
            users: 4,
            duration: Duration::from_secs(2)
        }
    );
    let staged = GOOD.replace(
        "users = 4\nduration = \"2s\"",
        "stages = [{ users = 5, over = \"1s\" }, { users = 0, over = \"500ms\" }]",
    );
    let LoadModel::Staged { stages } = parse(&staged).unwrap().load.model else {
        panic!("not staged")
    };
    assert_eq!(stages.len(), 2);
    assert!(
        errors(&GOOD.replace("duration = \"2s\"", "duration = \"2s\"\nrate = 0"))[0].contains("load.rate")
    );
    assert!(errors(&staged.replace("over = \"1s\"", "over = \"1 sec\""))[0].contains("stage `over`"));
}

#[test]
fn data_feeder_mistakes_are_located() {
    let dir = std::env::temp_dir().join(format!("feeder-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ok.csv"), "name,pw\nann,1\n").unwrap();
    std::fs::write(dir.join("ragged.csv"), "name,pw\nann\n").unwrap();
    let with = |data: &str, template: &str| {
        let text = format!(
            "[target]\nbase_url = \"http://h:1\"\n[load]\nusers = 1\niterations = 1\n{data}\n\
             [[scenario]]\nname = \"s\"\n[[scenario.step]]\nrequest = \"GET /{template}\"\n"
        );
        from_str_in(&text, "f.toml", "f", Some(&dir), &env, &Overrides::default())
    };
    let ok = with("[[data]]\nname = \"acct\"\nfile = \"ok.csv\"", "${acct.name}").unwrap();
    assert_eq!(ok.feeders[0].rows, vec![vec!["ann".to_string(), "1".to_string()]]);
    let err = |r: Result<RunPlan, LoadError>| match r {
        Err(LoadError::Invalid(e)) => e[0].to_string(),
        _ => panic!("expected an error"),
    };
    let e = err(with(
        "[[data]]\nname = \"acct\"\nfile = \"ok.csv\"",
        "${acct.nmae}",
    ));
    assert!(e.contains("no column \"nmae\"") && e.contains("name, pw"), "{e}");
    let e = err(with("[[data]]\nname = \"acct\"\nfile = \"missing.csv\"", ""));
    assert!(e.starts_with("f.toml:8:8:") && e.contains("cannot read"), "{e}");
    let e = err(with("[[data]]\nname = \"acct\"\nfile = \"ragged.csv\"", ""));
    assert!(e.contains("data row 1 has 1 fields, the header has 2"), "{e}");
    let e = err(with(
        "[[data]]\nname = \"acct\"\nfile = \"ok.csv\"\nmode = \"random\"",
        "",
    ));
    assert!(e.contains("per_user"), "{e}");
}

fn grpc_scenario(step: &str) -> Result<RunPlan, LoadError> {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../contracts/proto");
    let text = format!(
        "[target]\nbase_url = \"http://h:1\"\nproto_root = \"{}\"\nproto = [\"catalog/v1/catalog.proto\"]\n\
         [load]\nusers = 1\niterations = 1\n[[scenario]]\nname = \"s\"\n[[scenario.step]]\n{step}\n",
        root.display()
    );
    from_str(&text, "g.toml", "g", &env, &Overrides::default())
}

#[test]
fn grpc_steps_resolve_methods_and_fields_in_the_protos() {
    let plan = grpc_scenario(
        "grpc = \"catalog.v1.MovieService/ListMovies\"\nmessage = { limit = 5, titleContains = \"x\" }\n\
         check = { code = [\"OK\", \"NOT_FOUND\"] }",
    )
    .unwrap();
    let StepKind::Grpc(step) = &plan.scenarios[0].steps[0].kind else {
        panic!("not a gRPC step")
    };
    assert!(step.method.server_streaming);
    assert_eq!(step.method.path, "/catalog.v1.MovieService/ListMovies");
    assert_eq!(step.codes, [tonic::Code::Ok, tonic::Code::NotFound]);

    let err = |step: &str| match grpc_scenario(step) {
        Err(LoadError::Invalid(e)) => e[0].to_string(),
        _ => panic!("expected an error for {step}"),
    };
    assert!(err("grpc = \"catalog.v1.MovieService/GetMovi\"").contains("no method \"GetMovi\""));
    assert!(err("grpc = \"catalog.v2.MovieService/GetMovie\"").contains("no service"));
    let e = err("grpc = \"catalog.v1.MovieService/CreateMovie\"\nmessage = { movie = { titel = \"x\" } }");
    assert!(
        e.contains("message.movie: catalog.v1.MovieInput has no field \"titel\""),
        "{e}"
    );
    assert!(
        err("grpc = \"catalog.v1.MovieService/GetMovie\"\ncheck = { code = [\"MISSING\"] }")
            .contains("not a gRPC status name")
    );
}

#[test]
fn a_grpc_step_without_protos_says_what_to_add() {
    let text = GOOD.replace(
        "request = \"GET /v1/movies\"",
        "grpc = \"catalog.v1.MovieService/GetMovie\"",
    );
    let e = errors(&text.replace(
        "query = { limit = 10 }\nheaders = { authorization = \"Bearer ${token}\" }\n",
        "",
    ));
    assert!(
        e[0].contains("add `proto = [...]` (or `reflection = true`) to [target]"),
        "{e:?}"
    );
}

/// A minimal file with `load` as its `[load]` table.
fn with_load(load: &str) -> String {
    format!(
        "[target]\nbase_url = \"http://127.0.0.1:1\"\n[load]\n{load}\n[[scenario]]\nname = \"s\"\n[[scenario.step]]\nrequest = \"GET /\"\n"
    )
}

/// Issue 20: `rate = 1e-300` panicked in the schedule (exit 101, no report), and
/// `rate_stages = [{ rate = 1e-300 }]` panicked in a worker and then PASSED with 0 iterations;
/// `users = 4294967295` was accepted and grew by about 1 GB/s. Now each is exit 2, where it is.
#[test]
fn absurd_rates_and_user_counts_are_refused_at_the_load_table() {
    for load in [
        "users = 2\nrate = 1e-300\nduration = \"1s\"",
        "users = 2\nrate = 1e12\nduration = \"1s\"",
        "users = 2\nrate_stages = [{ rate = 1e-300, over = \"1s\" }]",
        "users = 4294967295\nduration = \"1s\"",
        "stages = [{ users = 4000000, over = \"1s\" }]",
    ] {
        let errors = errors(&with_load(load));
        assert_eq!(errors.len(), 1, "{load}: {errors:?}");
        assert!(errors[0].starts_with("s.toml:3:1: load"), "{load}: {errors:?}");
    }
    // The bounds themselves are fine, and a stage may rest at 0.
    for load in [
        "users = 2\nrate = 0.001\nduration = \"1s\"",
        "users = 100000\nduration = \"1s\"",
        "users = 2\nrate_stages = [{ rate = 0, over = \"1s\" }, { rate = 5, over = \"1s\" }]",
    ] {
        assert!(parse(&with_load(load)).is_ok(), "{load}");
    }
}

/// Issue 20: a header value with CR/LF was silently dropped from every request. A literal one
/// is now a mistake in the file, located at the value.
#[test]
fn a_header_value_with_a_line_break_is_refused_where_it_is() {
    let text = with_load("users = 1\nduration = \"1s\"").replace(
        "request = \"GET /\"",
        "request = \"GET /\"\nheaders = { x-a = \"one\\r\\ntwo: three\" }",
    );
    let errors = errors(&text);
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].starts_with("s.toml:10:") && errors[0].contains("control character"),
        "{errors:?}"
    );
    // A tab is allowed in a header value.
    assert!(parse(&text.replace("\\r\\ntwo: three", "\\tb")).is_ok());
}

/// Issue 20: `[target] max_body` bounds what one response may cost (default 16 MiB).
#[test]
fn max_body_takes_bytes_or_a_size_with_a_unit() {
    let with = |v: &str| {
        with_load("users = 1\nduration = \"1s\"").replace("[load]", &format!("max_body = {v}\n[load]"))
    };
    assert_eq!(
        parse(&with_load("users = 1\nduration = \"1s\""))
            .unwrap()
            .max_body,
        16 << 20
    );
    assert_eq!(parse(&with("\"512KiB\"")).unwrap().max_body, 512 << 10);
    assert_eq!(parse(&with("\"2MB\"")).unwrap().max_body, 2_000_000);
    assert_eq!(parse(&with("4096")).unwrap().max_body, 4096);
    for bad in ["\"lots\"", "\"5 parsecs\"", "0", "-1", "true"] {
        let errors = errors(&with(bad));
        assert!(
            errors.len() == 1 && errors[0].starts_with("s.toml:3:12: target.max_body"),
            "{bad}: {errors:?}"
        );
    }
}

/// Two scenarios log in with different scopes and keep the token under the same name: each
/// scenario's steps read its own token, whichever scenario the user ran last (a user runs
/// several scenarios of a file, by weight).
#[test]
fn each_scenario_keeps_its_own_value_of_a_name_it_extracts() {
    let text = r#"
[target]
base_url = "http://127.0.0.1:8082"
[vars]
token = "anonymous"
[load]
users = 1
iterations = 1
[[scenario]]
name = "reader"
[[scenario.step]]
name = "reader first"
request = "GET /v1/movies"
headers = { authorization = "Bearer ${token}" }
[[scenario.step]]
name = "reader login"
request = "POST /v1/token"
extract = { token = "json:/access_token" }
[[scenario]]
name = "writer"
[[scenario.step]]
name = "writer login"
request = "POST /v1/token"
extract = { token = "json:/access_token", id = "json:/id" }
[[scenario.step]]
name = "writer write"
request = "POST /v1/movies"
headers = { authorization = "Bearer ${token}" }
[[scenario]]
name = "anonymous"
[[scenario.step]]
name = "anonymous read"
request = "GET /v1/movies"
headers = { authorization = "Bearer ${token}" }
"#;
    let plan = parse(text).unwrap();
    let http = |s: usize, i: usize| match &plan.scenarios[s].steps[i].kind {
        StepKind::Http(h) => h.as_ref().clone(),
        _ => unreachable!(),
    };
    let header_slot = |s: usize, i: usize| match http(s, i).headers[0].1.parts() {
        [template::Part::Literal(_), template::Part::Var(slot)] => *slot,
        other => panic!("{other:?}"),
    };
    let (reader, writer) = (http(0, 1).extract[0].0, http(1, 0).extract[1].0);
    assert_ne!(reader, writer, "one slot for both scenarios' token");
    // Every step of a scenario reads that scenario's slot, even before its extract.
    assert_eq!(header_slot(0, 0), reader);
    assert_eq!(header_slot(1, 1), writer);
    // A scenario that extracts nothing of that name reads the [vars] value...
    let global = header_slot(2, 0);
    assert!(global != reader && global != writer);
    assert_eq!(plan.vars[global], ("token".to_string(), "anonymous".to_string()));
    // ...and a scenario's own slot starts from it.
    assert_eq!(plan.vars[reader], ("token".to_string(), "anonymous".to_string()));
    assert_eq!(plan.vars[writer].1, "anonymous");
}

#[test]
fn a_name_extracted_only_by_another_scenario_is_undefined() {
    let text = GOOD.replace(
        "[thresholds]",
        "[[scenario]]\nname = \"other\"\n[[scenario.step]]\nname = \"other list\"\nrequest = \"GET /v1/movies\"\nheaders = { authorization = \"Bearer ${token}\" }\n[thresholds]",
    );
    let e = errors(&text);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].contains("undefined variable \"token\""), "{e:?}");
}

/// The request writer owns Host and the framing headers: a scenario setting them would see
/// them dropped on the wire, so the file is refused, pointing at each.
#[test]
fn headers_the_writer_owns_are_refused_where_they_are_set() {
    for header in [
        "Transfer-Encoding = \"chunked\"",
        "content-length = \"5\"",
        "Host = \"example.com\"",
    ] {
        let text = GOOD.replace(
            "headers = { authorization = \"Bearer ${token}\" }",
            &format!("headers = {{ authorization = \"Bearer ${{token}}\", {header} }}"),
        );
        let e = errors(&text);
        assert_eq!(e.len(), 1, "{header}: {e:?}");
        let line = text.lines().position(|l| l.contains(header)).unwrap() + 1;
        assert!(e[0].starts_with(&format!("s.toml:{line}:")), "{e:?}");
        assert!(e[0].contains("cannot be set"), "{e:?}");
    }
}

/// Issue 20: a value of the wrong type hid every other mistake in the file (serde stops at
/// the first). Each is reported now, and so are the later checks' mistakes elsewhere; the
/// table a wrong value stood in is not checked further (its "missing" key is no news).
#[test]
fn a_type_error_does_not_hide_the_other_mistakes() {
    let text = GOOD
        .replace("users = 4", "users = \"four\"")
        .replace("think_time = \"10ms..20ms\"", "think_time = 10")
        .replace("Bearer ${token}", "Bearer ${tokne}")
        .replace("\"avg < 100ms\"", "\"avg < 100 parsecs\"");
    let found = errors(&text);
    let at = |needle: &str| {
        let line = text[..text.find(needle).unwrap()].matches('\n').count() + 1;
        found
            .iter()
            .find(|e| e.starts_with(&format!("s.toml:{line}:")))
            .unwrap_or_else(|| panic!("no error at line {line} ({needle}): {found:#?}"))
            .clone()
    };
    assert!(at("users = \"four\"").contains("invalid type"), "{found:#?}");
    assert!(at("think_time = 10").contains("invalid type"), "{found:#?}");
    assert!(at("avg < 100 parsecs").contains("parsecs"), "{found:#?}");
    // The step whose think_time was wrong is not checked further: no follow-ons from it,
    // so its undefined ${tokne} waits for the next read; [load] has no "missing users".
    assert_eq!(found.len(), 3, "{found:#?}");
}

/// A syntax error still stops reading: nothing after it can be trusted.
#[test]
fn a_syntax_error_is_reported_alone() {
    let text = GOOD
        .replace("users = 4", "users = = 4")
        .replace("duration = \"2s\"", "duration = 2");
    let found = errors(&text);
    assert_eq!(found.len(), 1, "{found:#?}");
}

/// Issue 20: a scenario that is not UTF-8 was refused with no location at all.
#[test]
fn a_file_that_is_not_utf8_is_refused_at_its_first_bad_byte() {
    let path = std::env::temp_dir().join(format!("gauntlet-latin1-{}.toml", std::process::id()));
    std::fs::write(&path, b"name = \"x\"\ndescription = \"caf\xE9\"\n").unwrap();
    let err = load(&path, &env, &Overrides::default()).unwrap_err();
    let _ = std::fs::remove_file(&path);
    let LoadError::Invalid(found) = err else {
        panic!("{err}")
    };
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].location, format!("{}:2:19", path.display()));
    assert!(
        found[0].message.contains("0xE9 is not UTF-8"),
        "{}",
        found[0].message
    );
}

/// Issue 20: a .proto syntax error under `run` was reported at the scenario's `proto` key,
/// without the .proto's line and column, followed by one "needs descriptors" error per gRPC
/// step. Now: one error, at the .proto's own line:col.
#[test]
fn a_proto_syntax_error_is_located_in_the_proto_and_reported_once() {
    let dir = std::env::temp_dir().join(format!("gauntlet-badproto-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("bad.proto"),
        "syntax = \"proto3\";\npackage p;\nservice S {\n  rpc Get(M) returns (M)\n}\nmessage M {}\n",
    )
    .unwrap();
    let text = format!(
        "[target]\nbase_url = \"http://h:1\"\nproto_root = \"{}\"\nproto = [\"bad.proto\"]\n\
         [load]\nusers = 1\niterations = 1\n[[scenario]]\nname = \"s\"\n\
         [[scenario.step]]\nname = \"a\"\ngrpc = \"p.S/Get\"\n[[scenario.step]]\nname = \"b\"\ngrpc = \"p.S/Get\"\n",
        dir.display()
    );
    let result = from_str(&text, "g.toml", "g", &env, &Overrides::default());
    let _ = std::fs::remove_dir_all(&dir);
    let Err(LoadError::Invalid(found)) = result else {
        panic!("expected errors")
    };
    assert_eq!(found.len(), 1, "{found:#?}");
    let bad = dir.join("bad.proto");
    assert!(
        found[0].location == format!("{}:5:1", bad.display()),
        "{:#?}",
        found[0]
    );
}

/// Found while fuzzing (issue 20): a scenario, or a `[[data]]` file, naming a device that
/// never ends (/dev/zero) was read into memory without bound. Both are refused at a cap.
#[test]
fn a_file_that_never_ends_is_refused_not_read() {
    let err = load(Path::new("/dev/zero"), &env, &Overrides::default()).unwrap_err();
    assert!(err.to_string().contains("larger than 16 MiB"), "{err}");
    let text = format!("{GOOD}[[data]]\nname = \"zeros\"\nfile = \"/dev/zero\"\n");
    let found = errors(&text);
    assert!(
        found
            .iter()
            .any(|e| e.contains("cannot read /dev/zero") && e.contains("larger than 256 MiB")),
        "{found:#?}"
    );
}
