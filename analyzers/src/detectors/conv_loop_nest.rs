//! GS301: direct convolution loop nests.

use crate::contraction::Shape;
use crate::declare_rule;
use crate::detectors::{Context, FixAvailability, Reports, Rule, RuleMeta};
use crate::finding::{Finding, Idiom, Routine};
use crate::fixes::{FixContext, FixResult, NoFix};

declare_rule! {
    /// Hand-written direct convolution: `out[n][k][p][q] += in[n][c][p+r][q+s] * w[k][c][r][s]`.
    ///
    /// **What it finds.** A loop nest (up to seven deep: batch `n`, output
    /// channel `k`, output pixel `p, q`, input channel `c`, filter tap
    /// `r, s`) whose input is indexed by sums of an output-pixel variable and
    /// a filter-tap variable (`p + r`, `p*stride + r - pad`), reduced over an
    /// input-channel variable shared with the weights, with an output-channel
    /// variable shared by weights and output. Multi-dimensional or flattened
    /// arrays, CPU loops, Python loops or CUDA kernels. A single-channel blur
    /// or stencil (no channel reduction) is not a convolution layer and is not
    /// reported. Dims are those of the im2col GEMM: M = output pixels (×
    /// batch), N = output channels, K = input channels × filter size.
    ///
    /// **Why it is slow.** Seven nested scalar loops with strided, poorly
    /// reused input reads; cuDNN/oneDNN (or im2col + GEMM) run the same
    /// arithmetic at GEMM speed, on tensor cores where the type allows.
    ///
    /// ```c
    /// for (n...) for (k...) for (p...) for (q...)
    ///   for (c...) for (r...) for (s...)
    ///     out[n][k][p][q] += in[n][c][p + r][q + s] * w[k][c][r][s];
    /// // → torch.nn.functional.conv2d(in, w) / cudnnConvolutionForward
    /// ```
    ///
    /// **When the rewrite is safe.** Padding must be expressed by the library's
    /// padding (or by padding the input), stride and dilation must map to its
    /// parameters, and the output must not alias the input.
    pub struct ConvLoopNest {
        code: "GS301",
        name: "conv-loop-nest",
        idiom: Idiom::Conv,
        fix: FixAvailability::None("im2col/cuDNN change the layout"),
    }
}

impl Rule for ConvLoopNest {
    fn meta(&self) -> &'static RuleMeta {
        &Self::META
    }

    fn fix(&self, _cx: &FixContext<'_>, _finding: &Finding) -> FixResult {
        Err(NoFix::new(
            "convolutions are not rewritten (im2col + GEMM or a cuDNN call changes the \
             data layout and needs workspace)",
        ))
    }

    fn check(&self, cx: &Context<'_>, out: &mut Reports) {
        for n in cx.nests_of(Shape::Conv) {
            let message = format!(
                "hand-written direct convolution (im2col GEMM {}, loop order {}): a cuDNN/oneDNN convolution or im2col + {} does the same work",
                n.size_text(),
                n.order_dashed(),
                n.blas("gemm")
            );
            out.push_nest(n, n.report(&Self::META, Routine::Conv, message));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detectors::testutil::{host, run_all};

    #[test]
    fn seven_deep_nchw() {
        let f = host(
            &[
                ("NB", 2),
                ("K", 64),
                ("C", 32),
                ("P", 28),
                ("Q", 28),
                ("R", 3),
                ("S", 3),
            ],
            "in: f32[NB][C][30][30], w: f32[K][C][R][S], out: f32[NB][K][P][Q]",
            "for n in 0..NB { for k in 0..K { for p in 0..P { for q in 0..Q {
               for c in 0..C { for r in 0..R { for s in 0..S {
                 out[n][k][p][q] += in[n][c][p + r][q + s] * w[k][c][r][s]; } } } } } } }",
        );
        let v = run_all(&f);
        assert_eq!(v.len(), 1, "{v:#?}");
        let x = &v[0];
        assert_eq!(x.code, "GS301");
        assert_eq!(x.routine, Routine::Conv);
        assert_eq!(x.loop_order.as_deref(), Some("nkpqcrs"));
        assert_eq!(x.dims.m.as_ref().unwrap().value, Some(2 * 28 * 28));
        assert_eq!(x.dims.n.as_ref().unwrap().value, Some(64));
        assert_eq!(x.dims.k.as_ref().unwrap().value, Some(32 * 9));
        assert_eq!(x.range.start_line, 1);
        assert!(x.why.contains(" over n, k, p, q, c, r, s "), "{}", x.why);
    }

    #[test]
    fn strided_padded_and_flattened() {
        let f = host(
            &[],
            "in: f32*, w: f32*, out: f32*",
            "for k in 0..K { for p in 0..P { for q in 0..Q {
               decl f32 acc = 0;
               for c in 0..C { for r in 0..R { for s in 0..S {
                 acc += in[(c*H + p*stride + r - pad)*W + q*stride + s - pad] * w[((k*C + c)*R + r)*S + s]; } } }
               out[(k*P + p)*Q + q] = acc; } } }",
        );
        let v = run_all(&f);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].code, "GS301");
        assert_eq!(v[0].loop_order.as_deref(), Some("kpqcrs"));
        assert_eq!(v[0].dims.display(), "P*Q×K×C*R*S");
    }

    #[test]
    fn multi_dim_strided() {
        let f = host(
            &[],
            "in: f32[C][H][W], w: f32[K][C][R][S], out: f32[K][P][Q]",
            "for k in 0..K { for p in 0..P { for q in 0..Q { for c in 0..C { for r in 0..R { for s in 0..S {
               out[k][p][q] += w[k][c][r][s] * in[c][p*2 + r][q*2 + s]; } } } } } }",
        );
        let v = run_all(&f);
        assert_eq!(v.len(), 1, "{v:#?}");
        assert_eq!(v[0].code, "GS301");
    }

    #[test]
    fn depthwise_and_blur_are_not_conv_layers() {
        let blur = host(
            &[],
            "img: f32[C][H][W], g: f32[3][3], out: f32[C][H][W]",
            "for c in 0..C { for y in 0..H { for x in 0..W { for dy in 0..3 { for dx in 0..3 {
               out[c][y][x] += img[c][y + dy][x + dx] * g[dy][dx]; } } } } }",
        );
        assert!(run_all(&blur).is_empty());
        let one_channel = host(
            &[],
            "img: f32*, g: f32*, out: f32*",
            "for y in 0..H { for x in 0..W { for dy in 0..3 { for dx in 0..3 {
               out[y*W + x] += img[(y + dy)*W + x + dx] * g[dy*3 + dx]; } } } }",
        );
        assert!(run_all(&one_channel).is_empty());
    }
}
