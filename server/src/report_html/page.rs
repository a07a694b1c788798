//! The report's page: one self-contained HTML document (inline CSS and
//! SVG, no script, no external resource; a Content-Security-Policy that
//! forbids both) with the summary table sorted by the time that could be
//! saved, this machine's roofline, and one section per finding. Every
//! text from a user's file goes through [`esc`].

use std::fmt::Write;

use gemmscope_microbench::estimate::{speedup_text, Estimate, Line};
use gemmscope_microbench::report::human_seconds;

use super::{esc, svg, Report, Section};

const STYLE: &str = "
body { font-family: 'DejaVu Sans', Helvetica, Arial, sans-serif; color: #222; margin: 24px auto; max-width: 1220px; padding: 0 16px; line-height: 1.4; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 20px; margin: 28px 0 6px; border-bottom: 2px solid #222; padding-bottom: 2px; }
.meta { color: #444; font-size: 14px; margin: 2px 0; }
table { border-collapse: collapse; font-size: 13px; width: 100%; }
th, td { border: 1px solid #bbb; padding: 4px 6px; text-align: left; vertical-align: top; }
th { background: #eee; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
tr.none td { color: #555; font-style: italic; }
table.summary td:last-child { min-width: 190px; }
table.summary td:nth-child(5) { min-width: 150px; }
code, pre { font-family: 'DejaVu Sans Mono', Menlo, Consolas, monospace; font-size: 13px; }
pre.excerpt { background: #f4f4f4; border-left: 4px solid #D55E00; padding: 6px 10px; overflow-x: auto; }
.headline { font-weight: bold; }
.no-estimate { border-left: 4px solid #555; padding: 4px 10px; background: #f4f4f4; }
svg.chart { display: block; max-width: 100%; height: auto; margin: 10px 0 4px; }
svg.defs { position: absolute; }
details { margin: 6px 0 10px; font-size: 13px; }
section.finding { margin-bottom: 36px; }
a { color: #0072B2; }
@media print {
  body { margin: 0; max-width: none; }
  section.finding { break-inside: avoid-page; }
  a { color: #222; text-decoration: none; }
}
";

/// `docs/examples/matmul.c:10:5`.
fn location(s: &Section) -> String {
    format!("{}:{}:{}", s.path, s.line, s.col)
}

/// The summary: one row per finding, by time that could be saved per call
/// (largest first), findings without a number last, each saying why.
fn summary(r: &Report, out: &mut String) {
    let mut order: Vec<usize> = (0..r.sections.len()).collect();
    order.sort_by(|&a, &b| {
        let sa = r.sections[a].saving().map(|(s, _)| s);
        let sb = r.sections[b].saving().map(|(s, _)| s);
        match (sa, sb) {
            (Some(x), Some(y)) => y.total_cmp(&x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => a.cmp(&b),
        }
    });
    out.push_str(
        "<section id=\"summary\"><h2>Summary — sorted by the time that could be saved per call</h2>\
         <table class=\"summary\"><thead><tr><th>#</th><th>finding</th><th>code</th>\
         <th>as written, per call</th><th>best option</th><th>per call</th><th>speed-up</th>\
         <th>saved per call</th><th>how known</th></tr></thead><tbody>",
    );
    for i in order {
        let s = &r.sections[i];
        let _ = write!(
            out,
            "<tr{}><td class=\"num\">{}</td><td><a href=\"#{}\">{}</a><br>{}</td><td>{}</td>",
            if s.saving().is_none() {
                " class=\"none\""
            } else {
                ""
            },
            i + 1,
            esc(&s.anchor),
            esc(&location(s)),
            esc(&s.message),
            esc(&s.code)
        );
        match (&s.estimate, s.saving()) {
            (Ok(e), Some((saved, best))) => {
                let aw = e.as_written.as_ref().map(|l| l.seconds_per_call);
                let _ = write!(
                    out,
                    "<td class=\"num\">{}</td><td>{}{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td>best: {}; as written: {}</td></tr>",
                    aw.map(human_seconds).unwrap_or_default(),
                    esc(&best.label),
                    if best.place == "here" {
                        String::new()
                    } else {
                        format!(" ({})", esc(svg::short_place(&best.place)))
                    },
                    human_seconds(best.seconds_per_call),
                    best.speedup.map(speedup_text).unwrap_or_default(),
                    human_seconds(saved),
                    esc(&svg::prov_tag(&best.source)),
                    esc(
                        &e.as_written
                            .as_ref()
                            .map(|l| svg::prov_tag(&l.source))
                            .unwrap_or_default()
                    )
                );
            }
            (Ok(e), None) => {
                let why = if e.as_written.is_none() {
                    "no number for the code as written".to_string()
                } else {
                    "nothing faster known".to_string()
                };
                let _ = write!(out, "<td colspan=\"6\">{}</td></tr>", esc(&why));
            }
            (Err(why), _) => {
                let _ = write!(out, "<td colspan=\"6\">no estimate: {}</td></tr>", esc(why));
            }
        }
    }
    if r.sections.is_empty() {
        out.push_str("<tr class=\"none\"><td colspan=\"9\">no findings</td></tr>");
    }
    out.push_str("</tbody></table></section>");
}

fn numbers_row(l: &Line, aw: bool, out: &mut String) {
    let _ = write!(
        out,
        "<tr><td>{}{}</td><td>{}</td><td>{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td><td class=\"num\">{:.2}</td><td class=\"num\">{}</td><td>{:.0e} ({})</td><td>{}</td></tr>",
        if aw { "<b>as written:</b> " } else { "" },
        esc(&l.label),
        esc(&l.place),
        esc(&l.precision),
        human_seconds(l.seconds_per_call),
        human_seconds(l.ns_per_output * 1e-9),
        l.gflops,
        if aw {
            "—".to_string()
        } else {
            l.speedup.map(speedup_text).unwrap_or_else(|| "—".into())
        },
        l.accuracy.rel_error,
        esc(&l.accuracy.text),
        esc(&l.source.text())
    );
}

/// The numbers behind the ladder, as a table (for print and for readers
/// who cannot see the chart).
fn numbers(e: &Estimate, out: &mut String) {
    out.push_str(
        "<details><summary>The numbers, with how each is known</summary><table class=\"numbers\"><thead><tr>\
         <th>option</th><th>where</th><th>precision</th><th>per call</th><th>per output</th><th>GFLOP/s</th>\
         <th>vs as written</th><th>accuracy cost</th><th>how known</th></tr></thead><tbody>",
    );
    if let Some(aw) = &e.as_written {
        numbers_row(aw, true, out);
    }
    for l in e.alternatives.iter().chain(&e.elsewhere) {
        numbers_row(l, false, out);
    }
    out.push_str("</tbody></table></details>");
}

fn section(i: usize, s: &Section, out: &mut String) {
    let _ = write!(
        out,
        "<section class=\"finding\" id=\"{}\"><h2>#{} <code>{}</code> {}</h2><p class=\"message\">{}</p><p class=\"meta\">{}<code>{}</code> — {}</p><pre class=\"excerpt\">{}</pre>",
        esc(&s.anchor),
        i + 1,
        esc(&s.code),
        esc(&location(s)),
        esc(&s.message),
        s.function
            .as_ref()
            .map(|f| format!("in <code>{}</code> · ", esc(f)))
            .unwrap_or_default(),
        esc(&s.rule),
        esc(&s.why),
        esc(&s.excerpt)
    );
    match &s.estimate {
        Ok(e) => {
            let _ = write!(
                out,
                "<p class=\"headline\">{}</p><p class=\"meta\">{} outputs, {:.3} GFLOP per call.</p>",
                esc(&e.headline),
                e.problem.outputs(),
                e.problem.flops() / 1e9
            );
            out.push_str(&svg::ladder(e));
        }
        Err(why) => {
            let _ = write!(
                out,
                "<p class=\"no-estimate\">No estimate at the code's size: {}.</p>",
                esc(why)
            );
        }
    }
    match &s.curve {
        Ok(c) => out.push_str(&svg::size_curve(c)),
        Err(why) => {
            let _ = write!(
                out,
                "<p class=\"no-estimate no-curve\">No size curve: {}.</p>",
                esc(why)
            );
        }
    }
    if let Ok(e) = &s.estimate {
        if let Some(c) = &e.crossover {
            let _ = write!(out, "<p><b>CPU or GPU:</b> {}</p>", esc(&c.statement));
        }
        if !e.unknown.is_empty() {
            let parts: Vec<String> = e
                .unknown
                .iter()
                .map(|(id, why)| format!("<code>{}</code> ({})", esc(id), esc(why)))
                .collect();
            let _ = write!(
                out,
                "<p class=\"meta\">No number for: {}.</p>",
                parts.join("; ")
            );
        }
        numbers(e, out);
    }
    out.push_str("</section>");
}

/// The whole page.
pub fn render(r: &Report) -> String {
    let mut out = String::with_capacity(64 * 1024);
    out.push_str(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>gemmscope report</title><style>",
    );
    out.push_str(STYLE);
    out.push_str("</style></head><body>");
    out.push_str(&svg::defs());
    let with = r.sections.iter().filter(|s| s.estimate.is_ok()).count();
    let numbers = match r.bench {
        crate::advice::BenchMode::Off => {
            "--bench off: the performance model and the shipped reference data only; nothing was measured or read from this machine's results"
        }
        _ => "--bench cached: results measured earlier on this machine count as measured; the rest is predicted or reference data",
    };
    let _ = write!(
        out,
        "<header><h1>gemmscope report</h1>\
         <p class=\"meta\">{} findings in {} files ({} with an estimate){}.</p>\
         <p class=\"meta\">This machine: {} (<code>{}</code>).</p>\
         <p class=\"meta\">Numbers: {}. Every bar and point says how it is known in its tooltip and in the legend.</p>",
        r.sections.len(),
        r.files_checked,
        with,
        if r.hidden > 0 {
            format!("; {} suppressed or in the baseline, not shown", r.hidden)
        } else {
            String::new()
        },
        esc(&r.machine),
        esc(&r.machine_id),
        numbers
    );
    if let Some(rf) = &r.roofline {
        let _ = write!(out, "<p class=\"meta\">{}.</p>", esc(&rf.describe()));
    }
    for e in &r.errors {
        let _ = write!(out, "<p class=\"no-estimate\">error: {}</p>", esc(e));
    }
    for w in &r.warnings {
        let _ = write!(out, "<p class=\"meta\">warning: {}</p>", esc(w));
    }
    out.push_str("</header>");
    summary(r, &mut out);
    out.push_str("<section id=\"roofline\"><h2>This machine's roofline</h2>");
    out.push_str(&svg::roofline(r));
    out.push_str("</section>");
    for (i, s) in r.sections.iter().enumerate() {
        section(i, s, &mut out);
    }
    let _ = writeln!(
        out,
        "<footer><p class=\"meta\">Made by gemmscope {} (<code>gemmscope report</code>). Bars: solid = measured here, hatched = predicted by this machine's model (±E% its leave-one-out error), dotted = reference data (±E% across reference machines). Colours: Okabe–Ito; every mark is also labelled.</p></footer></body></html>",
        env!("CARGO_PKG_VERSION")
    );
    out
}
