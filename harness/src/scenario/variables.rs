//! Variables while a scenario is validated: the slot each name has (`[vars]` shared, each
//! scenario its own for every name it extracts) and how a step's templates resolve names to
//! slots, feeder columns and the environment.

use std::collections::{HashMap, HashSet};

use super::Env;
use super::file;
use super::plan;
use super::template::Resolver;
use super::validate::Validator;

/// Resolves names against the variables visible at one step.
pub(super) struct StepScope<'v> {
    pub(super) feeders: &'v [plan::Feeder],
    /// The slot of each name in this step's scenario.
    pub(super) slots: &'v HashMap<String, usize>,
    pub(super) visible: &'v HashSet<String>,
    pub(super) env: Env<'v>,
}

impl Resolver for StepScope<'_> {
    fn var(&mut self, name: &str) -> Result<usize, String> {
        if self.visible.contains(name)
            && let Some(&slot) = self.slots.get(name)
        {
            return Ok(slot);
        }
        let mut known: Vec<&str> = self.visible.iter().map(String::as_str).collect();
        known.sort_unstable();
        Err(format!(
            "undefined variable {name:?} (defined at this point: {}; built-ins: uuid, user, iteration, random(A,B), env.NAME)",
            if known.is_empty() {
                "none".to_string()
            } else {
                known.join(", ")
            }
        ))
    }

    fn env(&self, name: &str) -> Result<String, String> {
        (self.env)(name).ok_or_else(|| format!("environment variable {name} is not set"))
    }

    fn feed(&mut self, name: &str) -> Option<Result<(usize, usize), String>> {
        let (feeder_name, column) = name.split_once('.')?;
        let feeder = self.feeders.iter().position(|f| f.name == feeder_name)?;
        let columns = &self.feeders[feeder].columns;
        Some(
            columns
                .iter()
                .position(|c| c == column)
                .map(|c| (feeder, c))
                .ok_or_else(|| {
                    format!(
                        "data {feeder_name:?} has no column {column:?} (columns: {})",
                        columns.join(", ")
                    )
                }),
        )
    }
}

impl Validator<'_> {
    /// The variable slot an `extract` writes to: the scenario's own slot of that name, made
    /// by [`Validator::scenario_slots`] before its steps.
    pub(super) fn extracted_slot(&mut self, name: &str) -> usize {
        match self.slots.get(name) {
            Some(&slot) => slot,
            None => self.new_slot(name, String::new()),
        }
    }

    fn new_slot(&mut self, name: &str, initial: String) -> usize {
        self.vars.push((name.to_string(), initial));
        let slot = self.vars.len() - 1;
        self.slots.insert(name.to_string(), slot);
        slot
    }

    /// Points [`Validator::slots`] at one scenario: the shared `[vars]` (`globals`), and a new
    /// slot for each name the scenario extracts anywhere — starting from the `[vars]` value of
    /// that name, if any — so every step of the scenario, before or after the extract, reads
    /// the scenario's own value.
    pub(super) fn scenario_slots(&mut self, globals: &HashMap<String, usize>, scenario: &file::RawScenario) {
        self.slots = globals.clone();
        let mut extracted: Vec<&String> = scenario
            .steps
            .iter()
            .flat_map(|step| step.get_ref().extract.keys())
            .collect();
        extracted.sort_unstable();
        extracted.dedup();
        for name in extracted {
            let initial = globals
                .get(name)
                .map(|&g| self.vars[g].1.clone())
                .unwrap_or_default();
            self.new_slot(name, initial);
        }
    }
}
