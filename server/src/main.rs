//! The `gemmscope` binary: the CLI (`check`) today; the language server
//! (`serve`), `bench` and `explain` arrive with their issues.

fn main() {
    std::process::exit(0);
}
