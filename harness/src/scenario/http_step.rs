//! Validation of an HTTP step: the request line, query, headers, body, checks and extractions,
//! with every template resolved against the variables visible at that step.

use std::collections::HashSet;
use std::time::Duration;

use http::{HeaderName, Method};
use toml::Spanned;

use super::file::RawStep;
use super::plan::{AwaitStep, BodyTemplate, Checks, ExtractFrom, HttpStep};
use super::template::Part;
use super::{StepScope, Validator, duration, toml_to_json};

impl Validator<'_> {
    pub(super) fn http_step(
        &mut self,
        raw: &RawStep,
        request: &Spanned<String>,
        visible: &mut HashSet<String>,
    ) -> HttpStep {
        let slots = self.slots.clone();
        let feeders = std::mem::take(&mut self.feeders);
        let mut scope = StepScope {
            feeders: &feeders,
            slots: &slots,
            visible,
            env: self.env,
        };
        let line = request.get_ref().trim();
        let (method_text, url_text) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
        let method = match Method::from_bytes(method_text.as_bytes()) {
            Ok(m) if method_text.chars().all(|c| c.is_ascii_uppercase()) => m,
            _ => {
                self.error(
                    request.span(),
                    format!("request {line:?}: expected \"METHOD URL\", e.g. \"GET /v1/movies\""),
                );
                Method::GET
            }
        };
        let url_text = url_text.trim();
        if url_text.is_empty() {
            self.error(
                request.span(),
                format!("request {line:?}: the URL or path is missing"),
            );
        } else if !url_text.starts_with('/')
            && !url_text.starts_with("http://")
            && !url_text.starts_with("${")
        {
            self.error(
                request.span(),
                format!("request {line:?}: the URL must be a /path or http://..."),
            );
        }
        let url_offset = request.span().start + request.get_ref().find(url_text).unwrap_or(0);
        let url = self.template(url_text, url_offset..url_offset, &mut scope);
        let query = raw
            .query
            .iter()
            .map(|(k, v)| (k.clone(), self.scalar_template(v, &mut scope)))
            .collect();
        let mut headers = Vec::new();
        for (name, value) in &raw.headers {
            match HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()) {
                Ok(h) => {
                    let template = self.scalar_template(value, &mut scope);
                    // A literal CR, LF or other control character cannot go in a header value
                    // (it would be dropped, or split the request): a mistake in the file.
                    let control = template.parts().iter().any(|part| {
                        matches!(part, Part::Literal(text) if text.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f))
                    });
                    if control {
                        self.error(
                            value.span(),
                            format!("header {name:?}: the value holds a control character (CR, LF, ...), which a header cannot carry"),
                        );
                    }
                    // The request writer owns these (gauntlet-http1 writes Host from the URL and
                    // the framing from the body) and would drop the scenario's: say so here.
                    if [
                        http::header::HOST,
                        http::header::CONTENT_LENGTH,
                        http::header::TRANSFER_ENCODING,
                    ]
                    .contains(&h)
                    {
                        self.error(
                            value.span(),
                            format!("header {name:?} cannot be set: gauntlet writes Host from the request's URL and Content-Length from its body (Transfer-Encoding is not sent)"),
                        );
                    }
                    headers.push((h, template));
                }
                Err(_) => self.error(value.span(), format!("{name:?} is not a valid header name")),
            }
        }
        let bodies = [raw.json.is_some(), raw.form.is_some(), raw.body.is_some()];
        if bodies.iter().filter(|b| **b).count() > 1 {
            self.error(request.span(), "give at most one of `json`, `form` and `body`");
        }
        let body = if let Some(json) = &raw.json {
            BodyTemplate::Json(self.json_template(json.get_ref(), json.span(), &mut scope))
        } else if let Some(form) = &raw.form {
            BodyTemplate::Form(
                form.iter()
                    .map(|(k, v)| (k.clone(), self.scalar_template(v, &mut scope)))
                    .collect(),
            )
        } else if let Some(body) = &raw.body {
            BodyTemplate::Raw(self.template(body.get_ref(), body.span(), &mut scope))
        } else {
            BodyTemplate::Empty
        };

        let mut checks = Checks::default();
        if let Some(status) = &raw.check.status {
            for code in status {
                if !(100..=599).contains(code) {
                    self.error(
                        request.span(),
                        format!("check.status: {code} is not an HTTP status"),
                    );
                }
            }
            checks.status = status.clone();
        }
        for name in &raw.check.headers {
            match HeaderName::from_bytes(name.to_ascii_lowercase().as_bytes()) {
                Ok(h) => checks.headers.push(h),
                Err(_) => self.error(
                    request.span(),
                    format!("check.headers: {name:?} is not a header name"),
                ),
            }
        }
        for (pointer, expected) in &raw.check.body {
            if !pointer.is_empty() && !pointer.starts_with('/') {
                self.error(
                    request.span(),
                    format!("check.body: {pointer:?} is not a JSON pointer (start it with /)"),
                );
            }
            checks.body.push((pointer.clone(), toml_to_json(expected)));
        }
        checks.matches = self.patterns(&raw.check.matches);

        let mut extract = Vec::new();
        for (name, source) in &raw.extract {
            let from = match source.get_ref().split_once(':') {
                Some(("json", pointer)) if pointer.is_empty() || pointer.starts_with('/') => {
                    Some(ExtractFrom::JsonPointer(pointer.to_string()))
                }
                Some(("header", header)) => {
                    HeaderName::from_bytes(header.trim().to_ascii_lowercase().as_bytes())
                        .ok()
                        .map(ExtractFrom::Header)
                }
                _ => None,
            };
            let Some(from) = from else {
                self.error(
                    source.span(),
                    format!("extract.{name}: expected \"json:/pointer\" or \"header:NAME\""),
                );
                continue;
            };
            let slot = self.extracted_slot(name);
            extract.push((slot, from));
        }
        // Extracted names are visible to the following steps only.
        for name in raw.extract.keys() {
            visible.insert(name.clone());
        }
        self.feeders = feeders;
        HttpStep {
            method,
            url,
            query,
            headers,
            body,
            checks,
            extract,
        }
    }

    /// An `await_event` step: its poll is an HTTP step (status 200 unless `check.status`
    /// says otherwise), plus the deadline, the pause between polls and where the answer
    /// reports the event's latency.
    pub(super) fn await_step(
        &mut self,
        raw: &RawStep,
        poll: &Spanned<String>,
        span: &std::ops::Range<usize>,
        visible: &mut HashSet<String>,
    ) -> AwaitStep {
        let mut request = self.http_step(raw, poll, visible);
        if request.checks.status.is_empty() {
            request.checks.status = vec![200];
        }
        let duration_of =
            |this: &mut Self, field: &Option<Spanned<String>>, name: &str, default: Duration| {
                field.as_ref().map_or(default, |d| {
                    duration::parse_duration(d.get_ref()).unwrap_or_else(|e| {
                        this.error(d.span(), format!("{name}: {e}"));
                        default
                    })
                })
            };
        let within = duration_of(self, &raw.within, "within", Duration::from_secs(10));
        let every = duration_of(self, &raw.every, "every", Duration::from_millis(50));
        if every.is_zero() {
            let at = raw.every.as_ref().map_or(span.clone(), Spanned::span);
            self.error(at, "every: give a pause above zero, e.g. \"50ms\"");
        }
        let latency = raw
            .latency
            .as_ref()
            .and_then(|l| match l.get_ref().split_once(':') {
                Some(("json", pointer)) if pointer.is_empty() || pointer.starts_with('/') => {
                    Some(pointer.to_string())
                }
                _ => {
                    self.error(l.span(), "latency: expected \"json:/pointer\" (milliseconds)");
                    None
                }
            });
        AwaitStep {
            request,
            within,
            every,
            latency,
        }
    }
}
