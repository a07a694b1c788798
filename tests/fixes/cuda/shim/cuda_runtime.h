/* Stub declarations of the CUDA runtime used by the fixtures (see cublas_v2.h). */
#pragma once
#include <stddef.h>
typedef enum { cudaSuccess = 0 } cudaError_t;
typedef enum { CUDA_R_16F = 2, CUDA_R_32F = 0, CUDA_R_64F = 1, CUDA_R_16BF = 14 } cudaDataType;
cudaError_t cudaMalloc(void **p, size_t n);
cudaError_t cudaFree(void *p);
template <class T> cudaError_t cudaMalloc(T **p, size_t n) { return cudaMalloc((void **)p, n); }
