"""KL divergence and Inception Score on PANNs class logits, and the CLIP-Score (CS).

KL and IS follow haoheliu/audioldm_eval (the AudioLDM evaluation the paper's FD comes from):
- KL: softmax over the 527 AudioSet logits, paired generated/reference files,
  KL(p_ref ‖ p_gen) = Σ p_ref · (log p_ref − log p_gen) in log space, averaged over pairs ("kl"), as
  av-benchmark (audioldm_eval adds 1e-6 inside the log: see `kl_divergence`).
  The same on sigmoid outputs (not normalised per clip) is reported as "kl_sigmoid".
- IS: softmax posteriors, shuffled with numpy RandomState(2020), split into 10 parts;
  per part exp(mean_x KL(p(y|x) ‖ p(y))); mean and std over parts. Always 10 parts, as the reference:
  `inception_score_caveat` says when that is not meaningful (under 20 files a part of one file scores
  exactly 1; under 10 files a part is empty and the reference's score is NaN) instead of changing the formula.
CS (Sheffer & Adi's CLIP-Score, as the V2A-Mapper paper reports it): 100 × cosine between the CLIP
image embedding of the visual prompt and the Wav2CLIP embedding of the sound, averaged over files.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

IS_SPLITS = 10
IS_SEED = 2020
IS_MEANINGFUL_PER_SPLIT = 2  # a part of one file always scores exactly 1


def kl_divergence(generated_logits: torch.Tensor, reference_logits: torch.Tensor) -> dict[str, float]:
    """Mean KL(reference ‖ generated) over paired rows of [N, C] logits: softmax and sigmoid versions.

    Computed in log space from the logits, as av-benchmark's `compute_kl` (MMAudio's evaluation):
    Σ p_ref · (log_softmax(ref) − log_softmax(gen)). Identical logits give exactly 0 (each term is
    p · (t − t)); audioldm_eval's log(p_gen + 1e-6) gave −Σ p·log(1 + 1e-6/p) ≈ −classes × 1e-6
    (−0.000527 for 527 classes) instead, and capped the log-ratio of classes the generated sound
    gives almost no mass. The result is clamped at 0 (KL is never negative; float64 rounding could
    give −1e-17 for nearly equal rows).
    """
    generated, reference = generated_logits.double(), reference_logits.double()
    if generated.shape != reference.shape or generated.ndim != 2 or generated.shape[0] == 0:
        raise ValueError(f"need paired [N, C] logits, got {tuple(generated.shape)} and {tuple(reference.shape)}")
    pairs = generated.shape[0]
    softmax = F.kl_div(F.log_softmax(generated, dim=1), F.log_softmax(reference, dim=1), reduction="sum",
                       log_target=True) / pairs
    sigmoid = F.kl_div(F.logsigmoid(generated), F.logsigmoid(reference), reduction="sum", log_target=True) / pairs
    return {"kl": max(0.0, float(softmax)), "kl_sigmoid": float(sigmoid)}


def inception_score(logits: torch.Tensor, *, splits: int = IS_SPLITS, seed: int | None = IS_SEED) -> tuple[float, float]:
    """(mean, std) of exp(E_x KL(p(y|x) ‖ p(y))) over `splits` parts, exactly as audioldm_eval's
    `calculate_isc` (NaN when there are fewer files than parts, as there)."""
    logits = logits.double()
    count = logits.shape[0]
    if logits.ndim != 2 or count == 0:
        raise ValueError(f"need [N, C] logits, got {tuple(logits.shape)}")
    if count < splits:
        return float("nan"), float("nan")
    if seed is not None:
        logits = logits[torch.from_numpy(np.random.RandomState(seed).permutation(count))]
    probs, log_probs = logits.softmax(dim=1), logits.log_softmax(dim=1)
    scores = []
    for index in range(splits):
        part = slice(index * count // splits, (index + 1) * count // splits)
        p, log_p = probs[part], log_probs[part]
        marginal = p.mean(dim=0, keepdim=True)
        scores.append(float((p * (log_p - marginal.log())).sum(dim=1).mean().exp()))
    return float(np.mean(scores)), float(np.std(scores))


def inception_score_caveat(count: int, splits: int = IS_SPLITS) -> str | None:
    """Why an IS of `count` files is not meaningful, or None."""
    if count < splits:
        return f"{count} files < {splits} parts: a part is empty and the reference's score is NaN; not computed"
    if count < IS_MEANINGFUL_PER_SPLIT * splits:
        return (f"{count} files in {splits} parts: parts of one file score exactly 1, so the score is not "
                f"meaningful (use at least {IS_MEANINGFUL_PER_SPLIT * splits}, ideally hundreds)")
    return None


def clip_score(image_embeddings: torch.Tensor, audio_embeddings: torch.Tensor) -> float:
    """100 × mean cosine similarity of paired rows (embeddings need not be normalised)."""
    if image_embeddings.shape != audio_embeddings.shape or image_embeddings.shape[0] == 0:
        raise ValueError(f"need paired [N, D] embeddings, got {tuple(image_embeddings.shape)} and "
                         f"{tuple(audio_embeddings.shape)}")
    cosine = F.cosine_similarity(image_embeddings.double(), audio_embeddings.double(), dim=1)
    return float(100.0 * cosine.mean())
