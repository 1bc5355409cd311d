"""Real-data adapters on small fixture folders built in the official layouts."""

import csv
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from PIL import Image

from bgtai.audio import SAMPLE_RATE
from bgtai.data.adapters import (
    LayoutError,
    RecordDataset,
    caption_queries,
    load_aslg_hub,
    read_aslg_tsv,
    read_audiocaps,
    read_clotho,
    read_esc50,
    read_how2,
    read_urbansound8k,
    read_vggsound,
)

SHARED_TSV = Path(__file__).resolve().parents[2] / "shared" / "data" / "aslg_pc12_dev.tsv"


def write_wav(path: Path, sr: int = SAMPLE_RATE, channels: int = 1, seconds: float = 0.1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(sr * seconds)) / sr
    wave = 0.3 * np.sin(2 * np.pi * 440 * t)
    sf.write(path, np.stack([wave] * channels, axis=1) if channels > 1 else wave, sr)
    return path


def write_csv(path: Path, header, rows) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        if header:
            w.writerow(header)
        w.writerows(rows)
    return path


# ---------------------------------------------------------------- ESC-50

ESC_HEADER = ["filename", "fold", "target", "category", "esc10", "src_file", "take"]
ESC_ROWS = [
    ["1-100032-A-0.wav", 1, 0, "dog", "True", "100032", "A"],
    ["1-100038-A-14.wav", 1, 14, "chirping_birds", "False", "100038", "A"],
    ["2-100648-A-43.wav", 2, 43, "car_horn", "False", "100648", "A"],
    ["5-9032-A-0.wav", 5, 0, "dog", "True", "9032", "A"],
]


@pytest.fixture
def esc50(tmp_path):
    write_csv(tmp_path / "meta" / "esc50.csv", ESC_HEADER, ESC_ROWS)
    for row in ESC_ROWS:
        write_wav(tmp_path / "audio" / row[0], sr=44_100)
    return tmp_path


def test_esc50_parses_and_filters(esc50):
    recs = read_esc50(esc50)
    assert [r.path.name for r in recs] == [r[0] for r in ESC_ROWS]
    first = recs[0]
    assert (first.label, first.target, first.fold, first.esc10) == ("dog", 0, 1, True)
    assert [r.target for r in read_esc50(esc50, folds=[1])] == [0, 14]
    assert read_esc50(esc50, folds=1) == read_esc50(esc50, folds=[1])
    assert [r.fold for r in read_esc50(esc50, folds={2, 5})] == [2, 5]
    esc10 = read_esc50(esc50, esc10_only=True)
    assert [r.path.name for r in esc10] == ["1-100032-A-0.wav", "5-9032-A-0.wav"]


def test_esc50_loads_audio_lazily_at_16k(esc50):
    rec = read_esc50(esc50, folds=[2])[0]
    wave = rec.load()
    assert wave.dtype == np.float32 and wave.ndim == 1
    assert len(wave) == pytest.approx(0.1 * SAMPLE_RATE, abs=2)  # resampled from 44.1 kHz
    audio, same = RecordDataset([rec])[0]
    assert isinstance(audio, torch.Tensor) and same is rec
    assert RecordDataset([rec], transform=lambda r: r.label)[0] == "car_horn"


def test_esc50_layout_errors(esc50):
    (esc50 / "audio" / "2-100648-A-43.wav").unlink()
    with pytest.raises(LayoutError, match="2-100648-A-43.wav"):
        read_esc50(esc50)
    with pytest.warns(UserWarning, match="skipped 1"):
        assert len(read_esc50(esc50, on_missing="skip")) == 3
    assert len(read_esc50(esc50, folds=[1])) == 2  # the missing clip is not in fold 1
    write_csv(esc50 / "meta" / "esc50.csv", [c for c in ESC_HEADER if c != "category"],
              [r[:3] + r[4:] for r in ESC_ROWS])
    with pytest.raises(LayoutError, match="category"):
        read_esc50(esc50)
    (esc50 / "meta" / "esc50.csv").unlink()
    with pytest.raises(LayoutError, match="esc50.csv"):
        read_esc50(esc50)


def test_esc50_rejects_bad_arguments(esc50):
    with pytest.raises(ValueError, match="1..5"):
        read_esc50(esc50, folds=[6])
    with pytest.raises(ValueError, match="on_missing"):
        read_esc50(esc50, on_missing="ignore")


# ---------------------------------------------------------------- UrbanSound8K

US_HEADER = ["slice_file_name", "fsID", "start", "end", "salience", "fold", "classID", "class"]
US_ROWS = [
    ["100032-3-0-0.wav", 100032, 0.0, 0.317551, 1, 5, 3, "dog_bark"],
    ["100263-2-0-117.wav", 100263, 58.5, 62.5, 1, 5, 2, "children_playing"],
    ["101415-3-0-2.wav", 101415, 1.0, 5.0, 2, 1, 3, "dog_bark"],
]


@pytest.fixture
def urbansound(tmp_path):
    write_csv(tmp_path / "metadata" / "UrbanSound8K.csv", US_HEADER, US_ROWS)
    for row in US_ROWS:
        write_wav(tmp_path / "audio" / f"fold{row[5]}" / row[0], sr=22_050, channels=2)
    return tmp_path


def test_urbansound8k_parses_and_filters(urbansound):
    recs = read_urbansound8k(urbansound)
    assert len(recs) == 3
    r = recs[1]
    assert (r.label, r.class_id, r.fold, r.fs_id, r.start, r.end, r.salience) == (
        "children_playing", 2, 5, "100263", 58.5, 62.5, 1)
    assert r.path == urbansound / "audio" / "fold5" / "100263-2-0-117.wav"
    assert [x.path.name for x in read_urbansound8k(urbansound, folds=[1])] == ["101415-3-0-2.wav"]
    assert read_urbansound8k(urbansound, folds=[1])[0].load().ndim == 1  # stereo -> mono


def test_urbansound8k_layout_errors(urbansound):
    with pytest.raises(ValueError, match="1..10"):
        read_urbansound8k(urbansound, folds=[0])
    audio = urbansound / "audio"
    (audio / "fold1" / "101415-3-0-2.wav").rename(audio / "fold5" / "101415-3-0-2.wav")
    with pytest.raises(LayoutError, match=r"fold1.101415-3-0-2.wav"):
        read_urbansound8k(urbansound)
    write_csv(urbansound / "metadata" / "UrbanSound8K.csv",
              [c for c in US_HEADER if c != "classID"], [r[:6] + r[7:] for r in US_ROWS])
    with pytest.raises(LayoutError, match="classID"):
        read_urbansound8k(urbansound)


# ---------------------------------------------------------------- VGGSound

VGG_ROWS = [
    ["---g-f_I2yQ", 1, "people marching", "test"],
    ["--0PQM4-hqg", 30, "male speech, man speaking", "train"],  # a label with a comma
    ["-0jeONf82dE", 21, "dog barking", "train"],
]


@pytest.fixture
def vggsound(tmp_path):
    write_csv(tmp_path / "vggsound.csv", None, VGG_ROWS)
    write_wav(tmp_path / "audio" / "---g-f_I2yQ_000001.wav")
    write_wav(tmp_path / "audio" / "--0PQM4-hqg_000030.flac")
    # the third clip's audio was never downloadable
    frames = tmp_path / "frames" / "--0PQM4-hqg_000030"
    frames.mkdir(parents=True)
    for i, value in enumerate((0, 128, 255)):
        Image.new("RGB", (16, 12), (value, 0, 0)).save(frames / f"{i + 1:06d}.jpg")
    return tmp_path


def test_vggsound_parses_splits_and_skips_missing(vggsound):
    with pytest.warns(UserWarning, match="skipped 1"):
        recs = read_vggsound(vggsound)
    parsed = [(r.youtube_id, r.start, r.label, r.split) for r in recs]
    assert parsed == [tuple(row) for row in VGG_ROWS[:2]]
    assert recs[1].path.suffix == ".flac"
    assert recs[0].frames_dir is None and recs[0].frame_paths() == []
    assert [r.youtube_id for r in read_vggsound(vggsound, split="test")] == ["---g-f_I2yQ"]


def test_vggsound_frames(vggsound):
    with pytest.warns(UserWarning):
        recs = read_vggsound(vggsound, split="train", require_frames=True)
    assert [r.youtube_id for r in recs] == ["--0PQM4-hqg"]
    frames = recs[0].load_frames()
    assert frames.shape == (3, 12, 16, 3) and frames.dtype == np.uint8
    assert list(frames[:, 6, 8, 0] // 64) == [0, 2, 3]  # time order follows the file names
    assert recs[0].load_frames(size=8).shape == (3, 8, 8, 3)


def test_vggsound_layout_errors(vggsound):
    with pytest.raises(LayoutError, match="-0jeONf82dE_000021"):
        read_vggsound(vggsound, on_missing="error")
    with pytest.raises(ValueError, match="split"):
        read_vggsound(vggsound, split="val")
    header = ["youtube_id", "start_seconds", "label", "split"]
    write_csv(vggsound / "vggsound.csv", header, VGG_ROWS[:1])
    assert len(read_vggsound(vggsound)) == 1  # a header line a user added is tolerated
    write_csv(vggsound / "vggsound.csv", None, [["abc", 1, "dog"]])
    with pytest.raises(LayoutError, match="line 1.*youtube_id,start_seconds,label,split"):
        read_vggsound(vggsound)
    write_csv(vggsound / "vggsound.csv", None, VGG_ROWS[:1] + [["x", 1, "dog", "dev"]])
    with pytest.raises(LayoutError, match="line 2"):
        read_vggsound(vggsound)
    with pytest.raises(LayoutError, match="frames"):
        read_vggsound(vggsound, frames_dir="video_frames", require_frames=True)
    with pytest.raises(LayoutError, match="no_such.csv"):
        read_vggsound(vggsound, csv_name="no_such.csv")


# ---------------------------------------------------------------- AudioCaps

AC_HEADER = ["audiocap_id", "youtube_id", "start_time", "caption"]
AC_ROWS = [
    [103549, "--0w1YA1Hm4", 30, "A vehicle driving as a man and woman are talking"],
    [103548, "--0w1YA1Hm4", 30, "Men speak as a vehicle passes"],
    [97151, "-1nilez17Dg", 30, "A bell rings"],
    [97152, "-1nilez17Dg", 30, "Church bells ring loudly"],
    [5000, "gone-video1", 0, "Rain falls"],
]


@pytest.fixture
def audiocaps(tmp_path):
    write_csv(tmp_path / "test.csv", AC_HEADER, AC_ROWS)
    write_wav(tmp_path / "audio" / "test" / "--0w1YA1Hm4_30.wav")
    write_wav(tmp_path / "audio" / "test" / "-1nilez17Dg_30.wav")
    return tmp_path


def test_audiocaps_groups_captions_per_clip(audiocaps):
    with pytest.warns(UserWarning, match="skipped 1"):
        recs = read_audiocaps(audiocaps, "test")
    assert [r.youtube_id for r in recs] == ["--0w1YA1Hm4", "-1nilez17Dg"]
    assert recs[1].captions == ("A bell rings", "Church bells ring loudly")
    assert recs[1].audiocap_ids == ("97151", "97152")
    captions, targets = caption_queries(recs)
    assert captions[2] == "A bell rings"
    assert list(targets) == [0, 0, 1, 1]


def test_audiocaps_audio_name_template(audiocaps):
    write_wav(audiocaps / "wavs" / "103549.flac")
    with pytest.warns(UserWarning, match="skipped 2"):
        recs = read_audiocaps(audiocaps, "test", audio_dir="wavs", audio_name="{audiocap_id}")
    assert [r.path.name for r in recs] == ["103549.flac"]
    with pytest.raises(ValueError, match="audio_name"):
        read_audiocaps(audiocaps, "test", audio_name="{video}")


def test_audiocaps_layout_errors(audiocaps):
    with pytest.raises(LayoutError, match="gone-video1_0"):
        read_audiocaps(audiocaps, "test", on_missing="error")
    with pytest.raises(LayoutError, match="val.csv"):
        read_audiocaps(audiocaps, "val")
    with pytest.raises(ValueError, match="split"):
        read_audiocaps(audiocaps, "validation")
    write_csv(audiocaps / "test.csv", ["audiocap_id", "youtube_id", "start_time", "text"], AC_ROWS)
    with pytest.raises(LayoutError, match="caption"):
        read_audiocaps(audiocaps, "test")


# ---------------------------------------------------------------- Clotho

CLOTHO_HEADER = ["file_name"] + [f"caption_{i}" for i in range(1, 6)]
CLOTHO_ROWS = [
    ["Distorted AM Radio noise.wav"] + [f"radio noise {i}" for i in range(5)],
    ["birds, morning 01.wav"] + [f"birds sing {i}" for i in range(5)],
]


@pytest.fixture
def clotho(tmp_path):
    write_csv(tmp_path / "clotho_captions_evaluation.csv", CLOTHO_HEADER, CLOTHO_ROWS)
    for row in CLOTHO_ROWS:
        write_wav(tmp_path / "clotho_audio_evaluation" / row[0], sr=44_100)
    return tmp_path


def test_clotho_parses(clotho):
    recs = read_clotho(clotho, "evaluation")
    assert [r.path.name for r in recs] == ["Distorted AM Radio noise.wav", "birds, morning 01.wav"]
    assert recs[1].captions == tuple(f"birds sing {i}" for i in range(5))
    captions, targets = caption_queries(recs)
    assert len(captions) == 10 and list(targets) == [0] * 5 + [1] * 5


def test_clotho_accepts_the_7z_folder_name(clotho):
    (clotho / "clotho_audio_evaluation").rename(clotho / "evaluation")
    assert len(read_clotho(clotho, "evaluation")) == 2


def test_clotho_layout_errors(clotho):
    with pytest.raises(LayoutError, match="clotho_captions_development.csv"):
        read_clotho(clotho, "development")
    with pytest.raises(ValueError, match="split"):
        read_clotho(clotho, "test")
    (clotho / "clotho_audio_evaluation" / "birds, morning 01.wav").unlink()
    with pytest.raises(LayoutError, match="birds, morning 01.wav"):
        read_clotho(clotho, "evaluation")
    write_csv(clotho / "clotho_captions_evaluation.csv", CLOTHO_HEADER[:3] + CLOTHO_HEADER[4:],
              [r[:3] + r[4:] for r in CLOTHO_ROWS])
    with pytest.raises(LayoutError, match="caption_3"):
        read_clotho(clotho, "evaluation")
    write_csv(clotho / "clotho_captions_evaluation.csv", CLOTHO_HEADER, CLOTHO_ROWS)
    (clotho / "clotho_audio_evaluation").rename(clotho / "audio")
    with pytest.raises(LayoutError, match="clotho_audio_evaluation"):
        read_clotho(clotho, "evaluation")


# ---------------------------------------------------------------- How2

def write_lines(path: Path, lines) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


@pytest.fixture
def how2(tmp_path):
    folder = tmp_path / "text" / "sum_devtest"
    write_lines(folder / "tran.tok.txt", ["vidA so today we will fold a paper plane", "",
                                          "vidB first you heat the pan"])
    write_lines(folder / "desc.tok.txt",
                ["vidB learn to heat a pan .", "vidA learn paper planes ."])
    return tmp_path


def test_how2_pairs_by_video_id(how2):
    for root in (how2, how2 / "text"):
        recs = read_how2(root, "devtest")
        assert [(r.video_id, r.summary) for r in recs] == [("vidA", "learn paper planes ."),
                                                           ("vidB", "learn to heat a pan .")]
        assert recs[1].transcript == "first you heat the pan"
    assert RecordDataset(recs)[0] is recs[0]  # text records pass through


def test_how2_layout_errors(how2):
    with pytest.raises(LayoutError, match="sum_train.tran.tok.txt"):
        read_how2(how2, "train")
    with pytest.raises(ValueError, match="split"):
        read_how2(how2, "test")
    write_lines(how2 / "text" / "sum_devtest" / "desc.tok.txt", ["vidA learn paper planes ."])
    with pytest.raises(LayoutError, match="vidB is missing from .*desc.tok.txt"):
        read_how2(how2, "devtest")
    write_lines(how2 / "text" / "sum_devtest" / "desc.tok.txt", ["vidA"])
    with pytest.raises(LayoutError, match="line 1"):
        read_how2(how2, "devtest")


# ---------------------------------------------------------------- ASLG-PC12

def test_aslg_tsv(tmp_path):
    path = tmp_path / "pairs.tsv"
    write_lines(path, ["the results speak for themselves .\tRESULT SPEAK FOR X-MSELVES .", "",
                       "i want hot coffee\tX-I WANT DESC-HOT COFFEE"])
    pairs = read_aslg_tsv(path)
    assert [(p.text, p.gloss) for p in pairs] == [
        ("the results speak for themselves .", "RESULT SPEAK FOR X-MSELVES ."),
        ("i want hot coffee", "X-I WANT DESC-HOT COFFEE")]
    write_lines(path, ["ok\tOK", "no tab here"])
    with pytest.raises(LayoutError, match="line 2"):
        read_aslg_tsv(path)
    with pytest.raises(LayoutError, match="missing.tsv"):
        read_aslg_tsv(tmp_path / "missing.tsv")


def test_training_pairs_leave_out_inputs_without_words(tmp_path):
    from bgtai.data.adapters.catalog import gloss_pairs

    path = tmp_path / "pairs.tsv"  # ASLG-PC12's training file has such a "." line
    write_lines(path, ["i want hot coffee\tX-I WANT DESC-HOT COFFEE", ".\t.", "9 .\t9 ."])
    assert gloss_pairs(read_aslg_tsv(path)) == [("i want hot coffee", "X-I WANT DESC-HOT COFFEE"),
                                                ("9 .", "9 .")]


@pytest.mark.skipif(not SHARED_TSV.is_file(), reason="the shared reference file is not present")
def test_aslg_reads_the_shared_reference_file():
    pairs = read_aslg_tsv(SHARED_TSV)
    assert len(pairs) == 2000
    assert pairs[0].gloss == "DATE BE DESC-NOT FETISH ."


def test_aslg_hub_without_datasets_says_how_to_fix(monkeypatch):
    monkeypatch.setitem(sys.modules, "datasets", None)  # makes "import datasets" fail
    with pytest.raises(ImportError, match="pip install datasets"):
        load_aslg_hub()


class FakeTable:
    column_names = ["gloss", "text"]

    def __getitem__(self, column):
        return {"gloss": ["X-I GO .\n"], "text": ["i go .\n"]}[column]


def test_aslg_hub_offline_and_online(monkeypatch):
    def offline(*args, **kwargs):
        raise OSError("Couldn't reach the Hugging Face Hub")

    fake = types.SimpleNamespace(load_dataset=offline)
    monkeypatch.setitem(sys.modules, "datasets", fake)
    with pytest.raises(ConnectionError, match="offline"):
        load_aslg_hub()
    calls = []
    fake.load_dataset = lambda hub_id, **kw: calls.append((hub_id, kw)) or FakeTable()
    pairs = load_aslg_hub()
    assert calls[0][0] == "achrafothman/aslg_pc12" and calls[0][1]["split"] == "train"
    assert [(p.text, p.gloss) for p in pairs] == [("i go .", "X-I GO .")]
