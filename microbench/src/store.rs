//! The result store: an embedded SQLite database of measured rows, keyed by
//! machine fingerprint, problem and candidate, so that the editor and a
//! `check` run answer from earlier measurements.
//!
//! Location: `$GEMMSCOPE_CACHE_DIR/results.sqlite3`, else
//! `$XDG_CACHE_HOME/gemmscope/results.sqlite3`, else
//! `~/.cache/gemmscope/results.sqlite3`.
//!
//! Concurrency: WAL journal and a busy timeout, so the server and a CLI run
//! may read and write at once; every write is an immediate transaction.
//! Integrity: `PRAGMA quick_check` on open; a file that is not a database or
//! fails the check is moved aside to `results.sqlite3.corrupt-<unix time>`
//! and a fresh one is built, with a warning for the caller.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{params, Connection, ErrorCode, OptionalExtension, TransactionBehavior};

use crate::engine::ResultCache;
use crate::fingerprint::Machine;
use crate::problem::Problem;
use crate::report::Row;

/// The schema this build writes (`PRAGMA user_version`).
pub const SCHEMA_VERSION: i64 = 1;
/// The database's file name inside the cache directory.
pub const FILE_NAME: &str = "results.sqlite3";
/// How long a writer waits for another one before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Migrations: `MIGRATIONS[v]` takes the schema from version `v` to `v + 1`.
const MIGRATIONS: &[&str] = &["
    CREATE TABLE IF NOT EXISTS machines (
        id TEXT PRIMARY KEY NOT NULL,
        json TEXT NOT NULL,
        first_seen INTEGER NOT NULL,
        last_seen INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS results (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        machine TEXT NOT NULL,
        problem TEXT NOT NULL,
        candidate TEXT NOT NULL,
        row TEXT NOT NULL,
        measured_at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS results_key
        ON results (machine, problem, candidate, measured_at);
"];

/// The `gemmscope calibrate` table, created by the first calibration: an
/// added table, not a schema version, so that an older gemmscope still
/// opens a store that has one.
const CALIBRATIONS: &str = "
    CREATE TABLE IF NOT EXISTS calibrations (
        cpu_key TEXT PRIMARY KEY NOT NULL,
        machine TEXT NOT NULL,
        json TEXT NOT NULL,
        at INTEGER NOT NULL
    );
";

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// The canonical JSON of a problem (object keys sorted, no spaces): the
/// store's problem key.
pub fn problem_key(p: &Problem) -> String {
    let v = serde_json::to_value(p).unwrap_or(serde_json::Value::Null);
    let mut s = String::new();
    canonical(&v, &mut s);
    s
}

fn canonical(v: &serde_json::Value, out: &mut String) {
    match v {
        serde_json::Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&serde_json::Value::String(k.clone()).to_string());
                out.push(':');
                canonical(&m[k], out);
            }
            out.push('}');
        }
        serde_json::Value::Array(a) => {
            out.push('[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// Where the store lives, from the environment as `get` reads it:
/// `$GEMMSCOPE_CACHE_DIR/results.sqlite3`, else
/// `$XDG_CACHE_HOME/gemmscope/results.sqlite3` (an absolute path, per the
/// XDG spec), else `$HOME/.cache/gemmscope/results.sqlite3`; `None` when
/// none is set.
pub fn resolve_path(get: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let set = |k: &str| get(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(d) = set("GEMMSCOPE_CACHE_DIR") {
        return Some(d.join(FILE_NAME));
    }
    if let Some(d) = set("XDG_CACHE_HOME").filter(|d| d.is_absolute()) {
        return Some(d.join("gemmscope").join(FILE_NAME));
    }
    set("HOME").map(|h| h.join(".cache").join("gemmscope").join(FILE_NAME))
}

/// [`resolve_path`] over this process's environment.
pub fn default_path() -> Option<PathBuf> {
    resolve_path(|k| std::env::var_os(k))
}

/// The result store. One SQLite connection behind a mutex (so the store is
/// `Send + Sync`); open one `Store` per process or thread that writes.
pub struct Store {
    conn: Mutex<Connection>,
    path: PathBuf,
}

/// Whether an error means the file itself is bad (rather than busy, locked
/// or unreadable).
fn is_corruption(e: &rusqlite::Error) -> bool {
    matches!(
        e.sqlite_error_code(),
        Some(ErrorCode::NotADatabase) | Some(ErrorCode::DatabaseCorrupt)
    )
}

enum Check {
    Ok(Connection),
    Corrupt(String),
}

fn file_identity(path: &Path) -> Option<(u64, u64)> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        std::fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
    }
    #[cfg(not(unix))]
    {
        std::fs::metadata(path).ok().map(|m| (m.len(), 0))
    }
}

/// Opens `path` and checks it; a corrupt file is reported, other errors
/// (permissions, a lock held too long) are returned.
fn open_checked(path: &Path) -> Result<Check, String> {
    let conn = Connection::open(path)
        .map_err(|e| format!("cannot open the result store {}: {e}", path.display()))?;
    conn.busy_timeout(BUSY_TIMEOUT)
        .map_err(|e| format!("cannot configure the result store: {e}"))?;
    let check: Result<Vec<String>, rusqlite::Error> = (|| {
        let mut st = conn.prepare("PRAGMA quick_check")?;
        let rows = st.query_map([], |r| r.get::<_, String>(0))?;
        rows.collect()
    })();
    match check {
        Ok(lines) if lines.len() == 1 && lines[0] == "ok" => {}
        Ok(lines) => {
            let mut msg = lines.into_iter().take(3).collect::<Vec<_>>().join("; ");
            if msg.is_empty() {
                msg = "quick_check returned nothing".into();
            }
            return Ok(Check::Corrupt(msg));
        }
        Err(e) if is_corruption(&e) => return Ok(Check::Corrupt(e.to_string())),
        Err(e) => {
            return Err(format!(
                "cannot check the result store {}: {e}",
                path.display()
            ))
        }
    }
    // Switching to WAL takes an exclusive lock without calling the busy
    // handler, so a second process opening the store at the same moment gets
    // SQLITE_BUSY at once: it is retried for as long as the busy timeout.
    let started = std::time::Instant::now();
    let setup = loop {
        let r = conn
            .pragma_update(None, "journal_mode", "WAL")
            .and_then(|_| conn.pragma_update(None, "synchronous", "NORMAL"));
        match r {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if matches!(
                    e.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && started.elapsed() < BUSY_TIMEOUT =>
            {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => break other,
        }
    };
    match setup {
        Ok(()) => Ok(Check::Ok(conn)),
        Err(e) if is_corruption(&e) => Ok(Check::Corrupt(e.to_string())),
        Err(e) => Err(format!(
            "cannot set up the result store {}: {e}",
            path.display()
        )),
    }
}

/// Brings the schema to [`SCHEMA_VERSION`] in one immediate transaction
/// (re-reading the version inside it, so two processes migrating at once do
/// it once).
fn migrate(conn: &mut Connection) -> Result<(), rusqlite::Error> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let v: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if v > SCHEMA_VERSION {
        return Err(rusqlite::Error::InvalidParameterName(format!(
            "schema version {v} is newer than this gemmscope's ({SCHEMA_VERSION})"
        )));
    }
    for m in &MIGRATIONS[v.max(0) as usize..] {
        tx.execute_batch(m)?;
    }
    if v != SCHEMA_VERSION {
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    }
    tx.commit()
}

/// Moves `path` (and its `-wal`, `-shm` sidecars) aside to
/// `<path>.corrupt-<unix time>`; returns the new name.
fn move_aside(path: &Path) -> Result<PathBuf, String> {
    let stamp = now();
    let mut target = PathBuf::from(format!("{}.corrupt-{stamp}", path.display()));
    let mut n = 1;
    while target.exists() {
        target = PathBuf::from(format!("{}.corrupt-{stamp}-{n}", path.display()));
        n += 1;
    }
    std::fs::rename(path, &target).map_err(|e| {
        format!(
            "the result store {} is damaged and cannot be moved aside: {e}",
            path.display()
        )
    })?;
    for side in ["-wal", "-shm"] {
        let p = PathBuf::from(format!("{}{side}", path.display()));
        if p.exists() {
            let _ = std::fs::rename(&p, format!("{}{side}", target.display()));
        }
    }
    Ok(target)
}

impl Store {
    /// Opens (creating) the store at `path`, creating its directory. Returns
    /// warnings for the caller to show (a damaged file moved aside). Errors
    /// when the file cannot be opened at all or has a newer schema.
    pub fn open(path: &Path) -> Result<(Store, Vec<String>), String> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir)
                .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        }
        let mut warnings = Vec::new();
        for _ in 0..3 {
            let before = file_identity(path);
            let mut conn = match open_checked(path)? {
                Check::Ok(c) => c,
                Check::Corrupt(why) => {
                    // Only move the file we checked: another process may have
                    // replaced it meanwhile.
                    if before.is_some() && file_identity(path) == before {
                        let to = move_aside(path)?;
                        warnings.push(format!(
                            "the result store {} was damaged ({why}); moved it to {} and \
                             started a new one",
                            path.display(),
                            to.display()
                        ));
                    }
                    continue;
                }
            };
            match migrate(&mut conn) {
                Ok(()) => {
                    return Ok((
                        Store {
                            conn: Mutex::new(conn),
                            path: path.to_path_buf(),
                        },
                        warnings,
                    ))
                }
                Err(e) if is_corruption(&e) => {
                    drop(conn);
                    if file_identity(path).is_some() {
                        let to = move_aside(path)?;
                        warnings.push(format!(
                            "the result store {} was damaged ({e}); moved it to {} and \
                             started a new one",
                            path.display(),
                            to.display()
                        ));
                    }
                }
                Err(e) => {
                    return Err(format!(
                        "cannot prepare the result store {}: {e}",
                        path.display()
                    ))
                }
            }
        }
        Err(format!(
            "the result store {} stays damaged after being rebuilt",
            path.display()
        ))
    }

    /// Opens the store at [`default_path`].
    pub fn open_default() -> Result<(Store, Vec<String>), String> {
        let p = default_path().ok_or_else(|| {
            "no cache directory: set GEMMSCOPE_CACHE_DIR, XDG_CACHE_HOME or HOME".to_string()
        })?;
        Store::open(&p)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn conn(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Records (or refreshes) a machine's fingerprint.
    pub fn put_machine(&self, m: &Machine) -> Result<(), String> {
        let json = serde_json::to_string(m).map_err(|e| e.to_string())?;
        let t = now() as i64;
        let mut c = self.conn();
        let tx = c
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| e.to_string())?;
        tx.execute(
            "INSERT INTO machines (id, json, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3)
             ON CONFLICT(id) DO UPDATE SET json = excluded.json, last_seen = excluded.last_seen",
            params![m.id(), json, t],
        )
        .map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())
    }

    /// A machine recorded earlier.
    pub fn machine(&self, id: &str) -> Result<Option<Machine>, String> {
        let json: Option<String> = self
            .conn()
            .query_row("SELECT json FROM machines WHERE id = ?1", [id], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| e.to_string())?;
        json.map(|j| serde_json::from_str(&j).map_err(|e| e.to_string()))
            .transpose()
    }

    /// Inserts a row measured on `machine` for `p` (older rows stay).
    pub fn try_put(&self, machine: &str, p: &Problem, row: &Row) -> Result<(), String> {
        let json = serde_json::to_string(row).map_err(|e| e.to_string())?;
        let at = row
            .provenance
            .as_ref()
            .map_or_else(now, |pr| pr.measured_at) as i64;
        let mut c = self.conn();
        let tx = c
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| e.to_string())?;
        tx.execute(
            "INSERT INTO results (machine, problem, candidate, row, measured_at)
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![machine, problem_key(p), row.id, json, at],
        )
        .map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())
    }

    /// The newest row for (machine, problem, candidate).
    pub fn try_get(
        &self,
        machine: &str,
        p: &Problem,
        candidate: &str,
    ) -> Result<Option<Row>, String> {
        let json: Option<String> = self
            .conn()
            .query_row(
                "SELECT row FROM results WHERE machine = ?1 AND problem = ?2 AND candidate = ?3
                 ORDER BY measured_at DESC, seq DESC LIMIT 1",
                params![machine, problem_key(p), candidate],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| e.to_string())?;
        json.map(|j| serde_json::from_str(&j).map_err(|e| e.to_string()))
            .transpose()
    }

    /// The newest row of every candidate measured for (machine, problem), by
    /// candidate id.
    pub fn latest_rows(&self, machine: &str, p: &Problem) -> Result<Vec<Row>, String> {
        let c = self.conn();
        let mut st = c
            .prepare(
                "SELECT row FROM results AS r WHERE machine = ?1 AND problem = ?2
                 AND seq = (SELECT seq FROM results WHERE machine = r.machine
                            AND problem = r.problem AND candidate = r.candidate
                            ORDER BY measured_at DESC, seq DESC LIMIT 1)
                 ORDER BY candidate",
            )
            .map_err(|e| e.to_string())?;
        let rows = st
            .query_map(params![machine, problem_key(p)], |r| r.get::<_, String>(0))
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for j in rows {
            let j = j.map_err(|e| e.to_string())?;
            out.push(serde_json::from_str(&j).map_err(|e| e.to_string())?);
        }
        Ok(out)
    }

    /// The newest row of every (problem, candidate) measured on `machine`,
    /// with its problem: what the performance model fits on. Rows whose
    /// problem or row JSON no longer parses are skipped.
    pub fn machine_results(&self, machine: &str) -> Result<Vec<(Problem, Row)>, String> {
        let c = self.conn();
        let mut st = c
            .prepare(
                "SELECT problem, row FROM results AS r WHERE machine = ?1
                 AND seq = (SELECT seq FROM results WHERE machine = r.machine
                            AND problem = r.problem AND candidate = r.candidate
                            ORDER BY measured_at DESC, seq DESC LIMIT 1)
                 ORDER BY candidate, seq",
            )
            .map_err(|e| e.to_string())?;
        let rows = st
            .query_map(params![machine], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
            })
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for pr in rows {
            let (p, j) = pr.map_err(|e| e.to_string())?;
            if let (Ok(p), Ok(r)) = (serde_json::from_str(&p), serde_json::from_str(&j)) {
                out.push((p, r));
            }
        }
        Ok(out)
    }

    /// Records a `gemmscope calibrate` run (replacing this CPU's earlier
    /// one); its rows are also stored as results by the engine.
    pub fn put_calibration(&self, c: &crate::calibrate::Calibration) -> Result<(), String> {
        let json = serde_json::to_string(c).map_err(|e| e.to_string())?;
        let mut conn = self.conn();
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| e.to_string())?;
        tx.execute_batch(CALIBRATIONS).map_err(|e| e.to_string())?;
        tx.execute(
            "INSERT INTO calibrations (cpu_key, machine, json, at) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(cpu_key) DO UPDATE SET machine = excluded.machine,
                 json = excluded.json, at = excluded.at",
            params![c.cpu_key, c.machine, json, c.at as i64],
        )
        .map_err(|e| e.to_string())?;
        tx.commit().map_err(|e| e.to_string())
    }

    /// Number of stored result rows (all machines).
    pub fn count(&self) -> Result<u64, String> {
        self.conn()
            .query_row("SELECT COUNT(*) FROM results", [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .map_err(|e| e.to_string())
    }
}

impl ResultCache for Store {
    /// The newest row; `None` (with a note on stderr) when the store cannot
    /// be read.
    fn get(&self, machine: &str, problem: &Problem, candidate: &str) -> Option<Row> {
        self.try_get(machine, problem, candidate)
            .unwrap_or_else(|e| {
                eprintln!("gemmscope: result store read failed: {e}");
                None
            })
    }

    /// Inserts; a failure is noted on stderr (the measurement still stands).
    fn put(&self, machine: &str, problem: &Problem, row: &Row) {
        if let Err(e) = self.try_put(machine, problem, row) {
            eprintln!("gemmscope: result store write failed: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::candidates::Backend;
    use crate::problem::DType;
    use crate::report::{Provenance, Status};

    fn row(id: &str, at: u64, secs: f64) -> Row {
        let mut r = Row::not_ok(
            id,
            format!("{id} label"),
            Backend::Cpu,
            "f32".into(),
            Status::Ok,
            String::new(),
        );
        r.seconds_per_call = Some(secs);
        r.gflops = Some(1.0 / secs);
        r.provenance = Some(Provenance {
            how: "measured".into(),
            machine: "m1".into(),
            what: "gcc -O1".into(),
            repeats: 5,
            spread: 0.01,
            sampled: None,
            measured_at: at,
        });
        r
    }

    #[test]
    fn round_trip_and_newest_wins() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("sub").join(FILE_NAME);
        let (s, w) = Store::open(&path).unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert!(path.exists());
        let p = Problem::gemm(48, 40, 56, DType::F32);
        let q = Problem::gemm(48, 40, 57, DType::F32);
        assert_eq!(s.get("m1", &p, "c-naive-O1"), None);
        let r1 = row("c-naive-O1", 1000, 0.5);
        s.put("m1", &p, &r1);
        assert_eq!(s.get("m1", &p, "c-naive-O1"), Some(r1.clone()));
        assert_eq!(s.get("m2", &p, "c-naive-O1"), None);
        assert_eq!(s.get("m1", &q, "c-naive-O1"), None);
        assert_eq!(s.get("m1", &p, "other"), None);
        // Newer measurement wins; an older one inserted later does not.
        let r2 = row("c-naive-O1", 2000, 0.25);
        s.put("m1", &p, &r2);
        s.put("m1", &p, &row("c-naive-O1", 1500, 9.0));
        assert_eq!(s.get("m1", &p, "c-naive-O1"), Some(r2.clone()));
        // Same second: the later insert wins.
        let r3 = row("c-naive-O1", 2000, 0.125);
        s.put("m1", &p, &r3);
        assert_eq!(s.get("m1", &p, "c-naive-O1"), Some(r3.clone()));
        s.put("m1", &p, &row("openblas", 10, 0.01));
        let latest = s.latest_rows("m1", &p).unwrap();
        assert_eq!(latest.len(), 2);
        assert_eq!(latest[0], r3);
        assert_eq!(latest[1].id, "openblas");
        assert_eq!(s.count().unwrap(), 5);
        let all = s.machine_results("m1").unwrap();
        assert_eq!(all.len(), 2, "{all:?}");
        assert_eq!(all[0], (p.clone(), r3.clone()));
        assert_eq!(all[1].1.id, "openblas");
        assert!(s.machine_results("m2").unwrap().is_empty());
        drop(s);
        // Persisted, and the schema version is set.
        let (s, w) = Store::open(&path).unwrap();
        assert!(w.is_empty());
        assert_eq!(s.get("m1", &p, "c-naive-O1"), Some(r3));
        let v: i64 = s
            .conn()
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(v, SCHEMA_VERSION);
        let mode: String = s
            .conn()
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[test]
    fn store_can_be_shared_with_the_engine() {
        fn assert_send_sync<T: Send + Sync + 'static>() {}
        assert_send_sync::<Store>();
        let d = tempfile::tempdir().unwrap();
        let (s, _) = Store::open(&d.path().join(FILE_NAME)).unwrap();
        let boxed: Box<dyn ResultCache + Send + Sync> = Box::new(s);
        let p = Problem::gemm(2, 3, 4, DType::F64);
        boxed.put("m", &p, &row("x", 5, 1.0));
        assert_eq!(boxed.get("m", &p, "x"), Some(row("x", 5, 1.0)));
    }

    #[test]
    fn machines_round_trip() {
        let d = tempfile::tempdir().unwrap();
        let (s, _) = Store::open(&d.path().join(FILE_NAME)).unwrap();
        let mut m = Machine::default();
        m.cpu.model = Some("Test CPU".into());
        s.put_machine(&m).unwrap();
        s.put_machine(&m).unwrap();
        assert_eq!(s.machine(&m.id()).unwrap(), Some(m));
        assert_eq!(s.machine("nope").unwrap(), None);
    }

    #[test]
    fn problem_key_is_canonical() {
        let p = Problem::gemm(1, 2, 3, DType::Bf16);
        let k = problem_key(&p);
        assert!(k.starts_with("{\"batch\":1,\"dtype\":\"bf16\""), "{k}");
        assert!(!k.contains(' '));
        assert_eq!(k, problem_key(&p.clone()));
        let mut q = p.clone();
        q.layout.trans_b = true;
        assert_ne!(problem_key(&q), k);
    }

    #[test]
    fn location_logic() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| OsString::from(*v))
            }
        };
        assert_eq!(
            resolve_path(env(&[
                ("GEMMSCOPE_CACHE_DIR", "/c"),
                ("XDG_CACHE_HOME", "/x"),
                ("HOME", "/h")
            ])),
            Some(PathBuf::from("/c/results.sqlite3"))
        );
        assert_eq!(
            resolve_path(env(&[
                ("GEMMSCOPE_CACHE_DIR", ""),
                ("XDG_CACHE_HOME", "/x"),
                ("HOME", "/h")
            ])),
            Some(PathBuf::from("/x/gemmscope/results.sqlite3"))
        );
        assert_eq!(
            resolve_path(env(&[("XDG_CACHE_HOME", "relative"), ("HOME", "/h")])),
            Some(PathBuf::from("/h/.cache/gemmscope/results.sqlite3"))
        );
        assert_eq!(resolve_path(env(&[])), None);
    }

    const WRITES: usize = 200;

    fn write_many(path: &Path, machine: &str) {
        let (s, _) = Store::open(path).unwrap();
        let p = Problem::gemm(64, 64, 64, DType::F32);
        for i in 0..WRITES {
            s.try_put(machine, &p, &row(&format!("cand-{i}"), i as u64, 0.1))
                .unwrap();
            if i % 50 == 0 {
                assert!(s.try_get(machine, &p, "cand-0").unwrap().is_some());
            }
        }
    }

    /// Runs in a child process spawned by `concurrent_writers_lose_nothing`.
    #[test]
    fn child_writer() {
        if let (Some(path), Some(machine)) = (
            std::env::var_os("GEMMSCOPE_STORE_TEST_PATH"),
            std::env::var_os("GEMMSCOPE_STORE_TEST_MACHINE"),
        ) {
            write_many(Path::new(&path), &machine.to_string_lossy());
        }
    }

    #[test]
    fn concurrent_writers_lose_nothing() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join(FILE_NAME);
        let exe = std::env::current_exe().unwrap();
        let procs: Vec<_> = (0..2)
            .map(|i| {
                std::process::Command::new(&exe)
                    .args(["--exact", "store::tests::child_writer", "--test-threads=1"])
                    .env("GEMMSCOPE_STORE_TEST_PATH", &path)
                    .env("GEMMSCOPE_STORE_TEST_MACHINE", format!("proc-{i}"))
                    .stdout(std::process::Stdio::null())
                    .spawn()
                    .unwrap()
            })
            .collect();
        std::thread::scope(|sc| {
            for t in 0..3 {
                let path = &path;
                sc.spawn(move || write_many(path, &format!("thread-{t}")));
            }
        });
        for mut c in procs {
            assert!(c.wait().unwrap().success(), "child writer failed");
        }
        let (s, w) = Store::open(&path).unwrap();
        assert!(w.is_empty(), "{w:?}");
        assert_eq!(s.count().unwrap(), 5 * WRITES as u64);
        let p = Problem::gemm(64, 64, 64, DType::F32);
        for m in ["proc-0", "proc-1", "thread-0", "thread-1", "thread-2"] {
            let rows = s.latest_rows(m, &p).unwrap();
            assert_eq!(rows.len(), WRITES, "{m}");
        }
    }

    fn corrupt_files(dir: &Path) -> Vec<PathBuf> {
        std::fs::read_dir(dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.to_string_lossy().contains(".corrupt-"))
            .collect()
    }

    #[test]
    fn garbage_file_is_moved_aside_and_rebuilt() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join(FILE_NAME);
        let garbage: Vec<u8> = (0..10_000u32).map(|i| (i * 7 + 3) as u8).collect();
        std::fs::write(&path, &garbage).unwrap();
        let (s, w) = Store::open(&path).unwrap();
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("damaged") && w[0].contains(".corrupt-"),
            "{}",
            w[0]
        );
        let moved = corrupt_files(d.path());
        assert_eq!(moved.len(), 1);
        assert_eq!(std::fs::read(&moved[0]).unwrap(), garbage);
        let p = Problem::gemm(2, 2, 2, DType::F32);
        s.put("m", &p, &row("x", 1, 1.0));
        assert!(s.get("m", &p, "x").is_some());
    }

    #[test]
    fn truncated_database_is_moved_aside_and_rebuilt() {
        for keep in [0.5, 0.9, 60.0 / 1e9] {
            let d = tempfile::tempdir().unwrap();
            let path = d.path().join(FILE_NAME);
            {
                let (s, _) = Store::open(&path).unwrap();
                let p = Problem::gemm(3, 3, 3, DType::F32);
                for i in 0..300 {
                    s.put("m", &p, &row(&format!("c{i}"), i, 1.0));
                }
            } // closing the last connection checkpoints the WAL
            let len = std::fs::metadata(&path).unwrap().len();
            assert!(len > 16 * 4096, "{len}");
            let cut = ((len as f64 * keep) as u64).max(60);
            let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
            f.set_len(cut).unwrap();
            drop(f);
            let (s, w) = Store::open(&path).unwrap();
            assert_eq!(w.len(), 1, "cut to {cut} of {len}: {w:?}");
            assert_eq!(corrupt_files(d.path()).len(), 1);
            assert_eq!(s.count().unwrap(), 0);
        }
    }

    #[test]
    fn newer_schema_is_an_error_not_a_rebuild() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join(FILE_NAME);
        {
            let c = Connection::open(&path).unwrap();
            c.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
                .unwrap();
        }
        let e = Store::open(&path).err().unwrap();
        assert!(e.contains("newer"), "{e}");
        assert!(corrupt_files(d.path()).is_empty());
    }
}
