"""Training speed of the joint model: samples/s of full optimizer steps on synthetic world data.

Times ``--steps`` steps (after ``--warmup`` untimed ones) of the default embedded model with the
default selection (DS&RF) on cached batches, so data generation is not counted::

    python -m benchmarks.joint_train [--events 32] [--clips 2] [--threads 2] [--json OUT]

A "sample" is one event plus its share of clips; the JSON also gives events/s and clips/s.
"""

from __future__ import annotations

import argparse
import json
import time

import torch

from bgtai.joint.data import ClipPairs, EventPairs, collate_world
from bgtai.joint.model import JointConfig, JointModel, StepSettings
from bgtai.joint.tokens import world_vocab


def main(argv: list[str] | None = None) -> dict[str, float]:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--events", type=int, default=32, help="events per step")
    p.add_argument("--clips", type=int, default=2, help="clips per step")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    p.add_argument("--json", default=None)
    args = p.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    vocab = world_vocab(0, 300)
    model = JointModel(JointConfig(vocab=vocab.tokens[2:])).to(args.device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    events = collate_world([EventPairs("train", args.events, vocab)[i] for i in range(args.events)])
    clips = collate_world([ClipPairs("train", args.clips, vocab)[i] for i in range(args.clips)])
    events = {k: v.to(args.device) for k, v in events.items()}
    clips = {k: v.to(args.device) for k, v in clips.items()}
    settings = StepSettings()
    for k in range(args.warmup + args.steps):
        if k == args.warmup:
            if args.device.startswith("cuda"):
                torch.cuda.synchronize()
            start = time.perf_counter()
        loss = model(clips, events, settings)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    if args.device.startswith("cuda"):
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - start) / args.steps
    out = {"device": args.device, "threads": args.threads, "events_per_step": args.events,
           "clips_per_step": args.clips, "seconds_per_step": seconds,
           "events_per_s": args.events / seconds, "clips_per_s": args.clips / seconds}
    print(json.dumps(out, indent=2))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(out, f, indent=2)
    return out


if __name__ == "__main__":
    main()
