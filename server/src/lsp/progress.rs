//! Work-done progress for background measurement: the token of a job, and
//! the begin/report/end values (with a percentage and the candidate being
//! measured).

use tower_lsp_server::ls_types::{
    NumberOrString, ProgressParams, ProgressParamsValue, ProgressToken, WorkDoneProgress,
    WorkDoneProgressBegin, WorkDoneProgressEnd, WorkDoneProgressReport,
};

const PREFIX: &str = "gemmscope/measure/";

pub fn token(job: u64) -> ProgressToken {
    NumberOrString::String(format!("{PREFIX}{job}"))
}

/// The job a token names, if it is one of ours.
pub fn job_of(t: &ProgressToken) -> Option<u64> {
    match t {
        NumberOrString::String(s) => s.strip_prefix(PREFIX)?.parse().ok(),
        NumberOrString::Number(_) => None,
    }
}

fn params(job: u64, v: WorkDoneProgress) -> ProgressParams {
    ProgressParams {
        token: token(job),
        value: ProgressParamsValue::WorkDone(v),
    }
}

pub fn begin(job: u64, title: &str, total: usize) -> ProgressParams {
    params(
        job,
        WorkDoneProgress::Begin(WorkDoneProgressBegin {
            title: title.into(),
            cancellable: Some(true),
            message: Some(format!("{total} candidates")),
            percentage: Some(0),
        }),
    )
}

pub fn report(job: u64, index: usize, total: usize, label: &str) -> ProgressParams {
    params(
        job,
        WorkDoneProgress::Report(WorkDoneProgressReport {
            cancellable: Some(true),
            message: Some(format!("{}/{total}: {label}", index + 1)),
            percentage: Some((index * 100 / total.max(1)) as u32),
        }),
    )
}

pub fn end(job: u64, message: &str) -> ProgressParams {
    params(
        job,
        WorkDoneProgress::End(WorkDoneProgressEnd {
            message: Some(message.into()),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_percentages_grow() {
        assert_eq!(job_of(&token(42)), Some(42));
        assert_eq!(job_of(&NumberOrString::String("other/1".into())), None);
        let r = serde_json::to_value(report(1, 1, 4, "naive C -O1")).unwrap();
        assert_eq!(r["value"]["percentage"], 25);
        assert_eq!(r["value"]["kind"], "report");
        assert_eq!(r["value"]["message"], "2/4: naive C -O1");
    }
}
