//! Self-test candidates that misbehave on purpose: a wrong result, a NaN, a
//! hang, a crash. They are compiled only with the `selftest` feature (which
//! the `gemmscope` crate's tests turn on through a dev-dependency, never a
//! release build), and exist only when `GEMMSCOPE_SELFTEST=1` is set in the
//! environment (tests set it; the child inherits it), so that the engine's
//! checks and the sandbox can be tested end to end through the real binary.

use crate::candidates::{Backend, Candidate};
use crate::job::{Job, Measurement, Reply};
use crate::problem::Problem;
use crate::toolchain::Toolchain;

/// True when the self-test candidates are enabled.
pub fn enabled() -> bool {
    std::env::var("GEMMSCOPE_SELFTEST").is_ok_and(|v| v == "1")
}

#[derive(Clone, Copy)]
pub enum Misbehaviour {
    /// Returns a result 50% off.
    Wrong,
    /// Returns NaN in the output.
    Nan,
    /// Never returns.
    Hang,
    /// Dies with SIGSEGV.
    Crash,
    /// Allocates without bound.
    Hog,
}

pub struct SelfTest(pub Misbehaviour);

pub static WRONG: SelfTest = SelfTest(Misbehaviour::Wrong);
pub static NAN: SelfTest = SelfTest(Misbehaviour::Nan);
pub static HANG: SelfTest = SelfTest(Misbehaviour::Hang);
pub static CRASH: SelfTest = SelfTest(Misbehaviour::Crash);
pub static HOG: SelfTest = SelfTest(Misbehaviour::Hog);

impl Candidate for SelfTest {
    fn id(&self) -> &'static str {
        match self.0 {
            Misbehaviour::Wrong => "selftest-wrong",
            Misbehaviour::Nan => "selftest-nan",
            Misbehaviour::Hang => "selftest-hang",
            Misbehaviour::Crash => "selftest-crash",
            Misbehaviour::Hog => "selftest-hog",
        }
    }
    fn label(&self, _p: &Problem) -> String {
        format!("self-test ({})", self.id())
    }
    fn backend(&self) -> Backend {
        Backend::Cpu
    }
    fn precision(&self, p: &Problem) -> String {
        p.dtype.as_str().to_string()
    }
    fn check(&self, _p: &Problem, _tc: &Toolchain) -> Result<(), String> {
        Ok(())
    }
    fn prior_flops(&self) -> f64 {
        1e9
    }
    fn run(&self, job: &Job) -> Reply {
        let m = |rel_error: f64| {
            Reply::Ok(Measurement {
                samples: vec![1e-3, 1.1e-3, 0.9e-3],
                rows_computed: job.problem.m,
                rel_error,
                checked_rows: job.problem.m.min(16),
                what: "self-test".into(),
                threads: 1,
                transfer_s: None,
                notes: vec![],
            })
        };
        match self.0 {
            Misbehaviour::Wrong => m(0.5),
            Misbehaviour::Nan => m(f64::NAN),
            Misbehaviour::Hang => loop {
                std::thread::sleep(std::time::Duration::from_secs(3600));
            },
            Misbehaviour::Crash => {
                // SAFETY: none — a deliberate invalid write, to crash the
                // child with a real segmentation fault.
                unsafe {
                    std::ptr::null_mut::<u8>().write_volatile(1);
                }
                Reply::Failed {
                    reason: "unreachable".into(),
                }
            }
            Misbehaviour::Hog => {
                let mut v: Vec<Vec<u8>> = Vec::new();
                loop {
                    let mut chunk = vec![0u8; 64 << 20];
                    chunk[0] = 1;
                    v.push(chunk);
                    if v.len() > 1 << 20 {
                        break Reply::Failed {
                            reason: "unreachable".into(),
                        };
                    }
                }
            }
        }
    }
}
