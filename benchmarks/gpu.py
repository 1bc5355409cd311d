"""Time the generators on a CUDA GPU (run on a GPU machine; nothing here is needed on the CPU).

Run ``python -m benchmarks.gpu [--json PATH]``. Two measurements:

* **embedded decoder** (``assets/generator``) on the GPU: median seconds for one 64x64 image at
  the default steps, and images per second in batches of 64, next to one image on the CPU in
  the same process (2 threads) as the baseline.
* **pretrained profile, compute only**: a ``StableUnCLIPImg2ImgPipeline`` with the architecture
  of ``stabilityai/stable-diffusion-2-1-unclip`` (UNet 320-640-1280-1280, OpenCLIP ViT-H text
  encoder, the SD 2 VAE) built from configs with **random weights** in float16, 768x768, 20 steps,
  guidance 10 (two UNet passes per step): the time per image the real checkpoint would take,
  since the arithmetic does not depend on the weights' values. Weights cannot be downloaded on
  these machines, so the pictures are noise; only the timing is meaningful. The image encoder
  is a tiny stand-in (it is not run when ``image_embeds`` are given).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch

PRETRAINED_SIZE = 768
PRETRAINED_STEPS = 20


def _median(fn, repeats: int) -> float:
    fn()  # warm-up: kernel selection, allocations
    times = []
    for _ in range(repeats):
        torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def embedded(repeats: int) -> dict:
    """The bundled decoder on the GPU, and on the CPU as the baseline (one candidate per
    embedding: the decoder alone, without the pipeline's re-ranking)."""
    from bgtai.generate.pipeline import SoundToImage

    pipe = SoundToImage.from_pretrained()
    emb = torch.randn(1, pipe.backend.decoder.config.embed_dim)
    torch.set_num_threads(2)
    cpu = _median(lambda: pipe.generate(emb, seed=0, candidates=1), 3)
    pipe.backend.decoder.to("cuda")
    one = _median(lambda: pipe.generate(emb, seed=0, candidates=1), repeats)
    batch = emb.repeat(64, 1)
    many = _median(lambda: pipe.generate(batch, seed=0, candidates=1), repeats)
    return {"embedded_s_per_image_cuda": one, "embedded_images_per_s_cuda_batch64": 64 / many,
            "embedded_s_per_image_cpu_2_threads": cpu, "embedded_cpu_over_cuda": cpu / one,
            "embedded_steps": pipe.backend.decoder.config.default_steps}


def pretrained_compute(repeats: int) -> dict:
    """Stable unCLIP at the SD 2.1 unCLIP architecture with random float16 weights."""
    from diffusers import (AutoencoderKL, DDIMScheduler, DDPMScheduler, StableUnCLIPImg2ImgPipeline,
                           UNet2DConditionModel)
    from diffusers.pipelines.stable_diffusion.stable_unclip_image_normalizer import (
        StableUnCLIPImageNormalizer,
    )
    from transformers import (CLIPImageProcessor, CLIPTextConfig, CLIPTextModel, CLIPTokenizer,
                              CLIPVisionConfig, CLIPVisionModelWithProjection)

    from bgtai.generate.pipeline import SoundToImage
    from bgtai.generate.pretrained import UnclipBackend

    dim = 1024
    chars = [chr(c) for c in range(33, 127)]  # no vocabulary can be downloaded: a character one
    vocab = {t: i for i, t in enumerate(chars + [c + "</w>" for c in chars]
                                        + ["<|startoftext|>", "<|endoftext|>"])}
    tokenizer = CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)
    with torch.device("cuda"):  # random init on the GPU: seconds instead of minutes on its CPU
        unet = UNet2DConditionModel(
            sample_size=PRETRAINED_SIZE // 8, in_channels=4, out_channels=4,
            down_block_types=("CrossAttnDownBlock2D",) * 3 + ("DownBlock2D",),
            up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * 3,
            block_out_channels=(320, 640, 1280, 1280), layers_per_block=2,
            attention_head_dim=(5, 10, 20, 20), cross_attention_dim=dim, use_linear_projection=True,
            class_embed_type="projection", projection_class_embeddings_input_dim=2 * dim)
        vae = AutoencoderKL(block_out_channels=(128, 256, 512, 512), layers_per_block=2,
                            down_block_types=("DownEncoderBlock2D",) * 4,
                            up_block_types=("UpDecoderBlock2D",) * 4, latent_channels=4,
                            sample_size=PRETRAINED_SIZE)
        text = CLIPTextModel(CLIPTextConfig(hidden_size=dim, intermediate_size=4096,
                                            num_attention_heads=16, num_hidden_layers=23,
                                            projection_dim=dim, hidden_act="gelu", vocab_size=49408))
        image = CLIPVisionModelWithProjection(CLIPVisionConfig(
            hidden_size=32, projection_dim=dim, num_hidden_layers=1, num_attention_heads=4,
            image_size=32, intermediate_size=37, patch_size=4))
    pipe = StableUnCLIPImg2ImgPipeline(
        feature_extractor=CLIPImageProcessor(crop_size=32, size=32), image_encoder=image,
        image_normalizer=StableUnCLIPImageNormalizer(embedding_dim=dim),
        image_noising_scheduler=DDPMScheduler(beta_schedule="squaredcos_cap_v2"),
        tokenizer=tokenizer, text_encoder=text, unet=unet,
        scheduler=DDIMScheduler(beta_schedule="scaled_linear", beta_start=0.00085, beta_end=0.012,
                                prediction_type="v_prediction", set_alpha_to_one=False, steps_offset=1),
        vae=vae).to("cuda", torch.float16)
    pipe.set_progress_bar_config(disable=True)
    rng = np.random.default_rng(0)
    gen = SoundToImage(UnclipBackend(pipe, lambda wave: torch.from_numpy(rng.standard_normal(dim)),
                                     image_embed_norm=20.0))
    wave = (0.1 * np.sin(np.linspace(0, 2000, 16_000))).astype(np.float32)
    secs = _median(lambda: gen(wave, 16_000, steps=PRETRAINED_STEPS), repeats)
    return {"pretrained_s_per_image_cuda_fp16": secs, "pretrained_size": PRETRAINED_SIZE,
            "pretrained_steps": PRETRAINED_STEPS,
            "pretrained_unet_parameters": sum(p.numel() for p in unet.parameters()),
            "pretrained_peak_gpu_gb": torch.cuda.max_memory_allocated() / 1e9}


def main(argv=None) -> dict:
    """Run both measurements; returns what it writes to ``--json``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", type=Path)
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args(argv)
    if not torch.cuda.is_available():
        ap.error("needs a CUDA device")
    data = {"device": torch.cuda.get_device_name(), "torch": torch.__version__}
    data |= embedded(args.repeats)
    data |= pretrained_compute(args.repeats)
    print(json.dumps(data, indent=1))
    if args.json:
        args.json.write_text(json.dumps(data, indent=1))
    return data


if __name__ == "__main__":
    main()
