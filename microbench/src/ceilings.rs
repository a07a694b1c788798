//! Ceilings of this machine for `gemmscope bench --machine`: measured memory
//! bandwidth (a STREAM-like copy and triad), the best measured GEMM rate of a
//! table, and a theoretical FP32 peak estimated from the fingerprint.
//!
//! Every figure says how it was obtained: the bandwidth carries its method
//! (arrays, threads, repeats, bytes counted), the peak estimate its formula
//! and assumptions.

use std::hint::black_box;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::fingerprint::Machine;
use crate::report::{Status, Table};

/// Total memory of the three arrays is capped at this.
pub const MAX_TOTAL_BYTES: usize = 512 << 20;
/// Arrays of this size each when the L3 size is unknown.
pub const DEFAULT_ARRAY_BYTES: usize = 128 << 20;

/// A STREAM-like bandwidth measurement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Bandwidth {
    /// Best copy rate, GB/s (10⁹ bytes/s), `c[i] = a[i]` counting 16 bytes
    /// per element (read + write, no write-allocate).
    pub copy_gbs: f64,
    /// Best triad rate, GB/s, `a[i] = b[i] + s·c[i]` counting 24 bytes per
    /// element.
    pub triad_gbs: f64,
    /// Bytes of each of the three f64 arrays.
    pub array_bytes: usize,
    pub threads: usize,
    /// Timed repeats of each kernel (after one warm-up each).
    pub repeats: usize,
    /// Seconds the whole measurement took (allocation included).
    pub elapsed_s: f64,
    /// One line saying exactly how it was measured.
    pub method: String,
}

impl Bandwidth {
    /// The headline figure: the better of copy and triad.
    pub fn best_gbs(&self) -> f64 {
        self.copy_gbs.max(self.triad_gbs)
    }
}

/// How to measure bandwidth.
#[derive(Clone, Debug)]
pub struct BandwidthOptions {
    /// Bytes of each array (rounded down to whole f64s, at least one per
    /// thread; capped so that the three fit in [`MAX_TOTAL_BYTES`]).
    pub array_bytes: usize,
    pub threads: usize,
    /// Wall-clock budget for the timed repeats (warm-up and allocation come
    /// on top; keep the total under 2 s by keeping this about 1.5 s).
    pub budget: Duration,
    /// At most this many timed repeats of each kernel.
    pub max_repeats: usize,
}

impl BandwidthOptions {
    /// Arrays of 4× the L3 each (STREAM's rule) capped so that the three
    /// take at most 512 MiB; all available threads; 1.2 s of repeats.
    pub fn for_machine(m: &Machine) -> BandwidthOptions {
        let want = m
            .caches
            .l3
            .map_or(DEFAULT_ARRAY_BYTES, |l3| 4 * l3 as usize);
        BandwidthOptions {
            array_bytes: want.min(MAX_TOTAL_BYTES / 3),
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
            budget: Duration::from_millis(1200),
            max_repeats: 20,
        }
    }
}

const CMD_COPY: u8 = 0;
const CMD_TRIAD: u8 = 1;
const CMD_STOP: u8 = 2;

/// Measures memory bandwidth with copy and triad kernels over f64 arrays,
/// split into one contiguous chunk per thread. Each thread first touches its
/// own chunk (so pages land on its NUMA node); a barrier starts and ends each
/// timed pass, so the time covers the slowest thread. Best of the repeats.
pub fn measure_bandwidth(opts: &BandwidthOptions) -> Bandwidth {
    let start = Instant::now();
    let threads = opts.threads.max(1);
    let bytes = opts.array_bytes.min(MAX_TOTAL_BYTES / 3);
    let n = (bytes / 8).max(threads);
    let mut a = vec![0f64; n];
    let mut b = vec![0f64; n];
    let mut c = vec![0f64; n];
    let chunk = n.div_ceil(threads);
    let cmd = AtomicU8::new(CMD_STOP);
    let barrier = Barrier::new(threads + 1);
    let (mut best_copy, mut best_triad) = (f64::INFINITY, f64::INFINITY);
    let mut repeats = 0usize;
    std::thread::scope(|s| {
        for ((a, b), c) in a
            .chunks_mut(chunk)
            .zip(b.chunks_mut(chunk))
            .zip(c.chunks_mut(chunk))
        {
            let (cmd, barrier) = (&cmd, &barrier);
            s.spawn(move || {
                for (i, ((x, y), z)) in a.iter_mut().zip(b.iter_mut()).zip(c.iter_mut()).enumerate()
                {
                    *x = 1.0 + (i % 7) as f64;
                    *y = 2.0;
                    *z = 0.5;
                }
                barrier.wait(); // initialised
                loop {
                    barrier.wait(); // start
                    match cmd.load(Ordering::Acquire) {
                        CMD_COPY => {
                            for (z, x) in c.iter_mut().zip(a.iter()) {
                                *z = *x;
                            }
                            black_box(&mut *c);
                        }
                        CMD_TRIAD => {
                            let s = black_box(3.0f64);
                            for ((x, y), z) in a.iter_mut().zip(b.iter()).zip(c.iter()) {
                                *x = *y + s * *z;
                            }
                            black_box(&mut *a);
                        }
                        _ => return,
                    }
                    barrier.wait(); // end
                }
            });
        }
        // Fewer chunks than threads when n is small: pad the barrier.
        let spawned = n.div_ceil(chunk);
        for _ in spawned..threads {
            s.spawn(|| {
                barrier.wait();
                loop {
                    barrier.wait();
                    if cmd.load(Ordering::Acquire) == CMD_STOP {
                        return;
                    }
                    barrier.wait();
                }
            });
        }
        barrier.wait(); // all initialised
        let pass = |k: u8| {
            cmd.store(k, Ordering::Release);
            let t = Instant::now();
            barrier.wait();
            barrier.wait();
            t.elapsed().as_secs_f64()
        };
        // Warm-up.
        pass(CMD_COPY);
        pass(CMD_TRIAD);
        let timed = Instant::now();
        while repeats < opts.max_repeats.max(1) {
            best_copy = best_copy.min(pass(CMD_COPY));
            best_triad = best_triad.min(pass(CMD_TRIAD));
            repeats += 1;
            if timed.elapsed() >= opts.budget {
                break;
            }
        }
        cmd.store(CMD_STOP, Ordering::Release);
        barrier.wait();
    });
    let nb = (n * 8) as f64;
    let copy_gbs = 2.0 * nb / best_copy / 1e9;
    let triad_gbs = 3.0 * nb / best_triad / 1e9;
    let array_bytes = n * 8;
    let method = format!(
        "STREAM-like, best of {repeats} after a warm-up: copy c[i]=a[i] (16 B/element) and \
         triad a[i]=b[i]+s*c[i] (24 B/element), 3 f64 arrays of {} each, {threads} threads, \
         first-touch per thread; GB/s = 10^9 bytes/s",
        crate::fingerprint::human_bytes(array_bytes as u64)
    );
    Bandwidth {
        copy_gbs,
        triad_gbs,
        array_bytes,
        threads,
        repeats,
        elapsed_s: start.elapsed().as_secs_f64(),
        method,
    }
}

/// Measures this machine's bandwidth as [`BandwidthOptions::for_machine`]
/// says, noting in `method` when the 512 MiB cap kept the arrays below 4×
/// the L3 (the figure may then include cache hits).
pub fn machine_bandwidth(m: &Machine) -> Bandwidth {
    let opts = BandwidthOptions::for_machine(m);
    let mut bw = measure_bandwidth(&opts);
    if let Some(l3) = m.caches.l3 {
        if (bw.array_bytes as u64) < 4 * l3 {
            bw.method.push_str(&format!(
                "; arrays capped below 4× the L3 ({}) to bound memory, so part of the \
                 traffic may hit in cache",
                crate::fingerprint::human_bytes(l3)
            ));
        }
    }
    bw
}

/// The best measured GEMM rate in a table.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeakGemm {
    pub gflops: f64,
    /// Candidate id (`openblas-sgemm`).
    pub id: String,
    /// Candidate label.
    pub candidate: String,
    /// Provenance `what`, when the row has one.
    pub what: Option<String>,
}

/// The best GFLOP/s among the table's ok rows, with its candidate.
pub fn peak_gemm(t: &Table) -> Option<PeakGemm> {
    t.rows
        .iter()
        .filter(|r| r.status == Status::Ok)
        .filter_map(|r| r.gflops.filter(|g| g.is_finite()).map(|g| (g, r)))
        .max_by(|x, y| x.0.total_cmp(&y.0))
        .map(|(g, r)| PeakGemm {
            gflops: g,
            id: r.id.clone(),
            candidate: r.candidate.clone(),
            what: r.provenance.as_ref().map(|p| p.what.clone()),
        })
}

/// A theoretical FP32 peak: an estimate from the fingerprint, not a
/// measurement.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PeakEstimate {
    pub gflops: f64,
    pub cores: u32,
    pub ghz: f64,
    /// Where the clock came from (`cpufreq max`, `/proc/cpuinfo cpu MHz`).
    pub clock_source: String,
    /// FP32 FLOPs per cycle per core.
    pub flops_per_cycle: u32,
    /// The vector unit assumed (`AVX-512 FMA, 2 units assumed`).
    pub isa: String,
    /// `estimate: 2 cores × 2.60 GHz × 64 FP32 FLOP/cycle (AVX-512 FMA, 2
    /// units assumed) = 332.8 GFLOP/s`.
    pub formula: String,
}

/// FP32 FLOPs per cycle per core and what that assumes, from ISA flags.
pub fn flops_per_cycle(m: &Machine) -> Option<(u32, &'static str)> {
    let c = &m.cpu;
    Some(if c.has("avx512f") && c.has("fma") {
        (64, "AVX-512 FMA, 16 lanes × 2 FLOP × 2 units assumed")
    } else if c.has("avx2") && c.has("fma") {
        (32, "AVX2 FMA, 8 lanes × 2 FLOP × 2 units assumed")
    } else if c.has("avx") {
        (
            16,
            "AVX without FMA, 8-lane add + 8-lane multiply per cycle",
        )
    } else if c.has("neon") || c.has("asimd") {
        (16, "NEON FMA, 4 lanes × 2 FLOP × 2 units assumed")
    } else if c.has("sse2") || m.cpu.arch == "x86_64" {
        (8, "SSE, 4-lane add + 4-lane multiply per cycle")
    } else {
        return None;
    })
}

/// Physical cores × GHz (cpufreq max, else `cpu MHz`) × FP32 FLOPs/cycle
/// from the ISA. `None` when the cores, the clock or the ISA is unknown. An
/// upper bound: real clocks under wide vector load are often lower, and some
/// parts have one FMA unit where two are assumed.
pub fn theoretical_fp32_peak(m: &Machine) -> Option<PeakEstimate> {
    let cores = m.cpu.physical_cores.or(m.cpu.logical_cores)?;
    let (mhz, clock_source) = match (m.cpu.max_mhz, m.cpu.mhz) {
        (Some(x), _) if x > 0.0 => (x, "cpufreq max"),
        (_, Some(x)) if x > 0.0 => (x, "/proc/cpuinfo cpu MHz"),
        _ => return None,
    };
    let (fpc, isa) = flops_per_cycle(m)?;
    let ghz = mhz / 1000.0;
    let gflops = cores as f64 * ghz * fpc as f64;
    let core_word = if m.cpu.physical_cores.is_some() {
        "cores"
    } else {
        "logical cores"
    };
    Some(PeakEstimate {
        gflops,
        cores,
        ghz,
        clock_source: clock_source.into(),
        flops_per_cycle: fpc,
        isa: isa.into(),
        formula: format!(
            "estimate: {cores} {core_word} × {ghz:.2} GHz ({clock_source}) × {fpc} FP32 \
             FLOP/cycle ({isa}) = {gflops:.1} GFLOP/s"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::candidates::Backend;
    use crate::fingerprint::parse_cpuinfo;
    use crate::fingerprint::tests::{GRAVITON_CPUINFO, HASWELL_CPUINFO, XEON_CPUINFO};
    use crate::problem::{DType, Problem};
    use crate::report::Row;

    #[test]
    fn bandwidth_is_positive_and_bounded_at_a_small_size() {
        let opts = BandwidthOptions {
            array_bytes: 1 << 20,
            threads: 3,
            budget: Duration::from_millis(100),
            max_repeats: 5,
        };
        let bw = measure_bandwidth(&opts);
        assert!(bw.copy_gbs.is_finite() && bw.copy_gbs > 0.0, "{bw:?}");
        assert!(bw.triad_gbs.is_finite() && bw.triad_gbs > 0.0, "{bw:?}");
        assert!(bw.repeats >= 1 && bw.repeats <= 5);
        assert_eq!(bw.array_bytes, 1 << 20);
        assert!(bw.elapsed_s < 2.0, "{bw:?}");
        assert!(bw.method.contains("3 threads"));
        // More threads than elements still works.
        let tiny = measure_bandwidth(&BandwidthOptions {
            array_bytes: 16,
            threads: 4,
            budget: Duration::from_millis(10),
            max_repeats: 2,
        });
        assert!(tiny.best_gbs() > 0.0 && tiny.best_gbs().is_finite());
    }

    #[test]
    fn machine_options_cap_memory() {
        let mut m = Machine::default();
        m.caches.l3 = Some(480 << 20);
        let o = BandwidthOptions::for_machine(&m);
        assert_eq!(o.array_bytes, MAX_TOTAL_BYTES / 3);
        m.caches.l3 = Some(8 << 20);
        assert_eq!(BandwidthOptions::for_machine(&m).array_bytes, 32 << 20);
        m.caches.l3 = None;
        assert_eq!(
            BandwidthOptions::for_machine(&m).array_bytes,
            DEFAULT_ARRAY_BYTES
        );
    }

    fn machine(cpuinfo: &str, arch: &str) -> Machine {
        let mut m = Machine {
            cpu: parse_cpuinfo(cpuinfo),
            ..Machine::default()
        };
        m.cpu.arch = arch.into();
        m
    }

    #[test]
    fn peak_formula_on_fixtures() {
        // 2 cores × 2.0 GHz × 64 (AVX-512 FMA).
        let x = theoretical_fp32_peak(&machine(XEON_CPUINFO, "x86_64")).unwrap();
        assert_eq!((x.cores, x.flops_per_cycle), (2, 64));
        assert!((x.gflops - 256.0).abs() < 1e-9);
        assert!(x.formula.starts_with("estimate: 2 cores × 2.00 GHz"));
        assert!(x.formula.contains("= 256.0 GFLOP/s"), "{}", x.formula);
        // cpufreq max wins over cpu MHz.
        let mut m = machine(XEON_CPUINFO, "x86_64");
        m.cpu.max_mhz = Some(3800.0);
        let y = theoretical_fp32_peak(&m).unwrap();
        assert!((y.gflops - 2.0 * 3.8 * 64.0).abs() < 1e-9);
        assert_eq!(y.clock_source, "cpufreq max");
        // 4 cores × 3.4 GHz × 32 (AVX2 FMA).
        let h = theoretical_fp32_peak(&machine(HASWELL_CPUINFO, "x86_64")).unwrap();
        assert_eq!(h.flops_per_cycle, 32);
        assert!((h.gflops - 4.0 * 3.4 * 32.0).abs() < 1e-9);
        // SSE only.
        let mut s = machine(HASWELL_CPUINFO, "x86_64");
        s.cpu.flags = vec!["sse2".into()];
        assert_eq!(theoretical_fp32_peak(&s).unwrap().flops_per_cycle, 8);
        // Arm without a clock in cpuinfo: not derivable; with cpufreq: NEON.
        let mut g = machine(GRAVITON_CPUINFO, "aarch64");
        assert!(theoretical_fp32_peak(&g).is_none());
        g.cpu.max_mhz = Some(2600.0);
        let ge = theoretical_fp32_peak(&g).unwrap();
        assert_eq!(ge.flops_per_cycle, 16);
        assert!(ge.formula.contains("2 logical cores"));
        assert!(theoretical_fp32_peak(&Machine::default()).is_none());
    }

    fn row(id: &str, status: Status, gflops: Option<f64>) -> Row {
        let mut r = Row::not_ok(
            id,
            id.into(),
            Backend::Cpu,
            "f32".into(),
            status,
            String::new(),
        );
        r.gflops = gflops;
        r
    }

    #[test]
    fn peak_gemm_takes_the_best_ok_row() {
        let mut t = Table {
            problem: Problem::gemm(8, 8, 8, DType::F32),
            machine: "m".into(),
            rows: vec![
                row("slow", Status::Ok, Some(1.5)),
                row("wrong", Status::Failed, Some(900.0)),
                row("fast", Status::Ok, Some(42.0)),
                row("skipped", Status::Skipped, None),
            ],
        };
        let p = peak_gemm(&t).unwrap();
        assert_eq!((p.id.as_str(), p.gflops), ("fast", 42.0));
        t.rows.retain(|r| r.status != Status::Ok);
        assert!(peak_gemm(&t).is_none());
    }

    /// `cargo test --release -p gemmscope-microbench ceilings::tests::report_this_machine -- --ignored --nocapture`
    #[test]
    #[ignore = "prints this machine's fingerprint and ceilings (run in release)"]
    fn report_this_machine() {
        let m = Machine::detect(&crate::toolchain::Toolchain::default());
        println!("machine id {}: {}", m.id(), m.describe());
        println!("{}", serde_json::to_string_pretty(&m).unwrap());
        let bw = machine_bandwidth(&m);
        println!(
            "bandwidth: copy {:.1} GB/s, triad {:.1} GB/s in {:.2} s ({})",
            bw.copy_gbs, bw.triad_gbs, bw.elapsed_s, bw.method
        );
        match theoretical_fp32_peak(&m) {
            Some(p) => println!("FP32 peak {}", p.formula),
            None => println!("FP32 peak: not derivable"),
        }
    }
}
