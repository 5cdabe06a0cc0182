//! The full flow through the gateway: register and get a token from iam under `/iam`, then
//! CRUD over REST under `/api` and over gRPC (unary and server streaming), every REST response
//! checked against the gateway's contract; the two catalog instances share one database, so a
//! write through one is read through the other.

use reqwest::Method;
use serde_json::{Value, json};
use stack_catalog::proto::{
    CreateMovieRequest, DeleteMovieRequest, GetMovieRequest, ListMoviesRequest, MovieInput,
    UpdateMovieRequest,
};
use stack_testkit::net::get_text;
use tokio_stream::StreamExt;

use crate::openapi::{self, Exchange};
use crate::support::{RunningGateway, Services, authed};

/// Sends a request through the gateway and validates the response against gateway.yaml.
pub async fn checked(
    gw: &RunningGateway,
    builder: reqwest::RequestBuilder,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let request = builder.build().unwrap();
    let method = request.method().to_string();
    let path = request.url().path().to_string();
    let response = gw.http.execute(request).await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let body = response.bytes().await.unwrap().to_vec();
    let ex = Exchange {
        method: &method,
        path: &path,
        status,
        headers: &headers,
        body: &body,
    };
    if let Err(v) = openapi::gateway().validate(&ex) {
        panic!(
            "{v}\nheaders: {headers:?}\nbody: {}",
            String::from_utf8_lossy(&body)
        );
    }
    let json = serde_json::from_slice(&body).unwrap_or(Value::Null);
    (status, headers, json)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_crud_through_the_gateway_with_a_token_from_iam() {
    let services = Services::start(2).await;
    let gw = RunningGateway::start(services.gateway_config()).await;

    // Register a user and get a token, both through /iam (public routes).
    let (status, _, user) = checked(
        &gw,
        gw.http
            .post(gw.url("/iam/v1/users"))
            .json(&json!({"username": "alice", "password": "alice-password"})),
    )
    .await;
    assert_eq!(status, 201, "{user}");
    let token = gw.token("alice", "alice-password", None).await;

    // Create, read (several times: both instances), update, list, delete.
    let (status, headers, movie) = checked(
        &gw,
        gw.http
            .post(gw.url("/api/movies"))
            .bearer_auth(&token)
            .json(&json!({"title": "Metropolis", "year": 1927, "genres": ["sci-fi"]})),
    )
    .await;
    assert_eq!(status, 201, "{movie}");
    assert!(headers.contains_key("x-request-id"));
    let id = movie["id"].as_str().unwrap().to_string();
    for _ in 0..4 {
        let (status, _, got) = checked(
            &gw,
            gw.http
                .get(gw.url(&format!("/api/movies/{id}")))
                .bearer_auth(&token),
        )
        .await;
        assert_eq!((status, got["title"].as_str()), (200, Some("Metropolis")));
    }
    let (status, _, updated) = checked(
        &gw,
        gw.http
            .put(gw.url(&format!("/api/movies/{id}")))
            .bearer_auth(&token)
            .json(&json!({"title": "Metropolis (restored)", "year": 1927, "rating": 9.1})),
    )
    .await;
    assert_eq!((status, updated["rating"].as_f64()), (200, Some(9.1)));
    let (status, _, page) = checked(
        &gw,
        gw.http
            .get(gw.url("/api/movies"))
            .query(&[("title", "restored")])
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(page["items"].as_array().unwrap().len(), 1, "{page}");
    let (status, _, _) = checked(
        &gw,
        gw.http
            .request(Method::DELETE, gw.url(&format!("/api/movies/{id}")))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(status, 204);
    let (status, _, err) = checked(
        &gw,
        gw.http
            .get(gw.url(&format!("/api/movies/{id}")))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!((status, err["error"]["code"].as_str()), (404, Some("not_found")));

    // Both catalog instances served requests (round-robin), and the gateway's own endpoints answer.
    let metrics = get_text(&gw.http, gw.url("/metrics")).await;
    for addr in &services.catalogs {
        assert!(
            metrics.contains(&format!(
                "gateway_upstream_instance_up{{upstream=\"catalog\",instance=\"{addr}\"}} 1"
            )),
            "{metrics}"
        );
    }
    for addr in &services.catalogs {
        let text = get_text(&reqwest::Client::new(), format!("http://{addr}/metrics")).await;
        assert!(
            crate::support::sum_counter(&text, "http_requests_total", "route=\"/v1/movies/{id}\"") >= 2,
            "instance {addr} got its share: {text}"
        );
    }
    for path in ["/healthz", "/readyz", "/openapi.yaml"] {
        let (status, _, _) = checked(&gw, gw.http.get(gw.url(path))).await;
        assert_eq!(status, 200, "{path}");
    }
    gw.stop().await;
    services.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grpc_crud_and_streaming_through_the_gateway_keep_trailers() {
    let services = Services::start(2).await;
    let gw = RunningGateway::start(services.gateway_config()).await;
    let token = gw.admin_token().await;
    let mut grpc = gw.grpc().await;

    let input = |title: &str| MovieInput {
        title: title.into(),
        year: 2001,
        genres: vec!["grpc-gw".into()],
        rating: None,
    };
    let mut ids = Vec::new();
    let mut event_ids = std::collections::HashSet::new();
    for i in 0..5 {
        let created = grpc
            .create_movie(authed(
                CreateMovieRequest {
                    movie: Some(input(&format!("stream {i}"))),
                },
                &token,
            ))
            .await
            .expect("create over gRPC through the gateway");
        // the id of the event the write produced comes through the gateway as response metadata
        let event_id = created
            .metadata()
            .get("event-id")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| uuid::Uuid::parse_str(v).ok())
            .unwrap_or_else(|| panic!("no event-id metadata: {:?}", created.metadata()));
        event_ids.insert(event_id);
        ids.push(created.into_inner().id);
    }
    assert_eq!(event_ids.len(), 5, "each write has its own event");
    let got = grpc
        .get_movie(authed(GetMovieRequest { id: ids[0].clone() }, &token))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.title, "stream 0");
    let updated = grpc
        .update_movie(authed(
            UpdateMovieRequest {
                id: ids[1].clone(),
                movie: Some(input("renamed")),
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(updated.title, "renamed");

    // Server streaming: every item arrives, then the stream ends with grpc-status 0 in the
    // trailers (a lost trailer would surface here as an error, not a clean end).
    let mut stream = grpc
        .list_movies(authed(
            ListMoviesRequest {
                genre: Some("grpc-gw".into()),
                limit: 100,
                ..Default::default()
            },
            &token,
        ))
        .await
        .unwrap()
        .into_inner();
    let mut titles = Vec::new();
    while let Some(item) = stream.next().await {
        titles.push(item.expect("a clean stream").title);
    }
    assert_eq!(titles.len(), 5, "{titles:?}");
    assert!(titles.contains(&"renamed".to_string()));
    let trailers = stream.trailers().await.expect("trailers are readable");
    assert!(trailers.is_some(), "the stream ended with trailers");

    // An error status from catalog comes back intact in the trailers.
    let err = grpc
        .get_movie(authed(
            GetMovieRequest {
                id: "not-a-uuid".into(),
            },
            &token,
        ))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err:?}");
    grpc.delete_movie(authed(DeleteMovieRequest { id: ids[0].clone() }, &token))
        .await
        .unwrap();
    let err = grpc
        .get_movie(authed(GetMovieRequest { id: ids[0].clone() }, &token))
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::NotFound);
    gw.stop().await;
    services.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_gateways_own_refusals_reach_grpc_callers_as_grpc_statuses() {
    use stack_gateway::config::RateLimitConfig;
    use tonic::Code;

    use crate::support::{Behaviour, TestUpstream, dead_addr, single_route};

    let get = |id: &str| GetMovieRequest { id: id.to_string() };
    // 429 -> RESOURCE_EXHAUSTED, after the burst, on the real stack
    let services = Services::start(1).await;
    let mut config = services.gateway_config();
    let grpc_route = config.routes.iter_mut().find(|r| r.grpc).expect("a gRPC route");
    grpc_route.rate_limit = Some(RateLimitConfig {
        rate_per_sec: 0.001,
        burst: 2,
    });
    let gw = RunningGateway::start(config).await;
    let token = gw.admin_token().await;
    let mut grpc = gw.grpc().await;
    let missing = "00000000-0000-4000-8000-000000000000";
    for _ in 0..2 {
        let status = grpc.get_movie(authed(get(missing), &token)).await.unwrap_err();
        assert_eq!(
            status.code(),
            Code::NotFound,
            "catalog answers within the burst: {status:?}"
        );
    }
    let status = grpc.get_movie(authed(get(missing), &token)).await.unwrap_err();
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("too many requests"), "{status:?}");
    gw.stop().await;
    services.stop().await;

    // 504 -> DEADLINE_EXCEEDED: an instance that sleeps past the route's timeout (an h2c echo)
    let slow = TestUpstream::start("slow", Behaviour::Sleep(std::time::Duration::from_secs(3))).await;
    // 502 -> UNAVAILABLE: an instance nobody listens on
    let dead = dead_addr().await;
    for (instance, code) in [(slow.addr, Code::DeadlineExceeded), (dead, Code::Unavailable)] {
        let gw = RunningGateway::start(single_route(&[instance], |route, _| {
            route.prefix = "/catalog.v1.MovieService".into();
            route.rewrite = None;
            route.grpc = true;
            route.timeout_ms = 300;
            route.retries = 0;
        }))
        .await;
        let status = gw
            .grpc()
            .await
            .get_movie(tonic::Request::new(get(missing)))
            .await
            .unwrap_err();
        assert_eq!(status.code(), code, "{instance}: {status:?}");
        gw.stop().await;
    }
    slow.stop().await;
}
