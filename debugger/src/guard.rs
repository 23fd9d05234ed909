//! What decides whether a breakpoint that matches stops: its condition (an Adama boolean
//! expression), its hit count, and whether it only logs (a logpoint).

use serde_json::Value as Json;

use crate::code::Local;
use crate::tree::preview;
use crate::watch::Watcher;

/// How many hits a breakpoint lets pass before it stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HitCondition {
    /// From the Nth hit on (`N` or `>= N`).
    AtLeast(usize),
    /// Only the Nth hit (`== N`).
    Exactly(usize),
    /// After the Nth hit (`> N`).
    After(usize),
    /// Every Nth hit (`% N`).
    Every(usize),
}

impl HitCondition {
    /// Reads `5`, `>= 5`, `== 5`, `> 5` or `% 5`.
    pub fn parse(text: &str) -> Result<HitCondition, String> {
        let text = text.trim();
        let (make, number): (fn(usize) -> HitCondition, &str) =
            if let Some(rest) = text.strip_prefix(">=") {
                (HitCondition::AtLeast, rest)
            } else if let Some(rest) = text.strip_prefix("==") {
                (HitCondition::Exactly, rest)
            } else if let Some(rest) = text.strip_prefix('>') {
                (HitCondition::After, rest)
            } else if let Some(rest) = text.strip_prefix('%') {
                (HitCondition::Every, rest)
            } else {
                (HitCondition::AtLeast, text)
            };
        match number.trim().parse::<usize>() {
            Ok(count) if count >= 1 => Ok(make(count)),
            _ => Err(format!(
                "hit count `{text}`: write N (from the Nth hit on), `== N`, `> N` or `% N`, with N from 1"
            )),
        }
    }

    fn allows(self, hits: usize) -> bool {
        match self {
            HitCondition::AtLeast(count) => hits >= count,
            HitCondition::Exactly(count) => hits == count,
            HitCondition::After(count) => hits > count,
            HitCondition::Every(count) => hits.is_multiple_of(count),
        }
    }
}

/// A breakpoint's condition, hit count and log message, with the hits counted so far.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Guard {
    pub condition: Option<String>,
    pub hit: Option<HitCondition>,
    /// A logpoint's message: `{expression}` parts are evaluated; the breakpoint never stops.
    pub log: Option<String>,
    pub hits: usize,
}

/// What a matching breakpoint does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Runs on.
    Pass,
    /// Stops, with a note when the condition could not be evaluated.
    Stop(Option<String>),
    /// Prints the message and runs on.
    Log(String),
}

impl Guard {
    /// Reads the DAP fields `condition`, `hitCondition` and `logMessage` of a breakpoint.
    pub fn from_dap(entry: &Json) -> Result<Guard, String> {
        let text = |key: &str| {
            entry
                .get(key)
                .and_then(Json::as_str)
                .map(str::trim)
                .filter(|text| !text.is_empty())
                .map(str::to_owned)
        };
        Ok(Guard {
            condition: text("condition"),
            hit: text("hitCondition")
                .map(|hit| HitCondition::parse(&hit))
                .transpose()?,
            log: text("logMessage"),
            hits: 0,
        })
    }

    /// Checks the breakpoint on the stored document `state`. A condition that cannot be
    /// evaluated stops, so that the developer sees why.
    pub fn check(
        &mut self,
        watcher: Option<&mut Watcher>,
        state: &Json,
        locals: &[Local],
    ) -> Verdict {
        let mut watcher = watcher;
        if let Some(condition) = &self.condition {
            let Some(watcher) = watcher.as_deref_mut() else {
                return Verdict::Stop(Some(
                    "the condition is not checked: the program's source is not loaded".to_owned(),
                ));
            };
            match watcher.condition(condition, state, locals) {
                Ok(true) => {}
                Ok(false) => return Verdict::Pass,
                Err(error) => return Verdict::Stop(Some(error)),
            }
        }
        self.hits += 1;
        if let Some(hit) = self.hit
            && !hit.allows(self.hits)
        {
            return Verdict::Pass;
        }
        match &self.log {
            Some(message) => Verdict::Log(interpolate(message, watcher, state, locals)),
            None => Verdict::Stop(None),
        }
    }
}

/// A logpoint's message with each `{expression}` replaced by its value.
fn interpolate(
    message: &str,
    watcher: Option<&mut Watcher>,
    state: &Json,
    locals: &[Local],
) -> String {
    let Some(watcher) = watcher else {
        return message.to_owned();
    };
    let mut out = String::new();
    let mut rest = message;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let Some(close) = rest[open..].find('}') else {
            out.push_str(&rest[open..]);
            return out;
        };
        let expression = &rest[open + 1..open + close];
        let read = match local_path(locals, expression) {
            Some(value) => Ok(value),
            None => watcher
                .evaluate_with(expression, state, locals)
                .map(|evaluated| evaluated.value),
        };
        match read {
            Ok(value) => out.push_str(&preview(&value)),
            Err(error) => out.push_str(&format!("<{error}>")),
        }
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    out
}

/// A local, or a field path from one (`b.by`); `None` when the expression is anything else.
pub fn local_path(locals: &[Local], expression: &str) -> Option<Json> {
    let mut parts = expression.trim().split('.').map(str::trim);
    let head = parts.next()?;
    let mut value = &locals.iter().find(|local| local.name == head)?.value;
    for part in parts {
        if part.is_empty() || !part.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return None;
        }
        value = value.get(part)?;
    }
    Some(value.clone())
}
