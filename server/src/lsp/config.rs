//! Settings: from `initializationOptions` and
//! `workspace/didChangeConfiguration`, either flat or under a `gemmscope`
//! key. Unknown keys are ignored; a key with the wrong type keeps its
//! previous value and is reported.

use serde_json::Value;

/// What the server may do and how it presents results.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// Run benchmarks in the background (off: reference data and the model
    /// only). Needs `trusted` as well.
    pub measure: bool,
    /// The workspace is trusted: only then are benchmarks run or the
    /// configured compiler and Python started.
    pub trusted: bool,
    /// When measuring first starts (trusted, `measure` on) and this CPU has
    /// no stored `gemmscope calibrate` run, run it first: generated kernels
    /// only, about 10 s (docs/model.md, "Self-calibration").
    pub calibrate: bool,
    /// Seconds of measurement for one problem's table.
    pub budget_s: f64,
    /// Only these candidate ids (all when `None`).
    pub candidates: Option<Vec<String>>,
    /// Wall-clock limit per candidate, seconds (the engine's default when `None`).
    pub timeout_s: Option<f64>,
    /// The Python interpreter for the NumPy/PyTorch candidates.
    pub python: Option<String>,
    /// The C compiler for the C candidates.
    pub compiler: Option<String>,
    /// Show inlay hints.
    pub inlay_hints: bool,
    /// Files larger than this are not analysed (logged).
    pub max_file_bytes: usize,
    /// Deeper bracket/indent nesting than this is not analysed (logged).
    pub max_nesting: usize,
    /// An analysis that takes longer is abandoned (logged), milliseconds.
    pub analysis_timeout_ms: u64,
    /// Where the rule docs live: `codeDescription` is `<this>#gs101`.
    pub rules_url: String,
}

/// The rule reference shipped with the sources.
pub const DEFAULT_RULES_URL: &str = "https://example.invalid/gemmscope/blob/main/docs/rules.md";

impl Default for Settings {
    fn default() -> Self {
        Settings {
            measure: true,
            trusted: false,
            calibrate: true,
            budget_s: 5.0,
            candidates: None,
            timeout_s: None,
            python: None,
            compiler: None,
            inlay_hints: true,
            max_file_bytes: 16 * 1024 * 1024,
            max_nesting: 200,
            analysis_timeout_ms: 10_000,
            rules_url: DEFAULT_RULES_URL.into(),
        }
    }
}

impl Settings {
    /// Whether benchmarks may run now, or why not.
    pub fn measurement_allowed(&self) -> Result<(), &'static str> {
        if !self.trusted {
            Err("the workspace is not trusted (set `trusted: true` to allow benchmarks)")
        } else if !self.measure {
            Err("measurement is off (`measure: false`)")
        } else {
            Ok(())
        }
    }

    /// Applies `v` (flat, or under `gemmscope`) on top of these settings;
    /// returns one line per key that was ignored for its type or value.
    pub fn update(&mut self, v: &Value) -> Vec<String> {
        let v = v.get("gemmscope").unwrap_or(v);
        let mut bad = Vec::new();
        let Some(obj) = v.as_object() else {
            if !v.is_null() {
                bad.push("settings are not an object".to_string());
            }
            return bad;
        };
        for (k, x) in obj {
            let ok = match k.as_str() {
                "measure" => set_bool(&mut self.measure, x),
                "trusted" => set_bool(&mut self.trusted, x),
                "calibrate" => set_bool(&mut self.calibrate, x),
                "inlayHints" => set_bool(&mut self.inlay_hints, x),
                "budget" => set_pos(&mut self.budget_s, x),
                "timeout" => match x {
                    Value::Null => {
                        self.timeout_s = None;
                        true
                    }
                    _ => {
                        let mut t = 0.0;
                        set_pos(&mut t, x) && {
                            self.timeout_s = Some(t);
                            true
                        }
                    }
                },
                "candidates" => match x {
                    Value::Null => {
                        self.candidates = None;
                        true
                    }
                    Value::Array(a) if a.iter().all(Value::is_string) => {
                        self.candidates = Some(
                            a.iter()
                                .filter_map(|s| s.as_str().map(String::from))
                                .collect(),
                        );
                        true
                    }
                    _ => false,
                },
                "thresholds" => {
                    bad.push(
                        "`thresholds` is no longer read: levels come from gemmscope.toml \
                         (`severity`, `min-speedup`), as in `gemmscope check`"
                            .to_string(),
                    );
                    true
                }
                "python" => set_path(&mut self.python, x),
                "compiler" => set_path(&mut self.compiler, x),
                "maxFileBytes" => set_usize(&mut self.max_file_bytes, x),
                "maxNesting" => set_usize(&mut self.max_nesting, x),
                "analysisTimeoutMs" => match x.as_u64().filter(|n| *n > 0) {
                    Some(n) => {
                        self.analysis_timeout_ms = n;
                        true
                    }
                    None => false,
                },
                "rulesUrl" => match x.as_str() {
                    Some(s) if !s.is_empty() => {
                        self.rules_url = s.trim_end_matches('/').to_string();
                        true
                    }
                    _ => false,
                },
                _ => true,
            };
            if !ok {
                bad.push(format!("setting `{k}` ignored: unexpected value {x}"));
            }
        }
        bad
    }
}

fn set_bool(t: &mut bool, v: &Value) -> bool {
    v.as_bool().map(|b| *t = b).is_some()
}

fn set_pos(t: &mut f64, v: &Value) -> bool {
    match v.as_f64() {
        Some(x) if x.is_finite() && x > 0.0 => {
            *t = x;
            true
        }
        _ => false,
    }
}

fn set_usize(t: &mut usize, v: &Value) -> bool {
    match v.as_u64() {
        Some(x) if x > 0 => {
            *t = x as usize;
            true
        }
        _ => false,
    }
}

fn set_path(t: &mut Option<String>, v: &Value) -> bool {
    match v {
        Value::Null => {
            *t = None;
            true
        }
        Value::String(s) if s.trim().is_empty() => {
            *t = None;
            true
        }
        Value::String(s) => {
            *t = Some(s.trim().to_string());
            true
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn nested_or_flat_with_bad_keys_reported() {
        let mut s = Settings::default();
        assert!(s.measurement_allowed().is_err());
        let bad = s.update(&json!({"gemmscope": {
            "trusted": true, "budget": 0.2, "candidates": ["c-naive-O1"],
            "thresholds": {"warning": 50, "info": 3}, "python": "/usr/bin/python3",
            "inlayHints": "yes", "unknown": 1, "calibrate": false
        }}));
        assert_eq!(bad.len(), 2, "{bad:?}");
        assert!(bad.iter().any(|b| b.contains("inlayHints")));
        assert!(bad.iter().any(|b| b.contains("min-speedup")));
        assert!(s.trusted && s.inlay_hints && !s.calibrate);
        assert!(Settings::default().calibrate, "on by default");
        assert_eq!(s.budget_s, 0.2);
        assert_eq!(
            s.candidates.as_deref(),
            Some(&["c-naive-O1".to_string()][..])
        );
        assert_eq!(s.python.as_deref(), Some("/usr/bin/python3"));
        assert!(s.measurement_allowed().is_ok());
        let bad = s.update(&json!({"measure": false, "budget": -1, "python": ""}));
        assert_eq!(bad.len(), 1);
        assert_eq!(s.budget_s, 0.2);
        assert_eq!(s.python, None);
        assert!(s.measurement_allowed().unwrap_err().contains("off"));
    }
}
