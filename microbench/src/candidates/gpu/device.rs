//! The part that talks to the GPU, through cudarc with every CUDA library
//! (driver, NVRTC, cuBLAS) loaded at run time. Runs only in the benchmark
//! child. A missing library or device is a [`Stop::Skip`], never a panic:
//! each library is looked for (and, from the usual CUDA folders, preloaded)
//! before cudarc's lazy loader, which panics on a miss, is ever touched.

use std::ffi::{c_int, CString};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use cudarc::cublas::{result as blas, sys as bsys, CudaBlas};
use cudarc::driver::{
    sys as dsys, CudaContext, CudaStream, DevicePtr, DevicePtrMut, DeviceRepr, LaunchConfig,
    PushKernelArg, ValidAsZeroBits,
};
use cudarc::nvrtc;
use half::{bf16, f16};

use super::host::{self, ColMajorCall, Inputs};
use super::kernels::{self, KernelKind};
use super::Kind;
use crate::job::{Job, Measurement};
use crate::problem::{DType, Problem};

/// Why a measurement did not happen.
#[derive(Debug)]
pub enum Stop {
    /// This machine cannot run it (no driver, library or device).
    Skip(String),
    /// It ran and went wrong.
    Fail(String),
}

type R<T> = Result<T, Stop>;

fn fail<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> Stop {
    move |e| Stop::Fail(format!("{what}: {e}"))
}

/// A CUDA library that a candidate needs.
pub struct Lib {
    /// For the reason of a skip (`CUDA driver`).
    pub what: &'static str,
    /// The file name that is looked for (`libcuda.so.1`); only files whose
    /// name starts with it are preloaded, so that a library of another CUDA
    /// major version is never picked up.
    pub soname: &'static str,
    /// Libraries it loads itself, preloaded first from the same folder when
    /// it is found outside the loader's path.
    companions: &'static [&'static str],
    present: unsafe fn() -> bool,
}

pub static DRIVER: Lib = Lib {
    what: "CUDA driver",
    soname: "libcuda.so.1",
    companions: &[],
    present: cudarc::driver::sys::is_culib_present,
};
pub static NVRTC: Lib = Lib {
    what: "NVRTC (CUDA 13 runtime compiler)",
    soname: "libnvrtc.so.13",
    companions: &["libnvrtc-builtins.so.13"],
    present: cudarc::nvrtc::sys::is_culib_present,
};
pub static CUBLAS: Lib = Lib {
    what: "cuBLAS (CUDA 13)",
    soname: "libcublas.so.13",
    companions: &["libcublasLt.so.13"],
    present: cudarc::cublas::sys::is_culib_present,
};

/// Folders where CUDA libraries live when they are not on the loader's path.
fn fallback_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    for var in ["CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"] {
        if let Some(root) = std::env::var_os(var) {
            let root = PathBuf::from(root);
            dirs.push(root.join("lib64"));
            dirs.push(root.join("lib"));
            dirs.push(root.join("targets/x86_64-linux/lib"));
        }
    }
    dirs.push("/usr/local/cuda/lib64".into());
    dirs.push("/usr/local/cuda/targets/x86_64-linux/lib".into());
    if let Ok(rd) = std::fs::read_dir("/usr/local") {
        let mut versioned: Vec<PathBuf> = rd
            .flatten()
            .filter(|e| e.file_name().to_string_lossy().starts_with("cuda-13"))
            .map(|e| e.path().join("lib64"))
            .collect();
        versioned.sort();
        versioned.reverse();
        dirs.extend(versioned);
    }
    for d in [
        "/usr/local/nvidia/lib64",
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib64",
        "/usr/lib/wsl/lib",
    ] {
        dirs.push(d.into());
    }
    dirs
}

/// Loads a library by path for good (the handle is never closed), so that
/// later loads by its soname find it.
fn dlopen_global(path: &std::path::Path) -> bool {
    let Ok(c) = CString::new(path.as_os_str().to_string_lossy().as_bytes()) else {
        return false;
    };
    // SAFETY: loading a CUDA library runs its initialisers, as cudarc's own
    // loader would.
    let h = unsafe { libc::dlopen(c.as_ptr(), libc::RTLD_NOW | libc::RTLD_GLOBAL) };
    !h.is_null()
}

/// Makes sure `lib` can be loaded by cudarc: either the loader finds it by
/// name, or a file from [`fallback_dirs`] is loaded now (by path, kept
/// open), after which the loader finds it by its soname.
pub fn ensure(lib: &Lib) -> Result<(), String> {
    // SAFETY: only tries to dlopen the library by its usual names.
    if unsafe { (lib.present)() } {
        return Ok(());
    }
    for dir in fallback_dirs() {
        let Ok(rd) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut names: Vec<String> = rd
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let matching = |prefix: &str| -> Vec<PathBuf> {
            names
                .iter()
                .filter(|n| n.starts_with(prefix))
                .map(|n| dir.join(n))
                .collect()
        };
        let files = matching(lib.soname);
        if files.is_empty() {
            continue;
        }
        for companion in lib.companions {
            if let Some(f) = matching(companion).first() {
                dlopen_global(f);
            }
        }
        for f in files {
            // SAFETY: only asks whether the loader now finds it by name.
            if dlopen_global(&f) && unsafe { (lib.present)() } {
                return Ok(());
            }
        }
    }
    Err(format!(
        "no {} ({} not found on the library path or in the usual CUDA folders)",
        lib.what, lib.soname
    ))
}

/// The device and its software, for `what`.
struct DeviceInfo {
    name: String,
    cc: (i32, i32),
    mem_gib: f64,
    /// `580.95.05 (CUDA 13.0)`.
    driver: String,
}

fn version_string(v: c_int) -> String {
    format!("{}.{}", v / 1000, (v % 1000) / 10)
}

/// The kernel module's version (`580.95.05`) from `/proc`, when readable.
fn kernel_driver_version() -> Option<String> {
    let text = std::fs::read_to_string("/proc/driver/nvidia/version").ok()?;
    let line = text.lines().next()?;
    line.split_whitespace()
        .find(|t| {
            t.contains('.')
                && t.starts_with(|c: char| c.is_ascii_digit())
                && t.chars().all(|c| c.is_ascii_digit() || c == '.')
        })
        .map(str::to_string)
}

impl DeviceInfo {
    fn query(ctx: &Arc<CudaContext>) -> R<DeviceInfo> {
        let name = ctx.name().map_err(fail("device name"))?;
        let cc = ctx
            .compute_capability()
            .map_err(fail("compute capability"))?;
        let mem_gib = ctx.total_mem().map_err(fail("device memory"))? as f64 / (1u64 << 30) as f64;
        let mut v: c_int = 0;
        // SAFETY: writes one int.
        unsafe { dsys::cuDriverGetVersion(&mut v) }
            .result()
            .map_err(fail("driver version"))?;
        let cuda = format!("CUDA {}", version_string(v));
        let driver = match kernel_driver_version() {
            Some(k) => format!("driver {k} ({cuda})"),
            None => format!("driver {cuda}"),
        };
        Ok(DeviceInfo {
            name,
            cc,
            mem_gib,
            driver,
        })
    }

    fn describe(&self) -> String {
        format!(
            "{} (sm_{}{}, {:.0} GiB), {}",
            self.name, self.cc.0, self.cc.1, self.mem_gib, self.driver
        )
    }
}

/// Where and how to measure.
struct On<'a> {
    ctx: &'a Arc<CudaContext>,
    stream: &'a Arc<CudaStream>,
    dev: &'a DeviceInfo,
    budget_s: f64,
    /// Elements of C, all batches.
    c_len: usize,
}

/// Seconds per call, transfer seconds, and C (all batches) as f64.
struct Timed {
    samples: Vec<f64>,
    transfer_s: f64,
    c: Vec<f64>,
}

/// Copies the operands in, runs `call(a, b, c)` once to warm up and then
/// timed with CUDA events until the budget is spent, copies C back.
fn time_calls<TA: DeviceRepr, TC: DeviceRepr + ValidAsZeroBits + Copy>(
    on: &On,
    a_host: Vec<TA>,
    b_host: Vec<TA>,
    to_f64: fn(TC) -> f64,
    mut call: impl FnMut(u64, u64, u64) -> Result<(), String>,
) -> R<Timed> {
    let (ctx, stream, budget_s, c_len) = (on.ctx, on.stream, on.budget_s, on.c_len);
    stream.synchronize().map_err(fail("synchronize"))?;
    let t = Instant::now();
    let a = stream
        .clone_htod(&a_host)
        .map_err(fail("copying A to the GPU"))?;
    let b = stream
        .clone_htod(&b_host)
        .map_err(fail("copying B to the GPU"))?;
    stream.synchronize().map_err(fail("copying A, B"))?;
    let h2d = t.elapsed().as_secs_f64();
    drop((a_host, b_host));
    let mut c = stream
        .alloc_zeros::<TC>(c_len)
        .map_err(fail("allocating C on the GPU"))?;
    let mut samples = Vec::new();
    {
        let (pa, _ga) = a.device_ptr(stream);
        let (pb, _gb) = b.device_ptr(stream);
        let (pc, _gc) = c.device_ptr_mut(stream);
        call(pa, pb, pc).map_err(Stop::Fail)?;
        stream
            .synchronize()
            .map_err(fail("warm-up call failed on the GPU"))?;
        let timing = Some(dsys::CUevent_flags::CU_EVENT_DEFAULT);
        let start = ctx.new_event(timing).map_err(fail("event"))?;
        let stop = ctx.new_event(timing).map_err(fail("event"))?;
        let t0 = Instant::now();
        while host::keep_going(&samples, t0.elapsed().as_secs_f64(), budget_s) {
            start.record(stream).map_err(fail("event record"))?;
            call(pa, pb, pc).map_err(Stop::Fail)?;
            stop.record(stream).map_err(fail("event record"))?;
            let ms = start
                .elapsed_ms(&stop)
                .map_err(fail("timed call failed on the GPU"))?;
            samples.push(ms as f64 * 1e-3);
        }
    }
    let t = Instant::now();
    let c_host = stream
        .clone_dtoh(&c)
        .map_err(fail("copying C from the GPU"))?;
    stream.synchronize().map_err(fail("copying C"))?;
    let d2h = t.elapsed().as_secs_f64();
    Ok(Timed {
        samples,
        transfer_s: h2d + d2h,
        c: c_host.into_iter().map(to_f64).collect(),
    })
}

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

fn id_f32(x: f32) -> f64 {
    x as f64
}

fn id_f64(x: f64) -> f64 {
    x
}

fn nvrtc_version() -> String {
    let (mut maj, mut min): (c_int, c_int) = (0, 0);
    // SAFETY: writes two ints.
    match unsafe { nvrtc::sys::nvrtcVersion(&mut maj, &mut min) }.result() {
        Ok(()) => format!("{maj}.{min}"),
        Err(_) => "?".into(),
    }
}

/// Measures a hand-written kernel compiled with NVRTC.
fn run_kernel(
    kind: KernelKind,
    job: &Job,
    on: &On,
    inp: &Inputs,
    rows: u64,
) -> R<(Timed, String, Vec<String>)> {
    ensure(&NVRTC).map_err(Stop::Skip)?;
    let (ctx, stream, dev) = (on.ctx, on.stream, on.dev);
    let p = &job.problem;
    let k = kernels::generate(kind, p, rows);
    // For inspection only; what runs is compiled from the same string.
    let _ = std::fs::write(job.workdir.join(format!("{}.cu", k.name)), &k.source);
    let arch = format!("--gpu-architecture=compute_{}{}", dev.cc.0, dev.cc.1);
    let opts = nvrtc::CompileOptions {
        options: vec![arch.clone()],
        fmad: Some(true),
        ..Default::default()
    };
    let t = Instant::now();
    let ptx = nvrtc::compile_ptx_with_opts(&k.source, opts).map_err(|e| match e {
        nvrtc::CompileError::CompileError { nvrtc, log, .. } => Stop::Fail(format!(
            "NVRTC could not compile the generated kernel ({nvrtc}): {}",
            log.to_string_lossy().trim()
        )),
        other => Stop::Fail(format!("NVRTC: {other}")),
    })?;
    let module = ctx.load_module(ptx).map_err(fail("loading the kernel"))?;
    let func = module
        .load_function(&k.name)
        .map_err(fail("finding the kernel"))?;
    let compile_s = t.elapsed().as_secs_f64();
    let cfg = LaunchConfig {
        grid_dim: k.grid,
        block_dim: k.block,
        shared_mem_bytes: 0,
    };
    let dims: [i32; 5] = [p.m, p.n, p.k, rows, p.batch].map(|v| v as i32);
    let call = |pa: u64, pb: u64, pc: u64| -> Result<(), String> {
        let mut b = stream.launch_builder(&func);
        b.arg(&pa).arg(&pb).arg(&pc);
        for d in &dims {
            b.arg(d);
        }
        // SAFETY: the arguments match the generated signature; the grid
        // covers exactly the rows × N outputs of each batch it writes,
        // every access is bounds-checked against M, N, K and rows.
        unsafe { b.launch(cfg) }
            .map(|_| ())
            .map_err(|e| format!("kernel launch: {e}"))
    };
    let timed = if p.dtype == DType::F64 {
        time_calls(on, inp.a.clone(), inp.b.clone(), id_f64, call)?
    } else {
        time_calls(on, to_f32(&inp.a), to_f32(&inp.b), id_f32, call)?
    };
    let what = format!(
        "NVRTC {} kernel {} ({}×{} threads per block{}, {}), {} --fmad=true; on {}",
        nvrtc_version(),
        k.name,
        k.block.0,
        k.block.1,
        match kind {
            KernelKind::Naive => ", one output per thread",
            KernelKind::Tiled => ", shared-memory tiles",
        },
        kernels::scalar(p.dtype),
        arch,
        dev.describe()
    );
    let notes = vec![format!(
        "NVRTC compile and module load took {compile_s:.2} s (not timed)"
    )];
    Ok((timed, what, notes))
}

/// The cuBLAS flavour of a candidate.
#[derive(Clone, Copy)]
enum Blas {
    /// cublasSgemm / cublasDgemm under CUBLAS_PEDANTIC_MATH.
    Pedantic,
    /// cublasGemmEx with FP32 operands and CUBLAS_COMPUTE_32F_FAST_TF32.
    Tf32,
    /// cublasGemmEx with FP16 operands, FP32 C and CUBLAS_COMPUTE_32F.
    F16,
    /// The same with BF16 operands.
    Bf16,
}

fn blas_err(what: &'static str) -> impl Fn(blas::CublasError) -> String {
    move |e| format!("{what}: {e}")
}

fn op(t: bool) -> bsys::cublasOperation_t {
    if t {
        bsys::cublasOperation_t::CUBLAS_OP_T
    } else {
        bsys::cublasOperation_t::CUBLAS_OP_N
    }
}

fn run_blas(
    flavour: Blas,
    job: &Job,
    on: &On,
    inp: &Inputs,
    rows: u64,
) -> R<(Timed, String, Vec<String>)> {
    ensure(&CUBLAS).map_err(Stop::Skip)?;
    let (stream, dev) = (on.stream, on.dev);
    let p = &job.problem;
    let handle = CudaBlas::new(stream.clone()).map_err(fail("creating the cuBLAS handle"))?;
    let h = *handle.handle();
    let mut ver: c_int = 0;
    // SAFETY: a valid handle; writes one int.
    unsafe { bsys::cublasGetVersion_v2(h, &mut ver) }
        .result()
        .map_err(fail("cuBLAS version"))?;
    let cublas_version = format!("{}.{}.{}", ver / 10000, (ver / 100) % 100, ver % 100);
    let math = match flavour {
        Blas::Pedantic => bsys::cublasMath_t::CUBLAS_PEDANTIC_MATH,
        _ => bsys::cublasMath_t::CUBLAS_DEFAULT_MATH,
    };
    // SAFETY: a valid handle.
    unsafe { bsys::cublasSetMathMode(h, math) }
        .result()
        .map_err(fail("cublasSetMathMode"))?;
    let s = ColMajorCall::new(p, rows);
    let f64_problem = p.dtype == DType::F64;
    let batched = s.batch > 1;
    let (ta, tb) = (op(s.trans_first), op(s.trans_second));
    // SAFETY (all calls below): pointers from live device buffers of the
    // sizes `ColMajorCall` describes; alpha/beta are host scalars.
    let timed: R<Timed> = match flavour {
        Blas::Pedantic if f64_problem => {
            let (alpha, beta) = (1.0f64, 0.0f64);
            let call = |pa: u64, pb: u64, pc: u64| unsafe {
                let (first, second) = (pb as *const f64, pa as *const f64);
                if batched {
                    blas::dgemm_strided_batched(
                        h,
                        ta,
                        tb,
                        s.m,
                        s.n,
                        s.k,
                        &alpha,
                        first,
                        s.ld_first,
                        s.stride_first,
                        second,
                        s.ld_second,
                        s.stride_second,
                        &beta,
                        pc as *mut f64,
                        s.ldc,
                        s.stride_c,
                        s.batch,
                    )
                } else {
                    blas::dgemm(
                        h,
                        ta,
                        tb,
                        s.m,
                        s.n,
                        s.k,
                        &alpha,
                        first,
                        s.ld_first,
                        second,
                        s.ld_second,
                        &beta,
                        pc as *mut f64,
                        s.ldc,
                    )
                }
                .map_err(blas_err("cublasDgemm"))
            };
            time_calls(on, inp.a.clone(), inp.b.clone(), id_f64, call)
        }
        Blas::Pedantic => {
            let (alpha, beta) = (1.0f32, 0.0f32);
            let call = |pa: u64, pb: u64, pc: u64| unsafe {
                let (first, second) = (pb as *const f32, pa as *const f32);
                if batched {
                    blas::sgemm_strided_batched(
                        h,
                        ta,
                        tb,
                        s.m,
                        s.n,
                        s.k,
                        &alpha,
                        first,
                        s.ld_first,
                        s.stride_first,
                        second,
                        s.ld_second,
                        s.stride_second,
                        &beta,
                        pc as *mut f32,
                        s.ldc,
                        s.stride_c,
                        s.batch,
                    )
                } else {
                    blas::sgemm(
                        h,
                        ta,
                        tb,
                        s.m,
                        s.n,
                        s.k,
                        &alpha,
                        first,
                        s.ld_first,
                        second,
                        s.ld_second,
                        &beta,
                        pc as *mut f32,
                        s.ldc,
                    )
                }
                .map_err(blas_err("cublasSgemm"))
            };
            time_calls(on, to_f32(&inp.a), to_f32(&inp.b), id_f32, call)
        }
        Blas::Tf32 | Blas::F16 | Blas::Bf16 => {
            use bsys::cudaDataType_t::{CUDA_R_16BF, CUDA_R_16F, CUDA_R_32F};
            let (in_type, compute) = match flavour {
                Blas::Tf32 => (
                    CUDA_R_32F,
                    bsys::cublasComputeType_t::CUBLAS_COMPUTE_32F_FAST_TF32,
                ),
                Blas::F16 => (CUDA_R_16F, bsys::cublasComputeType_t::CUBLAS_COMPUTE_32F),
                _ => (CUDA_R_16BF, bsys::cublasComputeType_t::CUBLAS_COMPUTE_32F),
            };
            let algo = bsys::cublasGemmAlgo_t::CUBLAS_GEMM_DEFAULT;
            let (alpha, beta) = (1.0f32, 0.0f32);
            let call = |pa: u64, pb: u64, pc: u64| unsafe {
                let al = &alpha as *const f32 as *const std::ffi::c_void;
                let be = &beta as *const f32 as *const std::ffi::c_void;
                let (first, second) =
                    (pb as *const std::ffi::c_void, pa as *const std::ffi::c_void);
                let c = pc as *mut std::ffi::c_void;
                if batched {
                    blas::gemm_strided_batched_ex(
                        h,
                        ta,
                        tb,
                        s.m,
                        s.n,
                        s.k,
                        al,
                        first,
                        in_type,
                        s.ld_first,
                        s.stride_first,
                        second,
                        in_type,
                        s.ld_second,
                        s.stride_second,
                        be,
                        c,
                        CUDA_R_32F,
                        s.ldc,
                        s.stride_c,
                        s.batch,
                        compute,
                        algo,
                    )
                } else {
                    blas::gemm_ex(
                        h,
                        ta,
                        tb,
                        s.m,
                        s.n,
                        s.k,
                        al,
                        first,
                        in_type,
                        s.ld_first,
                        second,
                        in_type,
                        s.ld_second,
                        be,
                        c,
                        CUDA_R_32F,
                        s.ldc,
                        compute,
                        algo,
                    )
                }
                .map_err(blas_err("cublasGemmEx"))
            };
            match flavour {
                Blas::Tf32 => time_calls(on, to_f32(&inp.a), to_f32(&inp.b), id_f32, call),
                Blas::F16 => {
                    let cv = |v: &[f64]| {
                        v.iter()
                            .map(|&x| f16::from_f64(x).to_bits())
                            .collect::<Vec<u16>>()
                    };
                    time_calls(on, cv(&inp.a), cv(&inp.b), id_f32, call)
                }
                _ => {
                    let cv = |v: &[f64]| {
                        v.iter()
                            .map(|&x| bf16::from_f64(x).to_bits())
                            .collect::<Vec<u16>>()
                    };
                    time_calls(on, cv(&inp.a), cv(&inp.b), id_f32, call)
                }
            }
        }
    };
    // cudarc's handle destructor unwraps; after a sticky CUDA error it would
    // panic and hide the reason, so the handle is leaked on that path (the
    // process ends right after).
    let timed = match timed {
        Ok(t) => t,
        Err(e) => {
            std::mem::forget(handle);
            return Err(e);
        }
    };
    let routine = match flavour {
        Blas::Pedantic if f64_problem => {
            format!("cublasDgemm{}", if batched { "StridedBatched" } else { "" })
        }
        Blas::Pedantic => format!("cublasSgemm{}", if batched { "StridedBatched" } else { "" }),
        _ => format!(
            "cublasGemm{}Ex",
            if batched { "StridedBatched" } else { "" }
        ),
    };
    let detail = match flavour {
        Blas::Pedantic => "CUBLAS_PEDANTIC_MATH",
        Blas::Tf32 => "FP32 A/B/C, CUBLAS_COMPUTE_32F_FAST_TF32, CUBLAS_GEMM_DEFAULT",
        Blas::F16 => "CUDA_R_16F A/B, CUDA_R_32F C, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT",
        Blas::Bf16 => "CUDA_R_16BF A/B, CUDA_R_32F C, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT",
    };
    let what = format!(
        "cuBLAS {cublas_version} {routine} ({detail}, row-major via Cᵀ = Bᵀ·Aᵀ) on {}",
        dev.describe()
    );
    let mut notes = Vec::new();
    match flavour {
        Blas::F16 | Blas::Bf16 => {
            let to = if matches!(flavour, Blas::F16) {
                DType::F16
            } else {
                DType::Bf16
            };
            if p.dtype != to {
                notes.push(format!(
                    "inputs rounded from {} to {} on the host; the error includes that rounding",
                    p.dtype.as_str(),
                    to.as_str()
                ));
            }
        }
        Blas::Tf32 if f64_problem => {
            notes.push("inputs converted from f64 to f32 on the host".into())
        }
        _ => {}
    }
    Ok((timed, what, notes))
}

fn operand_bytes(kind: Kind, p: &Problem) -> f64 {
    let (ab, c) = match kind {
        Kind::F16Tc | Kind::Bf16Tc => (2.0, 4.0),
        _ if p.dtype == DType::F64 => (8.0, 8.0),
        _ => (4.0, 4.0),
    };
    ((p.m * p.k + p.k * p.n) as f64 * ab + (p.m * p.n) as f64 * c) * p.batch as f64
}

/// Measures `kind` on the job's problem.
pub fn run(kind: Kind, job: &Job) -> R<Measurement> {
    let p = &job.problem;
    ensure(&DRIVER).map_err(Stop::Skip)?;
    let ctx = CudaContext::new(0).map_err(|e| Stop::Skip(format!("no usable CUDA device: {e}")))?;
    let dev = DeviceInfo::query(&ctx)?;
    let need = operand_bytes(kind, p);
    if let Ok((free, _)) = ctx.mem_get_info() {
        if need > free as f64 * 0.9 {
            return Err(Stop::Skip(format!(
                "the operands need {:.1} GiB of GPU memory; {} has {:.1} GiB free",
                need / (1u64 << 30) as f64,
                dev.name,
                free as f64 / (1u64 << 30) as f64
            )));
        }
    }
    let rows = job.sample_rows.unwrap_or(p.m).clamp(1, p.m);
    let inp = Inputs::generate(p, job.seed);
    let stream = ctx.default_stream();
    let on = On {
        ctx: &ctx,
        stream: &stream,
        dev: &dev,
        budget_s: job.budget_s,
        c_len: (p.m * p.n * p.batch) as usize,
    };
    let (timed, what, mut notes) = match kind {
        Kind::Naive => run_kernel(KernelKind::Naive, job, &on, &inp, rows)?,
        Kind::Tiled => run_kernel(KernelKind::Tiled, job, &on, &inp, rows)?,
        Kind::SgemmPedantic => run_blas(Blas::Pedantic, job, &on, &inp, rows)?,
        Kind::Tf32 => run_blas(Blas::Tf32, job, &on, &inp, rows)?,
        Kind::F16Tc => run_blas(Blas::F16, job, &on, &inp, rows)?,
        Kind::Bf16Tc => run_blas(Blas::Bf16, job, &on, &inp, rows)?,
    };
    let (rel_error, checked_rows) = host::check(p, &inp, &timed.c, rows);
    notes.push(
        "transfer_s: H→D of A and B plus D→H of C, pageable host memory, not in the timed calls"
            .into(),
    );
    notes.push("timed with CUDA events around each call after one warm-up call".into());
    Ok(Measurement {
        samples: timed.samples,
        rows_computed: rows,
        rel_error,
        checked_rows,
        what,
        threads: 0,
        transfer_s: Some(timed.transfer_s),
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    unsafe fn never() -> bool {
        false
    }

    #[test]
    fn a_library_that_is_nowhere_is_a_reason() {
        static NOWHERE: Lib = Lib {
            what: "test library",
            soname: "libgemmscope-nowhere.so.7",
            companions: &["libgemmscope-nowhere-helper.so.7"],
            present: never,
        };
        let e = ensure(&NOWHERE).unwrap_err();
        assert!(
            e.starts_with("no test library (libgemmscope-nowhere.so.7 not found"),
            "{e}"
        );
    }

    #[test]
    fn versions() {
        assert_eq!(version_string(13000), "13.0");
        assert_eq!(version_string(12090), "12.9");
        assert!(!fallback_dirs().is_empty());
    }
}
