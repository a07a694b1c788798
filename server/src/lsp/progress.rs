//! Work-done progress for background measurement (the token of a job, and
//! the begin/report/end values, with a percentage and the candidate being
//! measured) and for the background indexing of the workspace folders
//! (files indexed out of those found).

use tower_lsp_server::ls_types::{
    NumberOrString, ProgressParams, ProgressParamsValue, ProgressToken, WorkDoneProgress,
    WorkDoneProgressBegin, WorkDoneProgressEnd, WorkDoneProgressReport,
};

const PREFIX: &str = "gemmscope/measure/";
const INDEX_PREFIX: &str = "gemmscope/index/";

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

/// `unit`: what `total` counts ("candidates", "problems").
pub fn begin(job: u64, title: &str, total: usize, unit: &str) -> ProgressParams {
    params(
        job,
        WorkDoneProgress::Begin(WorkDoneProgressBegin {
            title: title.into(),
            cancellable: Some(true),
            message: Some(format!("{total} {unit}")),
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

/// The token of the `n`th workspace indexing (not cancellable).
pub fn index_token(n: u64) -> ProgressToken {
    NumberOrString::String(format!("{INDEX_PREFIX}{n}"))
}

fn index_params(n: u64, v: WorkDoneProgress) -> ProgressParams {
    ProgressParams {
        token: index_token(n),
        value: ProgressParamsValue::WorkDone(v),
    }
}

pub fn index_begin(n: u64, folders: usize) -> ProgressParams {
    index_params(
        n,
        WorkDoneProgress::Begin(WorkDoneProgressBegin {
            title: "gemmscope: indexing the workspace".into(),
            cancellable: Some(false),
            message: Some(format!(
                "listing the files of {folders} folder{}",
                if folders == 1 { "" } else { "s" }
            )),
            percentage: Some(0),
        }),
    )
}

pub fn index_report(n: u64, done: usize, total: usize) -> ProgressParams {
    index_params(
        n,
        WorkDoneProgress::Report(WorkDoneProgressReport {
            cancellable: Some(false),
            message: Some(format!("{done}/{total} files")),
            percentage: Some((done * 100 / total.max(1)) as u32),
        }),
    )
}

pub fn index_end(n: u64, message: &str) -> ProgressParams {
    index_params(
        n,
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
        assert_eq!(job_of(&index_token(3)), None, "indexing is not a job");
        let r = serde_json::to_value(index_report(3, 50, 200)).unwrap();
        assert_eq!(r["value"]["percentage"], 25);
        assert_eq!(r["value"]["message"], "50/200 files");
    }
}
