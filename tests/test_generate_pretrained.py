"""The pretrained (Stable unCLIP) backend behind the one front, end to end with tiny random
components built here.

The component sizes follow diffusers' own fast tests for ``StableUnCLIPImg2ImgPipeline``; the
CLIP tokenizer is built from an in-memory character vocabulary, so nothing is downloaded.
"""


import numpy as np
import pytest
import torch
from diffusers import (
    AutoencoderKL,
    DDIMScheduler,
    DDPMScheduler,
    StableUnCLIPImg2ImgPipeline,
    UNet2DConditionModel,
)
from diffusers.pipelines.stable_diffusion.stable_unclip_image_normalizer import (
    StableUnCLIPImageNormalizer,
)
from transformers import (
    CLIPImageProcessor,
    CLIPTextConfig,
    CLIPTextModel,
    CLIPTokenizer,
    CLIPVisionConfig,
    CLIPVisionModelWithProjection,
)

from bgtai.generate.pipeline import SoundToImage
from bgtai.generate.pretrained import UnclipBackend

DIM = 32
SR = 16_000


def _tokenizer() -> CLIPTokenizer:
    """A byte-level CLIP tokenizer with no merges: every character is its own token."""
    chars = [chr(c) for c in range(33, 127)]
    vocab = {t: i for i, t in enumerate(chars + [c + "</w>" for c in chars]
                                        + ["<|startoftext|>", "<|endoftext|>"])}
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


@pytest.fixture(scope="module")
def pipe():
    tokenizer = _tokenizer()
    torch.manual_seed(0)
    image_encoder = CLIPVisionModelWithProjection(CLIPVisionConfig(
        hidden_size=DIM, projection_dim=DIM, num_hidden_layers=2, num_attention_heads=4,
        image_size=32, intermediate_size=37, patch_size=4)).eval()
    text_encoder = CLIPTextModel(CLIPTextConfig(
        bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id or 0, hidden_size=DIM, projection_dim=DIM,
        intermediate_size=37, num_attention_heads=4, num_hidden_layers=2,
        vocab_size=len(tokenizer))).eval()
    unet = UNet2DConditionModel(
        sample_size=16, in_channels=4, out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"), block_out_channels=(32, 64),
        attention_head_dim=(2, 4), class_embed_type="projection",
        projection_class_embeddings_input_dim=2 * DIM,  # embedding + its noise-level embedding
        cross_attention_dim=DIM, layers_per_block=1, use_linear_projection=True).eval()
    return StableUnCLIPImg2ImgPipeline(
        feature_extractor=CLIPImageProcessor(crop_size=32, size=32),
        image_encoder=image_encoder,
        image_normalizer=StableUnCLIPImageNormalizer(embedding_dim=DIM).eval(),
        image_noising_scheduler=DDPMScheduler(beta_schedule="squaredcos_cap_v2"),
        tokenizer=tokenizer, text_encoder=text_encoder, unet=unet,
        scheduler=DDIMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
                                prediction_type="v_prediction", set_alpha_to_one=False,
                                steps_offset=1),
        vae=AutoencoderKL().eval())


class RecordingProjector:
    """A random linear audio projector that remembers what it returned."""

    def __init__(self, scale=5.0):
        self.weight = torch.randn(64, DIM, generator=torch.Generator().manual_seed(1)) * scale
        self.last = None

    def __call__(self, wave):
        spectrum = torch.from_numpy(np.abs(np.fft.rfft(wave, 126))).float()
        self.last = spectrum @ self.weight
        return self.last


def _tone(freq=440.0, seconds=0.5, level=0.3):
    t = np.arange(int(seconds * SR)) / SR
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _images(n=3):
    rng = np.random.default_rng(0)
    return [rng.integers(0, 256, (40, 40, 3), dtype=np.uint8) for _ in range(n)]


def test_calibrate_matches_encoder_norm(pipe):
    backend = UnclipBackend(pipe, RecordingProjector())
    norm = backend.calibrate(_images())
    pixels = pipe.feature_extractor(images=_images(), return_tensors="pt").pixel_values
    with torch.no_grad():
        expected = pipe.image_encoder(pixels).image_embeds.norm(dim=-1).mean().item()
    assert norm == pytest.approx(expected, rel=1e-5)


def test_audio_embedding_rescaled_to_image_norm(pipe):
    projector = RecordingProjector(scale=50.0)
    backend = UnclipBackend(pipe, projector, image_embed_norm=3.0)
    emb = backend.embed_audio([_tone()])[0]
    assert emb.norm().item() == pytest.approx(3.0, rel=1e-5)
    # direction kept
    cos = torch.nn.functional.cosine_similarity(emb, projector.last, dim=0)
    assert cos.item() == pytest.approx(1.0, abs=1e-5)


def _front(pipe, **kwargs) -> SoundToImage:
    backend = UnclipBackend(pipe, RecordingProjector())
    backend.calibrate(_images())
    return SoundToImage(backend, **kwargs)


def test_end_to_end_deterministic_and_audio_dependent(pipe):
    gen = _front(pipe)
    a = gen(_tone(), SR, steps=2, seed=0)
    b = gen(_tone(), SR, steps=2, seed=0)
    c = gen(_tone(2000.0), SR, steps=2, seed=0)
    assert a.image.shape == (16, 16, 3) and a.image.dtype == np.uint8
    np.testing.assert_array_equal(a.image, b.image)
    assert not np.array_equal(a.image, c.image)
    assert len(a.wave) == len(_tone())
    np.testing.assert_array_equal(a.original, _tone())


def test_candidates_rerank_with_the_pipelines_image_encoder(pipe, monkeypatch):
    """Re-ranking is the front's, so it works for unCLIP as for the embedded decoder."""
    gen = _front(pipe, candidates=2)
    emb = gen.backend.embed_audio([_tone()])
    drawn = []

    def spy(images):  # the second candidate is made the one closest to the asked embedding
        drawn.append(images.copy())
        return torch.stack([-emb[0], emb[0]])

    monkeypatch.setattr(gen.backend, "embed_images", spy)
    best = gen.generate(emb, steps=1, seed=0)
    (candidates,) = drawn
    assert candidates.shape == (2, 16, 16, 3) and not np.array_equal(candidates[0], candidates[1])
    np.testing.assert_array_equal(best[0], candidates[1])


def test_errors(pipe):
    backend = UnclipBackend(pipe, RecordingProjector())
    gen = SoundToImage(backend)
    with pytest.raises(ValueError, match="calibrate"):
        gen(_tone(), SR, steps=2)
    backend.image_embed_norm = 1.0
    with pytest.raises(ValueError, match="silent"):
        gen(np.zeros(8000, np.float32), SR, steps=2)
    with pytest.raises(ValueError, match="steps"):
        gen(_tone(), SR, steps=0)
    with pytest.raises(ValueError, match="embedded profile only"):
        gen.text_to_image("three loud high whistles", steps=1)
    wrong = SoundToImage(UnclipBackend(pipe, lambda w: torch.ones(DIM + 1), image_embed_norm=1.0))
    with pytest.raises(ValueError, match="expects"):
        wrong(_tone(), SR, steps=2)
    with pytest.raises(ValueError, match="positive"):
        UnclipBackend(pipe, RecordingProjector(), image_embed_norm=-1.0)


def test_mixing_moves_towards_the_picture(pipe):
    gen = _front(pipe)
    picture = _images(1)[0]
    target = gen.backend.embed_images([picture])[0]
    full = gen(_tone(), SR, steps=1, mix_image=picture, mix_weight=1.0)
    torch.testing.assert_close(full.embedding, target)
    half = gen(_tone(), SR, steps=1, mix_image=picture, mix_weight=0.5)
    torch.testing.assert_close(half.embedding, 0.5 * (half.source_embedding + target))
    with pytest.raises(ValueError, match="mix_image"):
        gen(_tone(), SR, steps=1, mix_weight=0.5)


def test_from_projector_loads_and_calibrates(pipe, tmp_path):
    """The app's pretrained profile: projector checkpoint + pipeline folder (no download)."""
    from bgtai.joint.pretrained import ClipAudioConfig, ClipAudioProjector

    torch.manual_seed(0)
    ClipAudioProjector(ClipAudioConfig(dim=DIM, width=16, layers=1)).save_pretrained(tmp_path / "proj")
    pipe.save_pretrained(tmp_path / "unclip")
    backend = UnclipBackend.from_projector(str(tmp_path / "proj"), str(tmp_path / "unclip"),
                                           n_calibration=2)
    assert backend.image_embed_norm > 0
    out = SoundToImage(backend)(_tone(), SR, steps=1, seed=0)
    assert out.image.shape == (16, 16, 3)
    assert out.embedding.norm().item() == pytest.approx(backend.image_embed_norm, rel=1e-4)
