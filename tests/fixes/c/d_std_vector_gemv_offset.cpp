// GEMV y = A x into a std::vector<double>, A read from row 1 on (a
// sub-matrix: the rewrite passes `A.data() + n`), x a std::array-free
// std::vector, y overwritten.
#include <algorithm>
#include <vector>

static void gemv(const std::vector<double> &A, const std::vector<double> &x, std::vector<double> &y,
                 int m, int n)
{
    for (int i = 0; i < m; i++) {
        double s = 0.0;
        for (int j = 0; j < n; j++)
            s += A[(i + 1) * n + j] * x[j];
        y[i] = s;
    }
}

void kern(int m, int n, int k, double *A, double *B, double *C)
{
    (void)k;
    std::vector<double> a(A, A + (m + 1) * n), x(B, B + n), y(C, C + m);
    gemv(a, x, y, m, n);
    std::copy(y.begin(), y.end(), C);
}
