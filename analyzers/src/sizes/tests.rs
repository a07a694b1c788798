use super::*;
use crate::{analyze_with, NoIncludes};

fn dims(
    path: &str,
    text: &str,
    build: &BuildContext,
) -> Vec<Vec<(Option<u64>, Option<&'static str>)>> {
    let a = analyze_with(path, text, &NoIncludes, build).unwrap();
    a.findings
        .iter()
        .map(|f| {
            [&f.dims.m, &f.dims.n, &f.dims.k]
                .into_iter()
                .flatten()
                .map(|d| (d.value, d.source.as_ref().map(|s| s.kind())))
                .collect()
        })
        .collect()
}

const KERNEL: &str = "void mm(float *C, const float *A, const float *B, int n) {\n\
    for (int i = 0; i < n; i++)\n\
        for (int j = 0; j < n; j++)\n\
            for (int k = 0; k < n; k++)\n\
                C[i*n+j] += A[i*n+k] * B[k*n+j];\n}\n";

#[test]
fn annotations_are_parsed_with_products_of_earlier_names() {
    let a = annotations("x\n// gemmscope: size B=8 T=1024 M=B*T bad=x\n# gemmscope: size n=4\n");
    assert_eq!(a.len(), 2);
    assert_eq!(a[0].line, 2);
    assert_eq!(
        a[0].sizes,
        vec![("B".into(), 8), ("T".into(), 1024), ("M".into(), 8192)]
    );
    assert_eq!(a[1].sizes, vec![("n".into(), 4)]);
    // Not in a comment, or not the keyword: nothing.
    assert!(
        annotations("char *s = \"gemmscope: size n=4\";\n// gemmscope: sizes n=4\n").is_empty()
    );
}

#[test]
fn a_call_site_in_another_file_gives_the_size_through_the_project_index() {
    let main = "void mm(float*, const float*, const float*, int);\nint main(void) { int n = 700; mm(0, 0, 0, n); return 0; }\n";
    let mut project = ProjectIndex::new();
    project.insert(
        "main.c",
        crate::index("main.c", main, &NoIncludes, &BuildContext::default()).unwrap(),
    );
    let alone = dims("mm.c", KERNEL, &BuildContext::default());
    assert_eq!(alone, vec![vec![(None, None); 3]]);
    let build = BuildContext {
        project: Some(std::sync::Arc::new(project)),
        ..Default::default()
    };
    assert_eq!(
        dims("mm.c", KERNEL, &build),
        vec![vec![(Some(700), Some("call-site")); 3]]
    );
}

#[test]
fn a_static_function_or_a_file_with_its_own_definition_is_not_reached() {
    let mut project = ProjectIndex::new();
    // Defines its own `mm`: its call is to that one.
    let other = format!("{KERNEL}int main(void) {{ mm(0, 0, 0, 64); return 0; }}\n");
    project.insert(
        "other.c",
        crate::index("other.c", &other, &NoIncludes, &BuildContext::default()).unwrap(),
    );
    let build = BuildContext {
        project: Some(std::sync::Arc::new(project.clone())),
        ..Default::default()
    };
    assert_eq!(dims("mm.c", KERNEL, &build), vec![vec![(None, None); 3]]);
    // A caller that does not define it, but `mm` is static here.
    let caller = "int main(void) { mm(0, 0, 0, 64); return 0; }\n";
    project.insert(
        "caller.c",
        crate::index("caller.c", caller, &NoIncludes, &BuildContext::default()).unwrap(),
    );
    let build = BuildContext {
        project: Some(std::sync::Arc::new(project)),
        ..Default::default()
    };
    let st = format!("static {KERNEL}");
    assert_eq!(dims("mm.c", &st, &build), vec![vec![(None, None); 3]]);
    assert_eq!(
        dims("mm.c", KERNEL, &build),
        vec![vec![(Some(64), Some("call-site")); 3]]
    );
}

#[test]
fn the_configuration_s_sizes_apply_by_function_name() {
    let mut build = BuildContext::default();
    build.sizes.insert(
        "mm".into(),
        [("n".to_string(), 2048u64)].into_iter().collect(),
    );
    assert_eq!(
        dims("mm.c", KERNEL, &build),
        vec![vec![(Some(2048), Some("config")); 3]]
    );
    build.sizes.clear();
    build.sizes.insert(
        "other".into(),
        [("n".to_string(), 2048u64)].into_iter().collect(),
    );
    assert_eq!(dims("mm.c", KERNEL, &build), vec![vec![(None, None); 3]]);
}

#[test]
fn command_line_defines_and_ifdef_defaults_choose_the_dataset() {
    let text = "#if !defined(SMALL) && !defined(LARGE)\n# define LARGE\n#endif\n\
        #ifdef SMALL\n# define N 60\n#endif\n#ifdef LARGE\n# define N 1000\n#endif\n\
        #define LOOP_BOUND(x,y) y\n#define _B LOOP_BOUND(N,n)\n\
        static void mm(float *C, const float *A, const float *B, int n) {\n\
        for (int i = 0; i < _B; i++) for (int j = 0; j < _B; j++) for (int k = 0; k < _B; k++)\n\
        C[i*n+j] += A[i*n+k] * B[k*n+j];\n}\n\
        int main(void) { int n = N; mm(0, 0, 0, n); return 0; }\n";
    assert_eq!(
        dims("k.c", text, &BuildContext::default()),
        vec![vec![(Some(1000), Some("call-site")); 3]]
    );
    let small = BuildContext {
        defines: vec![("SMALL".into(), None)],
        ..Default::default()
    };
    assert_eq!(
        dims("k.c", text, &small),
        vec![vec![(Some(60), Some("call-site")); 3]]
    );
}

#[test]
fn a_local_whose_address_is_taken_or_a_zero_gives_no_size() {
    let text = format!(
        "{KERNEL}void init(int *b);\nint main(void) {{ int bs = 0; init(&bs); mm(0, 0, 0, 4 * bs); \
         int z = 0; mm(0, 0, 0, z); return 0; }}\n"
    );
    assert_eq!(
        dims("k.c", &text, &BuildContext::default()),
        vec![vec![(None, None); 3]]
    );
}

const TILED: &str = "#define TS 16\n\
    __global__ void tk(const float *A, const float *B, float *C, int K, int N) {\n\
    __shared__ float sa[TS][TS];\n__shared__ float sb[TS][TS];\n\
    int tx = threadIdx.x, ty = threadIdx.y;\n\
    int r = blockIdx.y * TS + ty;\nint c = blockIdx.x * TS + tx;\nfloat acc = 0.0f;\n\
    for (int t = 0; t < K / TS; ++t) {\n\
      sa[ty][tx] = A[r * K + t * TS + tx];\nsb[ty][tx] = B[(t * TS + ty) * N + c];\n\
      __syncthreads();\nfor (int q = 0; q < TS; ++q) acc += sa[ty][q] * sb[q][tx];\n\
      __syncthreads();\n}\nC[r * N + c] = acc;\n}\n";

#[test]
fn a_launch_in_another_file_gives_the_grid_extent_and_the_arguments() {
    // The launch's grid is an expression of the wrapper's parameters,
    // which its own caller gives; the kernel reads `gridDim.y * TS`.
    let run = "#define TS 16\n#define DIVUP(a, b) (((a) + (b) - 1) / (b))\n\
        void tk(const float*, const float*, float*, int, int);\n\
        void run(int M, int N, int K) {\n dim3 b(TS, TS);\n\
        tk<<<dim3(DIVUP(N, TS), DIVUP(M, TS)), b>>>(0, 0, 0, K, N);\n}\n\
        int main(void) { int rows = 1000; run(rows, 512, 64); return 0; }\n";
    let mut project = ProjectIndex::new();
    project.insert(
        "run.cu",
        crate::index("run.cu", run, &NoIncludes, &BuildContext::default()).unwrap(),
    );
    let alone = dims("k.cu", TILED, &BuildContext::default());
    assert_eq!(alone, vec![vec![(None, None), (None, None), (None, None)]]);
    let build = BuildContext {
        project: Some(std::sync::Arc::new(project)),
        ..Default::default()
    };
    // 1000 rows launch ceil(1000 / 16) = 63 blocks of 16: 1008.
    assert_eq!(
        dims("k.cu", TILED, &build),
        vec![vec![
            (Some(1008), Some("call-site")),
            (Some(512), Some("call-site")),
            (Some(64), Some("call-site")),
        ]]
    );
}

#[test]
fn a_buffer_allocated_twice_gives_nothing_another_calls_buffer_does() {
    let text = format!(
        "{KERNEL}#include <stdlib.h>\nint main(int argc, char **argv) {{\n\
         int n = atoi(argv[1]);\nfloat *A = malloc(64 * sizeof(float));\n\
         A = malloc(256 * sizeof(float));\nmm(A, A, A, n);\n\
         float *B = malloc(4096 * sizeof(float));\nmm(B, B, B, n);\nreturn 0; }}\n"
    );
    // Two calls: the first passes a buffer allocated twice (nothing), the
    // second one of 4096 floats (n = 64).
    assert_eq!(
        dims("k.c", &text, &BuildContext::default()),
        vec![vec![(Some(64), Some("allocation")); 3]]
    );
}
