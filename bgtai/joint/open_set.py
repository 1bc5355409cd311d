"""Is a sound one of the world's? The open-set score, its calibration, and what a caller shows.

The joint model only knows the world's 11 classes, so the nearest class prompt always names
*some* class; the open-set score says whether that answer deserves belief. Three scores are
available on the ``(B, classes)`` cosines between a sound's clip embedding and the class prompt
embeddings (:func:`class_embeddings`), with ``s`` the model's learned audio-gloss scale:

``max_cosine``
    the highest cosine: a world sound sits close to its class's prompts;
``max_softmax``
    the highest softmax probability of ``s * cosines`` (Hendrycks & Gimpel's baseline);
``energy``
    ``logsumexp(s * cosines) / s`` (Liu et al.'s energy score, on the cosine scale).

Higher means "more like the world" for all three. An :class:`OpenSetCalibration` (JSON beside the
joint checkpoint, ``open_set.json``) names the score and its threshold, and records which data
chose them; ``python -m train.calibrate_open_set`` writes it. :class:`OpenSetRecogniser` turns a
sound into a :class:`Recognition`: class, confidence, and whether it is in the world.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from bgtai.audio import AudioSource, load_audio
from bgtai.data.events import CLASSES
from bgtai.data.language import class_prompts
from bgtai.joint.model import PAIRS, JointModel

SCORES = ("max_cosine", "max_softmax", "energy")
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


def open_set_scores(cosines: torch.Tensor, scale: float, score: str = "max_cosine") -> torch.Tensor:
    """``(B,)`` open-set scores of ``(B, classes)`` cosines (module docstring); higher: in world."""
    if score not in SCORES:
        raise ValueError(f"unknown open-set score {score!r}; expected one of {SCORES}")
    cosines = torch.as_tensor(cosines, dtype=torch.float32)
    if cosines.ndim != 2 or cosines.shape[1] < 2:
        raise ValueError(f"expected (B, classes) cosines, got {tuple(cosines.shape)}")
    if score == "max_cosine":
        return cosines.max(dim=1).values
    logits = scale * cosines
    if score == "max_softmax":
        return logits.softmax(dim=1).max(dim=1).values
    return torch.logsumexp(logits, dim=1) / scale


def choose_threshold(inside: np.ndarray, outside: np.ndarray) -> float:
    """The threshold that maximises balanced accuracy (Youden's J) between two score samples.

    A sound is called in-world when its score is ``>=`` the threshold; the threshold is placed
    half-way between two neighbouring observed scores, so it does not sit on a training point.
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
    """Which score decides "in the world" and from which value on.

    Attributes
    ----------
    score : str
        One of :data:`SCORES`.
    threshold : float
        Sounds scoring at least this are called in-world.
    chosen_on : str
        The data that chose ``score`` and ``threshold`` (a dev set, never a test set).
    """

    score: str
    threshold: float
    chosen_on: str = ""

    def __post_init__(self):
        if self.score not in SCORES:
            raise ValueError(f"unknown open-set score {self.score!r}; expected one of {SCORES}")
        if not np.isfinite(self.threshold):
            raise ValueError(f"the open-set threshold must be finite, got {self.threshold!r}")

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
            return cls(spec["score"], float(spec["threshold"]), spec.get("chosen_on", ""))
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise ValueError(f"{path} is not an open-set calibration ({err})") from None


@dataclass(frozen=True)
class Recognition:
    """What the model heard in one sound.

    Attributes
    ----------
    cls : str
        The nearest of :data:`bgtai.data.events.CLASSES` (always one of them).
    confidence : float
        Its softmax probability over the 11 classes at the model's own scale (0-1).
    in_world : bool
        Whether the open-set score reaches the calibrated threshold; when False, ``cls`` is only
        what the sound resembles most, and a caller should say the sound is not one of the world's.
    score : float
        The open-set score itself.
    """

    cls: str
    confidence: float
    in_world: bool
    score: float


class OpenSetRecogniser:
    """Class, confidence and in-world verdict of sounds, with one :class:`JointModel`.

    >>> rec = OpenSetRecogniser.from_pretrained()              # doctest: +SKIP
    >>> rec("clap.wav")                                        # doctest: +SKIP
    Recognition(cls='clap', confidence=0.93, in_world=True, score=0.71)
    """

    def __init__(self, model: JointModel, calibration: OpenSetCalibration):
        self.model = model.eval()
        self.calibration = calibration
        self.classes = class_embeddings(model)
        self.scale = audio_gloss_scale(model)

    @classmethod
    def from_pretrained(cls, path: str | Path = DEFAULT_JOINT,
                        calibration: str | Path | None = None) -> OpenSetRecogniser:
        """Load a joint checkpoint folder and its calibration (default: ``path/open_set.json``)."""
        return cls(JointModel.from_pretrained(path),
                   OpenSetCalibration.load(path if calibration is None else calibration))

    def cosines(self, waves: list[np.ndarray]) -> torch.Tensor:
        """``(B, classes)`` cosines of mono 16 kHz waves (each validated) to the class prompts."""
        emb = torch.stack([self.model.embed_waveform(w).cpu() for w in waves])
        return emb @ self.classes.T

    def recognise(self, cosines: torch.Tensor) -> list[Recognition]:
        """:class:`Recognition` of each row of :meth:`cosines`' output."""
        probs = (self.scale * cosines).softmax(dim=1)
        scores = open_set_scores(cosines, self.scale, self.calibration.score)
        best = probs.argmax(dim=1)
        return [Recognition(CLASSES[int(b)], float(p[b]), bool(s >= self.calibration.threshold),
                            float(s)) for b, p, s in zip(best, probs, scores)]

    def __call__(self, audio: AudioSource, sr: int | None = None) -> Recognition:
        """Recognise one sound: anything :func:`bgtai.audio.load_audio` accepts
        (``ValueError`` with a readable message on bad audio)."""
        return self.recognise(self.cosines([load_audio(audio, sr)]))[0]
