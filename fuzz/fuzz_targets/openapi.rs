//! The OpenAPI loader and the response validator. Input: `DOCUMENT [NUL RESPONSE]`, where
//! `RESPONSE` is `METHOD PATH STATUS [CONTENT-TYPE]\n BODY`.
//! - A non-empty document is loaded as `contract test` and `[target] openapi` load one; when it
//!   loads, the response (or, without one, a 200 and a 500 with a JSON body for each of its
//!   first operations) is validated against it, which compiles its schemas.
//! - An empty document stands for `contracts/openapi/catalog.yaml`, the spec `smoke.toml`
//!   checks under load: the response is validated against it, as a target's responses are.

#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use gauntlet_contract::openapi::parse;
use gauntlet_contract::validate::ResponseValidator;
use http::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

const CATALOG: &str = include_str!("../../contracts/openapi/catalog.yaml");

fn catalog() -> &'static ResponseValidator {
    static CATALOG_VALIDATOR: OnceLock<ResponseValidator> = OnceLock::new();
    CATALOG_VALIDATOR.get_or_init(|| {
        ResponseValidator::new(parse(CATALOG, Path::new("catalog.yaml")).expect("catalog.yaml loads"))
    })
}

struct Response<'a> {
    method: &'a str,
    path: &'a str,
    status: u16,
    headers: HeaderMap,
    body: &'a [u8],
}

/// `METHOD PATH STATUS [CONTENT-TYPE]\n BODY`; missing parts take defaults.
fn response(text: &[u8]) -> Response<'_> {
    let (line, body) = match text.iter().position(|b| *b == b'\n') {
        Some(i) => (&text[..i], &text[i + 1..]),
        None => (text, &[][..]),
    };
    let line = std::str::from_utf8(line).unwrap_or_default();
    let mut words = line.split(' ');
    let method = words.next().filter(|m| !m.is_empty()).unwrap_or("GET");
    let path = words.next().unwrap_or("/");
    let status = words.next().and_then(|s| s.parse().ok()).unwrap_or(200);
    let mut headers = HeaderMap::new();
    if let Some(Ok(value)) = words.next().map(HeaderValue::from_str) {
        headers.insert(CONTENT_TYPE, value);
    }
    Response {
        method,
        path,
        status,
        headers,
        body,
    }
}

fn check(validator: &ResponseValidator, r: &Response<'_>) {
    let _ = validator.validate(r.method, r.path, r.status, &r.headers, r.body);
}

fuzz_target!(|data: &[u8]| {
    let (document, given) = match data.iter().position(|b| *b == 0) {
        Some(i) => (&data[..i], Some(response(&data[i + 1..]))),
        None => (data, None),
    };
    if document.is_empty() {
        if let Some(r) = given {
            check(catalog(), &r);
        }
        return;
    }
    let Ok(text) = std::str::from_utf8(document) else {
        return;
    };
    let Ok(spec) = parse(text, Path::new("fuzz.yaml")) else {
        return;
    };
    let validator = ResponseValidator::new(spec);
    if let Some(r) = given {
        check(&validator, &r);
        return;
    }
    let json = HeaderMap::from_iter([(CONTENT_TYPE, HeaderValue::from_static("application/json"))]);
    let operations: Vec<(String, String)> = validator
        .spec()
        .operations
        .iter()
        .take(8)
        .map(|op| (op.method.clone(), concrete(&op.template)))
        .collect();
    for (method, path) in operations {
        for (status, body) in [(200, &b"{\"id\":1,\"items\":[]}"[..]), (500, b"[]")] {
            let _ = validator.validate(&method, &path, status, &json, body);
        }
    }
});

/// A request path that fits `template`: every `{param}` segment becomes `1`.
fn concrete(template: &str) -> String {
    template
        .split('/')
        .map(|s| {
            if s.starts_with('{') && s.ends_with('}') {
                "1"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}
