"""Tolerances for comparing two float32 computations of the same thing, derived rather than tuned.

Compare like with like (the same kernel on the same shapes) strictly; compare different kernels
(SDPA against matmul + softmax, one batch shape against another, one BLAS path against another)
with :func:`cross_kernel_atol`, whose bound holds on any CPU.
"""

from __future__ import annotations

from typing import Any

import numpy as np

FLOAT32_EPS = float(np.finfo(np.float32).eps)


def cross_kernel_atol(reference: Any, terms: int) -> float:
    """Tolerance between two float32 kernels that compute the same sums in different orders.

    A sum of ``terms`` float32 products is exact to about ``terms * eps * max|value|`` (the standard
    rounding bound), and two kernels (SDPA against matmul + softmax, or one batch shape against
    another) may round in opposite directions; how far they land apart depends on the CPU's vector
    instructions, so a tolerance tuned on one CPU fails on another. LayerNorm rescales every layer, so
    the error does not compound with depth. For MiniLM (384 terms, |hidden| <= 11) this is about 1e-3,
    against differences of 1.5e-5 to 2.3e-5 measured on two AVX-512 CPUs. Slips smaller than that
    bound (an epsilon in LayerNorm) are the strict like-with-like comparisons' job.
    """
    values = reference.detach().numpy() if hasattr(reference, "detach") else reference
    return 2 * terms * FLOAT32_EPS * max(1.0, float(np.abs(np.asarray(values)).max()))
