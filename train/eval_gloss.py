"""Langue2Gloss evaluation: rules and model on real pairs, world text, held-out voices.

Metrics (BLEU-4 on the 0-100 scale, sacrebleu; token error rate as a fraction):

- ``rules_bleu4`` / ``rules_aslg_quirks_bleu4``: the rule-based converter on ``--pairs``
  (default: the shared ASLG-PC12 file, never trained on), plain and with the corpus' artefacts;
- ``model_bleu4`` / ``model_aslg_quirks_bleu4``: the neural model on the same pairs, as the
  app shows its gloss (the corpus's artefact forms it learned written out intact, like the
  rules' default) and its own output (in the corpus's convention, like the rules' quirks);
- ``world_bleu4``: the model on test-split world descriptions against their rule glosses,
  ``corpus_bleu4`` on test-split corpus sentences (WordNet examples and world descriptions);
- ``speech_bleu4``, ``speech_token_error_rate``: the model on test-split world descriptions
  spoken by the held-out TEST voices (never heard in training), next to ``speech_text_bleu4``,
  the model on the text of exactly those sentences;
- ``align_f1``: DS-Net's word <-> gloss alignment against the rules' alignment on the test
  corpus sentences (cell F1, teacher-forced on the rule gloss);
- with ``--speech-dir DIR`` (recorded speech: ``NAME.wav`` files at any rate and
  ``transcripts.tsv``, ``NAME<TAB>transcript`` per line), against the rules' gloss of each
  transcript: ``real_speech_bleu4_cascade`` (recogniser + rules),
  ``real_speech_bleu4_cascade_model`` (recogniser + neural text model),
  ``real_speech_bleu4_shared`` (the model's own speech side), ``real_speech_bleu4`` (the app's
  default path, :data:`bgtai.gloss.speech.DEFAULT_SPEECH_PATH`),
  ``real_speech_wer`` (the recogniser's word error rate; the cascade glosses and scores the
  transcript after :func:`bgtai.gloss.speech.clean_transcript`), ``real_typed_bleu4`` (the
  transcripts typed into the default text path: 100 by construction while that path is the
  rules) and ``real_typed_bleu4_model`` (typed into the neural model). ``--recogniser`` picks
  the Moonshine model of the cascade (default: the app's, :data:`bgtai.gloss.asr.DEFAULT_MODEL`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from tqdm.auto import tqdm

from bgtai.align.dsnet import alignment_f1
from bgtai.data.corpus import split_of, training_corpus, world_descriptions
from bgtai.data.speech import speak_many
from bgtai.eval import gloss_bleu4, token_error_rate, word_error_rate
from bgtai.gloss import english_to_gloss, gloss_alignment, tokenize_words
from bgtai.gloss.asr import DEFAULT_MODEL as DEFAULT_RECOGNISER
from bgtai.gloss.asr import SpeechRecognizer, default_recognizer
from bgtai.gloss.asr_models import MODELS as RECOGNISERS
from bgtai.gloss.speech import (
    DEFAULT_SPEECH_PATH,
    DEFAULT_TEXT_PATH,
    clean_transcript,
    gloss_transcript,
)
from bgtai.gloss.translator import GlossTranslator

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PAIRS = ROOT.parent / "shared" / "data" / "aslg_pc12_dev.tsv"
DEFAULT_MODEL = ROOT / "assets" / "gloss"


def add_arguments(parser) -> None:
    parser.add_argument("--model", default=str(DEFAULT_MODEL), help="folder or hub id")
    parser.add_argument("--pairs", type=Path, default=DEFAULT_PAIRS, help="text<TAB>gloss TSV")
    parser.add_argument("--n-test", type=int, default=500, help="test-split sentences scored")
    parser.add_argument("--n-world", type=int, default=20_000,
                        help="world descriptions drawn before splitting (as in training)")
    parser.add_argument("--n-speech", type=int, default=200, help="held-out-voice utterances")
    parser.add_argument("--speech-max-words", type=int, default=16)
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (as in training)")
    parser.add_argument("--beam-size", type=int, default=1)
    parser.add_argument("--speech-dir", type=Path,
                        help="recorded speech: NAME.wav files and transcripts.tsv "
                             "(NAME<TAB>transcript); adds the real_speech_* keys")
    parser.add_argument("--recogniser", choices=sorted(RECOGNISERS), default=DEFAULT_RECOGNISER,
                        help="the Moonshine model of the cascade (default: the app's)")


def _tsv_pairs(path: Path, what: str) -> list[tuple[int, str, str]]:
    """``(line number, first, second)`` of each non-empty ``first<TAB>second`` line of ``path``;
    a clear error for a malformed line (``what`` names the columns in it)."""
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            parts = line.split("\t")
            if len(parts) != 2:
                raise SystemExit(f"{path}:{n}: expected {what}")
            rows.append((n, parts[0], parts[1]))
    return rows


def read_pairs(path: Path) -> list[tuple[str, str]]:
    """``text<TAB>gloss`` lines; a clear error for a missing file or a malformed line."""
    if not path.is_file():
        raise SystemExit(f"pairs file not found: {path}")
    return [(text, gloss) for _, text, gloss in _tsv_pairs(path, "text<TAB>gloss")]


def read_speech_dir(folder: Path) -> list[tuple[Path, str]]:
    """``(wav path, transcript)`` for each line of ``folder/transcripts.tsv``."""
    table = folder / "transcripts.tsv"
    if not table.is_file():
        raise SystemExit(f"{folder} has no transcripts.tsv (NAME<TAB>transcript per line)")
    items = []
    for n, name, transcript in _tsv_pairs(table, "NAME<TAB>transcript"):
        if not transcript.strip():
            raise SystemExit(f"{table}:{n}: expected NAME<TAB>transcript")
        wav = folder / f"{name}.wav"
        if not wav.is_file():
            raise SystemExit(f"{table}:{n}: {wav.name} is missing")
        items.append((wav, transcript.strip()))
    if not items:
        raise SystemExit(f"{table} lists no recordings")
    return items


def real_speech_metrics(translator: GlossTranslator, items: list[tuple[Path, str]],
                        beam_size: int = 1,
                        recogniser: str = DEFAULT_RECOGNISER) -> dict[str, float]:
    """Both speech paths and the recogniser (a Moonshine model's name) on recorded speech,
    against the rules' gloss of the true transcripts; a recording in which nothing is
    recognised glosses to nothing."""
    recognizer = (default_recognizer() if recogniser == DEFAULT_RECOGNISER
                  else SpeechRecognizer(recogniser))
    refs = [english_to_gloss(text) for _, text in items]
    heard, shared = [], []
    for wav, _ in tqdm(items, desc="recorded speech"):
        try:
            heard.append(clean_transcript(recognizer.transcribe(wav).text))  # as the app glosses it
            shared.append(translator.from_speech(wav, beam_size=beam_size).text)
        except ValueError as exc:
            raise SystemExit(f"{wav}: {exc}") from None

    def glossed(texts: list[str], text_path: str) -> list[str]:
        out = []
        for text in texts:
            try:
                out.append(" ".join(gloss_transcript(text, text_path, translator, beam_size)[0]))
            except ValueError:  # nothing heard, or nothing the text path accepts: no gloss
                out.append("")
        return out

    typed = [text for _, text in items]
    metrics = {
        "real_speech_bleu4_cascade": gloss_bleu4(glossed(heard, DEFAULT_TEXT_PATH), refs),
        "real_speech_bleu4_cascade_model": gloss_bleu4(glossed(heard, "model"), refs),
        "real_speech_bleu4_shared": gloss_bleu4(shared, refs),
        "real_speech_wer": word_error_rate(heard, typed),
        "real_typed_bleu4": gloss_bleu4(glossed(typed, DEFAULT_TEXT_PATH), refs),
        "real_typed_bleu4_model": gloss_bleu4(glossed(typed, "model"), refs),
        "n_real_speech": len(items),
        "real_speech_unrecognised": sum(not t for t in heard),
    }
    metrics["real_speech_bleu4"] = metrics[f"real_speech_bleu4_{DEFAULT_SPEECH_PATH}"]
    return metrics


def word_alignment_f1(translator: GlossTranslator, pairs: list[tuple[str, str]]) -> float:
    """DS-Net vs the rules' word alignment, teacher-forced on the rule gloss."""
    predicted, target = [], []
    for text, gloss in pairs:
        pred = translator.force(text, gloss).alignment
        truth = np.zeros_like(pred)
        for gw, sources in enumerate(gloss_alignment(text)):
            truth[gw, list(sources)] = True
        predicted.append(torch.from_numpy(pred))
        target.append(torch.from_numpy(truth))
    q = max(p.shape[0] for p in predicted)
    t = max(p.shape[1] for p in predicted)

    def pad(m: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.pad(m, (0, t - m.shape[1], 0, q - m.shape[0]))

    return float(alignment_f1(torch.stack([pad(p) for p in predicted]),
                              torch.stack([pad(x) for x in target])))


def run(args) -> dict[str, float]:
    recordings = read_speech_dir(args.speech_dir) if args.speech_dir is not None else None
    translator = GlossTranslator.from_pretrained(args.model)
    pairs = read_pairs(args.pairs)
    texts, refs = [t for t, _ in pairs], [g for _, g in pairs]
    metrics = {
        "rules_bleu4": gloss_bleu4([english_to_gloss(t) for t in texts], refs),
        "rules_aslg_quirks_bleu4": gloss_bleu4([english_to_gloss(t, aslg_quirks=True)
                                                for t in texts], refs),
    }
    own = [translator.from_text(t, beam_size=args.beam_size, aslg_quirks=True)
           for t in tqdm(texts, desc="model on pairs")]
    hyps = [translator.intact(r, t).text for r, t in zip(own, texts)]  # as from_text gives it
    metrics["model_bleu4"] = gloss_bleu4(hyps, refs)
    metrics["model_token_error_rate"] = token_error_rate(hyps, refs)
    metrics["model_aslg_quirks_bleu4"] = gloss_bleu4([r.text for r in own], refs)

    def glossed(text_list):
        return [(t, english_to_gloss(t)) for t in text_list]

    def decode_all(items, desc):
        return [translator.from_text(t, beam_size=args.beam_size).text
                for t, _ in tqdm(items, desc=desc)]

    rng = np.random.default_rng(args.seed)
    test = training_corpus(args.seed, "test", n_world=args.n_world)
    test = [test[i] for i in rng.permutation(len(test))[: args.n_test]]
    metrics["corpus_bleu4"] = gloss_bleu4(decode_all(test, "test sentences"), [g for _, g in test])
    metrics["align_f1"] = word_alignment_f1(translator, test[:200])
    world = glossed([d for d in world_descriptions(args.n_world, args.seed)
                     if split_of(d, args.seed) == "test"][: args.n_test])
    metrics["world_bleu4"] = gloss_bleu4(decode_all(world, "world descriptions"),
                                         [g for _, g in world])

    spoken = [p for p in world if len(tokenize_words(p[0])) <= args.speech_max_words][: args.n_speech]
    waves = speak_many([t for t, _ in spoken], split="test", seed=args.seed + 7, progress=True)
    s_refs = [g for _, g in spoken]
    s_hyps = [translator.from_speech(w, beam_size=args.beam_size).text
              for w in tqdm(waves, desc="model on held-out voices")]
    t_hyps = [translator.from_text(t, beam_size=args.beam_size).text for t, _ in spoken]
    metrics["speech_bleu4"] = gloss_bleu4(s_hyps, s_refs)
    metrics["speech_token_error_rate"] = token_error_rate(s_hyps, s_refs)
    metrics["speech_text_bleu4"] = gloss_bleu4(t_hyps, s_refs)
    metrics["n_pairs"], metrics["n_test"], metrics["n_speech"] = len(pairs), len(test), len(spoken)
    if recordings:
        metrics.update(real_speech_metrics(translator, recordings, args.beam_size,
                                           args.recogniser))
    return metrics
