"""How many objects an embedding asks for: a linear probe in the decoder's image-embedding space.

The joint embedding carries the number of repetitions (a sound of three claps lands near the
picture of three clap objects), but the decoder sometimes draws one object too many or too few,
most often for five repetitions at the ends of the world's loudness and pitch ranges. Re-ranking
candidates by the cosine of their own embeddings hardly sees an object more or less (the
embedding's other attributes dominate the cosine), so :class:`~bgtai.generate.pipeline.SoundToImage`
asks this probe how many objects the sound asks for and prefers the candidates that show as many
(docs/generation.md, "Re-ranking"). Fitted on embeddings of real world pictures; its accuracy was
measured on world val pictures and sounds, not on gloss, mixed or real-recording embeddings.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from bgtai.data.events import MAX_REPETITIONS
from bgtai.hub import SafeModelHubMixin


@dataclass(frozen=True)
class CountProbeConfig:
    """A linear classifier of ``dim``-d embeddings into ``counts``."""

    dim: int
    counts: list[int] = field(default_factory=lambda: list(range(1, MAX_REPETITIONS + 1)))


class CountProbe(nn.Module, SafeModelHubMixin):
    """Multinomial logistic regression on L2-normalised embeddings -> number of objects."""

    def __init__(self, config: CountProbeConfig | dict):
        super().__init__()
        self.config = CountProbeConfig(**config) if isinstance(config, dict) else config
        self.linear = nn.Linear(self.config.dim, len(self.config.counts))

    @classmethod
    def fit(cls, embeddings: torch.Tensor, counts, *, c: float = 10.0) -> CountProbe:
        """Fit on ``(N, dim)`` embeddings and their numbers of objects (scikit-learn's
        L-BFGS logistic regression, inverse regularisation ``c``); every count of the config
        must occur."""
        from sklearn.linear_model import LogisticRegression

        counts = np.asarray(counts)
        if embeddings.ndim != 2 or len(embeddings) != len(counts):
            raise ValueError("expected (N, dim) embeddings and N counts")
        probe = cls(CountProbeConfig(dim=int(embeddings.shape[1])))
        if sorted(set(counts.tolist())) != probe.config.counts:
            raise ValueError(f"the counts must be exactly {probe.config.counts}, "
                             "each at least once")
        x = nn.functional.normalize(embeddings.float(), dim=-1).numpy()
        lr = LogisticRegression(C=c, max_iter=5000).fit(x, counts)
        order = [list(lr.classes_).index(n) for n in probe.config.counts]
        with torch.no_grad():
            probe.linear.weight.copy_(torch.from_numpy(lr.coef_[order]))
            probe.linear.bias.copy_(torch.from_numpy(lr.intercept_[order]))
        return probe

    def forward(self, embeddings: torch.Tensor) -> torch.Tensor:
        """``(B, len(counts))`` logits."""
        x = nn.functional.normalize(embeddings.float(), dim=-1)
        return self.linear(x.to(self.linear.weight))

    @torch.no_grad()
    def predict(self, embeddings: torch.Tensor) -> list[int]:
        """The number of objects each of ``(B, dim)`` embeddings asks for."""
        if embeddings.ndim != 2 or embeddings.shape[1] != self.config.dim:
            raise ValueError(f"expected (B, {self.config.dim}) embeddings, "
                             f"got {tuple(embeddings.shape)}")
        best = self(embeddings).argmax(dim=1).tolist()
        return [self.config.counts[i] for i in best]
