"""Render labelled real-instrument sounds of the world's classes from a General MIDI soundfont.

    apt-get install fluidsynth fluid-soundfont-gm      # FluidR3_GM, MIT licence
    python -m scripts.make_gm_sounds --out runs/gm_sounds

The FluidR3 General MIDI soundfont is built from recordings of real instruments (hand claps,
cowbells, toms, tubular bells, bird tweets, whistles, wood blocks...). Each class's notes are
written into one MIDI file (one note every :data:`SLOT_S` seconds, random length, velocity and,
for pitched classes, key within the class's pitch range), rendered dry (no reverb, no chorus)
by ``fluidsynth`` at 16 kHz and cut back into one file per note: ``OUT/<class>/*.wav`` for the
world's classes and ``OUT/other/*.wav`` for instruments outside the world (piano, guitar,
brass, engines...), the layout ``train.finetune_audio --real-dir`` reads. ``OUT/SOURCES.tsv``
lists every file with its GM program or drum key. Nothing here comes from the packages of the
real-sound dev set (docs/real_sounds.md), which is for choosing models only.
"""

from __future__ import annotations

import argparse
import math
import struct
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import soundfile as sf

from bgtai.audio import SAMPLE_RATE
from bgtai.data.events import PITCH_RANGES

SOUNDFONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
LICENCE = "MIT (fluid-soundfont-gm, FluidR3_GM by Frank Wen)"
SLOT_S = 3.0
"""Seconds between note starts: room for the longest note (2 s) and its release."""
TICKS_PER_S = 960  # 480 ticks per beat at the default 120 beats per minute
DRUMS = -1
"""Program number standing for General MIDI's percussion channel (10)."""

# (folder, name, program or DRUMS, drum key or None, pitched as which class or None)
SOURCES: tuple[tuple[str, str, int, int | None, str | None], ...] = (
    ("clap", "hand_clap", DRUMS, 39, None),
    ("clap", "applause", 126, None, None),
    ("drum", "kick", DRUMS, 36, None),
    ("drum", "acoustic_bass_drum", DRUMS, 35, None),
    ("drum", "snare", DRUMS, 38, None),
    ("drum", "low_floor_tom", DRUMS, 41, None),
    ("drum", "low_tom", DRUMS, 45, None),
    ("drum", "mid_tom", DRUMS, 47, None),
    ("drum", "high_tom", DRUMS, 50, None),
    ("drum", "high_bongo", DRUMS, 60, None),
    ("drum", "low_bongo", DRUMS, 61, None),
    ("drum", "low_conga", DRUMS, 64, None),
    ("drum", "high_timbale", DRUMS, 65, None),
    ("drum", "taiko", 116, None, None),
    ("bell", "cowbell", DRUMS, 56, None),
    ("bell", "open_triangle", DRUMS, 81, None),
    ("bell", "tubular_bells", 14, None, "bell"),
    ("bell", "glockenspiel", 9, None, "bell"),
    ("bell", "agogo", 113, None, "bell"),
    ("click", "claves", DRUMS, 75, None),
    ("click", "high_wood_block", DRUMS, 76, None),
    ("click", "low_wood_block", DRUMS, 77, None),
    ("click", "side_stick", DRUMS, 37, None),
    ("whistle", "short_whistle", DRUMS, 71, None),
    ("whistle", "long_whistle", DRUMS, 72, None),
    ("whistle", "whistle", 78, None, "whistle"),
    ("chirp", "bird_tweet", 123, None, "chirp"),
    ("hiss", "breath_noise", 121, None, None),
    ("hum", "voice_oohs", 53, None, "hum"),
    ("other", "piano", 0, None, None),
    ("other", "nylon_guitar", 24, None, None),
    ("other", "steel_guitar", 25, None, None),
    ("other", "organ", 19, None, None),
    ("other", "strings", 48, None, None),
    ("other", "trumpet", 56, None, None),
    ("other", "tenor_sax", 66, None, None),
    ("other", "flute", 73, None, None),
    ("other", "bass", 33, None, None),
    ("other", "helicopter", 125, None, None),
    ("other", "gunshot", 127, None, None),
    ("other", "seashore", 122, None, None),
    ("other", "crash_cymbal", DRUMS, 49, None),
)
"""What is rendered: folder (world class or ``other``), file stem, GM program, drum key, and for
pitched sources the class whose pitch range the keys are drawn from."""


def _vlq(n: int) -> bytes:
    """A MIDI variable-length quantity."""
    out = [n & 0x7F]
    while n > 0x7F:
        n >>= 7
        out.append(0x80 | (n & 0x7F))
    return bytes(reversed(out))


def midi_file(program: int, notes: list[tuple[int, int, float]]) -> bytes:
    """A format-0 MIDI file playing ``(key, velocity, seconds)`` notes, one per :data:`SLOT_S`."""
    channel = 9 if program == DRUMS else 0
    track = b"" if program == DRUMS else _vlq(0) + bytes([0xC0 | channel, program])
    slot, wait = round(SLOT_S * TICKS_PER_S), 0
    for key, velocity, seconds in notes:
        on = round(seconds * TICKS_PER_S)
        track += _vlq(wait) + bytes([0x90 | channel, key, velocity])
        track += _vlq(on) + bytes([0x80 | channel, key, 0])
        wait = slot - on
    track += _vlq(wait) + b"\xff\x2f\x00"
    return (b"MThd" + struct.pack(">IHHH", 6, 0, 1, TICKS_PER_S // 2)
            + b"MTrk" + struct.pack(">I", len(track)) + track)


def _keys(rng: np.random.Generator, pitched_as: str | None, n: int) -> list[int]:
    if pitched_as is None:
        return [60] * n  # an unpitched program sounds alike on any key; 60 is within all ranges
    lo, hi = PITCH_RANGES[pitched_as]
    midi = lambda hz: 69 + 12 * math.log2(hz / 440.0)  # noqa: E731
    return [int(k) for k in rng.integers(math.ceil(midi(lo)), math.floor(midi(hi)) + 1, n)]


def render(program: int, drum_key: int | None, pitched_as: str | None, n: int,
           rng: np.random.Generator, soundfont: Path) -> list[np.ndarray]:
    """``n`` notes of one source, rendered and cut into 16 kHz mono waves (silent ones dropped)."""
    keys = [drum_key] * n if drum_key is not None else _keys(rng, pitched_as, n)
    notes = [(k, int(rng.integers(50, 128)), float(rng.uniform(0.2, 2.0))) for k in keys]
    with tempfile.TemporaryDirectory() as tmp:
        mid, wav = Path(tmp) / "notes.mid", Path(tmp) / "notes.wav"
        mid.write_bytes(midi_file(program, notes))
        subprocess.run(["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-g", "0.6",
                        "-r", str(SAMPLE_RATE), "-F", str(wav), str(soundfont), str(mid)],
                       check=True, capture_output=True)
        audio, _ = sf.read(wav, dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    slot = round(SLOT_S * SAMPLE_RATE)
    waves = []
    for i in range(n):
        wave = audio[i * slot:(i + 1) * slot]
        loud = np.flatnonzero(np.abs(wave) > 1e-3)
        if loud.size:  # trim the silent tail after the release
            waves.append(wave[: loud[-1] + 1])
    return waves


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--per-source", type=int, default=24, help="notes rendered per source")
    p.add_argument("--soundfont", type=Path, default=SOUNDFONT)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if not args.soundfont.is_file():
        p.error(f"no soundfont at {args.soundfont}: apt-get install fluidsynth fluid-soundfont-gm")
    rng = np.random.default_rng(args.seed)
    rows = ["file\tpackage\tsource\tlicence"]
    for folder, name, program, key, pitched_as in SOURCES:
        (args.out / folder).mkdir(parents=True, exist_ok=True)
        for i, wave in enumerate(render(program, key, pitched_as, args.per_source, rng,
                                        args.soundfont)):
            rel = f"{folder}/gm_{name}_{i:02d}.wav"
            sf.write(args.out / rel, wave, SAMPLE_RATE, subtype="FLOAT")
            source = f"drum key {key}" if program == DRUMS else f"GM program {program}"
            rows.append(f"{rel}\tfluid-soundfont-gm\t{source}\t{LICENCE}")
    (args.out / "SOURCES.tsv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    print(f"{len(rows) - 1} files in {args.out}")


if __name__ == "__main__":
    main()
