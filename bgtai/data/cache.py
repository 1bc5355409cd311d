"""Names for on-disk caches of values computed once from files (frozen features, embeddings)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch


def cache_key(files: Iterable[str | Path], *settings, tensors: Mapping[str, torch.Tensor]
              | None = None) -> str:
    """16 hex digits that change when any file (path, size, modification time), any of the
    JSON-serialisable ``settings`` or any of the ``tensors`` (a frozen model's state dict)
    changes, so a cache named by it is never read for other inputs."""
    spec = [*settings, *((str(p), Path(p).stat().st_size, Path(p).stat().st_mtime_ns)
                         for p in files)]
    digest = hashlib.sha1(json.dumps(spec).encode())
    for name, tensor in sorted((tensors or {}).items()):
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]
