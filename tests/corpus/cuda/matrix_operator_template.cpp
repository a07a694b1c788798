// A C++ matrix template over nested std::vector with operator* written as
// a triple loop, and elementwise operators beside it.
#include <vector>

template <typename T>
struct Grid {
    int r, c;
    std::vector<std::vector<T>> v;
    Grid(int r_, int c_) : r(r_), c(c_), v(r_, std::vector<T>(c_)) {}

    Grid operator*(const Grid &o) const {
        Grid out(r, o.c);
        for (int i = 0; i < r; ++i)   // expect: GS101 routine=gemm order=ikj function=Grid::operator*
            for (int k = 0; k < c; ++k) {
                const T aik = v[i][k];
                for (int j = 0; j < o.c; ++j)
                    out.v[i][j] += aik * o.v[k][j];
            }
        return out;
    }

    // near miss: elementwise product
    Grid hadamard(const Grid &o) const {
        Grid out(r, c);
        for (int i = 0; i < r; ++i)
            for (int j = 0; j < c; ++j)
                out.v[i][j] = v[i][j] * o.v[i][j];
        return out;
    }

    // near miss: outer sum of row and column sums (two reductions)
    T checksum() const {
        T s = 0;
        for (int i = 0; i < r; ++i)
            for (int j = 0; j < c; ++j)
                s += v[i][j] * v[i][j];
        return s;
    }
};

