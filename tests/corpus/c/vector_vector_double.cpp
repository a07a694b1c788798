// Matrices as std::vector<std::vector<double>>.
#include <cstddef>
#include <vector>

using Mat = std::vector<std::vector<double>>;

Mat matmul(const std::vector<std::vector<double>> &a, const std::vector<std::vector<double>> &b)
{
    const std::size_t n = a.size(), m = b[0].size(), inner = b.size();
    std::vector<std::vector<double>> c(n, std::vector<double>(m, 0.0));
    for (std::size_t i = 0; i < n; i++) {   // expect: GS101 routine=gemm dtype=f64 order=ijk layout=C:row,A:row,B:row
        for (std::size_t j = 0; j < m; j++) {
            double s = 0.0;
            for (std::size_t k = 0; k < inner; k++)
                s += a[i][k] * b[k][j];
            c[i][j] = s;
        }
    }
    return c;
}
