// A matrix class whose elements are reached through its call operator
// (`m(i, j)`), multiplied in a member operator and in a free function.
// The accessor's body is the index map: `m(i, k)` is `m.v[i*m.cols + k]`.
#include <vector>

class Grid2 {
public:
    int rows, cols;
    std::vector<double> v;
    Grid2(int r, int c) : rows(r), cols(c), v(r * c, 0.0) {}
    double &operator()(int i, int j) { return v[i * cols + j]; }
    double operator()(int i, int j) const { return v[i * cols + j]; }

    Grid2 operator*(const Grid2 &o) const {
        Grid2 out(rows, o.cols);
        for (int i = 0; i < rows; ++i)   // expect: GS101 routine=gemm order=ijk function=Grid2::operator* layout=C:row,A:row,B:row
            for (int j = 0; j < o.cols; ++j) {
                double s = 0.0;
                for (int k = 0; k < cols; ++k)
                    s += (*this)(i, k) * o(k, j);
                out(i, j) = s;
            }
        return out;
    }

    // near miss: elementwise product through the accessor.
    Grid2 times(const Grid2 &o) const {
        Grid2 out(rows, cols);
        for (int i = 0; i < rows; ++i)
            for (int j = 0; j < cols; ++j)
                out(i, j) = (*this)(i, j) * o(i, j);
        return out;
    }
};

Grid2 product(const Grid2 &a, const Grid2 &b)
{
    Grid2 c(a.rows, b.cols);
    for (int i = 0; i < a.rows; ++i)   // expect: GS101 routine=gemm order=ikj function=product
        for (int k = 0; k < a.cols; ++k)
            for (int j = 0; j < b.cols; ++j)
                c(i, j) += a(i, k) * b(k, j);
    return c;
}

// near miss: min-plus (shortest paths) through the same accessor.
Grid2 tropical(const Grid2 &a, const Grid2 &b)
{
    Grid2 c(a.rows, b.cols);
    for (int i = 0; i < a.rows; ++i)
        for (int j = 0; j < b.cols; ++j) {
            double best = 1e300;
            for (int k = 0; k < a.cols; ++k)
                best = a(i, k) + b(k, j) < best ? a(i, k) + b(k, j) : best;
            c(i, j) = best;
        }
    return c;
}

// near miss: a transpose through the accessor.
void transpose_into(const Grid2 &a, Grid2 &t)
{
    for (int i = 0; i < a.rows; ++i)
        for (int j = 0; j < a.cols; ++j)
            t(j, i) = a(i, j);
}
