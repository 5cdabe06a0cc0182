//! Helpers: a stack per test, an HTTP client whose every response is checked against the
//! OpenAPI contract, token helpers (real ones from iam; forged ones from stack-testkit), and
//! the gRPC client.

use std::time::Duration;

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde::Serialize;
use serde_json::{Value, json};
use stack_catalog::proto::movie_service_client::MovieServiceClient;
use stack_local::{RunningStack, StackOptions};
use stack_testkit::tokens::iam_signing_key;
use tonic::transport::Channel;

use crate::openapi::{self, Contract, Exchange};

pub use stack_testkit::tokens::{
    Forger, PKCS8_ED25519_PREFIX, SPKI_ED25519_PREFIX, alg_none_token, authed, b64, hs256_token, jwt_header,
    now, other_ed25519_key, parse_time, payload, tamper_payload, tamper_signature, unb64,
};
pub use stack_testkit::wait::poll;

// ---------------------------------------------------------------------------------------------
// HTTP, validated against the contract.

/// A service's base URL and contract; every response is validated.
#[derive(Clone)]
pub struct Api {
    http: reqwest::Client,
    base: String,
    contract: &'static Contract,
    /// Sent as `Authorization: Bearer` on every request (see [`Api::with_bearer`]).
    bearer: Option<String>,
}

impl Api {
    /// A client for the service at `base`, checked against `contract`.
    pub fn new(base: &str, contract: &'static Contract) -> Api {
        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(20))
            .build()
            .expect("an HTTP client");
        Api {
            http,
            base: base.trim_end_matches('/').to_string(),
            contract,
            bearer: None,
        }
    }

    /// The same client, sending `Authorization: Bearer token` on every request: most tests act
    /// as one user throughout, and a call then says only what differs (method, path, body).
    pub fn with_bearer(&self, token: &str) -> Api {
        Api {
            bearer: Some(token.to_string()),
            ..self.clone()
        }
    }

    /// The contract responses are checked against.
    pub fn contract(&self) -> &'static Contract {
        self.contract
    }

    /// Any method.
    pub fn request(&self, method: Method, path: &str) -> Call {
        let call = Call {
            builder: self.http.request(method, format!("{}{path}", self.base)),
            http: self.http.clone(),
            contract: self.contract,
        };
        match &self.bearer {
            Some(token) => call.bearer(token),
            None => call,
        }
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> Call {
        self.request(Method::GET, path)
    }

    /// `POST path`.
    pub fn post(&self, path: &str) -> Call {
        self.request(Method::POST, path)
    }

    /// `PUT path`.
    pub fn put(&self, path: &str) -> Call {
        self.request(Method::PUT, path)
    }

    /// `DELETE path`.
    pub fn delete(&self, path: &str) -> Call {
        self.request(Method::DELETE, path)
    }
}

/// A request being built.
pub struct Call {
    builder: reqwest::RequestBuilder,
    http: reqwest::Client,
    contract: &'static Contract,
}

impl Call {
    /// `Authorization: Bearer token`.
    pub fn bearer(self, token: &str) -> Call {
        self.header("authorization", &format!("Bearer {token}"))
    }

    /// HTTP Basic credentials.
    pub fn basic(mut self, user: &str, password: &str) -> Call {
        self.builder = self.builder.basic_auth(user, Some(password));
        self
    }

    /// Any header.
    pub fn header(mut self, name: &str, value: &str) -> Call {
        self.builder = self.builder.header(name, value);
        self
    }

    /// A JSON body.
    pub fn json(mut self, body: &Value) -> Call {
        self.builder = self.builder.json(body);
        self
    }

    /// A form-encoded body.
    pub fn form<T: Serialize + ?Sized>(mut self, body: &T) -> Call {
        self.builder = self.builder.form(body);
        self
    }

    /// Query parameters.
    pub fn query<T: Serialize + ?Sized>(mut self, query: &T) -> Call {
        self.builder = self.builder.query(query);
        self
    }

    /// A raw body with this Content-Type (none when `content_type` is empty).
    pub fn raw(mut self, content_type: &str, body: impl Into<Vec<u8>>) -> Call {
        if !content_type.is_empty() {
            self.builder = self.builder.header("content-type", content_type);
        }
        self.builder = self.builder.body(body.into());
        self
    }

    async fn exchange(self) -> Reply {
        let request = self.builder.build().expect("a well-formed request");
        let method = request.method().to_string();
        let path = request.url().path().to_string();
        let response = self
            .http
            .execute(request)
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .unwrap_or_else(|e| panic!("{method} {path}: reading the body: {e}"))
            .to_vec();
        Reply {
            method,
            path,
            status,
            headers,
            body,
            operation: String::new(),
        }
    }

    /// Sends the request; the response must match the contract (documented operation, status,
    /// headers, media type and body schema), else the test fails naming the violation.
    pub async fn send(self) -> Reply {
        let contract = self.contract;
        let mut reply = self.exchange().await;
        match contract.validate(&reply.exchange()) {
            Ok(op) => reply.operation = op,
            Err(violation) => panic!(
                "{violation}\nresponse headers: {:?}\nresponse body: {}",
                reply.headers,
                reply.text()
            ),
        }
        reply
    }

    /// Sends a request the contract does not document (an unknown route, another method): the
    /// response must indeed be undocumented, and still have the one JSON error shape.
    pub async fn send_undocumented(self) -> Reply {
        let contract = self.contract;
        let mut reply = self.exchange().await;
        if let Err(e) = contract.validate_undocumented_error(&reply.exchange()) {
            panic!("{e}\nresponse body: {}", reply.text());
        }
        reply.operation = format!("{} {} (undocumented)", reply.method, reply.path);
        reply
    }
}

/// A response that passed the contract check.
#[derive(Debug)]
pub struct Reply {
    /// Request method.
    pub method: String,
    /// Request path.
    pub path: String,
    /// Response status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// Response body.
    pub body: Vec<u8>,
    /// The contract's operationId.
    pub operation: String,
}

impl Reply {
    fn exchange(&self) -> Exchange<'_> {
        Exchange {
            method: &self.method,
            path: &self.path,
            status: self.status,
            headers: &self.headers,
            body: &self.body,
        }
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "{} {}: body is not JSON ({e}): {}",
                self.method,
                self.path,
                self.text()
            )
        })
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(name)
            .map(|v| v.to_str().expect("an ASCII header"))
    }

    /// The `event-id` header catalog sets on a write: the id of the event it publishes.
    pub fn event_id(&self) -> String {
        self.header("event-id").expect("an event-id header").to_string()
    }

    /// Asserts the status; returns the reply.
    #[track_caller]
    pub fn expect(self, status: u16) -> Reply {
        assert_eq!(
            self.status,
            status,
            "{} {} ({}): expected {status}, got {}: {}",
            self.method,
            self.path,
            self.operation,
            self.status,
            self.text()
        );
        self
    }

    /// Asserts the status and the success body as JSON.
    #[track_caller]
    pub fn ok_json(self, status: u16) -> Value {
        self.expect(status).json()
    }

    /// Asserts an error response: status, `error.code`, a non-empty message. Returns the body.
    #[track_caller]
    pub fn expect_error(&self, status: u16, code: &str) -> Value {
        let body = self.json();
        assert_eq!(
            (self.status, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{} {} ({}): expected {status} {code}, got {}: {}",
            self.method,
            self.path,
            self.operation,
            self.status,
            self.text()
        );
        assert!(
            body["error"]["message"].as_str().is_some_and(|m| !m.is_empty()),
            "empty error message: {body}"
        );
        body
    }

    /// Asserts 401 `invalid_token` with an RFC 6750 challenge naming it.
    #[track_caller]
    pub fn expect_invalid_token(&self) {
        self.expect_error(401, "invalid_token");
        let challenge = self.header("www-authenticate").unwrap_or_default();
        assert!(
            challenge.starts_with("Bearer realm=\"gauntlet\"")
                && challenge.contains("error=\"invalid_token\""),
            "{} {}: WWW-Authenticate is {challenge:?}",
            self.method,
            self.path
        );
    }

    /// Asserts 403 `insufficient_scope` naming the missing scope in the challenge.
    #[track_caller]
    pub fn expect_insufficient_scope(&self, scope: &str) {
        self.expect_error(403, "insufficient_scope");
        let challenge = self.header("www-authenticate").unwrap_or_default();
        assert_eq!(
            challenge,
            format!("Bearer realm=\"gauntlet\", error=\"insufficient_scope\", scope=\"{scope}\""),
            "{} {}",
            self.method,
            self.path
        );
    }

    /// Asserts 401 `missing_token` with the bare challenge (no error attribute, RFC 6750 §3.1).
    #[track_caller]
    pub fn expect_missing_token(&self) {
        self.expect_error(401, "missing_token");
        assert_eq!(
            self.header("www-authenticate"),
            Some("Bearer realm=\"gauntlet\""),
            "{} {}",
            self.method,
            self.path
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The stack.

/// A running stack with contract-checked clients for its services.
pub struct TestStack {
    stack: Option<RunningStack>,
    /// iam, checked against contracts/openapi/iam.yaml.
    pub iam: Api,
    /// catalog, checked against contracts/openapi/catalog.yaml.
    pub catalog: Api,
}

/// Starts the stack on free ports with default settings.
pub async fn start() -> TestStack {
    start_with(|_| {}).await
}

/// Starts the stack on free ports, after `tune` adjusted the options.
pub async fn start_with(tune: impl FnOnce(&mut StackOptions)) -> TestStack {
    let mut options = StackOptions {
        base_port: 0,
        ..Default::default()
    };
    tune(&mut options);
    let stack = stack_local::start(options).await.expect("the stack starts");
    TestStack {
        iam: Api::new(&stack.iam.url, openapi::iam()),
        catalog: Api::new(&stack.catalog.url, openapi::catalog()),
        stack: Some(stack),
    }
}

impl TestStack {
    /// The running stack.
    pub fn running(&self) -> &RunningStack {
        self.stack.as_ref().expect("the stack is running")
    }

    /// Stops the stack gracefully; fails the test if it does not stop cleanly within 10 s.
    pub async fn stop(mut self) {
        let stack = self.stack.take().expect("the stack is running");
        tokio::time::timeout(Duration::from_secs(10), stack.shutdown())
            .await
            .expect("the stack stops within 10 s")
            .expect("the stack stops cleanly");
    }

    /// `POST /v1/token` at iam with this form: a grant, or a request iam must refuse.
    pub async fn request_token(&self, form: &[(&str, &str)]) -> Reply {
        self.iam.post("/v1/token").form(form).send().await
    }

    /// `POST /v1/users` at iam with this JSON body: a registration, or one iam must refuse.
    pub async fn register_user(&self, body: &Value) -> Reply {
        self.iam.post("/v1/users").json(body).send().await
    }

    /// The access token iam issues for `grant` (its form fields), narrowed to `scope` when given.
    async fn token<'a>(&self, mut grant: Vec<(&'a str, &'a str)>, scope: Option<&'a str>) -> String {
        if let Some(scope) = scope {
            grant.push(("scope", scope));
        }
        let body = self.request_token(&grant).await.ok_json(200);
        body["access_token"]
            .as_str()
            .expect("an access token")
            .to_string()
    }

    /// A token from the password grant; `scope` `None` asks for no particular scope.
    pub async fn password_token(&self, username: &str, password: &str, scope: Option<&str>) -> String {
        self.token(password_form(username, password, &[]), scope).await
    }

    /// The admin's token with every user scope (`movies:read movies:write`).
    pub async fn admin_token(&self) -> String {
        let (user, password) = self.running().admin.clone();
        self.password_token(&user, &password, None).await
    }

    /// The admin's token, and a catalog client that sends it: how most catalog tests begin.
    pub async fn admin_catalog(&self) -> (String, Api) {
        let token = self.admin_token().await;
        let catalog = self.catalog.with_bearer(&token);
        (token, catalog)
    }

    /// The admin's token with only `scope`.
    pub async fn admin_token_with_scope(&self, scope: &str) -> String {
        let (user, password) = self.running().admin.clone();
        self.password_token(&user, &password, Some(scope)).await
    }

    /// A client-credentials token for the demo client (credentials in the body).
    pub async fn client_token(&self, scope: Option<&str>) -> String {
        let (id, secret) = self.running().demo_client.clone().expect("a demo client");
        let grant = vec![
            ("grant_type", "client_credentials"),
            ("client_id", id.as_str()),
            ("client_secret", secret.as_str()),
        ];
        self.token(grant, scope).await
    }

    /// Creates a movie over REST; returns it.
    pub async fn create_movie(&self, token: &str, input: &Value) -> Value {
        self.catalog
            .post("/v1/movies")
            .bearer(token)
            .json(input)
            .send()
            .await
            .ok_json(201)
    }

    /// `GET /v1/movies` at catalog as the holder of `token`: the request the token tests make to
    /// see whether catalog accepts a token.
    pub async fn list_movies(&self, token: &str) -> Reply {
        self.catalog.get("/v1/movies").bearer(token).send().await
    }

    /// iam's introspection of `token`.
    pub async fn introspect(&self, token: &str) -> Value {
        self.iam
            .post("/v1/tokens/introspect")
            .form(&[("token", token)])
            .send()
            .await
            .ok_json(200)
    }

    /// iam's answer to revoking `token` (form body): `{"revoked": bool}`.
    pub async fn revoke(&self, token: &str) -> Value {
        self.iam
            .post("/v1/tokens/revoke")
            .form(&[("token", token)])
            .send()
            .await
            .ok_json(200)
    }

    /// iam's revocation list.
    pub async fn revocations(&self) -> Value {
        self.iam.get("/v1/revocations").send().await.ok_json(200)
    }

    /// iam's JWKS (exactly one key).
    pub async fn jwk(&self) -> Value {
        let jwks = self.iam.get("/.well-known/jwks.json").send().await.ok_json(200);
        let keys = jwks["keys"].as_array().expect("keys");
        assert_eq!(keys.len(), 1, "one signing key: {jwks}");
        keys[0].clone()
    }

    /// A forger holding iam's real signing key (from `data_dir/iam/signing-key.der`) and kid.
    pub async fn forger(&self) -> Forger {
        let der = iam_signing_key(&self.running().data_dir.join("iam"));
        assert_eq!(der.len(), 48, "a PKCS#8 Ed25519 key is 48 bytes");
        let jwk = self.jwk().await;
        Forger::new(&der, &jwk)
    }

    /// A gRPC client on catalog's port (HTTP/2 cleartext).
    pub async fn grpc(&self) -> MovieServiceClient<Channel> {
        let channel = tonic::transport::Endpoint::from_shared(self.running().catalog.url.clone())
            .expect("a valid endpoint")
            .connect_timeout(Duration::from_secs(5))
            .timeout(Duration::from_secs(20))
            .connect()
            .await
            .expect("a gRPC connection");
        MovieServiceClient::new(channel)
    }
}

/// The password grant's form for `username`, followed by `extra` fields (a scope, say).
pub fn password_form<'a>(
    username: &'a str,
    password: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut form = vec![
        ("grant_type", "password"),
        ("username", username),
        ("password", password),
    ];
    form.extend_from_slice(extra);
    form
}

/// The path of `movie` (a movie as catalog returns it): `/v1/movies/{id}`.
pub fn movie_path(movie: &Value) -> String {
    format!("/v1/movies/{}", movie["id"].as_str().expect("a movie id"))
}

/// A valid MovieInput body.
pub fn movie_input(title: &str, year: i32, genres: &[&str]) -> Value {
    json!({"title": title, "year": year, "genres": genres})
}
