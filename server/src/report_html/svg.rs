//! The report's charts, as inline SVG strings: the speed ladder of one
//! estimate, the time per output over sizes of one curve, and this
//! machine's roofline with every finding's candidates as points. No
//! script, no external resource; every mark has a `<title>` (the tooltip)
//! saying what it is and how it is known, and the legend says what
//! colours, patterns and marker shapes mean (colours are the Okabe–Ito
//! palette and never carry meaning alone).

use std::fmt::Write;

use gemmscope_microbench::estimate::{Estimate, Line, Source};
use gemmscope_microbench::model::features::working_set_bytes;
use gemmscope_microbench::model::Roofline;
use gemmscope_microbench::report::human_seconds;

use super::{esc, Curve, CurveSizes, Report};

/// Okabe–Ito colours.
pub const VERMILLION: &str = "#D55E00";
pub const BLUE: &str = "#0072B2";
pub const GREEN: &str = "#009E73";
pub const ORANGE: &str = "#E69F00";
pub const PURPLE: &str = "#CC79A7";
pub const SKY: &str = "#56B4E9";
const GRID: &str = "#d9d9d9";
const INK: &str = "#222222";
const FONT: &str = "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\"";

/// How a number is known, as the charts draw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prov {
    Measured,
    Predicted,
    Reference,
}

impl Prov {
    pub fn of(s: &Source) -> Prov {
        match s {
            Source::Measured { .. } => Prov::Measured,
            Source::Predicted { .. } => Prov::Predicted,
            Source::Reference { .. } => Prov::Reference,
        }
    }

    /// The legend's words.
    pub fn legend(self) -> &'static str {
        match self {
            Prov::Measured => "measured here (solid)",
            Prov::Predicted => "predicted by the model ±E% (hatched)",
            Prov::Reference => "reference data (dotted)",
        }
    }

    /// The overlay pattern on a bar (`None`: solid).
    fn pattern(self) -> Option<&'static str> {
        match self {
            Prov::Measured => None,
            Prov::Predicted => Some("url(#gs-hatch)"),
            Prov::Reference => Some("url(#gs-dots)"),
        }
    }
}

/// The short tag a bar carries: `measured`, `predicted ±12%`,
/// `reference ±30%`.
pub fn prov_tag(s: &Source) -> String {
    let pm = |e: Option<f64>| e.map_or(String::new(), |e| format!(" ±{:.0}%", e * 100.0));
    match s {
        Source::Measured { cached: false, .. } => "measured here".into(),
        Source::Measured { cached: true, .. } => "measured here earlier".into(),
        s @ Source::Predicted { .. } => format!("predicted{}", pm(s.error())),
        Source::Reference { error, .. } => format!("reference data{}", pm(*error)),
    }
}

/// The kind of an option: its colour and the legend's words.
pub fn kind(l: &Line, as_written: bool) -> (&'static str, &'static str) {
    if as_written {
        (VERMILLION, "the code as written")
    } else {
        match l.backend.as_str() {
            "gpu" => (GREEN, "GPU"),
            "python" => (ORANGE, "Python / NumPy / PyTorch"),
            _ => (BLUE, "CPU (compiled C, BLAS)"),
        }
    }
}

/// The patterns the bars use, once per page (in a hidden `<svg>`).
pub fn defs() -> String {
    "<svg class=\"defs\" width=\"0\" height=\"0\" aria-hidden=\"true\" focusable=\"false\"><defs>\
     <pattern id=\"gs-hatch\" width=\"7\" height=\"7\" patternUnits=\"userSpaceOnUse\" patternTransform=\"rotate(45)\">\
     <rect width=\"3\" height=\"7\" fill=\"#ffffff\" fill-opacity=\"0.6\"/></pattern>\
     <pattern id=\"gs-dots\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\">\
     <circle cx=\"3\" cy=\"3\" r=\"1.6\" fill=\"#ffffff\" fill-opacity=\"0.75\"/></pattern>\
     </defs></svg>"
        .to_string()
}

/// A log10 scale from `lo`..`hi` (in log10 units) onto pixels `a`..`b`.
#[derive(Clone, Copy, Debug)]
pub struct LogScale {
    pub lo: f64,
    pub hi: f64,
    pub a: f64,
    pub b: f64,
}

impl LogScale {
    /// Whole decades covering `min`..`max`.
    pub fn decades(min: f64, max: f64, a: f64, b: f64) -> LogScale {
        let min = if min.is_finite() && min > 0.0 {
            min
        } else {
            1.0
        };
        let max = if max.is_finite() && max > min {
            max
        } else {
            min * 10.0
        };
        let lo = min.log10().floor();
        let mut hi = max.log10().ceil();
        if hi <= lo {
            hi = lo + 1.0;
        }
        LogScale { lo, hi, a, b }
    }

    /// Exactly `min`..`max` widened by `pad` (a factor) on both sides.
    pub fn padded(min: f64, max: f64, pad: f64, a: f64, b: f64) -> LogScale {
        let min = if min.is_finite() && min > 0.0 {
            min
        } else {
            1.0
        };
        let max = if max.is_finite() && max > min {
            max
        } else {
            min * 2.0
        };
        LogScale {
            lo: (min / pad).log10(),
            hi: (max * pad).log10(),
            a,
            b,
        }
    }

    pub fn px(&self, v: f64) -> f64 {
        let l = if v > 0.0 && v.is_finite() {
            v.log10()
        } else {
            self.lo
        };
        let t = ((l - self.lo) / (self.hi - self.lo)).clamp(-0.02, 1.02);
        self.a + t * (self.b - self.a)
    }

    /// The powers of ten inside the scale.
    pub fn ticks(&self) -> Vec<i32> {
        (self.lo.ceil() as i32..=self.hi.floor() as i32).collect()
    }
}

/// Vertical grid lines at each decade of `sc`, from `top` to `bottom`,
/// labelled under `bottom`.
fn x_grid(s: &mut String, sc: &LogScale, top: f64, bottom: f64, label: fn(i32) -> String) {
    for t in sc.ticks() {
        let x = sc.px(10f64.powi(t));
        let _ = write!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{top}\" x2=\"{x:.1}\" y2=\"{bottom}\" stroke=\"{GRID}\"/>\
             <text x=\"{x:.1}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">{}</text>",
            bottom + 16.0,
            label(t)
        );
    }
}

/// Horizontal grid lines at each decade of `sc`, from `left` to `right`,
/// labelled left of `left`.
fn y_grid(s: &mut String, sc: &LogScale, left: f64, right: f64, label: fn(i32) -> String) {
    for t in sc.ticks() {
        let y = sc.px(10f64.powi(t));
        let _ = write!(
            s,
            "<line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{right}\" y2=\"{y:.1}\" stroke=\"{GRID}\"/>\
             <text x=\"{}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\">{}</text>",
            left - 6.0,
            y + 4.0,
            label(t)
        );
    }
}

/// `0.01`, `1`, `100`, `10k`, `1M`.
pub fn decade_label(e: i32) -> String {
    match e {
        -4..=-1 => format!("{}", 10f64.powi(e)),
        0..=2 => format!("{}", 10i64.pow(e as u32)),
        3..=5 => format!("{}k", 10i64.pow(e as u32 - 3)),
        6..=8 => format!("{}M", 10i64.pow(e as u32 - 6)),
        _ => format!("1e{e}"),
    }
}

/// A power of ten of nanoseconds: `1 ns`, `100 µs`, `10 s`.
pub fn ns_decade_label(e: i32) -> String {
    let (base, unit) = match e {
        i32::MIN..=-1 => (-3, "ps"),
        0..=2 => (0, "ns"),
        3..=5 => (3, "µs"),
        6..=8 => (6, "ms"),
        _ => (9, "s"),
    };
    let m = 10f64.powi(e - base);
    format!("{m} {unit}")
}

fn f1(v: f64) -> String {
    format!("{v:.1}")
}

/// The whole tooltip of an option.
pub fn line_title(l: &Line, as_written: bool) -> String {
    let mut s = format!(
        "{}{} ({}, {}): {} per call, {} per output, {:.3} GFLOP/s",
        if as_written { "as written: " } else { "" },
        l.label,
        l.place,
        l.precision,
        human_seconds(l.seconds_per_call),
        human_seconds(l.ns_per_output * 1e-9),
        l.gflops
    );
    if let Some(x) = l.speedup {
        s.push_str(&format!(
            ", {} vs as written",
            gemmscope_microbench::estimate::speedup_text(x)
        ));
    }
    s.push_str(&format!(
        ". How known: {}. Accuracy cost: {:.0e} ({}).",
        l.source.text(),
        l.accuracy.rel_error,
        l.accuracy.text
    ));
    s
}

/// `on an A100-class GPU` → `A100-class GPU`.
pub fn short_place(place: &str) -> &str {
    ["on an ", "on a ", "on "]
        .iter()
        .find_map(|p| place.strip_prefix(p))
        .unwrap_or(place)
}

/// `986× faster`, `16× slower`.
pub fn versus(x: f64) -> String {
    use gemmscope_microbench::estimate::speedup_text;
    if x >= 1.0 {
        format!("{} faster", speedup_text(x))
    } else {
        format!("{} slower", speedup_text(1.0 / x))
    }
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

/// The relative spread a source states for a time (`None`: none stated).
fn spread(s: &Source) -> Option<f64> {
    s.error().filter(|e| e.is_finite() && *e > 0.0)
}

/// A legend row of swatches: (fill, overlay pattern, words), from `x`.
fn legend_swatches(out: &mut String, y: f64, items: &[(&str, Option<&str>, String)]) {
    let mut x = 16.0;
    for (fill, pat, words) in items {
        let _ = write!(
            out,
            "<rect x=\"{x}\" y=\"{}\" width=\"22\" height=\"14\" fill=\"{fill}\" stroke=\"{INK}\" stroke-width=\"0.5\"/>",
            y - 11.0
        );
        if let Some(p) = pat {
            let _ = write!(
                out,
                "<rect x=\"{x}\" y=\"{}\" width=\"22\" height=\"14\" fill=\"{p}\"/>",
                y - 11.0
            );
        }
        let _ = write!(
            out,
            "<text x=\"{}\" y=\"{y}\" font-size=\"12\">{}</text>",
            x + 28.0,
            esc(words)
        );
        x += 40.0 + words.chars().count() as f64 * 6.6;
    }
}

/// The speed ladder of one estimate: one horizontal bar per option (the
/// code as written, each alternative here, each reference GPU row),
/// slowest at the top, on a log GFLOP/s axis.
pub fn ladder(e: &Estimate) -> String {
    let mut rows: Vec<(&Line, bool)> = Vec::new();
    if let Some(aw) = &e.as_written {
        rows.push((aw, true));
    }
    rows.extend(e.alternatives.iter().map(|l| (l, false)));
    rows.extend(e.elsewhere.iter().map(|l| (l, false)));
    rows.retain(|(l, _)| l.gflops.is_finite() && l.gflops > 0.0);
    rows.sort_by(|a, b| a.0.gflops.total_cmp(&b.0.gflops));
    let (w, left, right, vcol) = (1180.0, 400.0, 840.0, 852.0);
    let (top, rh) = (44.0, 30.0);
    let plot_h = rows.len().max(1) as f64 * rh;
    let axis_y = top + plot_h + 6.0;
    let h = axis_y + 92.0;
    let lo = rows
        .iter()
        .map(|(l, _)| l.gflops / (1.0 + spread(&l.source).unwrap_or(0.0)))
        .fold(f64::INFINITY, f64::min);
    let hi = rows
        .iter()
        .map(|(l, _)| l.gflops * (1.0 + spread(&l.source).unwrap_or(0.0)))
        .fold(0.0, f64::max);
    let sc = LogScale::decades(lo, hi, left, right);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart ladder\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"speed ladder of {}\" {FONT} fill=\"{INK}\">",
        esc(&e.problem.describe())
    );
    let _ = write!(
        s,
        "<text x=\"16\" y=\"22\" font-size=\"16\" font-weight=\"bold\">Speed ladder — {} ({:.3} GFLOP per call)</text>",
        esc(&e.problem.describe()),
        e.problem.flops() / 1e9
    );
    let _ = write!(
        s,
        "<text x=\"{vcol}\" y=\"{}\" font-size=\"11\" fill=\"#555\">per call · vs as written · how known</text>",
        top - 6.0
    );
    // Grid and axis.
    x_grid(&mut s, &sc, top, axis_y, decade_label);
    let _ = write!(
        s,
        "<line x1=\"{left}\" y1=\"{axis_y}\" x2=\"{right}\" y2=\"{axis_y}\" stroke=\"{INK}\"/>\
         <text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">GFLOP/s, log scale — longer bar = faster</text>",
        (left + right) / 2.0,
        axis_y + 34.0
    );
    if rows.is_empty() {
        let _ = write!(
            s,
            "<text x=\"{left}\" y=\"{}\" font-size=\"13\">no option has a number for this problem</text>",
            top + 20.0
        );
    }
    for (i, (l, aw)) in rows.iter().enumerate() {
        let y = top + i as f64 * rh;
        let (colour, _) = kind(l, *aw);
        let prov = Prov::of(&l.source);
        let x1 = sc.px(l.gflops);
        let bw = (x1 - left).max(2.0);
        let label = if l.place == "here" {
            l.label.clone()
        } else {
            format!("{} ({})", l.label, short_place(&l.place))
        };
        let label = if *aw {
            format!("▶ as written: {label}")
        } else {
            label
        };
        let _ = write!(
            s,
            "<g class=\"bar\" data-candidate=\"{}\" data-provenance=\"{:?}\"><title>{}</title>",
            esc(&l.candidate),
            prov,
            esc(&line_title(l, *aw))
        );
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"13\" text-anchor=\"end\"{}>{}</text>",
            left - 8.0,
            y + 19.0,
            if *aw { " font-weight=\"bold\"" } else { "" },
            // What fits in the label column at 13 px (bold is wider).
            esc(&truncate(&label, if *aw { 48 } else { 53 }))
        );
        let _ = write!(
            s,
            "<rect x=\"{left}\" y=\"{}\" width=\"{bw:.1}\" height=\"20\" fill=\"{colour}\" stroke=\"{INK}\" stroke-width=\"0.6\"/>",
            y + 5.0
        );
        if let Some(p) = prov.pattern() {
            let _ = write!(
                s,
                "<rect x=\"{left}\" y=\"{}\" width=\"{bw:.1}\" height=\"20\" fill=\"{p}\"/>",
                y + 5.0
            );
        }
        if let Some(err) = spread(&l.source) {
            let a = sc.px(l.gflops / (1.0 + err));
            let b = sc.px(l.gflops * (1.0 + err));
            let yc = y + 15.0;
            let _ = write!(
                s,
                "<path d=\"M{a:.1} {yc} H{b:.1} M{a:.1} {} V{} M{b:.1} {} V{}\" stroke=\"{INK}\" stroke-width=\"1.4\" fill=\"none\"/>",
                yc - 5.0,
                yc + 5.0,
                yc - 5.0,
                yc + 5.0
            );
        }
        let vs = match (aw, l.speedup) {
            (true, _) => "1× (baseline)".to_string(),
            (false, Some(x)) => versus(x),
            (false, None) => "—".into(),
        };
        let _ = write!(
            s,
            "<text x=\"{vcol}\" y=\"{}\" font-size=\"12\">{} · {} · {}</text></g>",
            y + 19.0,
            esc(&human_seconds(l.seconds_per_call)),
            esc(&vs),
            esc(&prov_tag(&l.source))
        );
    }
    // Legend: kinds present, then the three provenances (always).
    let mut kinds: Vec<(&str, Option<&str>, String)> = Vec::new();
    for (l, aw) in &rows {
        let (c, words) = kind(l, *aw);
        if !kinds.iter().any(|(k, _, _)| *k == c) {
            kinds.push((c, None, words.to_string()));
        }
    }
    legend_swatches(&mut s, axis_y + 58.0, &kinds);
    let provs: Vec<(&str, Option<&str>, String)> =
        [Prov::Measured, Prov::Predicted, Prov::Reference]
            .iter()
            .map(|p| ("#7a7a7a", p.pattern(), p.legend().to_string()))
            .collect();
    legend_swatches(&mut s, axis_y + 80.0, &provs);
    let _ = write!(
        s,
        "<text x=\"{}\" y=\"{}\" font-size=\"12\">├┤ the stated ± of the number</text>",
        w - 230.0,
        axis_y + 80.0
    );
    s.push_str("</svg>");
    s
}

/// Marker shapes of the curve's series, in order.
const MARKERS: [&str; 6] = ["circle", "square", "triangle", "diamond", "cross", "circle"];
const SERIES_COLOURS: [&str; 6] = [VERMILLION, BLUE, GREEN, PURPLE, ORANGE, SKY];
const DASHES: [&str; 6] = ["", "7 4", "2 3", "10 3 2 3", "4 2", "1 2"];

fn marker(shape: &str, x: f64, y: f64, colour: &str, hollow: bool) -> String {
    let fill = if hollow { "#ffffff" } else { colour };
    let st = format!("fill=\"{fill}\" stroke=\"{colour}\" stroke-width=\"1.8\"");
    match shape {
        "square" => format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"9\" height=\"9\" {st}/>",
            x - 4.5,
            y - 4.5
        ),
        "triangle" => format!(
            "<path d=\"M{x:.1} {:.1} L{:.1} {:.1} L{:.1} {:.1} Z\" {st}/>",
            y - 6.0,
            x + 5.5,
            y + 4.0,
            x - 5.5,
            y + 4.0
        ),
        "diamond" => format!(
            "<path d=\"M{x:.1} {:.1} L{:.1} {y:.1} L{x:.1} {:.1} L{:.1} {y:.1} Z\" {st}/>",
            y - 6.0,
            x + 6.0,
            y + 6.0,
            x - 6.0
        ),
        "cross" => format!(
            "<path d=\"M{:.1} {:.1} L{:.1} {:.1} M{:.1} {:.1} L{:.1} {:.1}\" stroke=\"{colour}\" stroke-width=\"2.4\"/>",
            x - 5.0,
            y - 5.0,
            x + 5.0,
            y + 5.0,
            x - 5.0,
            y + 5.0,
            x + 5.0,
            y - 5.0
        ),
        _ => format!("<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"4.8\" {st}/>"),
    }
}

/// `128×128×128` or `128³`.
fn dims_text(p: &gemmscope_microbench::Problem) -> String {
    if p.m == p.n && p.n == p.k {
        format!("{}³", p.m)
    } else {
        format!("{}×{}×{}", p.m, p.n, p.k)
    }
}

/// Time per output over sizes: one line per option, error bars where the
/// source states a ±, the code's own size marked.
pub fn size_curve(c: &Curve) -> String {
    let (w, left, right, top) = (1180.0, 90.0, 900.0, 48.0);
    let plot_b = 330.0;
    let legend_y = plot_b + 66.0;
    let h = legend_y + c.series.len() as f64 * 20.0 + 10.0;
    let size = |p: &gemmscope_microbench::Problem| (p.m as f64 * p.n as f64 * p.k as f64).cbrt();
    let xs: Vec<f64> = c.problems.iter().map(size).collect();
    let xmin = xs.iter().cloned().fold(f64::INFINITY, f64::min);
    let xmax = xs.iter().cloned().fold(0.0, f64::max);
    let sx = LogScale::padded(xmin, xmax, 1.25, left, right);
    let mut ylo = f64::INFINITY;
    let mut yhi: f64 = 0.0;
    for s in &c.series {
        for p in &s.points {
            let e = p.error.unwrap_or(0.0).min(0.95);
            ylo = ylo.min(p.ns_per_output * (1.0 - e));
            yhi = yhi.max(p.ns_per_output * (1.0 + e));
        }
    }
    let sy = LogScale::decades(ylo, yhi, plot_b, top);
    let mut s = String::new();
    let how = match &c.sizes {
        CurveSizes::Scaled { base } => format!(
            "each dim of the code's {} scaled ×1/8…×8 (clamped to 16…8192)",
            dims_text(base)
        ),
        CurveSizes::Square { why } => {
            format!("square n×n×n, n = 64…4096: the code's sizes are unknown ({why})")
        }
    };
    let _ = write!(
        s,
        "<svg class=\"chart curve\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"time per output over sizes\" {FONT} fill=\"{INK}\">\
         <text x=\"16\" y=\"22\" font-size=\"16\" font-weight=\"bold\">Time per output over sizes</text>\
         <text x=\"16\" y=\"40\" font-size=\"12\" class=\"sizes\">{}</text>",
        esc(&how)
    );
    y_grid(&mut s, &sy, left, right, ns_decade_label);
    for (p, x) in c.problems.iter().zip(&xs) {
        let px = sx.px(*x);
        let _ = write!(
            s,
            "<line x1=\"{px:.1}\" y1=\"{top}\" x2=\"{px:.1}\" y2=\"{plot_b}\" stroke=\"{GRID}\" stroke-dasharray=\"2 3\"/>\
             <text x=\"{px:.1}\" y=\"{}\" font-size=\"11\" text-anchor=\"middle\">{}</text>",
            plot_b + 16.0,
            esc(&dims_text(p))
        );
    }
    if let CurveSizes::Scaled { base } = &c.sizes {
        let px = sx.px(size(base));
        let _ = write!(
            s,
            "<line x1=\"{px:.1}\" y1=\"{top}\" x2=\"{px:.1}\" y2=\"{plot_b}\" stroke=\"{INK}\" stroke-width=\"1.2\" stroke-dasharray=\"5 3\"/>\
             <text x=\"{:.1}\" y=\"{}\" font-size=\"11\">the code's size</text>",
            px + 4.0,
            top + 12.0
        );
    }
    let _ = write!(
        s,
        "<line x1=\"{left}\" y1=\"{plot_b}\" x2=\"{right}\" y2=\"{plot_b}\" stroke=\"{INK}\"/>\
         <line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{plot_b}\" stroke=\"{INK}\"/>\
         <text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">problem size M×N×K (log scale of (M·N·K)^⅓)</text>\
         <text x=\"20\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 20 {})\">time per output (log)</text>",
        (left + right) / 2.0,
        plot_b + 36.0,
        (top + plot_b) / 2.0,
        (top + plot_b) / 2.0
    );
    let mut ends: Vec<(f64, f64, String)> = Vec::new();
    for (i, ser) in c.series.iter().enumerate() {
        let colour = SERIES_COLOURS[i % SERIES_COLOURS.len()];
        let dash = DASHES[i % DASHES.len()];
        let shape = MARKERS[i % MARKERS.len()];
        let pts: Vec<(f64, f64)> = ser
            .points
            .iter()
            .map(|p| (sx.px(xs[p.at]), sy.px(p.ns_per_output)))
            .collect();
        let d: Vec<String> = pts.iter().map(|(x, y)| format!("{x:.1},{y:.1}")).collect();
        let _ = write!(
            s,
            "<g class=\"series\" data-candidate=\"{}\"><polyline points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"{}\"{}/>",
            esc(&ser.candidate),
            d.join(" "),
            if ser.as_written { 3.0 } else { 2.2 },
            if dash.is_empty() {
                String::new()
            } else {
                format!(" stroke-dasharray=\"{dash}\"")
            }
        );
        for (p, (x, y)) in ser.points.iter().zip(&pts) {
            let _ = write!(
                s,
                "<g><title>{}</title>",
                esc(&format!(
                    "{} ({}) at {}: {} per output ({})",
                    ser.label,
                    ser.place,
                    c.problems[p.at].describe(),
                    human_seconds(p.ns_per_output * 1e-9),
                    p.source
                ))
            );
            if let Some(e) = p.error.filter(|e| *e > 0.0) {
                let ya = sy.px(p.ns_per_output * (1.0 + e));
                let yb = sy.px(p.ns_per_output * (1.0 - e.min(0.95)));
                let _ = write!(
                    s,
                    "<path d=\"M{x:.1} {ya:.1} V{yb:.1} M{:.1} {ya:.1} H{:.1} M{:.1} {yb:.1} H{:.1}\" stroke=\"{colour}\" stroke-width=\"1.3\"/>",
                    x - 4.0,
                    x + 4.0,
                    x - 4.0,
                    x + 4.0
                );
            }
            s.push_str(&marker(shape, *x, *y, colour, false));
            s.push_str("</g>");
        }
        if let Some((x, y)) = pts.last() {
            ends.push((*x + 10.0, *y + 4.0, truncate(&ser.label, 34)));
        }
        s.push_str("</g>");
        // Legend row.
        let ly = legend_y + i as f64 * 20.0;
        let _ = write!(
            s,
            "<line x1=\"16\" y1=\"{ly}\" x2=\"56\" y2=\"{ly}\" stroke=\"{colour}\" stroke-width=\"2.4\"{}/>{}\
             <text x=\"66\" y=\"{}\" font-size=\"12\">{}{} — {}; {}</text>",
            if dash.is_empty() {
                String::new()
            } else {
                format!(" stroke-dasharray=\"{dash}\"")
            },
            marker(shape, 36.0, ly, colour, false),
            ly + 4.0,
            if ser.as_written { "as written: " } else { "" },
            esc(&ser.label),
            esc(&ser.place),
            esc(&sources_text(ser))
        );
    }
    // End labels, pushed apart where lines end close together.
    ends.sort_by(|a, b| a.1.total_cmp(&b.1));
    let mut last = f64::NEG_INFINITY;
    for (x, y, text) in &ends {
        let y = y.max(last + 14.0);
        last = y;
        let _ = write!(
            s,
            "<text x=\"{x:.1}\" y=\"{y:.1}\" font-size=\"12\">{}</text>",
            esc(text)
        );
    }
    let _ = write!(
        s,
        "<text x=\"16\" y=\"{}\" font-size=\"12\">Error bars: the ± the source states (model's leave-one-out error, or across reference machines); measured points have none.</text>",
        legend_y - 20.0
    );
    s.push_str("</svg>");
    s
}

/// What a series' points come from (`predicted from 9 points, ±12%` or
/// `mixed: …`).
fn sources_text(ser: &super::Series) -> String {
    let mut v: Vec<&str> = ser.points.iter().map(|p| p.source.as_str()).collect();
    v.dedup();
    if v.len() == 1 {
        v[0].to_string()
    } else {
        format!("by size: {}", v.join(" / "))
    }
}

/// One point of the roofline.
struct RoofPoint<'a> {
    finding: usize,
    ai: f64,
    line: &'a Line,
    as_written: bool,
}

/// Arithmetic intensity of a problem: FLOPs per byte of compulsory
/// traffic (A and B read once, C written once).
pub fn intensity(p: &gemmscope_microbench::Problem) -> f64 {
    p.flops() / working_set_bytes(p)
}

/// Whether a ceiling's source is a measurement.
fn measured(source: &str) -> bool {
    source.starts_with("measured")
}

/// The points of the roofline (every CPU/Python option of every finding
/// that runs here), and how many GPU rows were left off: (from other
/// machines, of this machine's GPU).
fn roof_points(r: &Report) -> (Vec<RoofPoint<'_>>, usize, usize) {
    let mut pts: Vec<RoofPoint> = Vec::new();
    let mut elsewhere = 0;
    let mut gpu_here = 0;
    for (i, sec) in r.sections.iter().enumerate() {
        let Ok(e) = &sec.estimate else { continue };
        let ai = intensity(&e.problem);
        for (l, aw) in e
            .as_written
            .iter()
            .map(|l| (l, true))
            .chain(e.alternatives.iter().map(|l| (l, false)))
        {
            if l.place != "here" {
                elsewhere += 1;
                continue;
            }
            if l.backend == "gpu" {
                gpu_here += 1;
                continue;
            }
            if l.gflops.is_finite() && l.gflops > 0.0 {
                pts.push(RoofPoint {
                    finding: i + 1,
                    ai,
                    line: l,
                    as_written: aw,
                });
            }
        }
        elsewhere += e.elsewhere.len();
    }
    (pts, elsewhere, gpu_here)
}

/// The compute roof and, where the bandwidth is known, the memory roof;
/// the notes that say where each comes from.
fn roofs(
    s: &mut String,
    roof: Option<&Roofline>,
    sx: &LogScale,
    sy: &LogScale,
    left: f64,
    right: f64,
) -> Vec<String> {
    let bw = roof.and_then(|r| r.bandwidth_gbs).filter(|b| *b > 0.0);
    let mut notes: Vec<String> = Vec::new();
    match roof {
        Some(rf) => {
            let ridge = bw.map(|b| rf.peak_gflops / b);
            let xa = ridge.map_or(left, |r| sx.px(r));
            let yp = sy.px(rf.peak_gflops);
            let est = if measured(&rf.peak_source) {
                ""
            } else {
                " (estimate)"
            };
            let _ = write!(
                s,
                "<g class=\"roof compute\"><title>{}</title><line x1=\"{xa:.1}\" y1=\"{yp:.1}\" x2=\"{right}\" y2=\"{yp:.1}\" stroke=\"{INK}\" stroke-width=\"3\"{}/>\
                 <text x=\"{}\" y=\"{:.1}\" font-size=\"12\" text-anchor=\"end\">compute roof {} GFLOP/s{est}</text></g>",
                esc(&format!("compute roof: {:.1} GFLOP/s — {}", rf.peak_gflops, rf.peak_source)),
                if est.is_empty() { "" } else { " stroke-dasharray=\"9 4\"" },
                right - 6.0,
                yp - 7.0,
                f1(rf.peak_gflops)
            );
            notes.push(format!(
                "compute roof: {:.1} GFLOP/s — {}{}",
                rf.peak_gflops,
                rf.peak_source,
                if est.is_empty() {
                    ""
                } else {
                    " (an estimate from the CPU's description: dashed)"
                }
            ));
            match (bw, ridge) {
                (Some(b), Some(rx)) => {
                    let x0 = 10f64.powf(sx.lo);
                    let (xa, ya) = (sx.px(x0), sy.px(b * x0));
                    let (xb, yb) = (sx.px(rx), yp);
                    let _ = write!(
                        s,
                        "<g class=\"roof memory\"><title>{}</title><line x1=\"{xa:.1}\" y1=\"{ya:.1}\" x2=\"{xb:.1}\" y2=\"{yb:.1}\" stroke=\"{INK}\" stroke-width=\"3\"/>\
                         <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" transform=\"rotate({:.1} {:.1} {:.1})\">memory roof {} GB/s</text></g>",
                        esc(&format!("memory roof: {b:.1} GB/s — {}", rf.bandwidth_source)),
                        xa + 20.0,
                        ya - 22.0,
                        ((yb - ya) / (xb - xa)).atan().to_degrees(),
                        xa + 20.0,
                        ya - 22.0,
                        f1(b)
                    );
                    notes.push(format!(
                        "memory roof: {b:.1} GB/s — {}",
                        rf.bandwidth_source
                    ));
                }
                _ => notes.push(format!(
                    "no memory roof: {} (run `gemmscope report --measure-bandwidth` to measure it)",
                    rf.bandwidth_source
                )),
            }
        }
        None => notes.push(
            "no roof: neither a theoretical peak nor a measured rate is known for this machine"
                .into(),
        ),
    }
    notes
}

/// Every point, with its ± bar, and the `#n` label of each finding's code
/// as written (labels drawn last, so that no marker covers one).
fn roof_marks(s: &mut String, pts: &[RoofPoint<'_>], sx: &LogScale, sy: &LogScale) {
    let mut labelled: Vec<usize> = Vec::new();
    let mut placed: Vec<(f64, f64, f64)> = Vec::new();
    // Drawn after all points, so that no marker covers a label.
    let mut labels = String::new();
    for p in pts {
        let (colour, _) = kind(p.line, p.as_written);
        let prov = Prov::of(&p.line.source);
        let (x, y) = (sx.px(p.ai), sy.px(p.line.gflops));
        let _ = write!(
            s,
            "<g class=\"point\" data-finding=\"{}\" data-candidate=\"{}\"><title>{}</title>",
            p.finding,
            esc(&p.line.candidate),
            esc(&format!(
                "#{} — {:.2} FLOP/byte — {}",
                p.finding,
                p.ai,
                line_title(p.line, p.as_written)
            ))
        );
        if let Some(e) = spread(&p.line.source) {
            let ya = sy.px(p.line.gflops * (1.0 + e));
            let yb = sy.px(p.line.gflops / (1.0 + e));
            let _ = write!(
                s,
                "<path d=\"M{x:.1} {ya:.1} V{yb:.1}\" stroke=\"{colour}\" stroke-width=\"1.2\"/>"
            );
        }
        let shape = match prov {
            Prov::Measured => "circle",
            Prov::Predicted => "square",
            Prov::Reference => "diamond",
        };
        s.push_str(&marker(shape, x, y, colour, prov != Prov::Measured));
        s.push_str("</g>");
        if p.as_written && !labelled.contains(&p.finding) {
            labelled.push(p.finding);
            // Beside the point, or a line above or below where labels
            // would overlap; left out (the tooltip still says it) when all
            // are taken.
            let width = 12.0 + 8.0 * p.finding.to_string().len() as f64;
            let free = [0.0, 14.0, -14.0, 28.0, -28.0].into_iter().find(|dy| {
                placed.iter().all(|(px, py, pw): &(f64, f64, f64)| {
                    let (lx, ly) = (x + 9.0, y + 4.0 + dy);
                    lx + width < *px || *px + pw < lx || (ly - py).abs() >= 13.0
                })
            });
            if let Some(dy) = free {
                placed.push((x + 9.0, y + 4.0 + dy, width));
                let _ = write!(
                    labels,
                    "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"12\" font-weight=\"bold\">#{}</text>",
                    x + 9.0,
                    y + 4.0 + dy,
                    p.finding
                );
            }
        }
    }
    s.push_str(&labels);
}

/// The legend: the provenance shapes and the colours.
fn roof_legend(s: &mut String, ly: f64) {
    let mut x = 16.0;
    for (shape, hollow, words) in [
        ("circle", false, "measured here (filled circle)"),
        (
            "square",
            true,
            "predicted by the model (hollow square, ±E% bar)",
        ),
        ("diamond", true, "reference data (hollow diamond)"),
    ] {
        s.push_str(&marker(shape, x + 6.0, ly - 4.0, INK, hollow));
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{ly}\" font-size=\"12\">{words}</text>",
            x + 16.0
        );
        x += 30.0 + words.len() as f64 * 6.4;
    }
    let mut x = 16.0;
    for (c, words) in [
        (VERMILLION, "the code as written (#n: the finding)"),
        (BLUE, "CPU (compiled C, BLAS)"),
        (ORANGE, "Python / NumPy / PyTorch"),
        (GREEN, "GPU"),
    ] {
        let _ = write!(
            s,
            "<rect x=\"{x}\" y=\"{}\" width=\"14\" height=\"14\" fill=\"{c}\"/><text x=\"{}\" y=\"{}\" font-size=\"12\">{words}</text>",
            ly + 10.0,
            x + 20.0,
            ly + 22.0
        );
        x += 40.0 + words.len() as f64 * 6.4;
    }
}

/// This machine's roofline (compute roof, memory roof where the bandwidth
/// is known: the CPU's ceilings) with every CPU and Python option of every
/// finding that runs here as a point at the finding's arithmetic intensity.
/// GPU rows (of this machine's GPU, or of a reference machine) are counted
/// as not drawn: they are under another roof.
pub fn roofline(r: &Report) -> String {
    let (pts, elsewhere, gpu_here) = roof_points(r);
    let roof: Option<&Roofline> = r.roofline.as_ref();
    let (w, left, right, top, bottom) = (1180.0, 90.0, 1150.0, 48.0, 400.0);
    let peak = roof.map(|r| r.peak_gflops);
    let bw = roof.and_then(|r| r.bandwidth_gbs).filter(|b| *b > 0.0);
    let mut xlo = pts.iter().map(|p| p.ai).fold(f64::INFINITY, f64::min);
    let mut xhi = pts.iter().map(|p| p.ai).fold(0.0, f64::max);
    if let (Some(p), Some(b)) = (peak, bw) {
        xlo = xlo.min(p / b / 4.0);
        xhi = xhi.max(p / b * 4.0);
    }
    if !xlo.is_finite() {
        xlo = 0.1;
        xhi = 1000.0;
    }
    let mut ylo = pts
        .iter()
        .map(|p| p.line.gflops)
        .fold(f64::INFINITY, f64::min);
    let mut yhi = pts.iter().map(|p| p.line.gflops).fold(0.0, f64::max);
    if let Some(p) = peak {
        yhi = yhi.max(p * 1.5);
        ylo = ylo.min(p / 10.0);
    }
    let sx = LogScale::decades(xlo / 2.0, xhi * 2.0, left, right);
    let sy = LogScale::decades(ylo, yhi, bottom, top);
    let h = bottom + 150.0;
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg class=\"chart roofline\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"roofline of this machine\" {FONT} fill=\"{INK}\">\
         <text x=\"16\" y=\"22\" font-size=\"16\" font-weight=\"bold\">Roofline of this machine — every option that runs here, per finding</text>"
    );
    x_grid(&mut s, &sx, top, bottom, decade_label);
    y_grid(&mut s, &sy, left, right, decade_label);
    let _ = write!(
        s,
        "<line x1=\"{left}\" y1=\"{bottom}\" x2=\"{right}\" y2=\"{bottom}\" stroke=\"{INK}\"/>\
         <line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{bottom}\" stroke=\"{INK}\"/>\
         <text x=\"{}\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\">arithmetic intensity, FLOP per byte of compulsory traffic (A, B read once, C written once), log</text>\
         <text x=\"22\" y=\"{}\" font-size=\"12\" text-anchor=\"middle\" transform=\"rotate(-90 22 {})\">GFLOP/s (log)</text>",
        (left + right) / 2.0,
        bottom + 36.0,
        (top + bottom) / 2.0,
        (top + bottom) / 2.0
    );
    let notes = roofs(&mut s, roof, &sx, &sy, left, right);
    roof_marks(&mut s, &pts, &sx, &sy);
    if pts.is_empty() {
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"13\">no finding has an estimate that runs on this machine</text>",
            left + 20.0,
            (top + bottom) / 2.0
        );
    }
    let ly = bottom + 60.0;
    roof_legend(&mut s, ly);
    for (i, n) in notes.iter().enumerate() {
        let _ = write!(
            s,
            "<text x=\"16\" y=\"{}\" font-size=\"11\" class=\"note\">{}</text>",
            ly + 46.0 + i as f64 * 16.0,
            esc(&truncate(n, 190))
        );
    }
    let mut left_out = Vec::new();
    if elsewhere > 0 {
        left_out.push(format!(
            "{elsewhere} rows from other machines (reference GPU rows)"
        ));
    }
    if gpu_here > 0 {
        left_out.push(format!("{gpu_here} rows of this machine's GPU"));
    }
    if !left_out.is_empty() {
        let _ = write!(
            s,
            "<text x=\"16\" y=\"{}\" font-size=\"11\" class=\"note\">Not drawn: {} — they are under another roof than this CPU's; see each finding's ladder.</text>",
            ly + 46.0 + notes.len() as f64 * 16.0,
            esc(&left_out.join(" and "))
        );
    }
    s.push_str("</svg>");
    s
}
