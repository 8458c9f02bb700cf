#pragma once
/// \file
/// ISA clones of the fused CPU kernels. Each element loop marked FLATMIN_KERNEL_ISA is compiled
/// twice on x86-64 with GCC — for AVX2 and for the baseline (SSE2) — and the dynamic loader picks
/// the clone the CPU supports (an ifunc, resolved once). The loops use only IEEE-exact operations
/// (+, −, ×, ÷, √, min/max; no FP contraction: -ffp-contract=off; reductions stay in source order,
/// since without -ffast-math GCC does not reassociate them), so both clones give bit-identical
/// results; AVX2 only doubles the width of the divisions and square roots that make an
/// Adam-family step partly compute-bound at SSE2 width (docs/benchmarks.md).
/// Define FLATMIN_NO_ISA_CLONES to build the baseline only.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && !defined(FLATMIN_NO_ISA_CLONES)
#define FLATMIN_KERNEL_ISA __attribute__((target_clones("avx2", "default")))
#else
#define FLATMIN_KERNEL_ISA
#endif
