"""Langue2Gloss (paper eq. 1-2): text or speech -> one shared encoder -> gloss decoder.

SpeechLM's role in the paper is to map text and speech into one representation. Here that is
one transformer encoder fed by two pre-nets:

- the **text pre-net** embeds subword pieces (the vocabulary is shared with the gloss decoder,
  see :mod:`bgtai.gloss.subwords`);
- the **speech pre-net** turns the waveform into loudness-keeping log-mel frames
  (:class:`bgtai.audio.LogMel`) and subsamples them 4x with two strided convolutions
  (40 ms per encoder position);

a learned **modality embedding** tells the shared layers which pre-net they are reading. Either
pre-net can instead be a pretrained Hugging Face encoder (BERT-class for text, WavLM/HuBERT-class
for speech; :mod:`bgtai.gloss.backbones`) projected to ``d_model``. The encoder outputs
``o_{1:N}`` (eq. 1; the pooled ``h_L`` is their masked mean) feed an attention decoder that
emits gloss pieces one at a time (eq. 2); its cross-attention over ``o_{1:N}`` is returned with
every result so the app can show which input each gloss token looked at.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..align import dtw_batch
from ..align.dsnet import DSNet, DSNetConfig
from ..align.losses import alignment_bce, result_filter_ce, sp_loss
from ..audio import SAMPLE_RATE, LogMel
from ..hub import SafeModelHubMixin
from ..layers import sinusoids
from .backbones import SpeechBackbone, TextBackbone, load_backbone, padding_mask

TEXT, SPEECH = 0, 1


def repeated_ngram_tokens(seq: list[int], n: int) -> list[int]:
    """Pieces that would repeat an ``n``-gram already in ``seq`` if appended to it.

    The repetition guard of :meth:`Langue2Gloss.greedy` and :meth:`Langue2Gloss.beam`
    (no-repeat n-gram blocking): a decoder that has lost track of its input tends to loop
    (``TAKE TAKE TAKE ...``), and banning these pieces breaks the loop. ``n < 1`` bans nothing.
    """
    if n < 1 or len(seq) < n - 1:
        return []
    tail = seq[len(seq) - n + 1:] if n > 1 else []
    return [seq[i + n - 1] for i in range(len(seq) - n + 1) if seq[i: i + n - 1] == tail]


@dataclass
class Langue2GlossConfig:
    """Sizes of the embedded Langue2Gloss model (saved as ``config.json``).

    ``text_backbone`` / ``speech_backbone``: Hugging Face ids or folders of pretrained encoders
    that replace the text / speech pre-net (:mod:`bgtai.gloss.backbones`). The model fills
    ``*_backbone_config`` with the backbone's own config when it first downloads the weights;
    a config that has it builds that architecture without downloading (for loading checkpoints).
    """

    vocab_size: int = 4000
    d_model: int = 256
    n_heads: int = 4
    enc_layers: int = 4
    dec_layers: int = 3
    ff_dim: int = 1024
    dropout: float = 0.1
    n_mels: int = 64
    max_positions: int = 4096
    align_d_model: int = 64
    pad_id: int = 0
    bos_id: int = 1
    eos_id: int = 2
    text_backbone: str | None = None
    speech_backbone: str | None = None
    text_backbone_config: dict | None = None
    speech_backbone_config: dict | None = None


class SpeechPrenet(nn.Module):
    """Waveform -> log-mel (10 ms) -> two stride-2 convolutions -> ``(B, frames / 4, d)``.

    The log-mel values are shifted and scaled by fixed constants (not per clip), which keeps
    the level information while bringing typical speech near unit range.
    """

    def __init__(self, n_mels: int, d_model: int):
        super().__init__()
        self.logmel = LogMel(n_mels=n_mels)
        self.conv1 = nn.Conv1d(n_mels, d_model, kernel_size=3, stride=2, padding=1)
        self.conv2 = nn.Conv1d(d_model, d_model, kernel_size=3, stride=2, padding=1)
        self.frame_seconds = 4 * self.logmel.hop_length / SAMPLE_RATE
        """Duration of one output position (40 ms)."""

    def frames(self, n_samples: torch.Tensor) -> torch.Tensor:
        """Encoder positions produced for waveforms of ``n_samples`` samples."""
        mel_frames = n_samples // self.logmel.hop_length + 1
        return ((mel_frames - 1) // 2 + 1 - 1) // 2 + 1

    def forward(self, wave: torch.Tensor, n_samples: torch.Tensor):
        """Waveforms ``(B, S)`` with their lengths -> ``((B, N, d), pad (B, N))``."""
        x = (self.logmel(wave) + 4.0) / 3.0  # (B, T, n_mels)
        x = F.gelu(self.conv1(x.transpose(1, 2)))
        x = F.gelu(self.conv2(x)).transpose(1, 2)
        return x, padding_mask(self.frames(n_samples).clamp(max=x.shape[1]), x.shape[1])


class DecoderLayer(nn.Module):
    """Pre-norm transformer decoder layer that can return its cross-attention weights."""

    def __init__(self, d: int, heads: int, ff: int, dropout: float):
        super().__init__()
        self.self_attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.cross_attn = nn.MultiheadAttention(d, heads, dropout=dropout, batch_first=True)
        self.ff = nn.Sequential(nn.Linear(d, ff), nn.GELU(), nn.Dropout(dropout), nn.Linear(ff, d))
        self.norms = nn.ModuleList(nn.LayerNorm(d) for _ in range(3))
        self.drop = nn.Dropout(dropout)

    def forward(self, x, memory, causal, tgt_pad, mem_pad, need_weights: bool = False):
        h = self.norms[0](x)
        x = x + self.drop(self.self_attn(h, h, h, attn_mask=causal, key_padding_mask=tgt_pad,
                                         need_weights=False)[0])
        h = self.norms[1](x)
        att, weights = self.cross_attn(h, memory, memory, key_padding_mask=mem_pad,
                                       need_weights=need_weights, average_attn_weights=True)
        x = x + self.drop(att)
        return x + self.drop(self.ff(self.norms[2](x))), weights

    # nn.MultiheadAttention cannot reuse keys and values across calls, so incremental decoding
    # runs the same weights through scaled_dot_product_attention with cached keys and values.
    def _heads(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, L, d)`` -> ``(B, heads, L, d / heads)``."""
        return x.unflatten(-1, (self.self_attn.num_heads, -1)).transpose(1, 2)

    def memory_kv(self, memory: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The cross-attention keys and values of ``memory`` (each ``(B, heads, N, d / heads)``),
        computed once per decoding instead of at every step."""
        d = memory.shape[-1]
        kv = F.linear(memory, self.cross_attn.in_proj_weight[d:], self.cross_attn.in_proj_bias[d:])
        return tuple(self._heads(t) for t in kv.chunk(2, -1))

    def step(self, x: torch.Tensor, past, memory_kv, mem_keep: torch.Tensor):
        """:meth:`forward` (eval mode) for the newest position ``x`` ``(B, 1, d)`` alone.

        ``past`` holds the earlier positions' self-attention keys and values (None at the
        first step), ``memory_kv`` comes from :meth:`memory_kv` and ``mem_keep`` is
        ``(B, 1, 1, N)``, True at real memory positions. Returns the output and the new ``past``.
        """
        d = x.shape[-1]
        qkv = F.linear(self.norms[0](x), self.self_attn.in_proj_weight, self.self_attn.in_proj_bias)
        q, k, v = (self._heads(t) for t in qkv.chunk(3, -1))
        if past is not None:
            k, v = torch.cat([past[0], k], 2), torch.cat([past[1], v], 2)
        att = F.scaled_dot_product_attention(q, k, v)
        x = x + self.self_attn.out_proj(att.transpose(1, 2).flatten(2))
        q = F.linear(self.norms[1](x), self.cross_attn.in_proj_weight[:d],
                     self.cross_attn.in_proj_bias[:d])
        att = F.scaled_dot_product_attention(self._heads(q), *memory_kv, attn_mask=mem_keep)
        x = x + self.cross_attn.out_proj(att.transpose(1, 2).flatten(2))
        return x + self.ff(self.norms[2](x)), (k, v)


class Langue2Gloss(nn.Module, SafeModelHubMixin, library_name="bgtai",
                  tags=["bgtai", "gloss", "sign-language"]):
    """Shared text/speech encoder with an autoregressive gloss decoder.

    Parameters are those of :class:`Langue2GlossConfig`; ``from_pretrained(dir_or_id)`` and
    ``save_pretrained(dir)`` store ``config.json`` + ``model.safetensors``.
    """

    def __init__(self, config: Langue2GlossConfig | None = None, **kwargs):
        super().__init__()
        if isinstance(config, dict):
            config = Langue2GlossConfig(**config)
        # a copy: the backbones' configs are filled in below
        self.config = c = dataclasses.replace(config) if config else Langue2GlossConfig(**kwargs)
        self.embed = nn.Embedding(c.vocab_size, c.d_model, padding_idx=c.pad_id)
        self.text = None
        if c.text_backbone:
            encoder = load_backbone(c.text_backbone, c.text_backbone_config)
            c.text_backbone_config = encoder.config.to_dict()
            self.text = TextBackbone(encoder, c.d_model)
        if c.speech_backbone:
            encoder = load_backbone(c.speech_backbone, c.speech_backbone_config)
            c.speech_backbone_config = encoder.config.to_dict()
            self.speech = SpeechBackbone(encoder, c.d_model)
        else:
            self.speech = SpeechPrenet(c.n_mels, c.d_model)
        self.modality = nn.Embedding(2, c.d_model)
        self.register_buffer("positions", sinusoids(c.max_positions, c.d_model), persistent=False)
        layer = nn.TransformerEncoderLayer(c.d_model, c.n_heads, c.ff_dim, c.dropout,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, c.enc_layers, norm=nn.LayerNorm(c.d_model),
                                             enable_nested_tensor=False)
        self.decoder = nn.ModuleList(DecoderLayer(c.d_model, c.n_heads, c.ff_dim, c.dropout)
                                     for _ in range(c.dec_layers))
        self.dec_norm = nn.LayerNorm(c.d_model)
        self.drop = nn.Dropout(c.dropout)
        # DS-Net as Result Filter: which input positions each gloss piece came from.
        self.aligner = DSNet(DSNetConfig(d_in_short=c.d_model, d_in_long=c.d_model,
                                         d_model=c.align_d_model, layers=1, conv_layers=2))
        # The embedding is tied to the output layer: unit-variance rows would make the initial
        # logits ~sqrt(d) large, so rows start at norm ~1 and inputs are scaled by sqrt(d).
        nn.init.normal_(self.embed.weight, std=c.d_model ** -0.5)
        # save_pretrained writes the config as built, with the backbones' configs (the mixin
        # would otherwise keep the constructor's arguments)
        self._hub_mixin_config = c

    def pretrained_parameters(self) -> list[nn.Parameter]:
        """The parameters of the Hugging Face backbones (trainers give them their own rate)."""
        backbones = (TextBackbone, SpeechBackbone)
        wrappers = [m for m in (self.text, self.speech) if isinstance(m, backbones)]
        return [p for m in wrappers for p in m.encoder.parameters()]

    # ----------------------------------------------------------------- encoder (eq. 1)
    def _encode(self, x: torch.Tensor, pad: torch.Tensor, modality: int) -> torch.Tensor:
        if x.shape[1] > self.config.max_positions:
            raise ValueError(f"input of {x.shape[1]} positions exceeds the model's "
                             f"{self.config.max_positions}")
        x = x + self.positions[: x.shape[1]] + self.modality.weight[modality]
        return self.encoder(self.drop(x), src_key_padding_mask=pad)

    def encode_text(self, ids: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        """Encode text ids ``(B, N)`` (``pad`` True at padding) -> ``(B, N, d)``: subword ids
        of the gloss vocabulary, or the text backbone's token ids when there is one."""
        if self.text is None:
            return self._encode(self.embed(ids) * math.sqrt(self.config.d_model), pad, TEXT)
        return self._encode(self.text(ids, pad), pad, TEXT)

    def encode_speech(self, wave: torch.Tensor, n_samples: torch.Tensor):
        """Encode 16 kHz waveforms ``(B, S)`` -> ``((B, N, d), pad (B, N))``."""
        x, pad = self.speech(wave, n_samples)
        return self._encode(x, pad, SPEECH), pad

    def encode_features(self, x: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        """Encode features another front-end already brought to ``d_model`` (``(B, N, d)``,
        e.g. the joint audio encoder's frames for the captioner) as the speech modality."""
        return self._encode(x, pad, SPEECH)

    @staticmethod
    def pooled(memory: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        """``h_L`` of eq. 1: the masked mean of the encoder outputs, ``(B, d)``."""
        keep = (~pad).unsqueeze(-1).to(memory.dtype)
        return (memory * keep).sum(1) / keep.sum(1).clamp_min(1.0)

    @staticmethod
    def speech_text_pull(speech: torch.Tensor, speech_pad: torch.Tensor, text: torch.Tensor,
                         text_pad: torch.Tensor) -> torch.Tensor:
        """Pull speech encodings toward the text encodings of the same sentences.

        SpeechLM's goal, one representation for both modalities, read as: every speech frame
        should sit where the text position it says lies. Which position that is comes from
        exact DTW between the two encodings (cosine cost, path fixed, no gradient through the
        choice); the loss is the mean cosine distance over the path cells. The text side is
        detached, so text is the anchor and speech moves toward it. DTW rather than CTC: it
        needs no extra output layer and aligns whole encodings, not just one symbol per frame.
        Returns the loss and the ``(B, frames, text)`` path it used.
        """
        s = F.normalize(speech.float(), dim=-1)
        t = F.normalize(text.detach().float(), dim=-1)
        n_s, n_t = (~speech_pad).sum(1), (~text_pad).sum(1)
        with torch.no_grad():
            cost = 1.0 - s.detach() @ t.transpose(1, 2)
            path = dtw_batch(cost.double(), None, n_s, n_t, metric="precomputed").alignment
        cos = (s @ t.transpose(1, 2))[path]
        return (1.0 - cos).mean(), path

    # ----------------------------------------------------------------- decoder (eq. 2)
    def _embed_pieces(self, ids: torch.Tensor, start: int = 0) -> torch.Tensor:
        """Decoder inputs for pieces ``ids`` ``(B, L)`` at positions ``start, start + 1, ...``."""
        x = self.embed(ids) * math.sqrt(self.config.d_model)
        return self.drop(x + self.positions[start: start + ids.shape[1]])

    def decode(self, prev: torch.Tensor, memory: torch.Tensor, mem_pad: torch.Tensor,
               need_weights: bool = False, return_hidden: bool = False):
        """Next-piece logits for every prefix position of ``prev`` ``(B, L)``.

        Returns ``(logits (B, L, V), cross_attention (B, L, N) | None)``; the attention is the
        last layer's, averaged over heads. With ``return_hidden`` the final decoder states
        ``(B, L, d)`` come third: the state at position ``k`` is the one that emits piece
        ``k + 1``, which is what the aligner reads.
        """
        length = prev.shape[1]
        causal = torch.triu(torch.ones(length, length, dtype=torch.bool, device=prev.device), 1)
        x = self._embed_pieces(prev)
        tgt_pad = prev == self.config.pad_id
        tgt_pad[:, 0] = False  # the BOS position is never padding
        weights = None
        for k, layer in enumerate(self.decoder):
            last = need_weights and k == len(self.decoder) - 1
            x, w = layer(x, memory, causal, tgt_pad, mem_pad, need_weights=last)
            weights = w if last else weights
        hidden = self.dec_norm(x)
        logits = hidden @ self.embed.weight.T
        return (logits, weights, hidden) if return_hidden else (logits, weights)

    def loss(self, memory: torch.Tensor, mem_pad: torch.Tensor, gloss_ids: torch.Tensor,
             label_smoothing: float = 0.1) -> tuple[torch.Tensor, torch.Tensor]:
        """Teacher-forced cross-entropy of ``gloss_ids`` ``(B, L)`` = ``<s> pieces </s> <pad>...``.

        Returns the loss and the decoder states of the gloss pieces (see :meth:`decode`).
        """
        logits, _, hidden = self.decode(gloss_ids[:, :-1], memory, mem_pad, return_hidden=True)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), gloss_ids[:, 1:].reshape(-1),
                               ignore_index=self.config.pad_id, label_smoothing=label_smoothing)
        return loss, hidden

    def gloss_mask(self, gloss_ids: torch.Tensor) -> torch.Tensor:
        """True at the real gloss pieces of ``gloss_ids[:, 1:]`` (not ``</s>``, not padding)."""
        target = gloss_ids[:, 1:]
        return (target != self.config.pad_id) & (target != self.config.eos_id)

    def align_logits(self, hidden: torch.Tensor, gloss_mask: torch.Tensor, memory: torch.Tensor,
                     mem_pad: torch.Tensor) -> torch.Tensor:
        """DS-Net cell scores ``(B, Q, N)`` between gloss pieces and encoder positions.

        The inputs are detached: the aligner reads the translation model, it does not steer it.
        """
        return self.aligner(hidden.detach(), memory.detach(), gloss_mask, ~mem_pad)

    def align_loss(self, logits: torch.Tensor, target: torch.Tensor, gloss_mask: torch.Tensor,
                   mem_pad: torch.Tensor) -> torch.Tensor:
        """Result Filter objective: eq. 5 CE + eq. 6 SP-Loss against the DTW target, plus the
        per-cell BCE that calibrates ``sigmoid(logits)`` for path decoding."""
        args = (logits, target, gloss_mask, ~mem_pad)
        return result_filter_ce(*args) + sp_loss(*args) + alignment_bce(*args)

    def forward(self, text: dict, speech: dict | None = None,
                pull_weight: float = 0.5) -> dict[str, torch.Tensor]:
        """Training losses for a text batch and, optionally, a speech batch.

        ``text`` holds ``text_ids``, ``text_pad``, ``gloss_ids`` and ``align_target`` (the
        precomputed gloss-piece x text-piece DTW alignment, see :mod:`bgtai.gloss.data`);
        ``speech`` holds the same for its sentences plus ``wave`` and ``wave_lengths``.
        Speech adds speech -> gloss, the pull toward the text encoding
        (:meth:`speech_text_pull`), and the aligner on frames, whose target is the text target
        composed with the pull's DTW path. One call, one backward: what DDP needs.
        Returns the parts and their weighted sum under ``"loss"``.
        """
        memory = self.encode_text(text["text_ids"], text["text_pad"])
        out = {}
        out["text"], hidden = self.loss(memory, text["text_pad"], text["gloss_ids"])
        g_mask = self.gloss_mask(text["gloss_ids"])
        logits = self.align_logits(hidden, g_mask, memory, text["text_pad"])
        out["align"] = self.align_loss(logits, text["align_target"], g_mask, text["text_pad"])
        total = out["text"] + out["align"]
        if speech is not None:
            s_mem, s_pad = self.encode_speech(speech["wave"], speech["wave_lengths"])
            t_mem = self.encode_text(speech["text_ids"], speech["text_pad"])
            out["speech"], s_hidden = self.loss(s_mem, s_pad, speech["gloss_ids"])
            out["pull"], frames_text = self.speech_text_pull(s_mem, s_pad, t_mem, speech["text_pad"])
            g_mask = self.gloss_mask(speech["gloss_ids"])
            target = (speech["align_target"].float() @ frames_text.transpose(1, 2).float()) > 0
            logits = self.align_logits(s_hidden, g_mask, s_mem, s_pad)
            out["align_speech"] = self.align_loss(logits, target, g_mask, s_pad)
            total = total + out["speech"] + pull_weight * out["pull"] + out["align_speech"]
        out["loss"] = total
        return out

    @torch.no_grad()
    def greedy(self, memory: torch.Tensor, mem_pad: torch.Tensor, max_len: int = 128,
               no_repeat_ngram: int = 0):
        """Greedy decoding of a batch (eval mode): ``ids (B, L)`` without the leading ``<s>``;
        sequences end at ``</s>`` (kept) and are padded after it. With ``no_repeat_ngram`` n
        no sequence repeats a piece n-gram (:func:`repeated_ngram_tokens`).

        Incremental: each step runs only the newest position, with the self-attention keys
        and values of the earlier ones and the memory's cross-attention keys and values cached
        (the same pieces as :meth:`decode` on the whole prefix, at a fraction of the cost).
        """
        c = self.config
        memory_kv = [layer.memory_kv(memory) for layer in self.decoder]
        mem_keep = ~mem_pad[:, None, None, :]
        past = [None] * len(self.decoder)
        nxt = torch.full((memory.shape[0],), c.bos_id, dtype=torch.long, device=memory.device)
        done = torch.zeros_like(nxt, dtype=torch.bool)
        out = []
        for position in range(max_len):
            x = self._embed_pieces(nxt[:, None], position)
            for k, layer in enumerate(self.decoder):
                x, past[k] = layer.step(x, past[k], memory_kv[k], mem_keep)
            logits = self.dec_norm(x[:, 0]) @ self.embed.weight.T
            prefixes = torch.stack(out, 1).tolist() if out and no_repeat_ngram else []
            for row, seq in enumerate(prefixes):
                logits[row, repeated_ngram_tokens(seq, no_repeat_ngram)] = -math.inf
            nxt = logits.argmax(-1)
            nxt = torch.where(done, torch.full_like(nxt, c.pad_id), nxt)
            out.append(nxt)
            done |= nxt == c.eos_id
            if bool(done.all()):
                break
        return torch.stack(out, 1)

    @torch.no_grad()
    def inspect(self, ids: torch.Tensor, memory: torch.Tensor, mem_pad: torch.Tensor,
                aligned: int | None = None):
        """One teacher-forced pass over decoded ``ids`` ``(B, L)`` (no ``<s>``).

        Returns ``(piece_probs (B, L), cross_attention (B, L, N), alignment (B, L, N),
        align_probs (B, L, N))``: each piece's probability, the last layer's head-averaged
        cross-attention, DS-Net's decoded monotonic alignment of the real pieces
        (``</s>``/padding rows False) and its per-cell probabilities (0 on those rows).
        ``aligned``: DS-Net reads only the first ``aligned`` memory positions (the ordered
        ones; the others' columns stay False / 0), all when None.
        """
        prev = torch.cat([torch.full_like(ids[:, :1], self.config.bos_id), ids[:, :-1]], 1)
        logits, attn, hidden = self.decode(prev, memory, mem_pad, need_weights=True,
                                           return_hidden=True)
        probs = logits.float().softmax(-1).gather(-1, ids[..., None])[..., 0]
        g_mask = self.gloss_mask(torch.cat([prev[:, :1], ids], 1))
        alignment = torch.zeros_like(attn, dtype=torch.bool)
        align_probs = torch.zeros_like(attn)
        rows = g_mask.any(1)
        n = memory.shape[1] if aligned is None else aligned
        if bool(rows.any()):
            pred = self.aligner.predict_path(hidden[rows], memory[rows, :n], g_mask[rows],
                                             ~mem_pad[rows, :n])
            alignment[rows, :, :n] = pred.alignment
            align_probs[rows, :, :n] = pred.probabilities.to(attn.dtype)
        return probs, attn, alignment, align_probs

    @torch.no_grad()
    def beam(self, memory: torch.Tensor, mem_pad: torch.Tensor, beam_size: int = 4,
             max_len: int = 128, length_penalty: float = 1.0, no_repeat_ngram: int = 0):
        """Beam search for ONE input (``memory`` ``(1, N, d)``).

        Hypotheses are ranked by total log-probability divided by ``length ** length_penalty``;
        with ``no_repeat_ngram`` n none repeats a piece n-gram (:func:`repeated_ngram_tokens`).
        Returns the ``ids (L,)`` of the best finished hypothesis (``</s>`` included, no ``<s>``).
        """
        if memory.shape[0] != 1:
            raise ValueError("beam search decodes one input at a time")
        c = self.config
        seqs = torch.full((1, 1), c.bos_id, dtype=torch.long, device=memory.device)
        scores = memory.new_zeros(1)
        finished: list[tuple[float, torch.Tensor]] = []
        for step in range(max_len):
            k = seqs.shape[0]
            logp = self.decode(seqs, memory.expand(k, -1, -1), mem_pad.expand(k, -1))[0][:, -1]
            logp = logp.float().log_softmax(-1)
            for row, seq in enumerate(seqs[:, 1:].tolist() if no_repeat_ngram else []):
                logp[row, repeated_ngram_tokens(seq, no_repeat_ngram)] = -math.inf
            total = (scores[:, None] + logp).reshape(-1)
            top, idx = total.topk(min(beam_size * 2, total.numel()))
            vocab = logp.shape[-1]
            keep_seqs, keep_scores = [], []
            for s, i in zip(top.tolist(), idx.tolist()):
                src, tok = divmod(i, vocab)
                cand = torch.cat([seqs[src], seqs.new_tensor([tok])])
                if tok == c.eos_id:
                    finished.append((s / (step + 1) ** length_penalty, cand))
                else:
                    keep_seqs.append(cand)
                    keep_scores.append(s)
                if len(keep_seqs) == beam_size:
                    break
            best_open = max(keep_scores, default=-math.inf) / (step + 1) ** length_penalty
            if not keep_seqs or (len(finished) >= beam_size
                                 and max(f[0] for f in finished) >= best_open):
                break
            seqs, scores = torch.stack(keep_seqs), scores.new_tensor(keep_scores)
        if not finished:  # max_len reached: take the best open hypothesis
            finished.append((0.0, seqs[0]))
        return max(finished, key=lambda f: f[0])[1][1:]
