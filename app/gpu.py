"""``spaces.GPU`` on Hugging Face ZeroGPU Spaces, a no-op decorator everywhere else.

On ZeroGPU a GPU is attached only while a function decorated with ``spaces.GPU`` runs, so the
handlers that may run a model on the GPU (the pretrained profile) carry this decorator; the
``spaces`` package exists only on Spaces and is not a dependency.
"""

from __future__ import annotations

try:
    import spaces
except ImportError:  # not on a Space
    spaces = None


def gpu(fn):
    """Mark a handler that may use the GPU (``spaces.GPU`` when available)."""
    return fn if spaces is None else spaces.GPU(fn)
