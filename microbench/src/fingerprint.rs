//! The machine fingerprint: what this machine is, as far as performance is
//! concerned (CPU model, cores, vector ISA, caches, memory, GPU, toolchain
//! versions), and a short stable id over exactly those fields.
//!
//! Detection never fails: whatever cannot be read is `None` (or empty). The
//! parsers take text so that they can be tested on fixtures from other
//! machines.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::toolchain::Toolchain;

/// ISA flags that change GEMM performance, as spelled in `/proc/cpuinfo`
/// (`flags` on x86, `Features` on Arm). `neon` is added on Arm when `asimd`
/// is present (AArch64 spells NEON `asimd`).
pub const FLAGS_OF_INTEREST: &[&str] = &[
    // x86
    "sse2",
    "sse4_2",
    "avx",
    "avx2",
    "fma",
    "f16c",
    "avx512f",
    "avx512bw",
    "avx512vl",
    "avx512_vnni",
    "avx512_bf16",
    "avx512_fp16",
    "avx_vnni",
    "amx_tile",
    "amx_bf16",
    "amx_int8",
    // Arm
    "neon",
    "asimd",
    "asimdhp",
    "asimddp",
    "fphp",
    "bf16",
    "i8mm",
    "sve",
    "sve2",
    "sme",
];

/// The CPU as `/proc/cpuinfo` and sysfs describe it.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Cpu {
    /// `Intel(R) Xeon(R) Platinum 8480+`; on Arm without a model name,
    /// `implementer 0x41 part 0xd0c`.
    pub model: Option<String>,
    pub vendor: Option<String>,
    /// `x86_64`, `aarch64` (the architecture this binary was built for).
    pub arch: String,
    /// Distinct (package, core) pairs.
    pub physical_cores: Option<u32>,
    /// Logical processors (hardware threads).
    pub logical_cores: Option<u32>,
    pub sockets: Option<u32>,
    /// `cpu MHz` of the first processor (the current clock on bare metal,
    /// the nominal one on most VMs).
    pub mhz: Option<f64>,
    /// `cpufreq/cpuinfo_max_freq` of cpu0, in MHz.
    pub max_mhz: Option<f64>,
    /// The flags of [`FLAGS_OF_INTEREST`] that this CPU has, in that order.
    pub flags: Vec<String>,
}

impl Cpu {
    pub fn has(&self, flag: &str) -> bool {
        self.flags.iter().any(|f| f == flag)
    }
}

/// Data/unified cache sizes of cpu0, bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Caches {
    pub l1d: Option<u64>,
    pub l2: Option<u64>,
    pub l3: Option<u64>,
}

/// One GPU as `nvidia-smi` reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Gpu {
    pub name: String,
    pub driver: Option<String>,
    /// The CUDA version the driver supports (`nvidia-smi` header).
    pub cuda: Option<String>,
}

/// Compiler and library versions (from the probed [`Toolchain`]).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Software {
    /// The C compiler's version line.
    pub cc: Option<String>,
    /// `openblas_get_config()`.
    pub openblas: Option<String>,
    /// The Python interpreter's version line.
    pub python: Option<String>,
    pub numpy: Option<String>,
    pub torch: Option<String>,
}

impl Software {
    pub fn from_toolchain(tc: &Toolchain) -> Software {
        Software {
            cc: tc.cc.as_ref().map(|t| t.version.clone()),
            openblas: tc.openblas.clone(),
            python: tc.python.as_ref().map(|p| p.tool.version.clone()),
            numpy: tc.python.as_ref().and_then(|p| p.numpy.clone()),
            torch: tc.python.as_ref().and_then(|p| p.torch.clone()),
        }
    }
}

/// This machine, as far as performance is concerned.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    pub cpu: Cpu,
    pub caches: Caches,
    /// `MemTotal`, bytes.
    pub memory_bytes: Option<u64>,
    /// `Debian GNU/Linux 12 (bookworm)`.
    pub os: Option<String>,
    /// Kernel release (not part of the id).
    pub kernel: Option<String>,
    /// Empty when `nvidia-smi` is absent or does not answer in time.
    pub gpus: Vec<Gpu>,
    pub software: Software,
}

/// The fields that change performance, in a fixed order: what [`Machine::id`]
/// hashes. Not the kernel, the OS name, the current clock or free memory.
#[derive(Serialize)]
struct IdFields<'a> {
    model: &'a Option<String>,
    vendor: &'a Option<String>,
    arch: &'a str,
    physical_cores: Option<u32>,
    logical_cores: Option<u32>,
    sockets: Option<u32>,
    max_mhz: Option<u64>,
    flags: &'a [String],
    caches: &'a Caches,
    /// Total memory rounded to GiB (VMs report a few MiB more or less).
    memory_gib: Option<u64>,
    gpus: &'a [Gpu],
    software: &'a Software,
}

impl Machine {
    /// Reads this machine; never fails. Runs `nvidia-smi` (at most a few
    /// seconds) when it is on the `PATH`.
    pub fn detect(tc: &Toolchain) -> Machine {
        let read = |p: &str| std::fs::read_to_string(p).ok();
        let mut cpu = read("/proc/cpuinfo")
            .map(|t| parse_cpuinfo(&t))
            .unwrap_or_default();
        cpu.arch = std::env::consts::ARCH.to_string();
        if cpu.logical_cores.is_none() {
            cpu.logical_cores = std::thread::available_parallelism()
                .ok()
                .map(|n| n.get() as u32);
        }
        if cpu.physical_cores.is_none() {
            cpu.physical_cores = sysfs_physical_cores(Path::new("/sys/devices/system/cpu"));
        }
        cpu.max_mhz = read("/sys/devices/system/cpu/cpu0/cpufreq/cpuinfo_max_freq")
            .and_then(|t| t.trim().parse::<f64>().ok())
            .filter(|k| *k > 0.0)
            .map(|khz| khz / 1000.0);
        let gpus = detect_gpus(Duration::from_secs(3));
        Machine {
            cpu,
            caches: read_caches(Path::new("/sys/devices/system/cpu/cpu0/cache")),
            memory_bytes: read("/proc/meminfo").and_then(|t| parse_meminfo_total(&t)),
            os: read("/etc/os-release")
                .and_then(|t| parse_os_release(&t))
                .or_else(|| Some(std::env::consts::OS.to_string())),
            kernel: read("/proc/sys/kernel/osrelease")
                .map(|t| t.trim().to_string())
                .filter(|s| !s.is_empty()),
            gpus,
            software: Software::from_toolchain(tc),
        }
    }

    /// A short stable hash (16 hex digits) of the fields that change
    /// performance: CPU model, cores, ISA flags, caches, total memory (GiB),
    /// max clock, GPUs with driver and CUDA version, compiler and library
    /// versions. The same machine with the same software gives the same id
    /// across runs and reboots.
    pub fn id(&self) -> String {
        let f = IdFields {
            model: &self.cpu.model,
            vendor: &self.cpu.vendor,
            arch: &self.cpu.arch,
            physical_cores: self.cpu.physical_cores,
            logical_cores: self.cpu.logical_cores,
            sockets: self.cpu.sockets,
            max_mhz: self.cpu.max_mhz.map(|m| m.round() as u64),
            flags: &self.cpu.flags,
            caches: &self.caches,
            memory_gib: self
                .memory_bytes
                .map(|b| (b as f64 / (1u64 << 30) as f64).round() as u64),
            gpus: &self.gpus,
            software: &self.software,
        };
        let json = serde_json::to_string(&f).unwrap_or_default();
        let digest = Sha256::digest(json.as_bytes());
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// One line: `Intel(R) Xeon(R) … · 2 cores / 2 threads · avx2 fma avx512f ·
    /// L1d 48 KiB L2 2 MiB L3 480 MiB · 23 GiB · NVIDIA H100 (driver 550, CUDA 12.4)`.
    pub fn describe(&self) -> String {
        let mut parts = vec![self
            .cpu
            .model
            .clone()
            .unwrap_or_else(|| format!("unknown {} CPU", self.cpu.arch))];
        let n = |v: Option<u32>| v.map_or("?".to_string(), |v| v.to_string());
        parts.push(format!(
            "{} cores / {} threads",
            n(self.cpu.physical_cores),
            n(self.cpu.logical_cores)
        ));
        if !self.cpu.flags.is_empty() {
            parts.push(self.cpu.flags.join(" "));
        }
        let caches: Vec<String> = [
            ("L1d", self.caches.l1d),
            ("L2", self.caches.l2),
            ("L3", self.caches.l3),
        ]
        .iter()
        .filter_map(|(n, v)| v.map(|v| format!("{n} {}", human_bytes(v))))
        .collect();
        if !caches.is_empty() {
            parts.push(caches.join(" "));
        }
        if let Some(m) = self.memory_bytes {
            parts.push(format!("{} RAM", human_bytes(m)));
        }
        for g in &self.gpus {
            let mut s = g.name.clone();
            let extra: Vec<String> = [("driver", &g.driver), ("CUDA", &g.cuda)]
                .iter()
                .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k} {v}")))
                .collect();
            if !extra.is_empty() {
                s.push_str(&format!(" ({})", extra.join(", ")));
            }
            parts.push(s);
        }
        parts.join(" · ")
    }
}

/// `48 KiB`, `2 MiB`, `23.4 GiB`.
pub fn human_bytes(b: u64) -> String {
    const K: f64 = 1024.0;
    let b = b as f64;
    let (v, u) = if b >= K * K * K {
        (b / (K * K * K), "GiB")
    } else if b >= K * K {
        (b / (K * K), "MiB")
    } else if b >= K {
        (b / K, "KiB")
    } else {
        (b, "B")
    };
    if (v - v.round()).abs() < 0.05 {
        format!("{v:.0} {u}")
    } else {
        format!("{v:.1} {u}")
    }
}

/// Parses `/proc/cpuinfo` text (x86 or Arm). `arch` is left empty.
pub fn parse_cpuinfo(text: &str) -> Cpu {
    let mut cpu = Cpu::default();
    let mut logical = 0u32;
    let mut pairs = std::collections::BTreeSet::new();
    let mut packages = std::collections::BTreeSet::new();
    let mut phys: Option<String> = None;
    let mut raw_flags: Option<Vec<String>> = None;
    let (mut implementer, mut part) = (None, None);
    let mut hardware = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        match key {
            "processor" if value.parse::<u32>().is_ok() => {
                logical += 1;
                phys = None;
            }
            "model name" | "Model Name" if cpu.model.is_none() && !value.is_empty() => {
                cpu.model = Some(squash_spaces(value))
            }
            "vendor_id" if cpu.vendor.is_none() => cpu.vendor = Some(value.to_string()),
            "cpu MHz" if cpu.mhz.is_none() => cpu.mhz = value.parse().ok(),
            "flags" | "Features" if raw_flags.is_none() => {
                raw_flags = Some(value.split_whitespace().map(str::to_string).collect())
            }
            "physical id" => {
                phys = Some(value.to_string());
                packages.insert(value.to_string());
            }
            "core id" => {
                pairs.insert((phys.clone().unwrap_or_default(), value.to_string()));
            }
            "CPU implementer" if implementer.is_none() => implementer = Some(value.to_string()),
            "CPU part" if part.is_none() => part = Some(value.to_string()),
            "Hardware" if hardware.is_none() => hardware = Some(value.to_string()),
            _ => {}
        }
    }
    if cpu.model.is_none() {
        cpu.model = match (implementer, part) {
            (Some(i), Some(p)) => Some(format!("implementer {i} part {p}")),
            _ => hardware,
        };
    }
    if cpu.vendor.is_none()
        && cpu
            .model
            .as_deref()
            .is_some_and(|m| m.starts_with("implementer "))
    {
        cpu.vendor = Some("arm".into());
    }
    cpu.logical_cores = (logical > 0).then_some(logical);
    cpu.physical_cores = (!pairs.is_empty()).then_some(pairs.len() as u32);
    cpu.sockets = (!packages.is_empty()).then_some(packages.len() as u32);
    if let Some(mut raw) = raw_flags {
        if raw.iter().any(|f| f == "asimd") && !raw.iter().any(|f| f == "neon") {
            raw.push("neon".into());
        }
        cpu.flags = FLAGS_OF_INTEREST
            .iter()
            .filter(|f| raw.iter().any(|r| r == *f))
            .map(|f| f.to_string())
            .collect();
    }
    cpu
}

fn squash_spaces(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Physical cores from `cpuN/topology/{physical_package_id,core_id}` under
/// `dir` (for Arm, whose cpuinfo has no core ids).
pub fn sysfs_physical_cores(dir: &Path) -> Option<u32> {
    let mut pairs = std::collections::BTreeSet::new();
    for e in std::fs::read_dir(dir).ok()?.flatten() {
        let name = e.file_name().to_string_lossy().to_string();
        let Some(num) = name.strip_prefix("cpu") else {
            continue;
        };
        if num.is_empty() || !num.bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let t = e.path().join("topology");
        let rd = |f: &str| {
            std::fs::read_to_string(t.join(f))
                .ok()
                .map(|s| s.trim().to_string())
        };
        if let Some(core) = rd("core_id") {
            pairs.insert((rd("physical_package_id").unwrap_or_default(), core));
        }
    }
    (!pairs.is_empty()).then_some(pairs.len() as u32)
}

/// `48K` → 49152, `2048K`, `32M`, `1G`, plain bytes.
pub fn parse_cache_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, mult) = match s.chars().last()? {
        'K' | 'k' => (&s[..s.len() - 1], 1u64 << 10),
        'M' | 'm' => (&s[..s.len() - 1], 1 << 20),
        'G' | 'g' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.trim().parse::<u64>().ok().map(|n| n * mult)
}

/// Cache sizes from a `cpu0/cache` directory (`indexN/{level,type,size}`).
pub fn read_caches(dir: &Path) -> Caches {
    let mut c = Caches::default();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return c;
    };
    for e in entries.flatten() {
        if !e.file_name().to_string_lossy().starts_with("index") {
            continue;
        }
        let rd = |f: &str| {
            std::fs::read_to_string(e.path().join(f))
                .ok()
                .map(|s| s.trim().to_string())
        };
        let (Some(level), Some(kind), Some(size)) = (rd("level"), rd("type"), rd("size")) else {
            continue;
        };
        let Some(size) = parse_cache_size(&size) else {
            continue;
        };
        let slot = match (level.as_str(), kind.as_str()) {
            ("1", "Data" | "Unified") => &mut c.l1d,
            ("2", "Data" | "Unified") => &mut c.l2,
            ("3", "Data" | "Unified") => &mut c.l3,
            _ => continue,
        };
        *slot = Some(slot.map_or(size, |s: u64| s.max(size)));
    }
    c
}

/// `MemTotal:       24523456 kB` → bytes.
pub fn parse_meminfo_total(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut it = line["MemTotal:".len()..].split_whitespace();
    let n: u64 = it.next()?.parse().ok()?;
    Some(match it.next() {
        Some("kB") | Some("KB") => n * 1024,
        _ => n,
    })
}

/// `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"`.
pub fn parse_os_release(text: &str) -> Option<String> {
    let v = text
        .lines()
        .find_map(|l| l.strip_prefix("PRETTY_NAME="))?
        .trim()
        .trim_matches('"')
        .to_string();
    (!v.is_empty()).then_some(v)
}

/// `name, driver_version` lines from
/// `nvidia-smi --query-gpu=name,driver_version --format=csv,noheader`.
pub fn parse_nvidia_smi_query(text: &str) -> Vec<Gpu> {
    text.lines()
        .filter_map(|l| {
            let l = l.trim();
            if l.is_empty() {
                return None;
            }
            let (name, driver) = match l.rsplit_once(',') {
                Some((n, d)) => (n.trim(), Some(d.trim().to_string())),
                None => (l, None),
            };
            (!name.is_empty()).then(|| Gpu {
                name: name.to_string(),
                driver: driver.filter(|d| !d.is_empty()),
                cuda: None,
            })
        })
        .collect()
}

/// `CUDA Version: 12.4` from the header of plain `nvidia-smi`.
pub fn parse_cuda_version(text: &str) -> Option<String> {
    let i = text.find("CUDA Version:")?;
    let v: String = text[i + "CUDA Version:".len()..]
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    (!v.is_empty()).then_some(v)
}

/// Runs a program, giving up (and killing it) after `timeout`. `None` when
/// it is missing, fails or is too slow.
pub fn run_with_timeout(program: &str, args: &[&str], timeout: Duration) -> Option<String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .ok()?;
    let mut out = child.stdout.take()?;
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break Some(s),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
        }
    };
    // Timed out: leave the reader to end when the pipe closes (a grandchild
    // may still hold it open).
    let status = status?;
    let text = reader.join().ok()?;
    status.success().then_some(text)
}

fn detect_gpus(timeout: Duration) -> Vec<Gpu> {
    let Some(q) = run_with_timeout(
        "nvidia-smi",
        &["--query-gpu=name,driver_version", "--format=csv,noheader"],
        timeout,
    ) else {
        return Vec::new();
    };
    let mut gpus = parse_nvidia_smi_query(&q);
    if !gpus.is_empty() {
        let cuda =
            run_with_timeout("nvidia-smi", &[], timeout).and_then(|t| parse_cuda_version(&t));
        for g in &mut gpus {
            g.cuda = cuda.clone();
        }
    }
    gpus
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub const XEON_CPUINFO: &str = "\
processor\t: 0
vendor_id\t: GenuineIntel
cpu family\t: 6
model\t\t: 143
model name\t: Intel(R) Xeon(R)   Platinum 8480+
cpu MHz\t\t: 2000.000
cache size\t: 107520 KB
physical id\t: 0
siblings\t: 4
core id\t\t: 0
cpu cores\t: 2
flags\t\t: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 avx512f avx512bw avx512vl avx512_bf16 amx_tile amx_bf16

processor\t: 1
vendor_id\t: GenuineIntel
model name\t: Intel(R) Xeon(R)   Platinum 8480+
cpu MHz\t\t: 2100.000
physical id\t: 0
core id\t\t: 0
flags\t\t: fpu sse sse2 ssse3 fma sse4_1 sse4_2 avx f16c avx2 avx512f avx512bw avx512vl avx512_bf16 amx_tile amx_bf16

processor\t: 2
physical id\t: 0
core id\t\t: 1

processor\t: 3
physical id\t: 0
core id\t\t: 1
";

    pub const GRAVITON_CPUINFO: &str = "\
processor\t: 0
BogoMIPS\t: 243.75
Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma lrcpc dcpop sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs paca pacg dcpodp svei8mm svebf16 i8mm bf16 dgh rng
CPU implementer\t: 0x41
CPU architecture: 8
CPU variant\t: 0x1
CPU part\t: 0xd40
CPU revision\t: 1

processor\t: 1
BogoMIPS\t: 243.75
Features\t: fp asimd
CPU implementer\t: 0x41
CPU part\t: 0xd40
";

    pub const HASWELL_CPUINFO: &str = "\
processor\t: 0
model name\t: Intel(R) Core(TM) i7-4770 CPU @ 3.40GHz
cpu MHz\t\t: 3400.000
physical id\t: 0
core id\t\t: 0
flags\t\t: fpu sse sse2 fma avx avx2
processor\t: 1
physical id\t: 0
core id\t\t: 1
processor\t: 2
physical id\t: 0
core id\t\t: 2
processor\t: 3
physical id\t: 0
core id\t\t: 3
";

    #[test]
    fn parses_x86_cpuinfo() {
        let c = parse_cpuinfo(XEON_CPUINFO);
        assert_eq!(c.model.as_deref(), Some("Intel(R) Xeon(R) Platinum 8480+"));
        assert_eq!(c.vendor.as_deref(), Some("GenuineIntel"));
        assert_eq!(c.logical_cores, Some(4));
        assert_eq!(c.physical_cores, Some(2));
        assert_eq!(c.sockets, Some(1));
        assert_eq!(c.mhz, Some(2000.0));
        for f in [
            "avx",
            "avx2",
            "fma",
            "avx512f",
            "avx512_bf16",
            "amx_tile",
            "amx_bf16",
        ] {
            assert!(c.has(f), "{f} missing from {:?}", c.flags);
        }
        assert!(!c.has("neon") && !c.has("avx512_fp16"));
    }

    #[test]
    fn parses_arm_cpuinfo() {
        let c = parse_cpuinfo(GRAVITON_CPUINFO);
        assert_eq!(c.model.as_deref(), Some("implementer 0x41 part 0xd40"));
        assert_eq!(c.logical_cores, Some(2));
        assert_eq!(c.physical_cores, None);
        assert_eq!(c.mhz, None);
        for f in ["neon", "asimd", "sve", "bf16", "i8mm", "asimddp"] {
            assert!(c.has(f), "{f} missing from {:?}", c.flags);
        }
        assert!(!c.has("avx"));
    }

    #[test]
    fn parses_small_files() {
        assert_eq!(parse_cache_size("48K"), Some(48 * 1024));
        assert_eq!(parse_cache_size("491520K"), Some(480 << 20));
        assert_eq!(parse_cache_size("32M"), Some(32 << 20));
        assert_eq!(parse_cache_size("x"), None);
        assert_eq!(
            parse_meminfo_total("MemTotal:       24523456 kB\nMemFree: 1 kB\n"),
            Some(24523456 * 1024)
        );
        assert_eq!(
            parse_os_release("NAME=x\nPRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\n").as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
        let g = parse_nvidia_smi_query("NVIDIA H100 80GB HBM3, 550.54.15\nNVIDIA A10, 535.1\n");
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].name, "NVIDIA H100 80GB HBM3");
        assert_eq!(g[0].driver.as_deref(), Some("550.54.15"));
        assert!(parse_nvidia_smi_query("\n").is_empty());
        assert_eq!(
            parse_cuda_version(
                "| NVIDIA-SMI 550.54.15   Driver Version: 550.54.15   CUDA Version: 12.4     |"
            )
            .as_deref(),
            Some("12.4")
        );
        assert_eq!(parse_cuda_version("no header"), None);
    }

    #[test]
    fn reads_cache_dir_fixture() {
        let d = tempfile::tempdir().unwrap();
        for (i, level, kind, size) in [
            (0, "1", "Data", "48K"),
            (1, "1", "Instruction", "32K"),
            (2, "2", "Unified", "2048K"),
            (3, "3", "Unified", "105M"),
        ] {
            let p = d.path().join(format!("index{i}"));
            std::fs::create_dir(&p).unwrap();
            std::fs::write(p.join("level"), format!("{level}\n")).unwrap();
            std::fs::write(p.join("type"), format!("{kind}\n")).unwrap();
            std::fs::write(p.join("size"), format!("{size}\n")).unwrap();
        }
        let c = read_caches(d.path());
        assert_eq!(c.l1d, Some(48 << 10));
        assert_eq!(c.l2, Some(2 << 20));
        assert_eq!(c.l3, Some(105 << 20));
        assert_eq!(read_caches(&d.path().join("missing")), Caches::default());
    }

    #[test]
    fn id_is_stable_and_ignores_kernel_and_clock() {
        let mut a = Machine {
            cpu: parse_cpuinfo(XEON_CPUINFO),
            memory_bytes: Some(24 << 30),
            kernel: Some("6.1.0".into()),
            ..Machine::default()
        };
        let id = a.id();
        assert_eq!(id.len(), 16);
        assert!(id.bytes().all(|b| b.is_ascii_hexdigit()));
        assert_eq!(id, a.clone().id());
        a.kernel = Some("6.18.0".into());
        a.cpu.mhz = Some(3100.0);
        a.memory_bytes = Some((24 << 30) - (3 << 20));
        a.os = Some("other".into());
        assert_eq!(
            a.id(),
            id,
            "kernel, clock, OS and a few MiB must not change the id"
        );
        let mut b = a.clone();
        b.software.numpy = Some("2.0.0".into());
        assert_ne!(b.id(), id);
        let mut c = a.clone();
        c.cpu.flags.retain(|f| f != "avx512f");
        assert_ne!(c.id(), id);
        let mut d = a.clone();
        d.gpus.push(Gpu {
            name: "NVIDIA H100".into(),
            driver: Some("550".into()),
            cuda: Some("12.4".into()),
        });
        assert_ne!(d.id(), id);
        // Round-trips through JSON (the store keeps it so).
        let back: Machine = serde_json::from_str(&serde_json::to_string(&d).unwrap()).unwrap();
        assert_eq!(back, d);
        assert_eq!(back.id(), d.id());
    }

    #[test]
    fn detects_this_machine() {
        let tc = Toolchain {
            openblas: Some("OpenBLAS 0.3.21".into()),
            ..Toolchain::default()
        };
        let m = Machine::detect(&tc);
        assert_eq!(m.cpu.arch, std::env::consts::ARCH);
        assert!(m.cpu.logical_cores.unwrap_or(0) >= 1);
        assert_eq!(m.software.openblas.as_deref(), Some("OpenBLAS 0.3.21"));
        assert_eq!(m.software.cc, None);
        if cfg!(target_os = "linux") {
            assert!(m.cpu.model.is_some());
            assert!(m.memory_bytes.unwrap_or(0) > 0);
            assert!(m.kernel.is_some());
        }
        assert_eq!(
            Machine::detect(&tc).id(),
            m.id(),
            "id stable across detections"
        );
        assert!(!m.describe().is_empty());
    }

    #[test]
    fn missing_program_times_out_or_fails_quietly() {
        assert_eq!(
            run_with_timeout("gemmscope-no-such-program", &[], Duration::from_secs(1)),
            None
        );
        let t = Instant::now();
        assert_eq!(
            run_with_timeout("sleep", &["5"], Duration::from_millis(200)),
            None
        );
        assert!(t.elapsed() < Duration::from_secs(3));
        assert_eq!(
            run_with_timeout("echo", &["hi"], Duration::from_secs(5)).as_deref(),
            Some("hi\n")
        );
    }
}
