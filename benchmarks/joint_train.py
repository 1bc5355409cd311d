"""Training speed of the joint model: full optimizer steps on cached world batches.

Times ``--steps`` steps (after ``--warmup`` untimed ones) of the
default embedded model with the default selection (DS&RF) on batches prepared beforehand, so
data generation is not counted; the world's own rates are measured beside it::

    python -m benchmarks.joint_train [--events 32] [--clips 2] [--threads 2] [--device cuda]
        [--bf16] [--compile [MODE]] [--profile TABLE.txt] [--data-rate] [--json OUT]

``--data-rate`` also measures how fast the world is synthesised on one CPU core and read back
from the on-disk cache (:class:`bgtai.joint.data.EventPairs` with ``cache_dir``), in events/s:
what DataLoader workers can feed per core. ``--profile`` writes ``torch.profiler``'s table of
the ops that took the most time over a few steps (where a step waits); on a GPU the JSON then
also gives the kernel launches per step. ``--compile`` compiles the encoders and DS-Net
(:meth:`~bgtai.joint.model.JointModel.compile_encoders`; the batches here have fixed shapes),
and the JSON gives the first step's time (the compile), the graphs compiled and the graph
breaks. On a GPU, AdamW is the fused one, as in the trainer. A "sample" is one event plus its
share of clips; the JSON gives events/s and clips/s.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time

import torch

from bgtai.joint.data import ClipPairs, EventPairs, collate_world
from bgtai.joint.model import COMPILE_MODES, JointConfig, JointModel, StepSettings
from bgtai.joint.tokens import world_vocab

LAUNCHES = ("cudaLaunchKernel", "cuLaunchKernel", "cuLaunchKernelEx", "cudaLaunchKernelExC",
            "cudaGraphLaunch")
"""Runtime calls that start work on the GPU (eager kernels, Triton kernels, CUDA graphs)."""


def data_rates(vocab, n: int = 64) -> dict[str, float]:
    """Events per second synthesised on this core, and read back from the disk cache."""
    with tempfile.TemporaryDirectory() as tmp:
        data = EventPairs("train", n, vocab, cache_dir=tmp)
        start = time.perf_counter()
        for i in range(n):
            data[i]
        made = time.perf_counter() - start
        again = EventPairs("train", n, vocab, cache_dir=tmp)
        start = time.perf_counter()
        for i in range(n):
            again[i]
        read = time.perf_counter() - start
    return {"synthesis_events_per_s_per_core": n / made, "disk_cache_events_per_s_per_core": n / read}


def _sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main(argv: list[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=32, help="events per step")
    p.add_argument("--clips", type=int, default=2, help="clips per step")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (at least 1)")
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--bf16", action="store_true", help="bfloat16 autocast")
    p.add_argument("--compile", nargs="?", const="default", default=None, metavar="MODE",
                   choices=COMPILE_MODES, help="torch.compile the encoders and DS-Net")
    p.add_argument("--profile", default=None, help="write torch.profiler's op table here")
    p.add_argument("--data-rate", action="store_true", help="also time world synthesis")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    if args.warmup < 1 or args.steps < 1:
        p.error("--warmup and --steps must be >= 1")
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    vocab = world_vocab(0, 300)
    model = JointModel(JointConfig(vocab=vocab.tokens[2:])).to(args.device).train()
    device_type = torch.device(args.device).type
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, fused=device_type == "cuda")
    if args.compile:
        model.compile_encoders(args.compile)
    events = collate_world([EventPairs("train", args.events, vocab)[i] for i in range(args.events)])
    clips = collate_world([ClipPairs("train", args.clips, vocab)[i] for i in range(args.clips)])
    events = {k: v.to(args.device) for k, v in events.items()}
    clips = {k: v.to(args.device) for k, v in clips.items()}
    settings = StepSettings()
    autocast = (torch.autocast(device_type, dtype=torch.bfloat16) if args.bf16
                else contextlib.nullcontext())

    def step():
        with autocast:
            loss = model(clips, events, settings)["loss"]
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    start = time.perf_counter()
    step()  # with --compile, the first step compiles
    _sync(args.device)
    first = time.perf_counter() - start
    for _ in range(args.warmup - 1):
        step()
    _sync(args.device)
    start = time.perf_counter()
    for _ in range(args.steps):
        step()
    _sync(args.device)
    seconds = (time.perf_counter() - start) / args.steps
    out = {"device": args.device, "threads": args.threads, "bf16": args.bf16,
           "compile": args.compile, "fused_adamw": device_type == "cuda",
           "first_step_s": first, "events_per_step": args.events,
           "clips_per_step": args.clips, "seconds_per_step": seconds,
           "events_per_s": args.events / seconds, "clips_per_s": args.clips / seconds}
    if args.profile:
        activities = [torch.profiler.ProfilerActivity.CPU]
        if device_type == "cuda":
            activities.append(torch.profiler.ProfilerActivity.CUDA)
        with torch.profiler.profile(activities=activities) as prof:
            for _ in range(3):
                step()
            _sync(args.device)
        key = "self_cuda_time_total" if device_type == "cuda" else "self_cpu_time_total"
        averages = prof.key_averages()
        table = averages.table(sort_by=key, row_limit=30)
        cpu_table = averages.table(sort_by="self_cpu_time_total", row_limit=30)
        events_count = sum(e.count for e in averages)
        if device_type == "cuda":
            out["launches_per_step"] = sum(e.count for e in averages if e.key in LAUNCHES) / 3
        with open(args.profile, "w") as f:
            f.write(f"{json.dumps(out)}\nops recorded over 3 steps: {events_count}\n\n"
                    f"by device time:\n{table}\n\nby CPU time:\n{cpu_table}\n")
    if args.compile:
        from torch._dynamo.utils import counters

        out["compiled_graphs"] = counters["stats"]["unique_graphs"]
        out["graph_breaks"] = sum(counters["graph_break"].values())
    if args.data_rate:
        out |= data_rates(vocab)
    print(json.dumps(out, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return out


if __name__ == "__main__":
    main()
