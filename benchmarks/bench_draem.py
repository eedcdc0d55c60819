"""DRAEM benchmark on the current device: training and scoring throughput, synthesis share.

    python benchmarks/bench_draem.py [--size 256] [--steps 3] [--recon-width 128] [--disc-width 64]

Defaults are the paper's widths at 256 px, batch 8. Prints images per second for a
training step (synthesis + forward + backward + Adam), the share of a step spent in
anomaly synthesis (target: at most 10 %), scoring images per second and peak memory.
"""

import argparse
import resource
import time

import torch
from asal.models.draem import Draem, draem_loss, gaussian_window
from asal.models.draem_training import score
from asal.models.synthesis import synthesize

from asal.data.textures import anomaly_source
from asal.models.networks import channels_last
from asal.runtime import adam, autocast, device_name, model_to, pick_device


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--recon-width", type=int, default=128)
    parser.add_argument("--disc-width", type=int, default=64)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = pick_device(args.device)
    print(f"device: {device_name(device)}; {args.size} px, batch {args.batch_size}, widths "
          f"{args.recon_width}/{args.disc_width}")

    torch.manual_seed(0)
    model = model_to(Draem(args.recon_width, args.disc_width), device)
    optimizer = adam(model.parameters(), lr=1e-4)
    window = gaussian_window().to(device)
    bank = anomaly_source(None, args.size, 0, device)
    gen = torch.Generator().manual_seed(0)
    images = torch.rand(args.batch_size, 3, args.size, args.size, device=device)

    def step():
        sync(device)
        t0 = time.perf_counter()
        sample = synthesize(images, bank, gen)
        sync(device)
        t1 = time.perf_counter()
        with autocast(device):
            recon, logits = model(channels_last(sample.image))
        loss = draem_loss(recon, sample.target, logits, sample.mask, window)["total"]
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        sync(device)
        return t1 - t0, time.perf_counter() - t0

    step()                                    # warm-up (allocations, cuDNN autotune)
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    synth, total = 0.0, 0.0
    for _ in range(args.steps):
        s, t = step()
        synth, total = synth + s, total + t
    n = args.steps * args.batch_size
    print(f"training: {n / total:.1f} images/s ({total / args.steps:.3f} s per step); "
          f"synthesis {100 * synth / total:.1f} % of a step")

    pool = (torch.rand(4 * args.batch_size, 3, args.size, args.size) * 255).to(torch.uint8)
    score(model, pool[:8], device)            # warm-up
    sync(device)
    t0 = time.perf_counter()
    score(model, pool, device, batch_size=32)
    sync(device)
    print(f"scoring: {len(pool) / (time.perf_counter() - t0):.1f} images/s")
    if device.type == "cuda":
        print(f"peak GPU memory: {torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB")
    print(f"peak RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB")


if __name__ == "__main__":
    main()
