//! gauntlet as a library: build a `RunPlan` in code — the same step types a scenario file
//! becomes — run it with one call, and use the report. Runs against a tiny local target it
//! starts itself:
//!
//! ```sh
//! cargo run -p gauntlet-harness --example library
//! ```

use std::time::Duration;

use gauntlet_harness::scenario::plan::{
    BodyTemplate, Checks, HttpStep, Limit, LoadModel, LoadPlan, MetricRef, RunPlan, ScenarioPlan, Shard,
    StepKind, StepPlan, ThresholdPlan,
};
use gauntlet_harness::scenario::template::Template;
use gauntlet_harness::threshold::Condition;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The system under test: one route.
    let app = axum::Router::new().route("/hello", axum::routing::get(|| async { "hello" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base_url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, app).await });

    let hello = StepPlan {
        name: "hello".into(),
        kind: StepKind::Http(Box::new(HttpStep {
            method: http::Method::GET,
            url: Template::literal("/hello"),
            query: vec![],
            headers: vec![],
            body: BodyTemplate::Empty,
            checks: Checks {
                status: vec![200],
                ..Checks::default()
            },
            extract: vec![],
        })),
        think_time: None,
        once: false,
    };
    let p99 = "p(99) < 50ms";
    let plan = RunPlan {
        name: "library-example".into(),
        description: None,
        base_url,
        timeout: Duration::from_secs(5),
        max_body: gauntlet_client::http::DEFAULT_MAX_BODY,
        load: LoadPlan {
            model: LoadModel::Closed {
                users: 4,
                limit: Limit::Duration(Duration::from_secs(2)),
            },
            shard: Shard::default(),
        },
        vars: vec![],
        feeders: vec![],
        contract: None,
        scenarios: vec![ScenarioPlan {
            name: "greet".into(),
            weight: 1,
            steps: vec![hello],
        }],
        thresholds: vec![ThresholdPlan {
            metric: MetricRef {
                name: "http_req_duration".into(),
                step: Some("hello".into()),
                scenario: None,
            },
            conditions: vec![(p99.into(), Condition::parse(p99)?)],
            abort_on_fail: false,
        }],
    };

    let report = gauntlet_harness::run(&plan).await?;
    print!("{}", gauntlet_reports::console::render(&report));
    Ok(())
}
