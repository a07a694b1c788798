//! For the project's tests that need a toolchain (a C compiler, OpenBLAS,
//! NumPy, PyTorch, `setsid`): [`skip`] is the one way such a test gives up
//! where the toolchain is missing. On a developer's machine it prints
//! `SKIPPED test: why` and the test passes; in CI (`CI=true`), where
//! `.ci/run` installs every one of these toolchains, a missing one is a
//! broken install step, so the test fails instead of hiding a regression.

/// Gives up on `test` because of `why`: a printed skip, or a failure under
/// `CI=true`.
pub fn skip(test: &str, why: &str) {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!("{test}: {why} — CI=true and .ci/run installs this toolchain, so this is a failure, not a skip");
    }
    println!("SKIPPED {test}: {why}");
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_skip_fails_only_in_ci() {
        let in_ci = std::env::var("CI").is_ok_and(|v| v == "true");
        let r = std::panic::catch_unwind(|| super::skip("t", "no such tool"));
        assert_eq!(r.is_err(), in_ci);
    }
}
