"""Which CPU kernels PyTorch uses, pinned so that x86 machines agree.

Float results on the CPU depend on the instruction set the kernels are built for: the same
seed trains to other numbers with AVX-512 than with AVX2, because sums are taken in
another order. ATen (PyTorch's own kernels), oneDNN (convolutions) and MKL (matrix
products) each pick their instruction set when first used, from the CPU or from an
environment variable. By default this project sets those variables to AVX2, a set that
nearly every x86-64 CPU since 2013 has, before torch runs anything:

    ATEN_CPU_CAPABILITY=avx2  ONEDNN_MAX_CPU_ISA=AVX2  MKL_CBWR=AVX2

A variable the user already set wins, so `ATEN_CPU_CAPABILITY=default
ONEDNN_MAX_CPU_ISA=SSE41` still emulates an older CPU, and `ASAL_CPU_KERNELS=native`
leaves all three alone (the fastest kernels of this CPU, numbers of this CPU). On ARM the
variables do nothing; results there are statistical (see docs/reproducing.md).
"""

from __future__ import annotations

import os

PINNED = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2", "MKL_CBWR": "AVX2"}


def pin_cpu_kernels() -> None:
    """Set the AVX2 pins, keeping any value already in the environment."""
    if os.environ.get("ASAL_CPU_KERNELS", "avx2").lower() == "native":
        return
    for name, value in PINNED.items():
        os.environ.setdefault(name, value)


def describe() -> str:
    """What the kernels of this process are: ATen's capability and the caps in force."""
    import torch

    caps = ", ".join(f"{k}={os.environ[k]}" for k in PINNED if k in os.environ)
    return f"aten {torch.backends.cpu.get_cpu_capability()}" + (f" ({caps})" if caps else "")
