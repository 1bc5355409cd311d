"""Saving and loading BGTAI models: config JSON + ``model.safetensors``, never pickle."""

from __future__ import annotations

from huggingface_hub import PyTorchModelHubMixin


class SafeModelHubMixin(PyTorchModelHubMixin):
    """``PyTorchModelHubMixin`` (``save_pretrained`` / ``from_pretrained(dir_or_hub_id)``) that
    loads ``model.safetensors`` strictly and refuses pickled weights.

    The stock mixin falls back to ``torch.load`` for a ``pytorch_model.bin`` and loads
    safetensors with ``strict=False``, which would silently keep random weights for any key
    a checkpoint lacks.
    """

    @classmethod
    def _load_as_pickle(cls, model, model_file, map_location, strict):
        raise ValueError(f"refusing to load pickled weights from {model_file}; "
                         f"{cls.__name__} loads model.safetensors only")

    @classmethod
    def _load_as_safetensor(cls, model, model_file, map_location, strict):
        return super()._load_as_safetensor(model, model_file, map_location, True)
