"""What the joint model hears in a sound: the nearest world class, and whether to believe it.

The sound's clip embedding is compared with each class's prompt embedding ("the sound of a
bell", ... read as gloss, averaged per class, as ``train.evaluate joint``'s zero-shot accuracy
does), and a softmax at the model's own learned audio-gloss scale ``s`` turns the cosines into a
confidence. The model only knows the world's 11 classes, so every sound gets *some* class; the
**open-set score** says whether that answer deserves belief. Five scores are computed (higher
means "more like the world"):

``max_cosine``
    the highest cosine to a class: a world sound sits close to its class's prompts;
``max_softmax``
    the highest softmax probability of ``s * cosines`` (Hendrycks & Gimpel's baseline);
``energy``
    ``logsumexp(s * cosines) / s`` (Liu et al.'s energy score, on the cosine scale);
``familiarity``
    the highest class probability of the model's attribute head (the linear class reader
    trained on the world's sounds and pictures with the embedding);
``gated``
    ``max_cosine`` for a sound the front-end's gate calls real, ``max_softmax`` for one like
    the world's own, mixed by the gate's weight (:meth:`JointModel.real_weight`; without a
    gated front-end it is ``max_softmax``). The softmax is relative, so it keeps world sounds
    that sit far from every prompt (sustained sounds repeated 4-5 times); among real
    recordings the absolute cosine tells the world's kinds from other sounds better
    (docs/real_sounds.md).

An :class:`OpenSetCalibration` (``open_set.json`` beside the joint checkpoint, written by
``python -m train.calibrate_open_set`` from a real-sound dev set) names the score and its
threshold and records which data chose them. :class:`Listener` turns sounds into
:class:`Heard`: class, confidence, score and verdict.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from bgtai.audio import SAMPLE_RATE, AudioSource, load_audio
from bgtai.data.events import CLASSES
from bgtai.data.language import class_prompts
from bgtai.joint.model import PAIRS, JointModel

SCORES = ("max_cosine", "max_softmax", "energy", "familiarity", "gated")
CALIBRATION_FILE = "open_set.json"
DEFAULT_JOINT = Path(__file__).resolve().parents[2] / "assets" / "joint"


@torch.no_grad()
def class_embeddings(model: JointModel, form: str = "gloss") -> torch.Tensor:
    """``(classes, dim)``: the normalised mean embedding of each class's prompts."""
    rows = [model.embed_captions(class_prompts(c), form).mean(dim=0) for c in CLASSES]
    return torch.nn.functional.normalize(torch.stack(rows), dim=-1).cpu()


@torch.no_grad()
def audio_gloss_scale(model: JointModel) -> float:
    """The model's learned inverse temperature between audio and gloss embeddings."""
    return float(model.log_scales[PAIRS.index("audio_gloss")].exp().clamp(max=100.0))


def choose_threshold(inside: np.ndarray, outside: np.ndarray) -> float:
    """The threshold that maximises balanced accuracy (Youden's J) between two score samples.

    A sound is called in-world when its score is ``>=`` the threshold; the threshold is placed
    half-way between two neighbouring observed scores, so it does not sit on a dev point.
    """
    inside, outside = np.asarray(inside, float), np.asarray(outside, float)
    if inside.size == 0 or outside.size == 0:
        raise ValueError("both in-world and out-of-world scores are needed to choose a threshold")
    values = np.unique(np.concatenate([inside, outside]))
    cuts = np.concatenate([[values[0] - 1e-6], (values[:-1] + values[1:]) / 2, [values[-1] + 1e-6]])
    j = [(inside >= t).mean() - (outside >= t).mean() for t in cuts]
    return float(cuts[int(np.argmax(j))])


@dataclass(frozen=True)
class OpenSetCalibration:
    """Which score decides "one of the world's sounds" and from which value on.

    Attributes
    ----------
    score : str
        One of :data:`SCORES`.
    threshold : float
        Sounds scoring at least this are called the world's.
    chosen_on : str
        The data that chose ``score`` and ``threshold`` (a dev set, never a test set).
    threshold_without_frontend : float, optional
        The threshold for the same model running on its audio tower alone, where its
        front-end's package is not installed (:attr:`JointModel.frontend_missing`), chosen on
        the same data; :class:`Listener` uses it there.
    """

    score: str
    threshold: float
    chosen_on: str = ""
    threshold_without_frontend: float | None = None

    def __post_init__(self):
        if self.score not in SCORES:
            raise ValueError(f"unknown open-set score {self.score!r}; expected one of {SCORES}")
        for value in (self.threshold, self.threshold_without_frontend):
            if value is not None and not np.isfinite(value):
                raise ValueError(f"the open-set threshold must be finite, got {value!r}")

    def without_frontend(self) -> OpenSetCalibration:
        """The calibration of the model on its tower alone (this one when it has none)."""
        if self.threshold_without_frontend is None:
            return self
        return OpenSetCalibration(self.score, self.threshold_without_frontend,
                                  f"{self.chosen_on} (the audio tower alone)")

    def save(self, path: str | Path) -> Path:
        """Write as JSON (a folder gets :data:`CALIBRATION_FILE` inside it)."""
        path = Path(path)
        if path.is_dir():
            path = path / CALIBRATION_FILE
        path.write_text(json.dumps(asdict(self), indent=2) + "\n")
        return path

    @classmethod
    def load(cls, path: str | Path = DEFAULT_JOINT) -> OpenSetCalibration:
        """Read a calibration file (or a folder's :data:`CALIBRATION_FILE`)."""
        path = Path(path)
        if path.is_dir():
            path = path / CALIBRATION_FILE
        if not path.is_file():
            raise ValueError(f"no open-set calibration at {path}; write one with "
                             "`python -m train.calibrate_open_set`")
        try:
            spec = json.loads(path.read_text())
            alone = spec.get("threshold_without_frontend")
            return cls(spec["score"], float(spec["threshold"]), spec.get("chosen_on", ""),
                       None if alone is None else float(alone))
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise ValueError(f"{path} is not an open-set calibration ({err})") from None


@dataclass(frozen=True)
class Heard:
    """What the model heard in one sound.

    Attributes
    ----------
    cls : str
        The nearest of :data:`bgtai.data.events.CLASSES` (always one of them).
    confidence : float
        Its softmax probability over the 11 classes at the model's own scale (0-1).
    probabilities : dict of str to float
        Every class's probability, in :data:`CLASSES` order.
    score : float
        The calibrated open-set score (module doc); ``nan`` without a calibration.
    known : bool or None
        Whether the score reaches the calibrated threshold: when False, ``cls`` is only what the
        sound resembles most and a caller should say the sound is not one of the world's;
        None when the listener has no calibration.
    """

    cls: str
    confidence: float
    probabilities: dict[str, float]
    score: float
    known: bool | None


class Listener:
    """Zero-shot world classes and open-set verdicts of sounds with one :class:`JointModel`
    (the class prompts are embedded once).

    >>> listen = Listener.from_pretrained()                    # doctest: +SKIP
    >>> listen("clap.wav")                                     # doctest: +SKIP
    Heard(cls='clap', confidence=0.93, ..., known=True)
    """

    def __init__(self, model: JointModel, calibration: OpenSetCalibration | None = None):
        self.model = model.eval()
        if calibration is not None and model.frontend_missing:
            calibration = calibration.without_frontend()
        self.calibration = calibration
        self.classes = class_embeddings(model)
        self.scale = audio_gloss_scale(model)

    @classmethod
    def from_pretrained(cls, path: str | Path = DEFAULT_JOINT,
                        calibration: str | Path | None = None) -> Listener:
        """Load a joint checkpoint folder and its calibration (default: ``path/open_set.json``;
        ``ValueError`` when there is none)."""
        return cls(JointModel.from_pretrained(path),
                   OpenSetCalibration.load(path if calibration is None else calibration))

    @torch.no_grad()
    def embed(self, waves: list[np.ndarray]) -> torch.Tensor:
        """``(B, dim)`` clip embeddings of mono 16 kHz waves (``ValueError`` on bad audio)."""
        return torch.stack([self.model.embed_waveform(w) for w in waves])

    @torch.no_grad()
    def real_weights(self, waves: list[np.ndarray]) -> torch.Tensor:
        """``(B,)`` front-end gate of mono 16 kHz waves (:meth:`JointModel.real_weight`)."""
        device = self.model.log_scales.device
        return torch.cat([self.model.real_weight(torch.from_numpy(
            np.ascontiguousarray(w, dtype=np.float32))[None].to(device)) for w in waves]).cpu()

    @torch.no_grad()
    def scores(self, embeddings: torch.Tensor, real_weights: torch.Tensor
               ) -> dict[str, torch.Tensor]:
        """Every open-set score of :data:`SCORES` of :meth:`embed`'s and :meth:`real_weights`'
        outputs, each ``(B,)`` on the CPU."""
        cosines = embeddings.cpu() @ self.classes.T
        logits = self.scale * cosines
        head = self.model.attributes.classes(embeddings)
        out = {"max_cosine": cosines.amax(dim=1),
               "max_softmax": logits.softmax(dim=1).amax(dim=1),
               "energy": torch.logsumexp(logits, dim=1) / self.scale,
               "familiarity": head.softmax(dim=1).amax(dim=1).cpu()}
        w = real_weights.cpu()
        out["gated"] = w * out["max_cosine"] + (1 - w) * out["max_softmax"]
        return out

    def hear(self, waves: list[np.ndarray]) -> list[Heard]:
        """What the model hears in each mono 16 kHz wave (``ValueError`` on bad audio)."""
        return self.read(self.embed(waves), self.real_weights(waves))

    @torch.no_grad()
    def read(self, embeddings: torch.Tensor, real_weights: torch.Tensor) -> list[Heard]:
        """:class:`Heard` of each row of :meth:`embed`'s output (with :meth:`real_weights`')."""
        probs = (self.scale * embeddings.cpu() @ self.classes.T).softmax(dim=1)
        n = len(embeddings)
        if self.calibration is None:
            scores, known = [float("nan")] * n, [None] * n
        else:
            s = self.scores(embeddings, real_weights)[self.calibration.score]
            scores, known = s.tolist(), (s >= self.calibration.threshold).tolist()
        best = probs.argmax(dim=1).tolist()
        return [Heard(CLASSES[b], float(p[b]), dict(zip(CLASSES, p.tolist())), s, k)
                for b, p, s, k in zip(best, probs, scores, known)]

    def __call__(self, audio: AudioSource, sr: int | None = None) -> Heard:
        """What the model hears in one sound: anything :func:`bgtai.audio.load_audio` accepts, an
        array at ``sr`` (default 16 kHz); ``ValueError`` with a readable message on bad audio."""
        return self.hear([load_audio(audio, SAMPLE_RATE if sr is None else sr)])[0]
