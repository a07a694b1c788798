// Fully connected layer forward pass: out = x * W^T + bias, W is [out][in].
#include <cuda_runtime.h>

__global__ void linear_fwd(const float *x, const float *W, const float *bias, float *out,   // expect: GS102 routine=gemm dims=batchxout_featuresxin_features dtype=f32 order=thread-per-output layout=A:row,B:col
                           int batch, int in_features, int out_features)
{
    int b = blockIdx.y * blockDim.y + threadIdx.y;
    int o = blockIdx.x * blockDim.x + threadIdx.x;
    if (b < batch && o < out_features) {
        float acc = bias[o];
        for (int i = 0; i < in_features; ++i)
            acc += x[b * in_features + i] * W[o * in_features + i];
        out[b * out_features + o] = acc;
    }
}
