"""Build the real-speech dev set: recorded human English voice lines with their transcripts.

Source: the Debian package ``warzone2100-data`` (GPL-2+, Copyright 1999-2004 Eidos
Interactive; the game's data was released under the GPL by its publisher). Its ``base.wz``
archive holds the game's voice lines (``audio/**.ogg``), recorded by voice actors, and
``audio/audio.cfg`` names each file with a comment that is what the line says, e.g.
``audio "pcv337.ogg" oneshot 100 1800 /*Structure Under Attack*/``. The transcript is that
comment, lightly normalised (below). Only the speech files are taken (announcer ``pcv*``,
commander ``com*``, transport pilot ``t-*``, three VTOL pilots ``v-*``, the enemy ``col*``),
and only lines of at least two words: single words make BLEU-4 meaningless.

Normalisation of the transcripts: the comments are in Title Case, which the gloss rules would
read as names, so words in Title Case after the first become lower case (acronyms such as
``LZ``, ``NEXUS`` and ``VTOLs`` are kept); a line without final punctuation gets a full stop,
as a recogniser writes one; ``&`` becomes ``and``; a trailing colon is dropped.

The audio is written as it is in the package (mono Ogg Vorbis decoded to WAV at its own rate),
with ``transcripts.tsv`` (``NAME<TAB>transcript``) and ``SOURCE.txt``. Never train on it::

    python scripts/make_speech_devset.py --out runs/speech_dev [--deb warzone2100-data_*.deb]
    python -m train.evaluate gloss --speech-dir runs/speech_dev --json runs/speech_dev.json
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import soundfile as sf

PACKAGE = "warzone2100-data"
ARCHIVE = "usr/share/games/warzone2100/base.wz"
SPEECH_FILE = re.compile(r"^(pcv\d+|com\d+|power-transferred|lz-clear|t-[a-z0-9]+|v-[a-z]+\d|"
                         r"col\d+a)\.ogg$")
CFG_LINE = re.compile(r'audio\s+"([^"]+)"\s+\w+\s+\d+\s+\d+\s*/\*(.*?)\*/')
MIN_WORDS = 2


def normalise(comment: str) -> str:
    """Title-Case comment -> sentence-case transcript with final punctuation."""
    text = " ".join(comment.replace("&", "and").split()).rstrip(":").strip()
    words = text.split(" ")
    for i, word in enumerate(words[1:], start=1):
        if words[i - 1][-1] in ".!?":
            continue  # a new sentence keeps its capital
        letters = word.strip("!?.,")
        if letters[:1].isupper() and letters[1:].islower():  # Title Case, not an acronym
            words[i] = word.lower()
        elif "-" in word and all(p[:1].isupper() and p[1:].islower() for p in word.split("-")):
            words[i] = word.lower()  # Fire-At-Will
    text = " ".join(words)
    return text if text[-1] in ".!?" else text + "."


def voice_lines(cfg: str) -> dict[str, str]:
    """``file name -> transcript`` for the speech files of ``audio.cfg`` (first entry wins)."""
    lines: dict[str, str] = {}
    for name, comment in CFG_LINE.findall(cfg):
        if SPEECH_FILE.match(name) and len(comment.split()) >= MIN_WORDS and name not in lines:
            lines[name] = normalise(comment)
    return lines


def fetch_deb(workdir: Path) -> Path:
    """``apt-get download`` the package into ``workdir`` (Debian's ordinary client)."""
    subprocess.run(["apt-get", "download", PACKAGE], cwd=workdir, check=True)
    return next(workdir.glob(f"{PACKAGE}_*.deb"))


def build(out: Path, deb: Path) -> int:
    """Write the dev set from ``deb`` into ``out``; returns the number of utterances."""
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(["dpkg-deb", "-x", str(deb), tmp], check=True)
        with zipfile.ZipFile(Path(tmp) / ARCHIVE) as wz:
            lines = voice_lines(wz.read("audio/audio.cfg").decode("latin-1"))
            members = {Path(m).name: m for m in sorted(wz.namelist(), reverse=True)
                       if m.startswith("audio/") and m.endswith(".ogg")}
            rows = []
            for name, transcript in lines.items():
                if name not in members:
                    continue  # named in audio.cfg but not shipped
                stem = Path(name).stem
                with wz.open(members[name]) as handle:
                    wave, sr = sf.read(handle, dtype="float32")
                sf.write(out / f"{stem}.wav", wave, sr, subtype="PCM_16")
                rows.append(f"{stem}\t{transcript}")
    (out / "transcripts.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    version = deb.name.split("_")[1] if deb.name.count("_") >= 2 else "unknown"
    (out / "SOURCE.txt").write_text(
        f"Recorded English voice lines from the Debian package {PACKAGE} {version}\n"
        "(base.wz, audio/), licence GPL-2+, Copyright 1999-2004 Eidos Interactive.\n"
        "Transcripts: the comments of audio/audio.cfg, normalised by\n"
        "scripts/make_speech_devset.py. Evaluation only: never train on these files.\n",
        encoding="utf-8")
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/speech_dev"))
    parser.add_argument("--deb", type=Path, help=f"a downloaded {PACKAGE} .deb (default: fetch)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        deb = args.deb or fetch_deb(Path(tmp))
        n = build(args.out, deb)
    print(f"{n} utterances written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
