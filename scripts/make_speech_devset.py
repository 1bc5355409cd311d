"""Build the real-speech dev set: recorded human English with its transcripts.

Main source: the Debian package ``warzone2100-data`` (GPL-2+, Copyright 1999-2004 Eidos
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

Second source, for sentence-length read English: the Debian package ``pocketsphinx-testdata``
(BSD-2, Copyright 1995-2014 Carnegie Mellon University), CMU Sphinx's test recordings: five
sentences of *Sense and Sensibility* read for LibriVox (public domain) and five playing-card
calls (``cards/``), with the transcripts of their ``transcription`` files (lower case, no
punctuation), given a capital and a full stop. Their names start with ``sphinx-``.

The audio is written as it is in the packages (mono; Ogg Vorbis decoded to WAV at its own
rate), with ``transcripts.tsv`` (``NAME<TAB>transcript``) and ``SOURCE.txt``. Never train on
it::

    python scripts/make_speech_devset.py --out runs/speech_dev [--deb-dir DIR_WITH_THE_DEBS]
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
SPHINX_PACKAGE = "pocketsphinx-testdata"
SPHINX_DATA = "usr/share/pocketsphinx/test/data"
SPHINX_FOLDERS = ("librivox", "cards")


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


def sphinx_lines(transcription: str) -> dict[str, str]:
    """``utterance id -> transcript`` from a CMU Sphinx ``transcription`` file
    (``<s> words </s> (id)`` per line), in sentence case with a full stop."""
    lines = {}
    for match in re.finditer(r"<s>(.*?)</s>\s*\((\S+)\)", transcription):
        words = " ".join(match.group(1).split())
        if len(words.split()) >= MIN_WORDS:
            lines[match.group(2)] = words[0].upper() + words[1:] + "."
    return lines


def fetch_deb(package: str, workdir: Path) -> Path:
    """The package's ``.deb`` in ``workdir``, fetched with ``apt-get download`` (Debian's
    ordinary client) when it is not there."""
    found = sorted(workdir.glob(f"{package}_*.deb"))
    if not found:
        subprocess.run(["apt-get", "download", package], cwd=workdir, check=True)
        found = sorted(workdir.glob(f"{package}_*.deb"))
    return found[-1]


def warzone_rows(root: Path, out: Path) -> list[str]:
    """Write the voice lines of an unpacked ``warzone2100-data``; ``NAME<TAB>transcript`` rows."""
    rows = []
    with zipfile.ZipFile(root / ARCHIVE) as wz:
        lines = voice_lines(wz.read("audio/audio.cfg").decode("latin-1"))
        members = {Path(m).name: m for m in sorted(wz.namelist(), reverse=True)
                   if m.startswith("audio/") and m.endswith(".ogg")}
        for name, transcript in lines.items():
            if name not in members:
                continue  # named in audio.cfg but not shipped
            with wz.open(members[name]) as handle:
                wave, sr = sf.read(handle, dtype="float32")
            stem = Path(name).stem
            sf.write(out / f"{stem}.wav", wave, sr, subtype="PCM_16")
            rows.append(f"{stem}\t{transcript}")
    return rows


def sphinx_rows(root: Path, out: Path) -> list[str]:
    """Write the transcribed recordings of an unpacked ``pocketsphinx-testdata``."""
    rows = []
    for folder in SPHINX_FOLDERS:
        where = root / SPHINX_DATA / folder
        table = next(where.glob("*transcription"))
        for utt, transcript in sphinx_lines(table.read_text(encoding="utf-8")).items():
            wave, sr = sf.read(where / f"{utt}.wav", dtype="float32")
            stem = f"sphinx-{folder}-{utt.rsplit('-', 1)[-1]}"
            sf.write(out / f"{stem}.wav", wave, sr, subtype="PCM_16")
            rows.append(f"{stem}\t{transcript}")
    return rows


SOURCES = {PACKAGE: warzone_rows, SPHINX_PACKAGE: sphinx_rows}


def build(out: Path, debs: dict[str, Path]) -> int:
    """Write the dev set from the packages' ``.deb`` files into ``out``; returns its size."""
    out.mkdir(parents=True, exist_ok=True)
    rows, versions = [], []
    for package, deb in debs.items():
        with tempfile.TemporaryDirectory() as tmp:
            subprocess.run(["dpkg-deb", "-x", str(deb), tmp], check=True)
            rows += SOURCES[package](Path(tmp), out)
        versions.append(f"{package} {deb.name.split('_')[1]}")
    (out / "transcripts.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    (out / "SOURCE.txt").write_text(
        f"Recorded English speech from the Debian packages {', '.join(versions)}.\n"
        f"{PACKAGE}: the game's voice lines (base.wz, audio/), GPL-2+, Copyright 1999-2004 Eidos\n"
        "Interactive; transcripts from the comments of audio/audio.cfg.\n"
        f"{SPHINX_PACKAGE}: CMU Sphinx test recordings (librivox/, cards/), BSD-2, Copyright\n"
        "1995-2014 Carnegie Mellon University (the LibriVox readings are public domain);\n"
        "transcripts from their transcription files.\n"
        "Built and normalised by scripts/make_speech_devset.py. Evaluation only: never train "
        "on these files.\n", encoding="utf-8")
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/speech_dev"))
    parser.add_argument("--deb-dir", type=Path,
                        help="a folder holding the packages' .deb files (missing ones are "
                             "fetched into it; default: a temporary folder)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        where = args.deb_dir or Path(tmp)
        n = build(args.out, {package: fetch_deb(package, where) for package in SOURCES})
    print(f"{n} utterances written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
