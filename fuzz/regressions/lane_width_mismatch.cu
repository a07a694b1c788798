// A float4 local given a two-lane value, then written lane by lane past
// what it was given (found by the cuda fuzz target in CI: index out of
// bounds in normalize/lanes.rs).
__global__ void widen(const float *a, float *c, int n)
{
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    float4 t = make_float2(a[i], a[i + 1]);
    t.z = a[i + 2];
    t.w += 1.0f;
    float4 u;
    u = *reinterpret_cast<const float2 *>(&a[2 * i]);
    u.w = 2.0f;
    for (int k = 0; k < n; ++k)
        c[i] += t.z * u.w * a[k];
}
