"""Cache world clips on disk for :class:`bgtai.data.world.CachedWorldDataset`.

    python -m scripts.cache_world --out DIR --n 10000 [--split train] [--workers 2]

writes ``DIR/<split>/<i>.npz`` (one clip each) and ``DIR/<split>/index.jsonl`` (its events)
with :func:`bgtai.data.world.cache_world`.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bgtai.data.world import IMAGE_SIZE, SPLITS, cache_world


def main(argv: list[str] | None = None) -> Path:
    """Write the cache; returns the split's folder."""
    parser = argparse.ArgumentParser(prog="python -m scripts.cache_world",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--n", type=int, required=True, help="number of clips")
    parser.add_argument("--split", default="train", choices=SPLITS)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--image-size", type=int, default=IMAGE_SIZE)
    parser.add_argument("--min-seconds", type=float, default=1.0)
    parser.add_argument("--max-seconds", type=float, default=10.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    try:
        return cache_world(
            args.out,
            args.n,
            split=args.split,
            seed=args.seed,
            image_size=args.image_size,
            workers=args.workers,
            clip_seconds=(args.min_seconds, args.max_seconds),
            progress=not args.no_progress,
        )
    except ValueError as err:
        parser.error(str(err))


if __name__ == "__main__":
    main()
