"""Recall on the labelled public set of tests/recall/README.md.

Usage: gemmscope check --bench off --format json <the five checkouts> > out.json
       python3 tests/recall/recall.py out.json

Labels only (repository-relative file, function): a positive is found when
a GS101-GS104 finding names its file (and function, where one is given);
the 14 `wmma` tensor-core kernels are found by a GS109 finding (a note: a
different idiom, already on the tensor cores) and are also counted apart.
"""
import json, sys, fnmatch
P = [  # (repo-relative glob, functions or None for any GEMM finding in the file)
 ("cuda-samples/Samples/0_Introduction/matrixMul/matrixMul.cu", ["MatrixMulCUDA"]),
 ("cuda-samples/Samples/0_Introduction/matrixMulDrv/matrixMul_kernel.cu", ["matrixMul"]),
 ("cuda-samples/Samples/0_Introduction/matrixMul_nvrtc/matrixMul_kernel.cu", ["matrixMulCUDA"]),
] + [("cuda-samples/Samples/3_CUDA_Features/globalToShmemAsyncCopy/globalToShmemAsyncCopy.cu", [f]) for f in
  ["MatrixMulNaive","MatrixMulNaiveLargeChunk","MatrixMulAsyncCopySingleStage","MatrixMulAsyncCopyMultiStage","MatrixMulAsyncCopyLargeChunk","MatrixMulAsyncCopyLargeChunkAWBarrier","MatrixMulAsyncCopyMultiStageLargeChunk","MatrixMulAsyncCopyMultiStageSharedState"]] + [
 ("cuda-samples/Samples/6_Performance/UnifiedMemoryPerf/matrixMultiplyPerf.cu", ["matrixMultiplyKernel"]),
 ("cuda-samples/Samples/0_Introduction/matrixMulDynlinkJIT/matrixMul_gold.cpp", ["computeGold"]),
 ("cuda-samples/Samples/4_CUDA_Libraries/matrixMulCUBLAS/matrixMulCUBLAS.cpp", ["matrixMulCPU"]),
 ("cuda-samples/Samples/4_CUDA_Libraries/simpleCUBLAS/simpleCUBLAS.cpp", ["simple_sgemm"]),
 ("cuda-samples/Samples/4_CUDA_Libraries/simpleCUBLASXT/simpleCUBLASXT.cpp", ["simple_sgemm"]),
 ("cuda-samples/Samples/4_CUDA_Libraries/simpleCUBLAS_LU/simpleCUBLAS_LU.cpp", ["matrixMultiply"]),
] + [("cuda-samples/Samples/3_CUDA_Features/%s/*.cu" % s, ["matMultiplyOnHost"]) for s in ["cudaTensorCoreGemm","bf16TensorCoreGemm","dmmaTensorCoreGemm","immaTensorCoreGemm","tf32TensorCoreGemm"]] + [
 ("cuda-samples/Samples/3_CUDA_Features/cudaTensorCoreGemm/*.cu", ["compute_gemm"]),
 ("cuda-samples/Samples/3_CUDA_Features/cudaTensorCoreGemm/*.cu", ["simple_wmma_gemm"]),
 ("cuda-samples/Samples/3_CUDA_Features/bf16TensorCoreGemm/*.cu", ["compute_bf16gemm"]),
 ("cuda-samples/Samples/3_CUDA_Features/bf16TensorCoreGemm/*.cu", ["compute_bf16gemm_async_copy"]),
 ("cuda-samples/Samples/3_CUDA_Features/bf16TensorCoreGemm/*.cu", ["simple_wmma_bf16gemm"]),
 ("cuda-samples/Samples/3_CUDA_Features/dmmaTensorCoreGemm/*.cu", ["compute_dgemm"]),
 ("cuda-samples/Samples/3_CUDA_Features/dmmaTensorCoreGemm/*.cu", ["compute_dgemm_async_copy"]),
 ("cuda-samples/Samples/3_CUDA_Features/dmmaTensorCoreGemm/*.cu", ["compute_dgemm_cg_async_copy"]),
 ("cuda-samples/Samples/3_CUDA_Features/dmmaTensorCoreGemm/*.cu", ["simple_wmma_gemm"]),
 ("cuda-samples/Samples/3_CUDA_Features/immaTensorCoreGemm/*.cu", ["compute_gemm_imma"]),
 ("cuda-samples/Samples/3_CUDA_Features/immaTensorCoreGemm/*.cu", ["simple_wmma_gemm_imma"]),
 ("cuda-samples/Samples/3_CUDA_Features/tf32TensorCoreGemm/*.cu", ["compute_tf32gemm"]),
 ("cuda-samples/Samples/3_CUDA_Features/tf32TensorCoreGemm/*.cu", ["compute_tf32gemm_async_copy"]),
 ("cuda-samples/Samples/3_CUDA_Features/tf32TensorCoreGemm/*.cu", ["simple_wmma_tf32gemm"]),
 ("cuda-samples/Samples/5_Domain_Specific/simpleVulkan/linmath.h", ["mat4x4_mul"]),
 ("cuda-samples/Samples/5_Domain_Specific/vulkanImageCUDA/linmath.h", ["mat4x4_mul"]),
 ("SGEMM_CUDA/src/kernels/1_naive.cuh", None),
 ("SGEMM_CUDA/src/kernels/2_kernel_global_mem_coalesce.cuh", None),
 ("SGEMM_CUDA/src/kernels/3_kernel_shared_mem_blocking.cuh", None),
 ("SGEMM_CUDA/src/kernels/4_kernel_1D_blocktiling.cuh", None),
 ("SGEMM_CUDA/src/kernels/5_kernel_2D_blocktiling.cuh", None),
] + [("SGEMM_CUDA/src/kernels/%s_*.cuh" % n, None) for n in ["6","7","8","9","10","11"]] + [
 ("SGEMM_CUDA/src/kernels/12_*.cuh", None),
 ("how-to-optimize-gemm/src/HowToOptimizeGemm/MMult0.c", None),
 ("how-to-optimize-gemm/src/HowToOptimizeGemm/REF_MMult.c", None),
 ("how-to-optimize-gemm/src/HowToOptimizeGemm/MMult1.c", None),
 ("how-to-optimize-gemm/src/MMult1.c", None), ("how-to-optimize-gemm/src/MMult2.c", None),
] + [("how-to-optimize-gemm/src/MMult_1x4_%d.c" % i, None) for i in range(3,10)] + [
 ("how-to-optimize-gemm/src/MMult_4x4_%d.c" % i, None) for i in range(3,16)] + [
 ("llm.c/train_gpt2.c", ["matmul_forward_naive","matmul_forward"]),
 ("llm.c/dev/cpu/matmul_forward.c", ["matmul_forward_cpu"]),
 ("llm.c/dev/cuda/matmul_forward.cu", ["matmul_forward_cpu"]),
 ("llm.c/dev/cuda/matmul_forward.cu", ["matmul_forward_kernel1"]),
 ("llm.c/dev/cuda/trimat_forward.cu", ["matmul_tri_naive"]),
]
GEMM = {"GS101","GS102","GS103","GS104"}
WMMA = {"GS109"}
d = json.load(open(sys.argv[1]))
fs = [(x['path'].replace('/work/public/',''), x['function'], x['code']) for x in d['findings'] if x['code'] in GEMM | WMMA]
is_wmma = lambda fn: bool(fn) and any(x.startswith(("compute_","simple_wmma")) for x in fn)
found = 0; found_wmma = 0; miss = []
for g, fn in P:
    codes = WMMA if is_wmma(fn) else GEMM
    ok = any(fnmatch.fnmatch(p, g) and (fn is None or f in fn) and c in codes for p, f, c in fs)
    found += ok
    found_wmma += ok and is_wmma(fn)
    if not ok: miss.append((g, fn))
wmma = sum(1 for g, fn in P if is_wmma(fn))
rest = found - found_wmma
print("positives", len(P), "found", found, "%.0f%%" % (100*found/len(P)),
      "| without wmma", len(P)-wmma, "found", rest, "%.0f%%" % (100*rest/(len(P)-wmma)),
      "| wmma", wmma, "found", found_wmma)
for m in miss:
    print("  miss", m)
