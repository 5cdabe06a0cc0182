//! The baseline gate, run as CI runs it: the composite action's own steps (see [`runner`]) and
//! the GitLab job's own script lines, with a fake `gh` / `curl` on PATH serving a stored report
//! and the real `gauntlet`. The reports are real too: two runs of the action's `run` step, one
//! against a service that answers at once (the baseline) and one against the same service made
//! 30 ms slower (the regressed run).
//!
//! [`runner`]: super::runner

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;
use std::time::Duration;

use super::fakes;
use super::runner::Job;

/// The scenario the action runs. Its own target and duration are unusable on purpose, so the
/// runs only work if the action's `target` and `duration` inputs reach `gauntlet run`.
const SCENARIO: &str = r#"name = "gate"
[target]
# nobody listens here
base_url = "http://127.0.0.1:9"
[load]
rate = 40
users = 4
# fewer than the 5 per-second windows compare needs to judge anything
duration = "1s"
[[scenario]]
name = "s"
[[scenario.step]]
name = "get"
request = "GET /"
check = { status = [200] }
"#;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn show(out: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        text(&out.stdout),
        text(&out.stderr)
    )
}

fn context(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The `github` context of a push to main.
fn push() -> BTreeMap<String, String> {
    context(&[
        ("sha", "c0ffee"),
        ("event.pull_request.head.sha", ""),
        ("base_ref", ""),
        ("repository", "acme/shop"),
        ("server_url", "https://github.com"),
        (
            "workflow_ref",
            "acme/shop/.github/workflows/gauntlet.yml@refs/heads/main",
        ),
        ("token", "ghs_test"),
    ])
}

/// The `github` context of pull request 7 into main.
fn pull_request() -> BTreeMap<String, String> {
    let mut github = push();
    github.extend(context(&[
        ("sha", "bead5"),
        ("event.pull_request.head.sha", "facade"),
        ("base_ref", "main"),
        (
            "workflow_ref",
            "acme/shop/.github/workflows/gauntlet.yml@refs/pull/7/merge",
        ),
    ]));
    github
}

/// A service answering `GET /` after `delay`.
async fn service(delay: Duration) -> String {
    let app = axum::Router::new().route(
        "/",
        axum::routing::get(move || async move {
            tokio::time::sleep(delay).await;
            "ok"
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

/// The action's `run` step on a push to main against `target`: its report.
fn action_run(target: &str) -> String {
    let mut job = Job::new();
    std::fs::write(job.dir().join("gate.toml"), SCENARIO).unwrap();
    job.inputs = context(&[
        ("scenario", "gate.toml"),
        ("target", target),
        ("duration", "6s"),
        ("install", "false"),
    ]);
    job.github = push();
    let out = job.step("run");
    assert!(out.status.success(), "{}", show(&out));
    assert_eq!(job.output("run", "exit-code"), "0", "{}", show(&out));
    assert_eq!(job.action_output("report"), "report.json");
    assert!(job.dir().join("report.html").exists());
    // The Markdown report is in the job summary.
    assert!(job.summary().contains("gauntlet: gate"), "{}", job.summary());
    let report = std::fs::read_to_string(job.dir().join("report.json")).unwrap();
    let json: serde_json::Value = serde_json::from_str(&report).unwrap();
    assert_eq!(json["environment"]["revision"], "c0ffee");
    report
}

/// The baseline (a service answering at once) and a regressed run (30 ms slower), both 6 s so
/// that compare has per-second windows to test; made once, concurrently, for all the tests.
struct Reports {
    base: String,
    slow: String,
}

fn reports() -> &'static Reports {
    static REPORTS: OnceLock<Reports> = OnceLock::new();
    REPORTS.get_or_init(|| {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let fast = runtime.block_on(service(Duration::ZERO));
        let slow = runtime.block_on(service(Duration::from_millis(30)));
        let (base, slow) = std::thread::scope(|s| {
            let base = s.spawn(|| action_run(&fast));
            let slow = s.spawn(|| action_run(&slow));
            (base.join().unwrap(), slow.join().unwrap())
        });
        Reports { base, slow }
    })
}

/// What the base branch's latest successful push run left for a pull request to find.
enum Baseline<'a> {
    /// Run 4242 kept this report as artifact gauntlet-report.
    Kept(&'a str),
    /// No successful push run on main yet.
    NoRun,
    /// Run 4242 succeeded but its artifact is gone.
    Expired,
    /// `gh run list` itself fails with this message.
    GhFails(&'a str),
}

/// A pull request's job after its run step wrote `report`: the compare and verdict steps.
struct Gate {
    job: Job,
    compare: Output,
    verdict: Output,
    gh_calls: String,
}

fn gate(report: &str, baseline: Baseline, inputs: &[(&str, &str)]) -> Gate {
    let mut job = Job::new();
    job.fake("gh", fakes::GH);
    let gh = job.dir().join("fake-gh");
    std::fs::create_dir(&gh).unwrap();
    job.env.insert("FAKE_GH".into(), gh.display().to_string());
    match baseline {
        Baseline::Kept(kept) => {
            std::fs::write(gh.join("run"), "4242\n").unwrap();
            let artifact = gh.join("artifacts/4242/gauntlet-report");
            std::fs::create_dir_all(&artifact).unwrap();
            std::fs::write(artifact.join("report.json"), kept).unwrap();
            std::fs::write(artifact.join("report.html"), "<html></html>").unwrap();
        }
        Baseline::NoRun => {}
        Baseline::Expired => std::fs::write(gh.join("run"), "4242\n").unwrap(),
        Baseline::GhFails(message) => std::fs::write(gh.join("error"), message).unwrap(),
    }
    std::fs::write(job.dir().join("report.json"), report).unwrap();
    job.inputs = context(&[("scenario", "gate.toml"), ("install", "false")]);
    job.inputs.extend(context(inputs));
    job.github = pull_request();
    // What the run step leaves when gauntlet run passed (see `action_run`).
    job.set_outputs(
        "run",
        &[
            ("exit-code", "0"),
            ("report", "report.json"),
            ("html", "report.html"),
        ],
    );
    let compare = job.step("compare");
    // The step itself records the gate's exit code and leaves the failing to the verdict.
    assert!(compare.status.success(), "{}", show(&compare));
    let verdict = job.step("verdict");
    let gh_calls = std::fs::read_to_string(gh.join("calls")).unwrap_or_default();
    Gate {
        job,
        compare,
        verdict,
        gh_calls,
    }
}

const RUN_LIST: &str = "GH_TOKEN=ghs_test GH_REPO=acme/shop\nrun list --workflow gauntlet.yml \
                        --branch main --event push --status success --limit 1 --json databaseId \
                        --jq .[0].databaseId // empty\n";

#[test]
fn a_pull_request_with_a_regressed_report_fails_the_gate() {
    let reports = reports();
    let g = gate(&reports.slow, Baseline::Kept(&reports.base), &[]);
    let summary = g.job.summary();
    assert_eq!(g.job.output("compare", "exit-code"), "1", "{}", show(&g.compare));
    assert_eq!(g.job.action_output("comparison"), "regression");
    assert_eq!(g.job.action_output("verdict"), "regression");
    assert!(!g.verdict.status.success(), "{}", show(&g.verdict));
    // The summary says what the baseline was and names the regressions.
    assert!(
        summary.contains("**Baseline**: `report.json` of [run 4242](https://github.com/acme/shop/actions/runs/4242) on `main`"),
        "{summary}"
    );
    assert!(
        summary.contains("REGRESSIONS: ") && summary.contains("get p50"),
        "{summary}"
    );
    // ...and so does an annotation on the pull request.
    assert!(text(&g.compare.stdout).contains("::error title=gauntlet baseline::REGRESSIONS: "));
    // The baseline came from main's latest successful push run of this workflow.
    assert!(g.gh_calls.starts_with(RUN_LIST), "{}", g.gh_calls);
    assert!(
        g.gh_calls.contains("run download 4242 -n gauntlet-report -D /"),
        "{}",
        g.gh_calls
    );
}

#[test]
fn a_pull_request_with_an_unchanged_report_passes_the_gate() {
    let reports = reports();
    let g = gate(&reports.base, Baseline::Kept(&reports.base), &[]);
    let summary = g.job.summary();
    assert_eq!(g.job.output("compare", "exit-code"), "0", "{}", show(&g.compare));
    assert_eq!(g.job.action_output("comparison"), "no-regression");
    assert_eq!(g.job.action_output("verdict"), "passed");
    assert!(g.verdict.status.success(), "{}", show(&g.verdict));
    assert!(
        summary.contains("**Baseline**: `report.json` of [run 4242]"),
        "{summary}"
    );
    assert!(
        summary.contains("| get | p50 |") && summary.contains("\nno regression\n"),
        "{summary}"
    );
}

/// The `tolerance` input reaches `gauntlet compare`: the regressed run is within a tolerance of
/// a 10,000-fold increase.
#[test]
fn the_tolerance_input_reaches_compare() {
    let reports = reports();
    let g = gate(
        &reports.slow,
        Baseline::Kept(&reports.base),
        &[("tolerance", "p50=1000000% p99=1000000%")],
    );
    assert_eq!(
        g.job.action_output("comparison"),
        "no-regression",
        "{}",
        show(&g.compare)
    );
    assert_eq!(g.job.action_output("verdict"), "passed");
    assert!(g.job.summary().contains("\nno regression\n"));
}

#[test]
fn without_a_baseline_the_gate_says_so_and_passes() {
    let reports = reports();
    for (baseline, why) in [
        (
            Baseline::NoRun,
            "no successful push run of gauntlet.yml on main yet",
        ),
        (
            Baseline::Expired,
            "run 4242 on main has no artifact gauntlet-report (no valid artifacts found to download)",
        ),
    ] {
        let g = gate(&reports.slow, baseline, &[]);
        assert_eq!(g.job.output("compare", "exit-code"), "0", "{}", show(&g.compare));
        assert_eq!(g.job.action_output("comparison"), "no-baseline");
        assert_eq!(g.job.action_output("verdict"), "passed");
        assert!(g.verdict.status.success(), "{}", show(&g.verdict));
        let summary = g.job.summary();
        assert!(
            summary.contains(&format!("**No baseline to compare with**: {why}.")),
            "{summary}"
        );
        assert!(text(&g.compare.stdout).contains("::warning title=gauntlet baseline::"));
    }
}

/// A baseline compare cannot read is exit 2 and fails the job as invalid input: it must not
/// look like a pass, nor like "no baseline".
#[test]
fn an_unreadable_baseline_fails_loudly() {
    let reports = reports();
    let g = gate(&reports.base, Baseline::Kept("{ not a report"), &[]);
    assert_eq!(g.job.output("compare", "exit-code"), "2", "{}", show(&g.compare));
    assert_eq!(g.job.action_output("comparison"), "error");
    assert_eq!(g.job.action_output("verdict"), "invalid-input");
    assert!(!g.verdict.status.success());
    // gauntlet's own message is in the log, the summary and an annotation.
    let stderr = text(&g.compare.stderr);
    assert!(stderr.contains("gauntlet: "), "{stderr}");
    let summary = g.job.summary();
    assert!(
        summary.contains(
            "**The comparison with the baseline failed** (exit 2): gauntlet compare exit 2: gauntlet: "
        ),
        "{summary}"
    );
    assert!(text(&g.compare.stdout).contains("::error title=gauntlet baseline::gauntlet compare exit 2"));
}

/// gh failing (no `actions: read`, no token, GitHub down) is an error, not a missing baseline:
/// otherwise a misconfigured gate would pass every pull request saying "no baseline".
#[test]
fn a_failing_lookup_is_an_error_not_a_missing_baseline() {
    let reports = reports();
    let g = gate(
        &reports.base,
        Baseline::GhFails("HTTP 403: Resource not accessible by integration"),
        &[],
    );
    assert_eq!(g.job.output("compare", "exit-code"), "3", "{}", show(&g.compare));
    assert_eq!(g.job.action_output("comparison"), "error");
    assert_eq!(g.job.action_output("verdict"), "error");
    assert!(!g.verdict.status.success());
    assert!(text(&g.compare.stderr).contains("HTTP 403"));
    assert!(
        g.job.summary().contains("gh run list failed"),
        "{}",
        g.job.summary()
    );
}

/// The action's last step decides from the run's and the comparison's exit codes: an error
/// outranks a failed threshold, which outranks a regression.
#[test]
fn the_verdict_ranks_errors_before_failures_before_regressions() {
    for (run, compare, expected) in [
        ("0", None, "passed"),
        ("0", Some("0"), "passed"),
        ("0", Some("1"), "regression"),
        ("1", Some("0"), "failed"),
        ("1", Some("1"), "failed"),
        ("0", Some("2"), "invalid-input"),
        ("1", Some("2"), "invalid-input"),
        ("1", Some("3"), "error"),
        ("2", None, "invalid-input"),
        ("3", None, "error"),
        ("130", None, "interrupted"),
        ("", None, "error"),
    ] {
        let mut job = Job::new();
        job.github = pull_request();
        job.set_outputs("run", &[("exit-code", run)]);
        if let Some(code) = compare {
            job.set_outputs("compare", &[("exit-code", code)]);
        }
        let out = job.step("verdict");
        assert_eq!(
            job.action_output("verdict"),
            expected,
            "run {run:?}, compare {compare:?}"
        );
        assert_eq!(out.status.success(), expected == "passed", "{}", show(&out));
        if compare.is_none() {
            assert_eq!(job.action_output("comparison"), "skipped");
        }
    }
}

/// Runs the script lines of the GitLab job that contain `needle`, in `job`'s directory, with the
/// job's variables and the CI variables of a merge request pipeline into `target`, as the
/// runner runs them (`bash -eo pipefail`). `CI_PROJECT_DIR` is the repository, for the script.
fn gitlab_line(job: &Job, needle: &str, target: &str) -> Output {
    let doc = super::yaml("ci/gitlab/gauntlet.gitlab-ci.yml");
    let gitlab_job = &doc["gauntlet"];
    let line = gitlab_job["script"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|l| l.as_str())
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no script line with {needle}"));
    let mut cmd = Command::new("bash");
    cmd.args(["-eo", "pipefail", "-c", line])
        .current_dir(job.dir())
        .env_clear()
        .env(
            "PATH",
            format!(
                "{}:{}",
                job.dir().join("bin").display(),
                std::env::var("PATH").unwrap_or_default()
            ),
        )
        .env("CI_PROJECT_DIR", super::repo())
        .env("CI_API_V4_URL", "https://gitlab.example/api/v4")
        .env("CI_PROJECT_ID", "17")
        .env("CI_PROJECT_URL", "https://gitlab.example/acme/shop")
        .env("CI_JOB_TOKEN", "job-token")
        .env("CI_JOB_NAME", "gauntlet")
        .env("CI_DEFAULT_BRANCH", "main")
        .env("CI_MERGE_REQUEST_TARGET_BRANCH_NAME", target)
        .env("FAKE_CURL", job.dir().join("fake-curl"));
    for (key, value) in gitlab_job["variables"].as_mapping().unwrap() {
        cmd.env(key.as_str().unwrap(), value.as_str().unwrap());
    }
    cmd.output().unwrap()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn the_gitlab_job_fails_on_a_regression_and_passes_without_a_baseline() {
    let reports = reports();
    let setup = |kept: Option<&str>| {
        let job = Job::new();
        job.fake("curl", fakes::CURL);
        std::fs::create_dir(job.dir().join("fake-curl")).unwrap();
        if let Some(kept) = kept {
            std::fs::write(job.dir().join("fake-curl/artifact"), kept).unwrap();
        }
        std::fs::write(job.dir().join("report.json"), &reports.slow).unwrap();
        job
    };

    // A merge request into main, whose last successful `gauntlet` job kept the baseline.
    let job = setup(Some(&reports.base));
    let compare = gitlab_line(&job, "baseline-compare.sh", "main");
    // The line records the failure; the job's last line fails it.
    assert!(compare.status.success(), "{}", show(&compare));
    let last = gitlab_line(&job, "cat gate.failed", "main");
    assert_eq!(last.status.code(), Some(1), "{}", show(&last));
    assert_eq!(
        read(&job.dir().join("gate.failed")),
        "baseline comparison exit 1\n"
    );
    let md = read(&job.dir().join("comparison.md"));
    assert!(
        md.contains("REGRESSIONS: ") && md.contains("job `gauntlet`"),
        "{md}"
    );
    assert_eq!(
        read(&job.dir().join("fake-curl/calls")),
        "JOB-TOKEN: job-token\nhttps://gitlab.example/api/v4/projects/17/jobs/artifacts/main/raw/report.json?job=gauntlet\n"
    );

    // A merge request into release/2.1, which has kept nothing yet (404).
    let job = setup(None);
    let compare = gitlab_line(&job, "baseline-compare.sh", "release/2.1");
    assert!(compare.status.success(), "{}", show(&compare));
    let last = gitlab_line(&job, "cat gate.failed", "release/2.1");
    assert!(last.status.success(), "{}", show(&last));
    let md = read(&job.dir().join("comparison.md"));
    assert!(
        md.contains("**No baseline to compare with**: no successful pipeline on release/2.1"),
        "{md}"
    );
    assert!(
        read(&job.dir().join("fake-curl/calls"))
            .contains("/jobs/artifacts/release%2F2.1/raw/report.json?job=gauntlet"),
    );
}
