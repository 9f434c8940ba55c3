"""Time ch11lib.encoder.BidirectionalEncoder against transformers.BertModel on CPU.

Both models hold the same MiniLM weights and encode the same random batch (default 32 x 128 tokens,
no padding, and the same batch with padding). BertModel runs with its default SDPA attention; ours
runs its fast path (fused attention, no attention weights returned). Runs alternate between the two
models so that load from other processes on a shared machine hits both alike. The table reports the
median wall-clock time and its spread, and the median CPU time the process used (less sensitive to
other processes taking the cores away, which inflates wall time more than CPU time); ratio =
BertModel median / ours median, for wall and for CPU time (>= 1: ours is at least as fast).

    .venv/bin/python benchmarks/bench_encoder.py --threads 2 --runs 15

Timings on a shared machine move with everything else it runs: check the load average printed with
the table, and rerun when it is high.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import torch

from ch11lib import resources
from ch11lib.encoder import BidirectionalEncoder


def time_once(forward: Callable[[], object]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (all threads of this process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    forward()
    return time.perf_counter() - wall, time.process_time() - cpu


def benchmark(
    forwards: dict[str, Callable[[], object]], runs: int, warmup: int
) -> dict[str, list[tuple[float, float]]]:
    """(wall, CPU) seconds per run of each forward; they take turns so drifting load hits both."""
    for _ in range(warmup):
        for forward in forwards.values():
            forward()
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in forwards}
    for run in range(runs):
        # Alternate who goes first, so neither always runs right after the other warmed the caches.
        order = list(forwards) if run % 2 == 0 else list(reversed(forwards))
        for name in order:
            times[name].append(time_once(forwards[name]))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--seq-len", type=int, default=128)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--model", default="minilm")
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    bert = resources.load_model(args.model)  # default attention: SDPA
    ours = BidirectionalEncoder.from_bert(bert).eval()

    input_ids = torch.randint(1000, bert.config.vocab_size, (args.batch, args.seq_len))
    full_mask = torch.ones_like(input_ids)
    # Padding: sequence i keeps a random length between half and all of seq_len.
    lengths = torch.randint(args.seq_len // 2, args.seq_len + 1, (args.batch,))
    padded_mask = (torch.arange(args.seq_len)[None, :] < lengths[:, None]).long()

    print(
        f"batch {args.batch} x {args.seq_len} tokens, torch {torch.__version__}, "
        f"{torch.get_num_threads()} threads, {args.runs} timed runs after {args.warmup} warm-up, "
        f"load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    reference, candidate = "BertModel (sdpa)", "BidirectionalEncoder"
    header = (
        f"{'input':<8} {'model':<22} {'wall ms':>9} {'min':>7} {'max':>7} {'cpu ms':>9} "
        f"{'ratio wall':>10} {'ratio cpu':>9}"
    )
    print(header)
    print("-" * len(header))
    with torch.inference_mode():
        for label, mask in (("no pad", full_mask), ("padded", padded_mask)):
            forwards = {
                reference: lambda m=mask: bert(input_ids=input_ids, attention_mask=m),
                candidate: lambda m=mask: ours(input_ids, m),
            }
            times = benchmark(forwards, args.runs, args.warmup)
            wall = {name: [w for w, _ in t] for name, t in times.items()}
            wall_median = {name: statistics.median(w) for name, w in wall.items()}
            cpu_median = {name: statistics.median(c for _, c in t) for name, t in times.items()}
            for name in forwards:
                ratios = ""
                if name == candidate:
                    ratios = (
                        f"{wall_median[reference] / wall_median[name]:10.2f} "
                        f"{cpu_median[reference] / cpu_median[name]:9.2f}"
                    )
                print(
                    f"{label:<8} {name:<22} {1e3 * wall_median[name]:9.1f} "
                    f"{1e3 * min(wall[name]):7.1f} {1e3 * max(wall[name]):7.1f} "
                    f"{1e3 * cpu_median[name]:9.1f} {ratios}"
                )
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        "ratio = BertModel median / BidirectionalEncoder median (>= 1: ours is as fast or faster)"
    )


if __name__ == "__main__":
    main()
