//! The hover's markdown for one finding: the whole table of what the code
//! as written costs here and what each option costs (every row with where
//! it runs, its precision, its accuracy cost and how it is known), the
//! reference GPU rows, the CPU/GPU crossover, the roofline, and what has no
//! number and why. Used by the language server's hover; `check` does not
//! print it.

use gemmscope_analyzers::Finding;
use gemmscope_microbench::estimate::{speedup_text, Estimate, Line};
use gemmscope_microbench::report::human_seconds;

/// `s` safe inside a markdown table cell.
pub fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn estimate_row(l: &Line, as_written: bool) -> String {
    let name = if as_written {
        format!("{} **(as written)**", cell(&l.label))
    } else {
        cell(&l.label)
    };
    format!(
        "| {name} | {} | {} | {} | {} | {:.2} | {} | {} | {} |\n",
        cell(&l.place),
        cell(&l.precision),
        human_seconds(l.seconds_per_call),
        human_seconds(l.ns_per_output * 1e-9),
        l.gflops,
        l.speedup.map(speedup_text).unwrap_or_else(|| "—".into()),
        cell(&format!(
            "{:.0e} ({})",
            l.accuracy.rel_error, l.accuracy.text
        )),
        cell(&l.source.text()),
    )
}

/// The hover for an estimate: the table for this problem on this machine,
/// the reference GPU rows, the CPU/GPU crossover and the roofline.
pub fn table(e: &Estimate, f: &Finding, machine_text: &str, not_measured: Option<&str>) -> String {
    let mut s = format!(
        "**{}** — {} · {} outputs, {:.3} GFLOP per call\n\n{}\n\nThis machine: {} (`{}`)\n\n",
        cell(&f.message),
        e.problem.describe(),
        e.problem.outputs(),
        e.problem.flops() / 1e9,
        cell(&e.headline),
        cell(machine_text),
        e.machine
    );
    s.push_str(
        "| option | where | precision | per call | per output | GFLOP/s | vs as written | accuracy cost | how known |\n\
         |---|---|---|--:|--:|--:|--:|---|---|\n",
    );
    if let Some(aw) = &e.as_written {
        s.push_str(&estimate_row(aw, true));
    }
    for l in e.alternatives.iter().chain(&e.elsewhere) {
        s.push_str(&estimate_row(l, false));
    }
    if let Some(c) = &e.crossover {
        s.push_str(&format!("\n**CPU or GPU:** {}\n", cell(&c.statement)));
    }
    if let Some(r) = &e.roofline {
        s.push_str(&format!("\nRoofline: {}\n", cell(r)));
    }
    if !e.unknown.is_empty() {
        s.push_str("\nNo number for: ");
        let parts: Vec<String> = e
            .unknown
            .iter()
            .map(|(id, why)| format!("`{id}` ({})", cell(why)))
            .collect();
        s.push_str(&parts.join("; "));
        s.push('\n');
    }
    if let Some(why) = not_measured {
        s.push_str(&format!(
            "\nNot measuring on this machine: {}.\n",
            cell(why)
        ));
    }
    s
}
