"""Add spoken sentences (espeak-ng) to a training folder's ``other/``: speech is not a world sound.

    python -m scripts.make_speech_others --out runs/gm_sounds --n 80

Speech is the most common sound a microphone hears that is none of the world's classes; these
synthetic sentences, in several languages, voices, pitches and speeds, teach the fine-tuned audio
tower (``train.finetune_audio --outlier-weight``) to spread its class confidence on speech.
espeak-ng is a system package of the project (``packages.txt``, GPL-3+).
"""

from __future__ import annotations

import argparse
import subprocess
from pathlib import Path

import numpy as np

SENTENCES = (
    ("en", "Could you pass me the salt, please?"),
    ("en", "The train to the city leaves at half past nine."),
    ("en", "I think it is going to rain this afternoon."),
    ("en", "Attention please, the shop closes in ten minutes."),
    ("de", "Guten Morgen, wie geht es dir heute?"),
    ("de", "Das Wetter ist schön, wir gehen in den Park."),
    ("fr", "Bonjour, je voudrais un café et un croissant."),
    ("fr", "Nous partons en vacances la semaine prochaine."),
    ("es", "¿Dónde está la estación de autobuses?"),
    ("es", "Mañana vamos a visitar a mis abuelos."),
    ("it", "Questa sera andiamo al cinema con gli amici."),
    ("pl", "Dzień dobry, czy mogę prosić o rachunek?"),
    ("ru", "Сегодня очень холодно на улице."),
    ("nl", "Het is vandaag een mooie dag om te fietsen."),
)
VARIANTS = ("", "+m3", "+f2", "+f4", "+m7", "+klatt")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--n", type=int, default=80, help="sentences spoken")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    rng = np.random.default_rng(args.seed)
    (args.out / "other").mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(args.n):
        lang, text = SENTENCES[int(rng.integers(len(SENTENCES)))]
        voice = lang + VARIANTS[int(rng.integers(len(VARIANTS)))]
        rel = f"other/espeak_{i:03d}.wav"
        subprocess.run(["espeak-ng", "-v", voice, "-p", str(int(rng.integers(20, 80))),
                        "-s", str(int(rng.integers(120, 200))), "-w", str(args.out / rel), text],
                       check=True, capture_output=True)
        rows.append(f"{rel}\tespeak-ng\tvoice {voice}: {text}\tGPL-3+ (synthesised here)\n")
    with open(args.out / "SOURCES.tsv", "a", encoding="utf-8") as f:
        f.write("".join(rows))
    print(f"{len(rows)} sentences added to {args.out / 'other'}")


if __name__ == "__main__":
    main()
