//! The second stage of loading a scenario: the raw file model (`file`) checked and turned into
//! a `RunPlan`. The `Validator` collects every mistake with its file:line:col instead of
//! stopping at the first; each part of the file is checked in its own module (`load`,
//! `http_step`, `grpc_step`, `feeders`, `thresholds`) as an `impl Validator` of its own.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use toml::Spanned;

use super::duration;
use super::file::{self, RawFile, RawStep};
use super::plan::{self, JsonTemplate, RunPlan, ScenarioPlan, StepKind, StepPlan};
use super::template::{self, Template};
pub(super) use super::variables::StepScope;
use super::{Env, LoadError, Overrides, ScenarioError};
pub(super) use gauntlet_contract::text::toml_to_json;

/// Validates a scenario's text into a plan, or every mistake in it.
pub(super) fn validate(
    text: &str,
    origin: &str,
    default_name: &str,
    base_dir: Option<&Path>,
    env: Env<'_>,
    overrides: &Overrides,
) -> Result<RunPlan, LoadError> {
    let mut v = Validator {
        text,
        origin,
        env,
        errors: Vec::new(),
        vars: Vec::new(),
        slots: HashMap::new(),
        feeders: Vec::new(),
        protos: None,
        quiet: Vec::new(),
        protos_failed: false,
    };
    let mut read = super::read::read(text);
    // Serde finds them in the order of its fields, not the file's.
    read.errors.sort_by_key(|e| e.span.start);
    for e in read.errors {
        v.error(e.span, e.message);
    }
    let Some(raw) = read.raw else {
        return Err(LoadError::Invalid(v.errors));
    };
    // The rest of a table whose lines were stepped over is not checked: its mistakes would be
    // follow-ons of the one already reported (a step "without a request" whose request had
    // the wrong type).
    v.quiet = read
        .masked
        .iter()
        .map(|lines| super::read::section(text, lines.start))
        .collect();
    let plan = v.plan(raw, default_name, base_dir, overrides);
    if v.errors.is_empty() {
        Ok(plan)
    } else {
        Err(LoadError::Invalid(v.errors))
    }
}

pub(super) struct Validator<'a> {
    pub(super) text: &'a str,
    pub(super) origin: &'a str,
    pub(super) env: Env<'a>,
    pub(super) errors: Vec<ScenarioError>,
    /// Variable slots: name and initial value. `[vars]` (and `--var`) come first; then each
    /// scenario has its own slot for every name it extracts, so two scenarios extracting the
    /// same name (a `token` with different scopes, an `id`) never see each other's values.
    pub(super) vars: Vec<(String, String)>,
    /// The slot each name refers to in the scenario being validated.
    pub(super) slots: HashMap<String, usize>,
    /// Data feeders, read before the steps so templates can refer to them.
    pub(super) feeders: Vec<plan::Feeder>,
    /// Descriptors from `[target] proto`, for gRPC steps.
    pub(super) protos: Option<prost_reflect::DescriptorPool>,
    /// Tables where no further mistake is reported (see `read`).
    pub(super) quiet: Vec<Range<usize>>,
    /// `[target] proto` did not compile (already reported): gRPC steps say nothing more.
    pub(super) protos_failed: bool,
}

pub(super) fn scalar_to_string(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(s) => Some(s.clone()),
        toml::Value::Integer(i) => Some(i.to_string()),
        toml::Value::Float(f) => Some(f.to_string()),
        toml::Value::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

impl Validator<'_> {
    /// `[target] openapi`: the spec responses are checked against during the run.
    pub(super) fn contract(
        &mut self,
        target: &file::RawTarget,
        base_dir: Option<&Path>,
    ) -> Option<plan::ContractPlan> {
        let spec = target.openapi.as_ref()?;
        let sample = match &target.contract_sample {
            None => 1.0,
            Some(s) if (0.0..=1.0).contains(s.get_ref()) && *s.get_ref() > 0.0 => *s.get_ref(),
            Some(s) => {
                self.error(s.span(), "contract_sample must be above 0 and at most 1");
                1.0
            }
        };
        let path = match base_dir {
            Some(dir) => dir.join(spec.get_ref()),
            None => Path::new(spec.get_ref()).to_path_buf(),
        };
        match gauntlet_contract::openapi::load(&path) {
            Ok(loaded) => Some(plan::ContractPlan {
                spec: spec.get_ref().clone(),
                validator: std::sync::Arc::new(gauntlet_contract::validate::ResponseValidator::new(loaded)),
                sample,
            }),
            Err(e) => {
                self.error(spec.span(), format!("openapi: {e}"));
                None
            }
        }
    }

    /// `check.matches`: JSON pointers and the patterns their values must match.
    pub(super) fn patterns(
        &mut self,
        raw: &std::collections::BTreeMap<String, Spanned<String>>,
    ) -> Vec<(String, regex::Regex)> {
        let mut patterns = Vec::new();
        for (pointer, pattern) in raw {
            if !pointer.is_empty() && !pointer.starts_with('/') {
                self.error(
                    pattern.span(),
                    format!("check.matches: {pointer:?} is not a JSON pointer"),
                );
            }
            match regex::Regex::new(pattern.get_ref()) {
                Ok(re) => patterns.push((pointer.clone(), re)),
                Err(e) => self.error(pattern.span(), format!("check.matches.{pointer}: {e}")),
            }
        }
        patterns
    }

    pub(super) fn location(&self, offset: usize) -> String {
        let (line, col) = gauntlet_contract::text::line_col(self.text, offset);
        format!("{}:{line}:{col}", self.origin)
    }

    pub(super) fn error(&mut self, span: Range<usize>, message: impl Into<String>) {
        let location = self.location(span.start);
        self.error_elsewhere(span, location, message);
    }

    /// A mistake found through the value at `span` but located in another file (a `.proto`).
    pub(super) fn error_elsewhere(
        &mut self,
        span: Range<usize>,
        location: String,
        message: impl Into<String>,
    ) {
        if self.quiet.iter().any(|table| table.contains(&span.start)) {
            return;
        }
        self.errors.push(ScenarioError {
            location,
            message: message.into(),
        });
    }

    /// Parses a template found in a TOML string whose value starts at `span` (the opening
    /// quote), so that an error points at the `${` itself.
    pub(super) fn template(&mut self, text: &str, span: Range<usize>, scope: &mut StepScope<'_>) -> Template {
        match Template::parse(text, scope) {
            Ok(t) => t,
            Err(e) => {
                // +1 skips the opening quote of a basic string; good enough for literal ones.
                let at = span.start + 1 + e.offset;
                self.error(at..at, e.message);
                Template::default()
            }
        }
    }

    pub(super) fn scalar_template(
        &mut self,
        value: &Spanned<toml::Value>,
        scope: &mut StepScope<'_>,
    ) -> Template {
        match scalar_to_string(value.get_ref()) {
            Some(text) => self.template(&text, value.span(), scope),
            None => {
                self.error(value.span(), "expected a string, number or boolean");
                Template::default()
            }
        }
    }

    pub(super) fn json_template(
        &mut self,
        value: &toml::Value,
        span: Range<usize>,
        scope: &mut StepScope<'_>,
    ) -> JsonTemplate {
        match value {
            toml::Value::String(s) => JsonTemplate::String(self.template(s, span, scope)),
            toml::Value::Array(items) => JsonTemplate::Array(
                items
                    .iter()
                    .map(|i| self.json_template(i, span.clone(), scope))
                    .collect(),
            ),
            toml::Value::Table(t) => JsonTemplate::Object(
                t.iter()
                    .map(|(k, v)| (k.clone(), self.json_template(v, span.clone(), scope)))
                    .collect(),
            ),
            other => JsonTemplate::Scalar(toml_to_json(other)),
        }
    }

    pub(super) fn plan(
        &mut self,
        raw: RawFile,
        default_name: &str,
        base_dir: Option<&Path>,
        overrides: &Overrides,
    ) -> RunPlan {
        // [vars], then --var overrides.
        for (name, value) in &raw.vars {
            let empty = HashSet::new();
            let no_slots = HashMap::new();
            let mut scope = StepScope {
                feeders: &[],
                slots: &no_slots,
                visible: &empty,
                env: self.env,
            };
            let text = match scalar_to_string(value.get_ref()) {
                Some(t) => t,
                None => {
                    self.error(
                        value.span(),
                        format!("vars.{name}: expected a string, number or boolean"),
                    );
                    continue;
                }
            };
            // [vars] may use ${env.NAME} only; render it now.
            match Template::parse(&text, &mut scope) {
                Ok(t) => {
                    let mut out = String::new();
                    for part in t.parts() {
                        if let template::Part::Literal(s) = part {
                            out.push_str(s);
                        }
                    }
                    if t.is_static() {
                        self.vars.push((name.clone(), out));
                    } else {
                        self.error(
                            value.span(),
                            format!("vars.{name}: only ${{env.NAME}} can be used in [vars]"),
                        );
                    }
                }
                Err(e) => self.error(value.span(), format!("vars.{name}: {}", e.message)),
            }
        }
        for (name, value) in &overrides.vars {
            match self.vars.iter_mut().find(|(n, _)| n == name) {
                Some(slot) => slot.1 = value.clone(),
                None => self.vars.push((name.clone(), value.clone())),
            }
        }

        let base_url = overrides
            .base_url
            .clone()
            .unwrap_or_else(|| raw.target.base_url.get_ref().clone());
        let base_url = base_url.trim_end_matches('/').to_string();
        if !base_url.starts_with("http://") {
            let span = raw.target.base_url.span();
            let what = if base_url.starts_with("https://") {
                "https is not supported yet"
            } else {
                "expected http://HOST:PORT"
            };
            self.error(span, format!("base_url {base_url:?}: {what}"));
        }
        let timeout = match &raw.target.timeout {
            None => Duration::from_secs(10),
            Some(t) => self.duration_of("timeout", t),
        };

        let max_body = match &raw.target.max_body {
            None => gauntlet_client::http::DEFAULT_MAX_BODY,
            Some(value) => match super::size::size_of(value.get_ref()) {
                Ok(n) if n > 0 => n,
                Ok(_) => {
                    self.error(value.span(), "target.max_body must be above zero");
                    1
                }
                Err(e) => {
                    self.error(value.span(), format!("target.max_body: {e}"));
                    1
                }
            },
        };

        let load = self.load(&raw.load, overrides);
        self.feeders = self.feeders(&raw.data, base_dir);
        self.protos = self.protos(&raw.target, base_dir, &base_url);
        let contract = self.contract(&raw.target, base_dir);
        let scenarios = self.scenarios(&raw.scenarios);
        let thresholds = self.thresholds(&raw.thresholds, &scenarios);
        RunPlan {
            name: raw.name.clone().unwrap_or_else(|| default_name.to_string()),
            description: raw.description.clone(),
            base_url,
            timeout,
            max_body,
            load,
            vars: std::mem::take(&mut self.vars),
            scenarios,
            thresholds,
            feeders: std::mem::take(&mut self.feeders),
            contract,
        }
    }

    pub(super) fn scenarios(&mut self, raw: &[Spanned<file::RawScenario>]) -> Vec<ScenarioPlan> {
        if raw.is_empty() {
            self.error(
                0..0,
                "no [[scenario]]: add at least one with its [[scenario.step]]s",
            );
        }
        let mut step_names: Vec<(String, String)> = Vec::new(); // name, location
        let mut plans = Vec::new();
        // [vars] and --var: the only names every scenario sees.
        let globals: HashMap<String, usize> = self
            .vars
            .iter()
            .enumerate()
            .map(|(slot, (name, _))| (name.clone(), slot))
            .collect();
        for scenario in raw {
            let span = scenario.span();
            let scenario = scenario.get_ref();
            self.scenario_slots(&globals, scenario);
            let weight = scenario.weight.unwrap_or(1);
            if weight == 0 {
                self.error(
                    span.clone(),
                    format!("scenario {:?}: weight must be at least 1", scenario.name),
                );
            }
            if scenario.steps.is_empty() {
                self.error(span.clone(), format!("scenario {:?} has no steps", scenario.name));
            }
            let mut visible: HashSet<String> = globals.keys().cloned().collect();
            let mut steps = Vec::new();
            for step in &scenario.steps {
                let plan = self.step(step.get_ref(), step.span(), &mut visible);
                let location = self.location(step.span().start);
                if let Some((_, first)) = step_names.iter().find(|(n, _)| *n == plan.name) {
                    let message = format!(
                        "step name {:?} is already used at {first}; give this step its own `name`",
                        plan.name
                    );
                    self.error(step.span(), message);
                }
                step_names.push((plan.name.clone(), location));
                steps.push(plan);
            }
            plans.push(ScenarioPlan {
                name: scenario.name.clone(),
                weight,
                steps,
            });
        }
        plans
    }

    pub(super) fn step(
        &mut self,
        raw: &RawStep,
        span: Range<usize>,
        visible: &mut HashSet<String>,
    ) -> StepPlan {
        let think_time = raw
            .think_time
            .as_ref()
            .and_then(|t| match duration::parse_range(t.get_ref()) {
                Ok(r) => Some(r),
                Err(e) => {
                    self.error(t.span(), format!("think_time: {e}"));
                    None
                }
            });
        let (name, kind) = match (&raw.request, &raw.grpc, &raw.sleep, &raw.await_event) {
            (None, None, None, Some(poll)) => (
                poll.get_ref().trim().to_string(),
                StepKind::AwaitEvent(Box::new(self.await_step(raw, poll, &span, visible))),
            ),
            (Some(request), None, None, None) => {
                let http = self.http_step(raw, request, visible);
                (
                    request.get_ref().trim().to_string(),
                    StepKind::Http(Box::new(http)),
                )
            }
            (None, Some(method), None, None) => {
                let kind = match self.grpc_step(raw, method, visible) {
                    Some(grpc) => StepKind::Grpc(Box::new(grpc)),
                    None => StepKind::Sleep(Duration::ZERO), // reported; the plan is not run
                };
                (method.get_ref().trim().to_string(), kind)
            }
            (None, None, Some(s), None) => {
                let d = duration::parse_duration(s.get_ref()).unwrap_or_else(|e| {
                    self.error(s.span(), format!("sleep: {e}"));
                    Duration::ZERO
                });
                (format!("sleep {}", s.get_ref()), StepKind::Sleep(d))
            }
            _ => {
                self.error(
                    span.clone(),
                    "a step needs exactly one of `request = \"METHOD URL\"`, \
                     `grpc = \"package.Service/Method\"`, `sleep = \"DURATION\"` or \
                     `await_event = \"GET URL\"`",
                );
                ("invalid".to_string(), StepKind::Sleep(Duration::ZERO))
            }
        };
        if !matches!(kind, StepKind::AwaitEvent(_)) {
            for (field, name) in [
                (&raw.within, "within"),
                (&raw.every, "every"),
                (&raw.latency, "latency"),
            ] {
                if let Some(f) = field {
                    self.error(f.span(), format!("`{name}` belongs to `await_event` steps"));
                }
            }
        }
        if !matches!(kind, StepKind::Grpc(_)) && (raw.message.is_some() || !raw.metadata.is_empty()) {
            let at = raw.message.as_ref().map_or(span.clone(), Spanned::span);
            self.error(at, "`message` and `metadata` belong to gRPC steps");
        }
        StepPlan {
            name: raw.name.clone().unwrap_or(name),
            kind,
            think_time,
            once: raw.once,
        }
    }
}
