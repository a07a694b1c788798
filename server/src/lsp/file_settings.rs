//! Which `gemmscope.toml` / `[tool.gemmscope]` applies to a document: found
//! walking up from the file as `gemmscope check` finds it (the nearest one
//! applies), loaded once and kept until a configuration file changes on
//! disk. Unsaved documents and files outside any configuration get the
//! defaults; a file the configuration excludes gets no findings.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::{Configs, Overrides, Settings};

/// Whether a changed file is a configuration file (its change reloads all).
pub fn is_config_file(path: &Path) -> bool {
    matches!(
        path.file_name().and_then(|n| n.to_str()),
        Some("gemmscope.toml" | "pyproject.toml")
    )
}

/// The loaded configuration files and the settings made from each.
pub struct ConfigCache {
    configs: Configs,
    by_config: HashMap<Option<PathBuf>, Arc<Settings>>,
}

impl Default for ConfigCache {
    fn default() -> Self {
        ConfigCache::new()
    }
}

impl ConfigCache {
    pub fn new() -> ConfigCache {
        ConfigCache {
            configs: Configs::new(Overrides::default())
                .expect("no configuration file named on a command line"),
            by_config: HashMap::new(),
        }
    }

    /// Forgets every loaded file (one changed on disk).
    pub fn reset(&mut self) {
        *self = ConfigCache::new();
    }

    /// The settings for the document at `path`, and an error to log where
    /// its configuration file is broken (the defaults apply then).
    pub fn for_file(&mut self, path: &str, on_disk: bool) -> (Arc<Settings>, Option<String>) {
        if !on_disk {
            return (self.defaults(), None);
        }
        let file = Path::new(path);
        let loaded = match self.configs.for_file(file) {
            Ok(l) => l,
            Err(e) => return (self.defaults(), Some(e)),
        };
        if loaded.as_ref().is_some_and(|l| Configs::excluded(l, file)) {
            let mut s = (*self.settings(loaded.as_deref())).clone();
            s.select.clear();
            return (Arc::new(s), None);
        }
        (self.settings(loaded.as_deref()), None)
    }

    fn defaults(&mut self) -> Arc<Settings> {
        self.settings(None)
    }

    fn settings(&mut self, loaded: Option<&crate::config::Loaded>) -> Arc<Settings> {
        let key = loaded.map(|l| l.path.clone());
        let configs = &self.configs;
        self.by_config
            .entry(key)
            .or_insert_with(|| Arc::new(configs.settings(loaded)))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_configuration_applies_and_a_broken_one_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        std::fs::write(dir.path().join("gemmscope.toml"), "ignore = [\"GS101\"]\n").unwrap();
        let mut c = ConfigCache::new();
        let a = sub.join("a.c");
        let (s, err) = c.for_file(&a.to_string_lossy(), true);
        assert!(err.is_none());
        assert!(!s.selected("GS101") && s.selected("GS201"));
        let (s, _) = c.for_file("untitled:a.c", false);
        assert!(s.selected("GS101"));
        std::fs::write(sub.join("gemmscope.toml"), "no-such-key = 1\n").unwrap();
        c.reset();
        let (s, err) = c.for_file(&a.to_string_lossy(), true);
        assert!(err.unwrap().contains("no-such-key"));
        assert!(s.selected("GS101"), "defaults apply");
        assert!(is_config_file(Path::new("/x/pyproject.toml")));
        assert!(!is_config_file(Path::new("/x/a.c")));
    }
}
