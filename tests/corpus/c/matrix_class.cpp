// A small dense matrix class with a naive multiply.
#include <cstdio>
#include <vector>

class Matrix {
public:
    Matrix(int rows, int cols) : rows_(rows), cols_(cols), data_(rows * cols, 0.0f) {}
    float &operator()(int r, int c) { return data_[r * cols_ + c]; }
    void multiply(const Matrix &a, const Matrix &b);

private:
    int rows_, cols_;
    std::vector<float> data_;
};

void Matrix::multiply(const Matrix &a, const Matrix &b)
{
    const int m = a.rows_, k = a.cols_, n = b.cols_;
    for (int i = 0; i < m; ++i) {   // expect: GS101 routine=gemm order=ijk function=Matrix::multiply layout=C:row,A:row,B:row
        for (int j = 0; j < n; ++j) {
            float acc = 0.0f;
            for (int p = 0; p < k; ++p)
                acc += a.data_[i * k + p] * b.data_[p * n + j];
            data_[i * n + j] = acc;
        }
    }
}

int main()
{
    Matrix a(64, 32), b(32, 16), c(64, 16);
    a(0, 0) = 2.0f;
    b(0, 0) = 3.0f;
    c.multiply(a, b);
    std::printf("%f\n", c(0, 0));
    return 0;
}
