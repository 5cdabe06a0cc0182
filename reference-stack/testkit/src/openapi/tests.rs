//! Tests of the contract validator against the stack's real contracts: documented responses
//! pass and name their operation; undocumented paths, methods and statuses, wrong media types,
//! missing headers and bodies that break their schema are each reported as what they are; and
//! the contracts hold the operations the suites cover.

use reqwest::header::{HeaderName, HeaderValue};
use serde_json::json;

use super::*;

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (k, v) in pairs {
        map.insert(
            HeaderName::from_bytes(k.as_bytes()).unwrap(),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    map
}

fn movie() -> Value {
    json!({
        "id": "3f2b8c1a-7d4e-4b6a-9c0d-1e2f3a4b5c6d",
        "title": "Metropolis",
        "year": 1927,
        "genres": ["drama"],
        "created_at": "2024-01-01T12:00:00Z",
        "updated_at": "2024-01-01T12:00:00.123Z"
    })
}

fn check(
    contract: &Contract,
    method: &str,
    path: &str,
    status: u16,
    hdrs: &[(&str, &str)],
    body: &Value,
) -> Result<String, Violation> {
    let headers = headers(hdrs);
    let body = if body.is_null() {
        Vec::new()
    } else {
        serde_json::to_vec(body).unwrap()
    };
    contract.validate(&Exchange {
        method,
        path,
        status,
        headers: &headers,
        body: &body,
    })
}

const JSON: (&str, &str) = ("content-type", "application/json");

#[test]
fn validator_accepts_documented_responses_and_names_the_operation() {
    let location = ("location", "/v1/movies/3f2b8c1a-7d4e-4b6a-9c0d-1e2f3a4b5c6d");
    let op = check(catalog(), "POST", "/v1/movies", 201, &[JSON, location], &movie()).unwrap();
    assert_eq!(op, "createMovie");
    let path = "/v1/movies/3f2b8c1a-7d4e-4b6a-9c0d-1e2f3a4b5c6d";
    assert_eq!(
        check(catalog(), "GET", path, 200, &[JSON], &movie()).unwrap(),
        "getMovie"
    );
    assert_eq!(
        check(catalog(), "DELETE", path, 204, &[], &Value::Null).unwrap(),
        "deleteMovie"
    );
    let error = json!({"error": {"code": "not_found", "message": "no such movie"}});
    assert_eq!(
        check(catalog(), "GET", path, 404, &[JSON], &error).unwrap(),
        "getMovie"
    );
    // A media type with parameters matches its essence.
    let text = headers(&[("content-type", "text/plain; version=0.0.4")]);
    let ok = iam().validate(&Exchange {
        method: "GET",
        path: "/metrics",
        status: 200,
        headers: &text,
        body: b"# TYPE x counter\n",
    });
    assert_eq!(ok.unwrap(), "metrics");
}

#[test]
fn validator_rejects_a_body_that_breaks_the_schema() {
    let path = "/v1/movies/3f2b8c1a-7d4e-4b6a-9c0d-1e2f3a4b5c6d";
    let cases = [
        ("missing id", {
            let mut m = movie();
            m.as_object_mut().unwrap().remove("id");
            m
        }),
        ("unknown field", {
            let mut m = movie();
            m["director"] = json!("Lang");
            m
        }),
        ("wrong type", {
            let mut m = movie();
            m["year"] = json!("1927");
            m
        }),
        ("id not a uuid (format)", {
            let mut m = movie();
            m["id"] = json!("movie-1");
            m
        }),
        ("created_at not a date-time (format)", {
            let mut m = movie();
            m["created_at"] = json!("yesterday");
            m
        }),
        ("rating out of range", {
            let mut m = movie();
            m["rating"] = json!(11);
            m
        }),
    ];
    for (what, body) in cases {
        let err = check(catalog(), "GET", path, 200, &[JSON], &body).unwrap_err();
        assert_eq!(err.kind, Kind::Invalid, "{what}: {err}");
        assert!(err.to_string().contains("getMovie"), "{what}: {err}");
        assert!(err.to_string().contains("-> 200"), "{what}: {err}");
    }
    // A $ref'd response schema (components/responses -> components/schemas/Error).
    let bad_error = json!({"error": {"code": "not_found"}});
    let err = check(catalog(), "GET", path, 404, &[JSON], &bad_error).unwrap_err();
    assert_eq!(err.kind, Kind::Invalid, "{err}");
    assert!(err.detail.contains("message"), "{err}");
    // Nested refs: MoviePage.items -> Movie.
    let page = json!({"items": [{"id": "x"}]});
    let err = check(catalog(), "GET", "/v1/movies", 200, &[JSON], &page).unwrap_err();
    assert_eq!(err.kind, Kind::Invalid, "{err}");
    // Not JSON at all.
    let headers = headers(&[JSON]);
    let err = catalog()
        .validate(&Exchange {
            method: "GET",
            path,
            status: 200,
            headers: &headers,
            body: b"<html>",
        })
        .unwrap_err();
    assert_eq!(err.kind, Kind::Invalid, "{err}");
}

#[test]
fn validator_rejects_undocumented_statuses_paths_and_methods() {
    let path = "/v1/movies/3f2b8c1a-7d4e-4b6a-9c0d-1e2f3a4b5c6d";
    let error = json!({"error": {"code": "internal", "message": "internal error"}});
    let err = check(catalog(), "GET", path, 500, &[JSON], &error).unwrap_err();
    assert_eq!(err.kind, Kind::Undocumented, "{err}");
    assert!(
        err.to_string().contains("getMovie") && err.to_string().contains("500"),
        "{err}"
    );
    let err = check(catalog(), "GET", "/v1/movies", 404, &[JSON], &error).unwrap_err();
    assert_eq!(err.kind, Kind::Undocumented, "{err}");
    let err = check(iam(), "POST", "/v1/users", 401, &[JSON], &error).unwrap_err();
    assert_eq!(err.kind, Kind::Undocumented, "{err}");
    let err = check(catalog(), "GET", "/v1/films", 200, &[JSON], &movie()).unwrap_err();
    assert_eq!(err.kind, Kind::Undocumented, "{err}");
    let err = check(catalog(), "PATCH", path, 200, &[JSON], &movie()).unwrap_err();
    assert_eq!(err.kind, Kind::Undocumented, "{err}");
    let err = check(iam(), "GET", "/v1/movies", 200, &[JSON], &movie()).unwrap_err();
    assert_eq!(err.kind, Kind::Undocumented, "{err}");
    // The 404/405 helper accepts the error shape only for undocumented responses.
    let shape = json!({"error": {"code": "not_found", "message": "no such route"}});
    let hdrs = headers(&[JSON]);
    let body = serde_json::to_vec(&shape).unwrap();
    let ex = |method, path, status| Exchange {
        method,
        path,
        status,
        headers: &hdrs,
        body: &body,
    };
    catalog()
        .validate_undocumented_error(&ex("GET", "/nope", 404))
        .unwrap();
    assert!(
        catalog()
            .validate_undocumented_error(&ex("GET", path, 404))
            .is_err()
    );
    let bad = b"{\"detail\": \"no\"}";
    let bad_ex = Exchange {
        body: bad,
        ..ex("GET", "/nope", 404)
    };
    assert!(catalog().validate_undocumented_error(&bad_ex).is_err());
}

#[test]
fn validator_rejects_missing_required_headers_and_wrong_media_types() {
    let err = check(catalog(), "POST", "/v1/movies", 201, &[JSON], &movie()).unwrap_err();
    assert_eq!(err.kind, Kind::Invalid);
    assert!(err.detail.contains("Location"), "{err}");
    let token =
        json!({"access_token": "a.b.c", "token_type": "Bearer", "expires_in": 900, "scope": "movies:read"});
    let err = check(iam(), "POST", "/v1/token", 200, &[JSON], &token).unwrap_err();
    assert!(err.detail.contains("Cache-Control"), "{err}");
    check(
        iam(),
        "POST",
        "/v1/token",
        200,
        &[JSON, ("cache-control", "no-store")],
        &token,
    )
    .unwrap();
    let error = json!({"error": {"code": "missing_token", "message": "x"}});
    let err = check(catalog(), "GET", "/v1/movies", 401, &[JSON], &error).unwrap_err();
    assert!(err.detail.contains("WWW-Authenticate"), "{err}");
    let err = check(
        catalog(),
        "GET",
        "/healthz",
        200,
        &[("content-type", "text/html")],
        &json!({"status": "ok"}),
    )
    .unwrap_err();
    assert!(err.detail.contains("text/html"), "{err}");
    let err = check(catalog(), "GET", "/healthz", 200, &[], &json!({"status": "ok"})).unwrap_err();
    assert!(err.detail.contains("Content-Type"), "{err}");
    let path = "/v1/movies/3f2b8c1a-7d4e-4b6a-9c0d-1e2f3a4b5c6d";
    let err = check(catalog(), "DELETE", path, 204, &[JSON], &movie()).unwrap_err();
    assert!(err.detail.contains("no content"), "{err}");
}

#[test]
fn contracts_list_the_operations_the_suite_covers() {
    let ids = |c: &Contract| {
        let mut ids: Vec<String> = c.operations().into_iter().map(|(_, _, id)| id).collect();
        ids.sort();
        ids
    };
    assert_eq!(
        ids(iam()),
        [
            "getJwks",
            "healthz",
            "introspectToken",
            "issueToken",
            "listRevocations",
            "metrics",
            "openapi",
            "readyz",
            "registerUser",
            "revokeToken"
        ]
    );
    assert_eq!(
        ids(catalog()),
        [
            "createMovie",
            "deleteMovie",
            "getMovie",
            "healthz",
            "listMovies",
            "metrics",
            "openapi",
            "readyz",
            "updateMovie"
        ]
    );
}
