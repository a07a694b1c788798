//! Reference data shipped with the binary (`microbench/data/reference.json`):
//! timings on named machines, each row with its source, and the machines'
//! descriptors (peak FP32 rate, bandwidth, cores, CPU or GPU). A
//! nearest-neighbour model over the descriptors (linfa-nn) predicts a
//! candidate's time on a machine between the reference points, and says
//! which references it used.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use linfa_nn::distance::L2Dist;
use linfa_nn::{CommonNearestNeighbour, NearestNeighbour};
use ndarray::{Array1, Array2};
use serde::{Deserialize, Serialize};

use crate::ceilings;
use crate::fingerprint::Machine;
use crate::problem::{DType, Operation, Problem};

/// The shipped file.
pub const SHIPPED: &str = include_str!("../../data/reference.json");

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RefMachine {
    pub id: String,
    pub name: String,
    /// `an A100-class GPU`.
    pub class: String,
    /// `cpu` or `gpu`.
    pub kind: String,
    pub peak_fp32_gflops: f64,
    /// `null` when not known.
    pub bandwidth_gbs: Option<f64>,
    pub cores: u32,
    /// Per-core L1 data and L2 cache sizes, KiB, where measured (lscpu /
    /// sysfs on the machine): two machines of the same peak and cores but
    /// other cache sizes are other CPUs (a 2-core Zen 4 VM and a 2-core
    /// Zen 5 VM at the same clock run the naive loops 1.7x apart).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l1d_kib: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l2_kib: Option<u64>,
    pub descriptor_source: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RefRow {
    pub machine: String,
    pub candidate: String,
    pub label: String,
    /// The cube size `size³` of a GEMM row (0 for a GEMV row).
    #[serde(default)]
    pub size: u64,
    /// `gemv` for a GEMV row (`y[m] = A x[k]`), `attention` for an
    /// attention row (`batch` heads of `m` queries and keys, head dim `k`);
    /// absent for a GEMM cube.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// An attention row's heads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub batch: Option<u64>,
    /// A GEMV row's M and K.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub m: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub k: Option<u64>,
    /// A GEMV row's layout (`nn`: A row-major; `tn`: A stored K×M) and the
    /// naive loop's order (`ikj`: dot products; `kij`: axpy sweeps).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub layout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    /// The measurement's relative spread, where the row is this project's
    /// own (the shipped GEMV curves: the relative range between the passes
    /// that measured the point, docs/model.md).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spread: Option<f64>,
    pub dtype: String,
    /// The arithmetic done.
    pub precision: String,
    pub seconds: f64,
    /// A key of `sources`.
    pub source: String,
}

/// One measured GEMV curve, stored compactly: `points` are `[m, k,
/// seconds per call, spread]`. [`Reference::parse`] expands each point into
/// a [`RefRow`] with `op: gemv`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GemvCurve {
    pub machine: String,
    pub source: String,
    pub candidate: String,
    pub dtype: String,
    /// `nn` (A row-major M×K) or `tn` (A stored K×M).
    pub layout: String,
    /// The naive loop's order (`ikj` or `kij`); absent for a library.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<String>,
    pub points: Vec<[f64; 4]>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Reference {
    pub schema_version: u32,
    pub sources: BTreeMap<String, String>,
    pub machines: Vec<RefMachine>,
    pub rows: Vec<RefRow>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub gemv_curves: Vec<GemvCurve>,
}

/// What the nearest-neighbour model compares machines on.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Descriptor {
    pub gpu: bool,
    pub peak_fp32_gflops: f64,
    pub bandwidth_gbs: Option<f64>,
    pub cores: u32,
    /// Per-core L1d and L2 sizes, KiB, where known.
    pub l1d_kib: Option<u64>,
    pub l2_kib: Option<u64>,
}

impl Descriptor {
    /// This machine's CPU: the theoretical FP32 peak from the fingerprint
    /// (`None` when not derivable), the measured bandwidth when given.
    pub fn of_cpu(m: &Machine, bandwidth_gbs: Option<f64>) -> Option<Descriptor> {
        let peak = ceilings::theoretical_fp32_peak(m)?;
        Some(Descriptor {
            gpu: false,
            peak_fp32_gflops: peak.gflops,
            bandwidth_gbs,
            cores: peak.cores,
            l1d_kib: m.caches.l1d.map(|b| b / 1024),
            l2_kib: m.caches.l2.map(|b| b / 1024),
        })
    }

    fn of_ref(m: &RefMachine) -> Descriptor {
        Descriptor {
            gpu: m.kind == "gpu",
            peak_fp32_gflops: m.peak_fp32_gflops,
            bandwidth_gbs: m.bandwidth_gbs.filter(|b| *b > 0.0),
            cores: m.cores,
            l1d_kib: m.l1d_kib,
            l2_kib: m.l2_kib,
        }
    }

    /// Where both know a cache size and they differ: `L1d 48 KiB there,
    /// 32 KiB here` (`self` is here). Such a machine is another CPU, never
    /// the same machine, however close its peak and cores.
    pub fn other_cpu(&self, there: &Descriptor) -> Option<String> {
        let mut v = Vec::new();
        for (name, a, b) in [
            ("L1d", self.l1d_kib, there.l1d_kib),
            ("L2", self.l2_kib, there.l2_kib),
        ] {
            if let (Some(here), Some(t)) = (a, b) {
                if here != t {
                    v.push(format!("{name} {} there, {} here", kib(t), kib(here)));
                }
            }
        }
        (!v.is_empty()).then(|| v.join(", "))
    }

    /// Distance in descriptor space ([`Descriptor::coords`]), plus
    /// [`OTHER_CPU`] where [`Descriptor::other_cpu`] tells them apart.
    fn distance(&self, there: &Descriptor, with_bw: bool) -> f64 {
        let d = self
            .coords(with_bw)
            .iter()
            .zip(there.coords(with_bw).iter())
            .map(|(a, b)| (a - b) * (a - b))
            .sum::<f64>()
            .sqrt();
        if self.other_cpu(there).is_some() {
            d + OTHER_CPU
        } else {
            d
        }
    }

    /// Coordinates: ln peak, ln cores, 10 for a GPU, and ln bandwidth when
    /// `with_bw`.
    fn coords(&self, with_bw: bool) -> Vec<f64> {
        let mut v = vec![
            self.peak_fp32_gflops.max(1e-3).ln(),
            (self.cores.max(1) as f64).ln(),
            if self.gpu { 10.0 } else { 0.0 },
        ];
        if with_bw {
            v.push(self.bandwidth_gbs.unwrap_or(1.0).max(1e-3).ln());
        }
        v
    }
}

/// Descriptor distance under which two machines are the same kind: the
/// clock read from /proc/cpuinfo moves a VM's estimated peak by parts in ten
/// thousand between boots, so an exact match misses the machine the rows
/// were measured on; the two 2-core AVX-512 VMs of the shipped data (2.596
/// and 2.60 GHz) are 0.0015 apart and stay two machines.
pub const SAME_DESCRIPTOR: f64 = 1e-3;

/// Added to the descriptor distance of a machine whose cache sizes differ
/// from this one's ([`Descriptor::other_cpu`]): more than the 2% within
/// which a GEMV or attention curve is read as this machine's own, so such
/// a machine's rows never carry its own leave-one-size-out `±` here.
pub const OTHER_CPU: f64 = 0.05;

/// `48 KiB`, `1 MiB`.
fn kib(k: u64) -> String {
    if k >= 1024 && k.is_multiple_of(1024) {
        format!("{} MiB", k / 1024)
    } else {
        format!("{k} KiB")
    }
}

/// How a candidate's time moves between machines.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum Scaling {
    /// Naive loops run at memory-latency speed: roughly the same time on
    /// any machine of the kind (no scaling).
    None,
    /// One thread of vector code: with the per-core peak.
    CorePeak,
    /// All cores (libraries, threaded kernels, GPUs): with the peak.
    Peak,
}

pub fn scaling(candidate: &str) -> Scaling {
    match candidate {
        c if c.starts_with("c-naive") || c == "python-loop" => Scaling::None,
        "c-blocked" => Scaling::CorePeak,
        _ => Scaling::Peak,
    }
}

/// One reference a prediction used.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Neighbour {
    pub machine: String,
    /// Distance in descriptor space (0 = the same descriptor).
    pub distance: f64,
    /// The reference row's own time at its size.
    pub row_seconds: f64,
    pub row_size: u64,
    /// Its time moved to the query machine and the problem's size.
    pub seconds: f64,
    pub source: String,
}

/// A time from reference data.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RefPrediction {
    pub candidate: String,
    pub label: String,
    pub precision: String,
    pub seconds: f64,
    pub neighbours: Vec<Neighbour>,
    /// Median relative error of this candidate's nearest-neighbour
    /// prediction across the reference machines (leave-one-machine-out),
    /// when two or more machines have it.
    pub error: Option<f64>,
    /// What `error` is when it is not the leave-one-machine-out median
    /// (a GEMV curve's leave-one-size-out percentile).
    pub error_basis: Option<String>,
    /// One line: where the number comes from and how it was moved.
    pub text: String,
    /// `f64 from f32 rows ×2.08`, where a neighbour had no rows of the
    /// problem's dtype and its time was moved by [`Reference::dtype_move`].
    pub dtype_moved: Option<String>,
}

/// How a time read off one dtype's rows is moved to another dtype.
#[derive(Clone, Debug, PartialEq)]
pub struct DtypeMove {
    /// Time in the target dtype over time in the row's dtype.
    pub ratio: f64,
    /// The [`GEMM_COVERAGE`] percentile of the ratio's leave-one-size-out
    /// relative errors, the largest over the machines used.
    pub error: f64,
    /// Where the ratio comes from, in words.
    pub words: String,
    /// `f64 from f32 rows ×2.08`.
    pub short: String,
}

/// Rows of `candidate` on `machine`, the one nearest `p` in FLOPs, with the
/// time moved to `p`'s size at constant GFLOP/s (rows of the problem's
/// dtype preferred, else any).
fn nearest_row<'a>(
    rows: &'a [RefRow],
    machine: &str,
    candidate: &str,
    p: &Problem,
) -> Option<&'a RefRow> {
    let dt = p.dtype.as_str();
    let of = |same: bool| {
        rows.iter()
            .filter(|r| r.machine == machine && r.candidate == candidate)
            .filter(|r| r.op.is_none())
            .filter(|r| !same || r.dtype == dt)
            .min_by(|a, b| {
                let d = |r: &RefRow| (cube_flops(r.size).ln() - p.flops().ln()).abs();
                d(a).total_cmp(&d(b))
            })
    };
    of(true).or_else(|| of(false))
}

fn cube_flops(s: u64) -> f64 {
    2.0 * (s as f64).powi(3)
}

/// One curve: `machine`'s cube rows of `candidate` in `dtype`, by size.
fn curve_of<'a>(
    rows: &'a [RefRow],
    machine: &str,
    candidate: &str,
    dtype: &str,
) -> Vec<&'a RefRow> {
    let mut v: Vec<&RefRow> = rows
        .iter()
        .filter(|o| o.machine == machine && o.candidate == candidate)
        .filter(|o| o.op.is_none() && o.dtype == dtype)
        .collect();
    v.sort_by_key(|o| o.size);
    v
}

/// The rows of the same curve as `r`: its machine, candidate and dtype.
fn siblings<'a>(rows: &'a [RefRow], r: &RefRow) -> Vec<&'a RefRow> {
    curve_of(rows, &r.machine, &r.candidate, &r.dtype)
}

/// The rows of a curve (sorted by size) nearest `p` in FLOPs at or below
/// it and at or above it (the same row twice at a measured size).
fn bracket<'a>(curve: &[&'a RefRow], p: &Problem) -> (Option<&'a RefRow>, Option<&'a RefRow>) {
    let x = p.flops();
    (
        curve
            .iter()
            .rev()
            .find(|r| cube_flops(r.size) <= x)
            .copied(),
        curve.iter().find(|r| cube_flops(r.size) >= x).copied(),
    )
}

/// The time at `p` on a curve of cube rows (sorted by size, one machine,
/// candidate and dtype): between two rows, interpolated in log time over
/// log FLOPs (the rate changes smoothly between measured sizes); at a row,
/// its time; outside them, the nearest row moved at constant GFLOP/s, never
/// under a floor — the assumed fixed cost of a call ([`call_overhead_s`]) or
/// the smallest row's own time if that measured call took less (a call does
/// not get cheaper than a smaller one measured on the machine).
fn curve_time(curve: &[&RefRow], p: &Problem) -> Option<f64> {
    let first = curve.first()?;
    let x = p.flops().ln();
    let at = |r: &RefRow| cube_flops(r.size).ln();
    match bracket(curve, p) {
        (Some(a), Some(b)) if a.size == b.size => Some(a.seconds),
        (Some(a), Some(b)) => {
            let w = (x - at(a)) / (at(b) - at(a));
            Some((a.seconds.ln() + w * (b.seconds.ln() - a.seconds.ln())).exp())
        }
        (Some(r), None) | (None, Some(r)) => {
            let floor = call_overhead_s(&r.candidate).min(first.seconds);
            Some((r.seconds * p.flops() / cube_flops(r.size)).max(floor))
        }
        (None, None) => None,
    }
}

/// How [`curve_time`] reached `p` on `curve`, in a few words.
fn curve_words(curve: &[&RefRow], p: &Problem) -> String {
    match bracket(curve, p) {
        (Some(a), Some(b)) if a.size == b.size => format!("its {0}×{0}×{0} row", a.size),
        (Some(a), Some(b)) => format!(
            "interpolated between its {0}×{0}×{0} and {1}×{1}×{1} rows",
            a.size, b.size
        ),
        (Some(r), None) | (None, Some(r)) => {
            format!("moved from its {0}×{0}×{0} row at the same GFLOP/s", r.size)
        }
        (None, None) => String::new(),
    }
}

/// A reference row's curve (the machine's rows of its candidate and dtype)
/// at `p`'s size ([`curve_time`]) and, in a few words, how it was reached
/// ([`curve_words`]), from one reading of the curve.
fn size_scaled_said(rows: &[RefRow], r: &RefRow, p: &Problem) -> (f64, String) {
    let curve = siblings(rows, r);
    (
        curve_time(&curve, p).unwrap_or(r.seconds),
        curve_words(&curve, p),
    )
}

/// An assumed fixed cost of one call: the floor under a reference time
/// moved to a smaller size at constant GFLOP/s (which alone would promise a
/// 16³ GEMM at the 4096³ rate). Library calls cost microseconds however
/// small the problem: waking the BLAS threads, the Python call into NumPy
/// or PyTorch, a kernel launch on a GPU. Round figures, stated as
/// assumptions (not measured here); a measurement or a fitted model of this
/// machine replaces them.
pub fn call_overhead_s(candidate: &str) -> f64 {
    if candidate.starts_with("cublas")
        || candidate.starts_with("cuda")
        || candidate.starts_with("torch-cuda")
        || candidate == "cutlass"
    {
        5e-6
    } else if matches!(
        candidate,
        "numpy" | "torch-cpu" | "openblas" | "rust-gemm" | "c-blocked-threads"
    ) {
        2e-6
    } else {
        0.0
    }
}

impl Reference {
    pub fn parse(text: &str) -> Result<Reference, String> {
        let mut r: Reference =
            serde_json::from_str(text).map_err(|e| format!("reference data: {e}"))?;
        for c in std::mem::take(&mut r.gemv_curves) {
            let label =
                crate::candidates::by_id(&c.candidate).map_or(c.candidate.clone(), |cand| {
                    let mut p =
                        Problem::gemm(1, 1, 1, DType::parse(&c.dtype).unwrap_or(DType::F32));
                    p.op = Operation::Gemv;
                    if let Some(o) = c
                        .order
                        .as_deref()
                        .and_then(crate::problem::LoopOrder::parse)
                    {
                        p.loop_order = o;
                    }
                    cand.label(&p)
                });
            for [m, k, seconds, spread] in c.points.iter().copied() {
                r.rows.push(RefRow {
                    machine: c.machine.clone(),
                    candidate: c.candidate.clone(),
                    label: label.clone(),
                    size: 0,
                    op: Some("gemv".into()),
                    batch: None,
                    m: Some(m as u64),
                    k: Some(k as u64),
                    layout: Some(c.layout.clone()),
                    order: c.order.clone(),
                    spread: Some(spread),
                    dtype: c.dtype.clone(),
                    precision: c.dtype.clone(),
                    seconds,
                    source: c.source.clone(),
                });
            }
        }
        for row in &r.rows {
            if !r.machines.iter().any(|m| m.id == row.machine) {
                return Err(format!(
                    "reference data: row names unknown machine `{}`",
                    row.machine
                ));
            }
            if !r.sources.contains_key(&row.source) {
                return Err(format!(
                    "reference data: row names unknown source `{}`",
                    row.source
                ));
            }
            let sized = match row.op.as_deref() {
                None => row.size > 0,
                Some("gemv") => row.m.unwrap_or(0) > 0 && row.k.unwrap_or(0) > 0,
                Some("attention") => {
                    row.m.unwrap_or(0) > 0 && row.k.unwrap_or(0) > 0 && row.batch.unwrap_or(0) > 0
                }
                Some(other) => {
                    return Err(format!("reference data: unknown operation `{other}`"));
                }
            };
            if !(row.seconds.is_finite() && row.seconds > 0.0 && sized) {
                return Err(format!(
                    "reference data: bad time for {} on {}",
                    row.candidate, row.machine
                ));
            }
            if DType::parse(&row.dtype).is_none() {
                return Err(format!("reference data: bad dtype `{}`", row.dtype));
            }
        }
        Ok(r)
    }

    /// The data shipped in the binary (empty, with the error on stderr, if
    /// it does not parse; a test keeps it parsing).
    pub fn shipped() -> &'static Reference {
        static R: OnceLock<Reference> = OnceLock::new();
        R.get_or_init(|| {
            Reference::parse(SHIPPED).unwrap_or_else(|e| {
                eprintln!("gemmscope: {e}");
                Reference {
                    schema_version: 1,
                    sources: BTreeMap::new(),
                    machines: Vec::new(),
                    rows: Vec::new(),
                    gemv_curves: Vec::new(),
                }
            })
        })
    }

    pub fn machine(&self, id: &str) -> Option<&RefMachine> {
        self.machines.iter().find(|m| m.id == id)
    }

    /// The source's description.
    pub fn source<'a>(&'a self, key: &'a str) -> &'a str {
        self.sources.get(key).map_or(key, |s| s.as_str())
    }

    /// Candidates with rows on `machine`.
    pub fn candidates_on(&self, machine: &str) -> Vec<&str> {
        let mut v: Vec<&str> = self
            .rows
            .iter()
            .filter(|r| r.machine == machine)
            .map(|r| r.candidate.as_str())
            .collect();
        v.dedup();
        v
    }

    /// `candidate` on the named reference machine at `p`'s size
    /// ([`curve_time`]: interpolated between its rows, moved at constant
    /// GFLOP/s beyond them — an optimistic figure below its smallest row).
    pub fn at(&self, machine: &str, candidate: &str, p: &Problem) -> Option<RefPrediction> {
        // A GEMM's rate says nothing about a (memory-bound) GEMV, nor
        // about attention.
        if matches!(p.op, Operation::Gemv | Operation::Attention) {
            return None;
        }
        let m = self.machine(machine)?;
        let r = nearest_row(&self.rows, machine, candidate, p)?;
        let (seconds, how) = size_scaled_said(&self.rows, r, p);
        let moved = if cube_flops(r.size) == p.flops() {
            String::new()
        } else {
            format!(", {how}")
        };
        Some(RefPrediction {
            candidate: candidate.into(),
            label: r.label.clone(),
            precision: r.precision.clone(),
            seconds,
            neighbours: vec![Neighbour {
                machine: m.name.clone(),
                distance: 0.0,
                row_seconds: r.seconds,
                row_size: r.size,
                seconds,
                source: r.source.clone(),
            }],
            error: None,
            error_basis: None,
            dtype_moved: None,
            text: format!(
                "reference data from {} on {}{moved}",
                short_source(&r.source),
                m.name
            ),
        })
    }

    /// Nearest-neighbour prediction of `candidate` for `p` on a machine
    /// described by `query`, from the (at most `k`) reference machines
    /// nearest in descriptor space that have the candidate. Each
    /// neighbour's time is moved to `p`'s size at constant GFLOP/s and to
    /// the query machine by [`scaling`]; the prediction is their
    /// inverse-distance-weighted geometric mean (an exact descriptor match
    /// is used alone). `exclude` leaves one machine out (validation).
    pub fn predict(
        &self,
        query: &Descriptor,
        candidate: &str,
        p: &Problem,
        k: usize,
        exclude: Option<&str>,
    ) -> Option<RefPrediction> {
        if p.op == Operation::Gemv {
            return self.predict_gemv(query, candidate, p);
        }
        if p.op == Operation::Attention {
            return self.predict_attention(query, candidate, p);
        }
        let mut have: Vec<&RefMachine> = self
            .machines
            .iter()
            .filter(|m| Some(m.id.as_str()) != exclude)
            .filter(|m| Descriptor::of_ref(m).gpu == query.gpu)
            .filter(|m| nearest_row(&self.rows, &m.id, candidate, p).is_some())
            .collect();
        // A machine whose rows all lie far below the problem (more than 2×
        // in each dim under it) would only move its largest row up at
        // constant GFLOP/s — wrong both ways (libraries speed up with size,
        // naive loops fall off the caches): where another machine has rows
        // that reach the problem, those are used instead.
        let reaches = |m: &RefMachine| {
            self.rows.iter().any(|r| {
                r.machine == m.id
                    && r.candidate == candidate
                    && r.op.is_none()
                    && cube_flops(r.size) * 8.0 >= p.flops()
            })
        };
        if have.iter().any(|m| reaches(m)) {
            have.retain(|m| reaches(m));
        }
        if have.is_empty() || k == 0 {
            return None;
        }
        let with_bw = query.bandwidth_gbs.is_some()
            && have
                .iter()
                .all(|m| m.bandwidth_gbs.is_some_and(|b| b > 0.0));
        let pts: Vec<Vec<f64>> = have
            .iter()
            .map(|m| Descriptor::of_ref(m).coords(with_bw))
            .collect();
        let dim = pts[0].len();
        let batch = Array2::from_shape_fn((pts.len(), dim), |(i, j)| pts[i][j]);
        let index = CommonNearestNeighbour::LinearSearch
            .from_batch(&batch, L2Dist)
            .ok()?;
        let q = Array1::from(query.coords(with_bw));
        // Every machine in order of coordinates (linfa-nn), then the `k`
        // nearest by the distance that also tells other CPUs apart.
        let mut found: Vec<(f64, usize)> = index
            .k_nearest(q.view(), have.len())
            .ok()?
            .into_iter()
            .map(|(_, i)| (query.distance(&Descriptor::of_ref(have[i]), with_bw), i))
            .collect();
        found.sort_by(|a, b| a.0.total_cmp(&b.0));
        found.truncate(k);
        // Each neighbour with how its time was read off its curve.
        // With it, the dtype move where its rows were of another dtype
        // (`Some(None)`: none could be made).
        let mut read: Vec<(Neighbour, String, Option<Option<DtypeMove>>)> = Vec::new();
        for (d, i) in found {
            let m = have[i];
            let r = nearest_row(&self.rows, &m.id, candidate, p)?;
            let md = Descriptor::of_ref(m);
            let factor = match scaling(candidate) {
                Scaling::None => 1.0,
                Scaling::Peak => md.peak_fp32_gflops / query.peak_fp32_gflops,
                Scaling::CorePeak => {
                    (md.peak_fp32_gflops / md.cores.max(1) as f64)
                        / (query.peak_fp32_gflops / query.cores.max(1) as f64)
                }
            };
            let (seconds, mut how) = size_scaled_said(&self.rows, r, p);
            if let Some(other) = query.other_cpu(&md) {
                how.push_str(&format!("; another CPU of the same kind: {other}"));
            }
            // No rows of the problem's dtype on this machine: the time is
            // moved by the dtype ratio where reference data gives one.
            let dt_move = DType::parse(&r.dtype)
                .filter(|&from| from != p.dtype)
                .map(|from| (from, self.dtype_move(candidate, from, p.dtype, r.size)));
            let dt_factor = match &dt_move {
                Some((_, Some(mv))) => {
                    how.push_str(&format!("; {}", mv.words));
                    mv.ratio
                }
                Some((from, None)) => {
                    how.push_str(&format!(
                        "; {} rows used for a {} problem, not moved (no machine ships both)",
                        from.as_str(),
                        p.dtype.as_str()
                    ));
                    1.0
                }
                None => 1.0,
            };
            read.push((
                Neighbour {
                    machine: m.name.clone(),
                    distance: d,
                    row_seconds: r.seconds,
                    row_size: r.size,
                    seconds: seconds * factor * dt_factor,
                    source: r.source.clone(),
                },
                how,
                dt_move.map(|(_, mv)| mv),
            ));
        }
        if read.iter().any(|(n, _, _)| n.distance < SAME_DESCRIPTOR) {
            read.retain(|(n, _, _)| n.distance < SAME_DESCRIPTOR);
        }
        let mut neighbours = Vec::new();
        let mut hows = Vec::new();
        let mut moves = Vec::new();
        for (n, how, mv) in read {
            neighbours.push(n);
            hows.push(how);
            moves.push(mv);
        }
        let ln_t = if neighbours[0].distance < SAME_DESCRIPTOR {
            neighbours.iter().map(|n| n.seconds.ln()).sum::<f64>() / neighbours.len() as f64
        } else {
            let w: Vec<f64> = neighbours.iter().map(|n| 1.0 / n.distance).collect();
            let sw: f64 = w.iter().sum();
            neighbours
                .iter()
                .zip(&w)
                .map(|(n, w)| w * n.seconds.ln())
                .sum::<f64>()
                / sw
        };
        let seconds = ln_t.exp();
        if !(seconds.is_finite() && seconds > 0.0) {
            return None;
        }
        let first = nearest_row(&self.rows, &have[0].id, candidate, p)?;
        let used: Vec<String> = neighbours
            .iter()
            .zip(&hows)
            .map(|(n, how)| format!("{} ({}, {how})", n.machine, short_source(&n.source)))
            .collect();
        // The error that applies: on the machine the rows were measured on
        // (an exact descriptor match), how well its own rows predict each
        // other across sizes; elsewhere, across machines.
        let same = (neighbours.len() == 1 && neighbours[0].distance < SAME_DESCRIPTOR)
            .then(|| have.iter().find(|m| m.name == neighbours[0].machine))
            .flatten();
        let (error, error_basis) = match (exclude, same) {
            (Some(_), _) => (None, None),
            (None, Some(m)) => match self.size_error(&m.id, candidate, p.dtype) {
                Some((e, n)) => (
                    Some(e),
                    Some(format!(
                        "the {:.0}th percentile of leave-one-size-out errors over this machine's {n} rows",
                        GEMM_COVERAGE * 100.0
                    )),
                ),
                None => (self.nn_error(candidate, k), None),
            },
            (None, None) => (self.nn_error(candidate, k), None),
        };
        // A time moved across dtypes carries the ratio's error too; one not
        // moved at all has no known error.
        let unmoved = moves.iter().any(|m| matches!(m, Some(None)));
        let moved: Vec<&DtypeMove> = moves.iter().flatten().flatten().collect();
        let error = match moved.iter().map(|m| m.error).reduce(f64::max) {
            Some(widen) => error.map(|e| (1.0 + e) * (1.0 + widen) - 1.0),
            None => error,
        };
        let dtype_moved = moved.first().map(|m| m.short.clone());
        // A naive loop's rows are of one loop order over one layout (the
        // i-j-k loop over row-major operands unless the row says); a loop
        // in another order or layout walks memory in another way, at a
        // speed those rows do not tell (an i-k-j loop streams rows of B
        // that the i-j-k loop strides down): its number is the nearest
        // there is, with no error claimed.
        let row_walk = (
            first.order.as_deref().unwrap_or("ijk"),
            first.layout.as_deref().unwrap_or("nn"),
        );
        let other_walk = candidate.starts_with("c-naive")
            && (p.loop_order.as_str(), p.layout.as_str()) != row_walk;
        let (error, error_basis) = if unmoved {
            (
                None,
                Some(format!(
                    "rows of another dtype, no shipped ratio to move them to {}",
                    p.dtype.as_str()
                )),
            )
        } else if other_walk {
            (
                None,
                Some(format!(
                    "the rows are of the {} loop over {} operands, this one is {} over {}",
                    row_walk.0,
                    row_walk.1,
                    p.loop_order.as_str(),
                    p.layout.as_str()
                )),
            )
        } else {
            (error, error_basis)
        };
        let how = match scaling(candidate) {
            Scaling::None => "same time on any machine of the kind",
            Scaling::CorePeak => "scaled by per-core peak",
            Scaling::Peak => "scaled by peak FP32 rate",
        };
        Some(RefPrediction {
            candidate: candidate.into(),
            label: first.label.clone(),
            precision: first.precision.clone(),
            seconds,
            error,
            error_basis,
            dtype_moved,
            text: format!(
                "reference data, nearest machines {} ({how}{})",
                used.join(", "),
                match call_overhead_s(candidate) {
                    x if x > 0.0 => format!(
                        "; at least {} per call of assumed call overhead unless a row measured less",
                        crate::report::human_seconds(x)
                    ),
                    _ => String::new(),
                }
            ),
            neighbours,
        })
    }

    /// Leave-one-machine-out median relative error of [`Reference::predict`]
    /// for `candidate`, over the reference machines that have it at its
    /// largest size; `None` with fewer than two.
    pub fn nn_error(&self, candidate: &str, k: usize) -> Option<f64> {
        let mut errs = Vec::new();
        for m in &self.machines {
            let Some(r) = self
                .rows
                .iter()
                .filter(|r| r.machine == m.id && r.candidate == candidate)
                .max_by_key(|r| r.size)
            else {
                continue;
            };
            let Some(dt) = DType::parse(&r.dtype) else {
                continue;
            };
            let p = Problem::gemm(r.size, r.size, r.size, dt);
            if let Some(pr) = self.predict(&Descriptor::of_ref(m), candidate, &p, k, Some(&m.id)) {
                errs.push((pr.seconds / r.seconds - 1.0).abs());
            }
        }
        (!errs.is_empty()).then(|| crate::stats::median(&errs))
    }
}

impl Reference {
    /// How well `machine`'s own GEMM rows of `candidate` (cubes, `dtype`)
    /// predict each other: each row predicted by [`curve_time`] from the
    /// others (interpolated between its neighbours, the end rows moved from
    /// the next), the [`GEMM_COVERAGE`] percentile of the relative errors,
    /// and the number of rows; `None` under three rows.
    pub fn size_error(&self, machine: &str, candidate: &str, dtype: DType) -> Option<(f64, usize)> {
        let curve = curve_of(&self.rows, machine, candidate, dtype.as_str());
        if curve.len() < 3 {
            return None;
        }
        let errs: Vec<f64> = curve
            .iter()
            .filter_map(|r| {
                let p = Problem::gemm(r.size, r.size, r.size, dtype);
                let rest: Vec<&RefRow> =
                    curve.iter().copied().filter(|o| o.size != r.size).collect();
                Some((curve_time(&rest, &p)? / r.seconds - 1.0).abs())
            })
            .collect();
        Some((percentile(&errs, GEMM_COVERAGE), curve.len()))
    }
}

/// An attention row as the problem it measured.
fn attention_problem(r: &RefRow) -> Option<Problem> {
    let (m, k, heads, dt) = (r.m?, r.k?, r.batch?, DType::parse(&r.dtype)?);
    Some(Problem::attention(heads, m, k, dt))
}

/// Seconds at `x` (ln FLOPs) on a curve of (ln FLOPs, ln seconds) sorted by
/// FLOPs: interpolated between the points around it, the end point moved
/// at constant FLOP/s beyond them.
fn along(curve: &[(f64, f64)], x: f64) -> Option<f64> {
    let first = curve.first()?;
    let last = curve.last()?;
    let ln_t = if x <= first.0 {
        first.1 + (x - first.0)
    } else if x >= last.0 {
        last.1 + (x - last.0)
    } else {
        let i = curve.iter().position(|c| c.0 >= x)?;
        let (a, b) = (curve[i - 1], curve[i]);
        if b.0 == a.0 {
            a.1
        } else {
            a.1 + (x - a.0) / (b.0 - a.0) * (b.1 - a.1)
        }
    };
    Some(ln_t.exp())
}

impl Reference {
    /// `machine`'s attention rows of `candidate` in `dtype` as a curve of
    /// (ln FLOPs, ln seconds), by FLOPs.
    fn attention_curve(&self, machine: &str, candidate: &str, dtype: DType) -> Vec<(f64, f64)> {
        let mut c: Vec<(f64, f64)> = self
            .rows
            .iter()
            .filter(|r| r.machine == machine && r.candidate == candidate)
            .filter(|r| r.op.as_deref() == Some("attention") && r.dtype == dtype.as_str())
            .filter_map(|r| Some((attention_problem(r)?.flops().ln(), r.seconds.ln())))
            .collect();
        c.sort_by(|a, b| a.0.total_cmp(&b.0));
        c
    }

    /// Attention from the reference machine nearest `query` in descriptor
    /// space that has rows of `candidate` in `p`'s dtype: its curve over
    /// FLOPs (heads × queries × keys × head dim), interpolated in log time
    /// over log FLOPs, the end rows moved at constant FLOP/s. The time is
    /// not moved to another machine (its rate is memory-bound in part, and
    /// one machine's rows cannot tell how), so the error is known only on
    /// the machine the rows were measured on: the [`GEMM_COVERAGE`]
    /// percentile of the curve's leave-one-size-out errors (three rows or
    /// more); elsewhere it is unknown, and the text says why. The rows are
    /// of one head dim and head count: another one is read at its FLOPs,
    /// and said so.
    fn predict_attention(
        &self,
        query: &Descriptor,
        candidate: &str,
        p: &Problem,
    ) -> Option<RefPrediction> {
        if query.gpu {
            return None;
        }
        let (m, dist, curve) = self.nearest_cpu(query, |m| {
            let c = self.attention_curve(&m.id, candidate, p.dtype);
            (!c.is_empty()).then_some(c)
        })?;
        let x = p.flops().ln();
        let seconds = along(&curve, x)?;
        let rows: Vec<&RefRow> = self
            .rows
            .iter()
            .filter(|r| r.machine == m.id && r.candidate == candidate)
            .filter(|r| r.op.as_deref() == Some("attention") && r.dtype == p.dtype.as_str())
            .collect();
        let first = rows.first()?;
        let same = dist < 0.02;
        let errs: Vec<f64> = (0..curve.len())
            .filter_map(|i| {
                let mut rest = curve.clone();
                let (xi, ti) = rest.remove(i);
                Some((along(&rest, xi)? / ti.exp() - 1.0).abs())
            })
            .collect();
        // Another head dim changes the shape of both products and of the
        // score matrix per FLOP (validated: read by FLOPs, a head dim of 128
        // was off by 194% for PyTorch written out), so no error is claimed;
        // another head count only repeats the same work.
        let other_head_dim = rows.iter().any(|r| r.k != Some(p.k));
        let error =
            (same && curve.len() >= 3 && !other_head_dim).then(|| percentile(&errs, GEMM_COVERAGE));
        let shapes = |r: &RefRow| (r.k, r.batch);
        let one_shape = rows.iter().all(|r| shapes(r) == shapes(first));
        let mut text = format!(
            "reference data: the attention curve on {} ({}; {} sizes, {} heads, head dim {}), read at {:.3} GFLOP",
            m.name,
            short_source(&first.source),
            rows.len(),
            first.batch.unwrap_or(0),
            first.k.unwrap_or(0),
            p.flops() / 1e9
        );
        if x < curve[0].0 - 1e-9 || x > curve[curve.len() - 1].0 + 1e-9 {
            text.push_str(", extrapolated at constant FLOP/s");
        }
        if !one_shape || first.k != Some(p.k) || first.batch != Some(p.batch) {
            text.push_str(&format!(
                "; this problem has {} heads, head dim {}: read by its FLOPs",
                p.batch, p.k
            ));
        }
        let basis = match error {
            Some(_) => Some(format!(
                "{:.0}th percentile of {} leave-one-size-out errors",
                GEMM_COVERAGE * 100.0,
                errs.len()
            )),
            None => {
                let why = if !same {
                    match query.other_cpu(&Descriptor::of_ref(m)) {
                        Some(o) => {
                            format!("measured on another CPU of the same kind ({o}), not moved")
                        }
                        None => "measured on another machine, not moved".to_string(),
                    }
                } else if other_head_dim {
                    format!(
                        "the rows are of head dim {}, this problem's is {}",
                        first.k.unwrap_or(0),
                        p.k
                    )
                } else {
                    "too few sizes".to_string()
                };
                text.push_str(&format!("; error unknown ({why})"));
                Some(why)
            }
        };
        Some(RefPrediction {
            candidate: candidate.into(),
            label: first.label.clone(),
            precision: first.precision.clone(),
            seconds,
            neighbours: vec![Neighbour {
                machine: m.name.clone(),
                distance: dist,
                row_seconds: first.seconds,
                row_size: 0,
                seconds,
                source: first.source.clone(),
            }],
            error,
            error_basis: basis,
            dtype_moved: None,
            text,
        })
    }
}

impl Reference {
    /// How to move a `candidate` time at a `size`³ cube from `from` rows to
    /// the `to` dtype, where a machine ships no `to` rows: the time ratio of
    /// the two dtypes' curves of the same candidate, read at that size
    /// ([`curve_time`]: interpolated, or the end rows' ratio outside them)
    /// on every reference machine that ships both curves (three rows or
    /// more each), their geometric mean; its error is how well each
    /// machine's ratio at one size is predicted from its other sizes
    /// (leave-one-size-out, the [`GEMM_COVERAGE`] percentile), the largest
    /// over those machines. `None` where no machine ships both: the time is
    /// then not moved, and the text says so. The ratio is not the element
    /// size: a naive loop's f64 runs at its f32 speed while it is latency-bound,
    /// a BLAS at half of it (measured on `epyc-2c-avx512`: ×1.0 and ×2.1 at 512³).
    pub fn dtype_move(
        &self,
        candidate: &str,
        from: DType,
        to: DType,
        size: u64,
    ) -> Option<DtypeMove> {
        let q = Problem::gemm(size, size, size, to);
        let mut ln_ratios = Vec::new();
        let mut error: f64 = 0.0;
        let mut names = Vec::new();
        for m in &self.machines {
            let cf = curve_of(&self.rows, &m.id, candidate, from.as_str());
            let ct = curve_of(&self.rows, &m.id, candidate, to.as_str());
            if cf.len() < 3 || ct.len() < 3 {
                continue;
            }
            let (Some(tf), Some(tt)) = (curve_time(&cf, &q), curve_time(&ct, &q)) else {
                continue;
            };
            let errs: Vec<f64> = ct
                .iter()
                .filter(|r| cf.iter().any(|o| o.size == r.size))
                .filter_map(|r| {
                    let at = Problem::gemm(r.size, r.size, r.size, to);
                    fn without<'a>(c: &[&'a RefRow], size: u64) -> Vec<&'a RefRow> {
                        c.iter().copied().filter(|o| o.size != size).collect()
                    }
                    let f = cf.iter().find(|o| o.size == r.size)?;
                    let truth = r.seconds / f.seconds;
                    let guess = curve_time(&without(&ct, r.size), &at)?
                        / curve_time(&without(&cf, r.size), &at)?;
                    Some((guess / truth - 1.0).abs())
                })
                .collect();
            if errs.is_empty() {
                continue;
            }
            ln_ratios.push((tt / tf).ln());
            error = error.max(percentile(&errs, GEMM_COVERAGE));
            names.push(m.name.clone());
        }
        if ln_ratios.is_empty() {
            return None;
        }
        let ratio = (ln_ratios.iter().sum::<f64>() / ln_ratios.len() as f64).exp();
        Some(DtypeMove {
            ratio,
            error,
            short: format!("{} from {} rows ×{ratio:.2}", to.as_str(), from.as_str()),
            words: format!(
                "{to} from {from} rows ×{ratio:.2}: the {to}/{from} time ratio of {}'s curves at {size}³, ±{:.0}% leave-one-size-out",
                names.join(" + "),
                error * 100.0,
                to = to.as_str(),
                from = from.as_str()
            ),
        })
    }
}

/// The share of problems whose true time the printed `±` of a GEMM
/// prediction from this machine's own rows must contain.
pub const GEMM_COVERAGE: f64 = 0.8;

/// The share of problems whose true time the printed `±` of a GEMV curve
/// must contain: the ± is this percentile of the leave-one-size-out errors.
pub const GEMV_COVERAGE: f64 = 0.8;

/// Bytes a GEMV moves at least: A once, x and y once.
pub fn gemv_bytes(m: u64, k: u64, elem: usize) -> f64 {
    (m as f64 * k as f64 + m as f64 + k as f64) * elem as f64
}

/// Seconds at `x = ln bytes` on a GEMV curve of `(ln bytes, ln seconds)`
/// points sorted by bytes: piecewise linear between measured working sets
/// (the steps as A leaves each cache level lie between them); below the
/// smallest, the slope of the first two points kept within [0, 1] (0: a
/// fixed cost per call, 1: bytes at a constant bandwidth) for a loop, and
/// 0 for a library call (`call`: a call costs at least what the smallest
/// measured one did, so a tiny problem is never promised a library
/// speed-up from a bandwidth it does not reach); above the largest, slope 1
/// (bandwidth-bound at the last level measured).
fn curve_at(pts: &[(f64, f64)], x: f64, call: bool) -> Option<f64> {
    let (first, last) = (pts.first()?, pts.last()?);
    let ln_t = if x <= first.0 && call {
        first.1
    } else if pts.len() == 1 {
        first.1 + (x - first.0)
    } else if x <= first.0 {
        let s = ((pts[1].1 - first.1) / (pts[1].0 - first.0).max(1e-9)).clamp(0.0, 1.0);
        first.1 + s * (x - first.0)
    } else if x >= last.0 {
        last.1 + (x - last.0)
    } else {
        let i = pts.iter().position(|p| p.0 >= x)?;
        let (a, b) = (pts[i - 1], pts[i]);
        let w = (x - a.0) / (b.0 - a.0).max(1e-12);
        a.1 + w * (b.1 - a.1)
    };
    let t = ln_t.exp();
    (t.is_finite() && t > 0.0).then_some(t)
}

/// `(ln bytes, ln seconds)` of `rows`, sorted, points within 1% in bytes
/// merged (their geometric mean).
fn curve(rows: &[&RefRow]) -> Vec<(f64, f64)> {
    let mut pts: Vec<(f64, f64)> = rows
        .iter()
        .filter_map(|r| {
            let e = DType::parse(&r.dtype)?.size_bytes();
            Some((gemv_bytes(r.m?, r.k?, e).ln(), r.seconds.ln()))
        })
        .collect();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut out: Vec<(f64, f64, f64)> = Vec::new();
    for (x, y) in pts {
        match out.last_mut() {
            Some(l) if (x - l.0 / l.2).abs() < 0.01 => {
                l.0 += x;
                l.1 += y;
                l.2 += 1.0;
            }
            _ => out.push((x, y, 1.0)),
        }
    }
    out.into_iter().map(|(x, y, n)| (x / n, y / n)).collect()
}

/// How strongly a naive GEMV's strided sweep can collide in the caches'
/// sets: 0 for a unit-stride loop (i-k over row-major A, k-i over a stored
/// K×M array), a library, a short sweep (under 64 lines) or a stride whose
/// largest power-of-two factor is under 1 KiB; else 1, 2, 3 for a stride
/// that is a multiple of 1 KiB, 2 KiB, 4 KiB or more (every line of the
/// sweep then falls in a few sets, and the cost per element jumps: on the
/// reference machine 2048² f32 k-i over row-major A takes 11 ns per
/// element against 0.9 ns at 3000²).
pub fn gemv_conflict_class(m: u64, k: u64, elem: usize, layout: &str, order: Option<&str>) -> u8 {
    let Some(order) = order else {
        return 0;
    };
    let axpy = order.find('k') < order.find('i');
    let (stride, lines) = match (layout == "tn", axpy) {
        // k-i over row-major A: down a column, stride K.
        (false, true) => (k * elem as u64, m),
        // i-k over a stored K×M array: down a column, stride M.
        (true, false) => (m * elem as u64, k),
        _ => return 0,
    };
    if lines < 64 || stride == 0 {
        return 0;
    }
    let pow2 = 1u64 << stride.trailing_zeros().min(12);
    match pow2 {
        0..=1023 => 0,
        1024 => 1,
        2048 => 2,
        _ => 3,
    }
}

fn row_class(r: &RefRow) -> u8 {
    let elem = DType::parse(&r.dtype).map_or(4, |d| d.size_bytes());
    gemv_conflict_class(
        r.m.unwrap_or(1),
        r.k.unwrap_or(1),
        elem,
        r.layout.as_deref().unwrap_or("nn"),
        r.order.as_deref(),
    )
}

/// Seconds of a GEMV from the rows of one variant: the curve of the rows
/// without set conflicts ([`gemv_conflict_class`] 0) read at the problem's
/// bytes ([`curve_at`]), times the mean excess (in logs) of the rows of the
/// problem's conflict class over that curve (none when that class has no
/// rows). Where fewer than two rows are conflict-free, every row is one
/// curve.
fn gemv_time(rows: &[&RefRow], m: u64, k: u64, elem: usize, class: u8) -> Option<f64> {
    let call = rows
        .first()
        .is_some_and(|r| scaling(&r.candidate) != Scaling::None);
    let base: Vec<&RefRow> = rows.iter().copied().filter(|r| row_class(r) == 0).collect();
    let base = if curve(&base).len() >= 2 {
        base
    } else {
        rows.to_vec()
    };
    let pts = curve(&base);
    let t = curve_at(&pts, gemv_bytes(m, k, elem).ln(), call)?;
    if class == 0 {
        return Some(t);
    }
    let excess: Vec<f64> = rows
        .iter()
        .filter(|r| row_class(r) == class)
        .filter_map(|r| {
            let e = DType::parse(&r.dtype)?.size_bytes();
            Some((r.seconds / curve_at(&pts, gemv_bytes(r.m?, r.k?, e).ln(), call)?).ln())
        })
        .collect();
    if excess.is_empty() {
        return Some(t);
    }
    Some(t * (excess.iter().sum::<f64>() / excess.len() as f64).exp())
}

impl Reference {
    /// The GEMV rows of `candidate` on `machine` for `p`'s variant: same
    /// layout, the same loop order for a naive loop, `p`'s dtype (else any
    /// dtype, with `true`: moved by bytes).
    fn gemv_rows(&self, machine: &str, candidate: &str, p: &Problem) -> (Vec<&RefRow>, bool) {
        let naive = scaling(candidate) == Scaling::None;
        let of = |same_dtype: bool| -> Vec<&RefRow> {
            self.rows
                .iter()
                .filter(|r| r.machine == machine && r.candidate == candidate)
                .filter(|r| r.op.as_deref() == Some("gemv"))
                .filter(|r| r.layout.as_deref().unwrap_or("nn") == p.layout.as_str())
                .filter(|r| !naive || r.order.as_deref() == Some(p.loop_order.as_str()))
                .filter(|r| !same_dtype || r.dtype == p.dtype.as_str())
                .collect()
        };
        let same = of(true);
        if same.is_empty() {
            (of(false), true)
        } else {
            (same, false)
        }
    }

    /// Leave-one-size-out relative errors of the GEMV curves of
    /// `candidate` on `machine` (of `variant`'s layout and, for a naive
    /// loop, loop order, both dtypes; every curve when `None`): each row
    /// predicted from the other rows of its curve (the smallest and
    /// largest are extrapolations).
    pub fn gemv_loo_errors(
        &self,
        machine: &str,
        candidate: &str,
        variant: Option<&Problem>,
    ) -> Vec<f64> {
        let naive = scaling(candidate) == Scaling::None;
        let rows: Vec<&RefRow> = self
            .rows
            .iter()
            .filter(|r| r.machine == machine && r.candidate == candidate)
            .filter(|r| r.op.as_deref() == Some("gemv"))
            .filter(|r| {
                variant.is_none_or(|p| {
                    r.layout.as_deref().unwrap_or("nn") == p.layout.as_str()
                        && (!naive || r.order.as_deref() == Some(p.loop_order.as_str()))
                })
            })
            .collect();
        let mut errs = Vec::new();
        for r in &rows {
            let (Some(m), Some(k), Some(dt)) = (r.m, r.k, DType::parse(&r.dtype)) else {
                continue;
            };
            let same: Vec<&RefRow> = rows
                .iter()
                .filter(|o| {
                    o.dtype == r.dtype
                        && o.layout == r.layout
                        && o.order == r.order
                        && !(o.m == r.m && o.k == r.k)
                })
                .copied()
                .collect();
            if curve(&same).len() < 2 {
                continue;
            }
            if let Some(t) = gemv_time(&same, m, k, dt.size_bytes(), row_class(r)) {
                errs.push((t / r.seconds - 1.0).abs());
            }
        }
        errs
    }

    /// The CPU reference machine nearest `query` in descriptor space
    /// (without bandwidth) among those for which `rows` gives something,
    /// with its distance and what `rows` gave for it.
    fn nearest_cpu<'a, T>(
        &'a self,
        query: &Descriptor,
        rows: impl Fn(&'a RefMachine) -> Option<T>,
    ) -> Option<(&'a RefMachine, f64, T)> {
        let mut best: Option<(&RefMachine, f64, T)> = None;
        for m in &self.machines {
            let d = Descriptor::of_ref(m);
            if d.gpu {
                continue;
            }
            let Some(found) = rows(m) else {
                continue;
            };
            let dist = query.distance(&d, false);
            if best.as_ref().is_none_or(|(_, bd, _)| dist < *bd) {
                best = Some((m, dist, found));
            }
        }
        best
    }

    /// A GEMV from the measured GEMV curves: the nearest reference machine
    /// (in descriptor space) with GEMV rows of `candidate`, its curve for
    /// the problem's variant read at the problem's bytes ([`curve_at`]).
    /// On that same machine the error is the [`GEMV_COVERAGE`] percentile
    /// of the leave-one-size-out errors of the variant's curves (both
    /// dtypes); on another machine the
    /// time is not moved (memory-bound loops and library GEMVs follow the
    /// memory system, which the descriptor does not measure) and the error
    /// is unknown, which the text says.
    fn predict_gemv(
        &self,
        query: &Descriptor,
        candidate: &str,
        p: &Problem,
    ) -> Option<RefPrediction> {
        if query.gpu {
            return None;
        }
        let (m, dist, (rows, other_dtype)) = self.nearest_cpu(query, |m| {
            let found = self.gemv_rows(&m.id, candidate, p);
            (!found.0.is_empty()).then_some(found)
        })?;
        let pts = curve(&rows);
        let bytes = gemv_bytes(p.m, p.k, p.dtype.size_bytes());
        let naive = scaling(candidate) == Scaling::None;
        let class = gemv_conflict_class(
            p.m,
            p.k,
            p.dtype.size_bytes(),
            p.layout.as_str(),
            naive.then_some(p.loop_order.as_str()),
        );
        let seconds = gemv_time(&rows, p.m, p.k, p.dtype.size_bytes(), class)?;
        // The same descriptor within 2% (a VM's reported clock wanders).
        let same = dist < 0.02;
        let errs = self.gemv_loo_errors(&m.id, candidate, Some(p));
        let error = (same && errs.len() >= 3).then(|| percentile(&errs, GEMV_COVERAGE));
        let (lo, hi) = (pts.first()?.0.exp(), pts.last()?.0.exp());
        let mut text = format!(
            "reference data: the GEMV curve on {} ({}; {} sizes, {}–{} of operands), read at {} of operands",
            m.name,
            short_source(&rows[0].source),
            rows.len(),
            human_bytes(lo),
            human_bytes(hi),
            human_bytes(bytes),
        );
        if bytes < lo * 0.99 || bytes > hi * 1.01 {
            text.push_str(", extrapolated");
        }
        if other_dtype {
            text.push_str(&format!(", from {} rows moved by bytes", rows[0].dtype));
        }
        if class > 0 {
            text.push_str(&format!(
                "; its strided sweep has a stride that is a multiple of {} KiB (cache-set conflicts), so it is read with the excess of the measured sizes that have one too",
                1u32 << (class - 1)
            ));
        }
        let basis = match error {
            Some(_) => Some(format!(
                "{:.0}th percentile of {} leave-one-size-out errors",
                GEMV_COVERAGE * 100.0,
                errs.len()
            )),
            // Unknown, and why: the headline says it too (a missing basis
            // reads as "one reference machine", which is not the reason).
            None => Some(if same {
                "too few sizes".to_string()
            } else if let Some(o) = query.other_cpu(&Descriptor::of_ref(m)) {
                format!(
                    "measured on {}, another CPU of the same kind ({o}): a GEMV follows the memory system, so it is not moved to this machine",
                    m.name
                )
            } else {
                format!(
                    "measured on {}, {:.0}% away in descriptor space: a GEMV follows the memory system, so it is not moved to this machine",
                    m.name,
                    dist * 100.0
                )
            }),
        };
        Some(RefPrediction {
            candidate: candidate.into(),
            label: rows[0].label.clone(),
            precision: rows[0].precision.clone(),
            seconds,
            neighbours: vec![Neighbour {
                machine: m.name.clone(),
                distance: dist,
                row_seconds: rows[0].seconds,
                row_size: 0,
                seconds,
                source: rows[0].source.clone(),
            }],
            error,
            error_basis: basis,
            dtype_moved: None,
            text,
        })
    }
}

/// The `q` quantile (0…1) of `v`, linear between order statistics.
pub fn percentile(v: &[f64], q: f64) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return f64::NAN;
    }
    s.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (s.len() - 1) as f64;
    let (i, w) = (pos.floor() as usize, pos - pos.floor());
    s[i] + w * (s[(i + 1).min(s.len() - 1)] - s[i])
}

fn human_bytes(b: f64) -> String {
    if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else if b >= 1e3 {
        format!("{:.0} kB", b / 1e3)
    } else {
        format!("{b:.0} B")
    }
}

/// `the seed talk's table` / `gemmscope's measurements`.
pub fn short_source(key: &str) -> &'static str {
    match key {
        "seed-talk" => "the seed talk's table",
        "gemmscope-xeon-2c" => "gemmscope's measurements on that machine",
        "gemmscope-epyc-2c" => "gemmscope's measurements",
        "spec" => "vendor specifications",
        _ => "reference data",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::LoopOrder;

    #[test]
    fn shipped_data_parses_and_every_row_has_provenance() {
        let r = Reference::parse(SHIPPED).unwrap();
        assert!(r.rows.len() >= 20);
        for row in &r.rows {
            assert!(!r.source(&row.source).is_empty());
            assert!(r.machine(&row.machine).is_some());
        }
        // The seed talk's A100 tensor-core figure is there.
        let p = Problem::gemm(4096, 4096, 4096, DType::F16);
        let a = r.at("a100", "cublas-f16-tc", &p).unwrap();
        assert!((a.seconds - 0.00058).abs() < 1e-12);
        assert!(a.text.contains("seed talk"), "{}", a.text);
        assert_eq!(Reference::shipped().rows.len(), r.rows.len());
        assert!(Reference::parse("{}").is_err());
    }

    #[test]
    fn size_scaling_is_constant_rate_and_says_so() {
        let r = Reference::shipped();
        let p = Problem::gemm(2048, 2048, 2048, DType::F32);
        let a = r.at("a100", "cublas-sgemm-pedantic", &p).unwrap();
        assert!((a.seconds - 0.00714 / 8.0).abs() < 1e-12);
        assert!(
            a.text
                .contains("moved from its 4096×4096×4096 row at the same GFLOP/s"),
            "{}",
            a.text
        );
        // Nearest size wins: 1024³ on the Xeon comes from the 1024 row.
        let p = Problem::gemm(1024, 1024, 1024, DType::F32);
        let x = r.at("xeon-2c-avx512", "openblas", &p).unwrap();
        assert!((x.seconds - 0.00668).abs() < 1e-12);
    }

    #[test]
    fn tiny_sizes_keep_the_call_overhead_floor() {
        let r = Reference::shipped();
        let p = Problem::gemm(16, 16, 16, DType::F32);
        // Constant GFLOP/s alone would give 0.00668 s / 2^18 = 25 ns.
        let x = r.at("xeon-2c-avx512", "openblas", &p).unwrap();
        assert_eq!(x.seconds, call_overhead_s("openblas"));
        let g = r.at("a100", "cublas-sgemm-pedantic", &p).unwrap();
        assert_eq!(g.seconds, call_overhead_s("cublas-sgemm-pedantic"));
        // The naive loops have no floor: they scale with the work.
        let n = r.at("xeon-2c-avx512", "c-naive-O1", &p).unwrap();
        let linear = 6.38 * (16.0f64 / 1024.0).powi(3);
        assert!((n.seconds - linear).abs() < 1e-9, "{}", n.seconds);
        assert_eq!(call_overhead_s("c-naive-O1"), 0.0);
    }

    #[test]
    fn a_machines_rows_are_a_curve_with_its_own_error() {
        let r = Reference::shipped();
        let row = |c: &str, s: u64| {
            r.rows
                .iter()
                .find(|x| {
                    x.machine == "epyc-2c-avx512"
                        && x.candidate == c
                        && x.size == s
                        && x.dtype == "f32"
                })
                .unwrap()
                .seconds
        };
        // Between two rows: interpolated in log time over log FLOPs (24³
        // is at (ln 24 - ln 16) / (ln 32 - ln 16) = 0.585 of the way).
        let p = Problem::gemm(24, 24, 24, DType::F32);
        let x = r.at("epyc-2c-avx512", "openblas", &p).unwrap();
        let w = (24f64 / 16.0).ln() / 2f64.ln();
        let want = (row("openblas", 16).ln() * (1.0 - w) + row("openblas", 32).ln() * w).exp();
        assert!(
            (x.seconds / want - 1.0).abs() < 1e-9,
            "{} {want}",
            x.seconds
        );
        assert!(
            x.text
                .contains("interpolated between its 16×16×16 and 32×32×32 rows"),
            "{}",
            x.text
        );
        // Below the smallest row a library call never gets cheaper than it,
        // though the assumed 2 µs overhead is more than it measured.
        let tiny = Problem::gemm(2, 2, 2, DType::F32);
        let t = r.at("epyc-2c-avx512", "openblas", &tiny).unwrap();
        assert!(row("openblas", 4) < call_overhead_s("openblas"));
        assert_eq!(t.seconds, row("openblas", 4));
        // On this machine the ± is its own rows' leave-one-size-out error,
        // said so; another machine's prediction keeps the cross-machine one.
        let here = Descriptor::of_ref(r.machine("epyc-2c-avx512").unwrap());
        let pr = r.predict(&here, "c-naive-O3", &p, 2, None).unwrap();
        let (e, n) = r
            .size_error("epyc-2c-avx512", "c-naive-O3", DType::F32)
            .unwrap();
        assert_eq!(n, 8);
        assert_eq!(pr.error, Some(e));
        assert!(pr
            .error_basis
            .as_deref()
            .unwrap()
            .contains("leave-one-size-out"));
        assert!(e > 0.0 && e < 1.0, "{e}");
        let mut other = here.clone();
        other.peak_fp32_gflops *= 4.0;
        let po = r.predict(&other, "c-naive-O3", &p, 2, None).unwrap();
        assert_eq!(po.error_basis, None);
    }

    fn gemv(m: u64, k: u64, dtype: DType, layout: &str, order: &str) -> Problem {
        let mut p = Problem::gemm(m, 1, k, dtype);
        p.op = Operation::Gemv;
        p.layout = crate::problem::Layout::parse(layout).unwrap();
        p.loop_order = crate::problem::LoopOrder::parse(order).unwrap();
        p
    }

    #[test]
    fn gemv_curves_are_read_by_bytes_with_their_own_error() {
        let r = Reference::shipped();
        let here = Descriptor::of_ref(r.machine("epyc-2c-avx512").unwrap());
        // A shipped point is answered by its own row (within the merge).
        let p = gemv(1024, 1024, DType::F32, "nn", "ikj");
        let row = r
            .rows
            .iter()
            .find(|x| {
                x.candidate == "c-naive-O3"
                    && x.op.as_deref() == Some("gemv")
                    && x.dtype == "f32"
                    && x.layout.as_deref() == Some("nn")
                    && x.order.as_deref() == Some("ikj")
                    && x.m == Some(1024)
                    && x.k == Some(1024)
            })
            .expect("the shipped GEMV row");
        let pr = r.predict(&here, "c-naive-O3", &p, 2, None).unwrap();
        // 1024² shares its bytes with 256×4096 and 4096×256: their mean.
        assert!((pr.seconds / row.seconds).ln().abs() < 0.5, "{pr:?}");
        let e = pr.error.expect("an error on the reference machine");
        let errs = r.gemv_loo_errors("epyc-2c-avx512", "c-naive-O3", Some(&p));
        assert!(errs.len() >= 20);
        assert!(
            r.gemv_loo_errors("epyc-2c-avx512", "c-naive-O3", None)
                .len()
                > errs.len()
        );
        assert_eq!(e, percentile(&errs, GEMV_COVERAGE));
        assert!(pr.error_basis.unwrap().contains("leave-one-size-out"));
        assert!(pr.text.contains("GEMV curve"), "{}", pr.text);
        // In between, monotone in bytes for the library's interpolation.
        let mid = r
            .predict(
                &here,
                "openblas",
                &gemv(700, 700, DType::F64, "tn", "ikj"),
                2,
                None,
            )
            .unwrap();
        assert!(mid.seconds > 0.0 && mid.label.contains("dgemv"), "{mid:?}");
        // Another machine: not moved, and the error is not claimed.
        let far = Descriptor {
            gpu: false,
            peak_fp32_gflops: 4608.0,
            bandwidth_gbs: None,
            cores: 64,
            l1d_kib: None,
            l2_kib: None,
        };
        let f = r.predict(&far, "c-naive-O3", &p, 2, None).unwrap();
        assert_eq!(f.seconds, pr.seconds);
        assert!(f.error.is_none());
        let why = f.error_basis.as_deref().unwrap();
        assert!(
            why.contains("measured on") && why.contains("not moved to this machine"),
            "{why}"
        );
        // No GEMV rows: no number, and no GEMM rate is borrowed.
        assert!(r.predict(&here, "c-blocked", &p, 2, None).is_none());
        assert!(r.at("a100", "cublas-sgemm-pedantic", &p).is_none());
        // GEMM predictions never read GEMV rows.
        let g = Problem::gemm(1024, 1024, 1024, DType::F32);
        let x = r.at("xeon-2c-avx512", "openblas", &g).unwrap();
        assert!((x.seconds - 0.00668).abs() < 1e-12);
    }

    #[test]
    fn curve_ends_extrapolate_by_physics() {
        let pts = [(1.0f64.ln(), 2.0f64.ln()), (4.0f64.ln(), 2.0f64.ln())];
        // Below: the first slope (0: a fixed cost per call).
        assert!((curve_at(&pts, 0.5f64.ln(), false).unwrap() - 2.0).abs() < 1e-12);
        // Above: bytes at the last bandwidth (slope 1).
        assert!((curve_at(&pts, 8.0f64.ln(), false).unwrap() - 4.0).abs() < 1e-9);
        // Between: linear in logs.
        assert!((curve_at(&pts, 2.0f64.ln(), false).unwrap() - 2.0).abs() < 1e-12);
        let steep = [(0.0, 0.0), (1.0, 3.0)];
        // A slope over 1 below the first point is kept at 1 for a loop...
        assert!((curve_at(&steep, -1.0, false).unwrap() - (-1.0f64).exp()).abs() < 1e-12);
        // ... and a library call never gets cheaper than its smallest one.
        assert_eq!(curve_at(&steep, -5.0, true).unwrap(), 1.0);
        // On the shipped data: a 4×4 GEMV promises no library speed-up.
        let r = Reference::shipped();
        let here = Descriptor::of_ref(r.machine("epyc-2c-avx512").unwrap());
        let tiny = gemv(4, 4, DType::F32, "nn", "ikj");
        let lib = r.predict(&here, "openblas", &tiny, 2, None).unwrap();
        let aw = r.predict(&here, "c-naive-O3", &tiny, 2, None).unwrap();
        assert!(lib.seconds > aw.seconds, "{lib:?} {aw:?}");
        assert_eq!(percentile(&[1.0, 2.0, 3.0, 4.0, 5.0], 0.8), 4.2);
        assert!(Reference::parse(r#"{"schema_version":1,"sources":{},"machines":[],"rows":[{"machine":"x","candidate":"c","label":"l","op":"gemm3","dtype":"f32","precision":"f32","seconds":1,"source":"s"}]}"#).is_err());
    }

    fn test_reference() -> Reference {
        let m = |id: &str, peak: f64, cores: u32| RefMachine {
            id: id.into(),
            name: format!("machine {id}"),
            class: id.into(),
            kind: "cpu".into(),
            peak_fp32_gflops: peak,
            bandwidth_gbs: None,
            cores,
            l1d_kib: None,
            l2_kib: None,
            descriptor_source: "test".into(),
        };
        let row = |machine: &str, candidate: &str, seconds: f64| RefRow {
            machine: machine.into(),
            candidate: candidate.into(),
            label: candidate.into(),
            size: 1000,
            op: None,
            batch: None,
            m: None,
            k: None,
            layout: None,
            order: None,
            spread: None,
            dtype: "f32".into(),
            precision: "f32".into(),
            seconds,
            source: "t".into(),
        };
        Reference {
            schema_version: 1,
            sources: [("t".to_string(), "test".to_string())].into(),
            machines: vec![
                m("small", 100.0, 2),
                m("mid", 1000.0, 16),
                m("big", 10000.0, 128),
            ],
            rows: vec![
                row("small", "lib", 20.0),
                row("mid", "lib", 2.0),
                row("big", "lib", 0.2),
                row("small", "c-naive-O1", 100.0),
                row("big", "c-naive-O1", 50.0),
            ],
            gemv_curves: Vec::new(),
        }
    }

    #[test]
    fn nearest_neighbours_are_named_and_interpolate() {
        let r = test_reference();
        let p = Problem::gemm(1000, 1000, 1000, DType::F32);
        // A machine between small and mid: peak 300 on 4 cores.
        let q = Descriptor {
            gpu: false,
            peak_fp32_gflops: 300.0,
            bandwidth_gbs: None,
            cores: 4,
            l1d_kib: None,
            l2_kib: None,
        };
        let pr = r.predict(&q, "lib", &p, 2, None).unwrap();
        let names: Vec<&str> = pr.neighbours.iter().map(|n| n.machine.as_str()).collect();
        assert_eq!(names, ["machine small", "machine mid"]);
        // Rate ∝ peak on every reference: 100 GFLOP/s per 20 s → 6.67 s.
        assert!((pr.seconds - 20.0 / 3.0).abs() < 1e-6, "{}", pr.seconds);
        assert!(pr.text.contains("machine small") && pr.text.contains("machine mid"));
        // The model is exact on this data, so its validation error is ~0.
        assert!(pr.error.unwrap() < 1e-9);
        // Naive loops are not scaled: between 100 s and 50 s.
        let n = r.predict(&q, "c-naive-O1", &p, 2, None).unwrap();
        assert!(n.seconds < 100.0 && n.seconds > 50.0);
        // An exact descriptor match is used alone.
        let exact = Descriptor::of_ref(&r.machines[1]);
        let e = r.predict(&exact, "lib", &p, 2, None).unwrap();
        assert!((e.seconds - 2.0).abs() < 1e-9);
        assert!(r.predict(&q, "nothing", &p, 2, None).is_none());
        let gq = Descriptor { gpu: true, ..q };
        assert!(r.predict(&gq, "lib", &p, 2, None).is_none());
    }

    #[test]
    fn other_dtypes_are_moved_by_the_shipped_ratio_with_its_error() {
        let r = Reference::shipped();
        // The two EPYC VMs ship both dtypes: the f64/f32 ratio at 512³ is
        // the geometric mean of their rows' ratios there.
        let row = |m: &str, c: &str, dt: &str| {
            r.rows
                .iter()
                .find(|x| x.machine == m && x.candidate == c && x.size == 512 && x.dtype == dt)
                .unwrap()
                .seconds
        };
        let mv = r
            .dtype_move("openblas", DType::F32, DType::F64, 512)
            .unwrap();
        let ratio = |m: &str| row(m, "openblas", "f64") / row(m, "openblas", "f32");
        let want = (ratio("epyc-2c-avx512") * ratio("epyc-zen4-2c-avx512")).sqrt();
        assert!((mv.ratio / want - 1.0).abs() < 1e-9, "{} {want}", mv.ratio);
        assert!(mv.error > 0.0 && mv.error < 1.0, "{}", mv.error);
        assert!(mv.short.starts_with("f64 from f32 rows ×"), "{}", mv.short);
        // A latency-bound naive loop is not a BLAS: its ratio is its own.
        let naive = r
            .dtype_move("c-naive-O1", DType::F32, DType::F64, 512)
            .unwrap();
        assert!(naive.ratio < mv.ratio, "{} {}", naive.ratio, mv.ratio);
        // No machine ships a candidate's two dtypes: no move.
        assert!(r
            .dtype_move("rust-gemm", DType::F32, DType::F64, 1024)
            .is_none());
        // An f64 problem far above the f64 rows is read off the Xeon's f32
        // rows, moved by the ratio, and its ± widened by the ratio's error.
        let xeon = Descriptor::of_ref(r.machine("xeon-2c-avx512").unwrap());
        let p64 = Problem::gemm(1000, 1100, 1200, DType::F64);
        let p32 = Problem::gemm(1000, 1100, 1200, DType::F32);
        let a = r.predict(&xeon, "openblas", &p64, 2, None).unwrap();
        let b = r.predict(&xeon, "openblas", &p32, 2, None).unwrap();
        assert!(a.dtype_moved.is_some() && b.dtype_moved.is_none());
        assert!(a.seconds > b.seconds * 1.5, "{} {}", a.seconds, b.seconds);
        assert!(a.error.unwrap() > b.error.unwrap());
        assert!(a.text.contains("f64/f32 time ratio"), "{}", a.text);
        // Without a ratio the time is not moved and no error is claimed.
        let c = r.predict(&xeon, "rust-gemm", &p64, 2, None).unwrap();
        assert_eq!(c.error, None);
        assert!(c.error_basis.unwrap().contains("another dtype"));
    }

    #[test]
    fn cache_sizes_tell_two_cpus_of_the_same_peak_and_cores_apart() {
        let r = Reference::shipped();
        let zen4 = Descriptor::of_ref(r.machine("epyc-zen4-2c-avx512").unwrap());
        let zen5 = Descriptor::of_ref(r.machine("epyc-2c-avx512").unwrap());
        assert_eq!(
            zen4.coords(false),
            zen5.coords(false),
            "same peak and cores"
        );
        assert_eq!(
            zen4.other_cpu(&zen5).as_deref(),
            Some("L1d 48 KiB there, 32 KiB here")
        );
        let unknown = Descriptor {
            l1d_kib: None,
            l2_kib: None,
            ..zen4.clone()
        };
        assert_eq!(unknown.other_cpu(&zen5), None, "unknown sizes never differ");
        // Each reads its own rows, with its own leave-one-size-out ±.
        let p = Problem::gemm(100, 100, 100, DType::F32);
        for (d, name) in [(&zen4, "(Zen 4)"), (&zen5, "(Zen 5)")] {
            let pr = r.predict(d, "c-naive-O1", &p, 2, None).unwrap();
            assert_eq!(pr.neighbours.len(), 1, "{:?}", pr.neighbours);
            assert!(pr.neighbours[0].machine.contains(name), "{}", pr.text);
            assert!(pr.error_basis.unwrap().contains("leave-one-size-out"));
            let g = r
                .predict(
                    d,
                    "c-naive-O3",
                    &gemv(300, 300, DType::F32, "nn", "ikj"),
                    2,
                    None,
                )
                .unwrap();
            assert!(g.text.contains(name) && g.error.is_some(), "{}", g.text);
        }
        // Without the Zen 4 rows a Zen 4 host reads the Zen 5 ones as
        // another CPU: said so, and never with that machine's own ±.
        let mut only5 = r.clone();
        only5.rows.retain(|x| x.machine != "epyc-zen4-2c-avx512");
        only5.machines.retain(|m| m.id != "epyc-zen4-2c-avx512");
        let pr = only5.predict(&zen4, "c-naive-O1", &p, 2, None).unwrap();
        assert!(
            pr.text
                .contains("another CPU of the same kind: L1d 48 KiB there, 32 KiB here"),
            "{}",
            pr.text
        );
        assert!(
            !pr.error_basis
                .as_deref()
                .unwrap_or("")
                .contains("this machine's"),
            "{pr:?}"
        );
        let g = only5
            .predict(
                &zen4,
                "c-naive-O3",
                &gemv(300, 300, DType::F32, "nn", "ikj"),
                2,
                None,
            )
            .unwrap();
        assert_eq!(g.error, None);
        assert!(g
            .error_basis
            .unwrap()
            .contains("another CPU of the same kind"));
    }

    #[test]
    fn a_naive_loop_in_another_order_claims_no_error() {
        let r = Reference::shipped();
        let here = Descriptor::of_ref(r.machine("epyc-2c-avx512").unwrap());
        let mut p = Problem::gemm(256, 256, 256, DType::F32);
        let ijk = r.predict(&here, "c-naive-O3", &p, 2, None).unwrap();
        assert!(ijk.error.is_some());
        p.loop_order = LoopOrder::parse("ikj").unwrap();
        let ikj = r.predict(&here, "c-naive-O3", &p, 2, None).unwrap();
        assert_eq!(ikj.error, None);
        assert!(ikj.error_basis.unwrap().contains("this one is ikj"));
        // A library does not care how the loop it replaces was ordered.
        let lib = r.predict(&here, "openblas", &p, 2, None).unwrap();
        assert!(lib.error.is_some());
    }

    #[test]
    fn attention_is_read_off_its_own_curve_with_its_own_error() {
        let r = Reference::shipped();
        let here = Descriptor::of_ref(r.machine("epyc-2c-avx512").unwrap());
        // Between two shipped lengths (8 heads, head dim 64).
        let p = Problem::attention(8, 384, 64, DType::F32);
        for c in ["numpy-attention", "torch-attention", "torch-sdpa"] {
            let pr = r.predict(&here, c, &p, 2, None).unwrap();
            assert!(pr.seconds > 0.0);
            let e = pr.error.expect("this machine's own curve");
            assert!(e > 0.0 && e < 1.0, "{c}: {e}");
            assert!(pr.text.contains("the attention curve on"), "{}", pr.text);
        }
        // A GEMM row never answers for attention, nor the reverse.
        assert!(r.at("epyc-2c-avx512", "openblas", &p).is_none());
        assert!(r.predict(&here, "openblas", &p, 2, None).is_none());
        let g = Problem::gemm(384, 384, 64, DType::F32);
        assert!(r.predict(&here, "torch-sdpa", &g, 2, None).is_none());
        // Another head dim is read by its FLOPs, and said so.
        let d128 = Problem::attention(8, 384, 128, DType::F32);
        let pr = r.predict(&here, "torch-sdpa", &d128, 2, None).unwrap();
        assert!(pr.text.contains("read by its FLOPs"), "{}", pr.text);
        assert_eq!(pr.error, None);
        assert!(pr.error_basis.unwrap().contains("head dim 64"));
        // Another head count keeps the curve's error.
        let h12 = Problem::attention(12, 384, 64, DType::F32);
        assert!(r
            .predict(&here, "torch-sdpa", &h12, 2, None)
            .unwrap()
            .error
            .is_some());
        // Another machine: not moved, no error claimed.
        let mut other = here.clone();
        other.peak_fp32_gflops *= 8.0;
        other.cores = 16;
        let po = r.predict(&other, "torch-sdpa", &p, 2, None).unwrap();
        assert_eq!(po.error, None);
        assert!(
            po.text.contains("measured on another machine, not moved"),
            "{}",
            po.text
        );
    }
}
