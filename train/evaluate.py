"""Evaluate the models: ``python -m train.evaluate TASK [options] [--json PATH]``, TASK one of ``TASKS``.

Each subcommand lives in its own module (``train/eval_<name>.py``) exposing
``add_arguments(parser)`` and ``run(args) -> dict``; this file only dispatches, prints the flat
metrics and writes them as JSON.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

from train.common import write_metrics

TASKS = {
    "gloss": "train.eval_gloss",
    "joint": "train.eval_joint",
    "generation": "train.eval_generation",
    "heard": "train.eval_heard",
    "caption": "train.eval_caption",
    "real-sounds": "train.eval_real",
    "esc50": "train.eval_datasets",
    "urbansound8k": "train.eval_datasets",
    "vggsound": "train.eval_datasets",
    "audiocaps": "train.eval_datasets",
    "clotho": "train.eval_datasets",
    "how2": "train.eval_datasets",
    "aslg": "train.eval_datasets",
    "paper-tables": "train.eval_paper_tables",
}


def main(argv=None) -> dict:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in TASKS:
        sys.exit(f"usage: python -m train.evaluate {{{','.join(TASKS)}}} --json PATH [options]")
    task = argv[0]
    module = importlib.import_module(TASKS[task])  # only the chosen task's dependencies load
    parser = argparse.ArgumentParser(prog=f"python -m train.evaluate {task}",
                                     description=module.__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--json", type=Path, help="write the metrics to this JSON file")
    parser.set_defaults(task=task)  # one module may serve several tasks
    module.add_arguments(parser)
    args = parser.parse_args(argv[1:])
    metrics = module.run(args)
    for key, value in metrics.items():
        print(f"{key:32s} {value:.4f}" if isinstance(value, float) else f"{key:32s} {value}")
    if args.json:
        write_metrics(args.json, metrics)
    return metrics


if __name__ == "__main__":
    main()
