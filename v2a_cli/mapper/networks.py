"""The mapper networks: regression and diffusion-prior variants, each as an MLP or a Transformer.

Layouts follow the paper's supplement and reproduce its parameter counts (Tables 7-10):
- MLP: `depth` blocks of Linear -> SiLU -> LayerNorm (the first widens to `dim * expansion`), then a
  Linear back to `dim`. Regression D=1,E=4 has 2.10M parameters, as in Table 7.
- Diffusion MLP: the same stack over the concatenation [time embedding, noisy CLAP, CLIP] (3 * dim).
- Transformer: pre-LayerNorm blocks of 12-head x 64 attention with one shared key/value head
  (DALLE2-prior style) and a SwiGLU feed-forward of width 4 * dim: 4.0M parameters per layer, which is
  what Tables 9 and 10 add per layer. A learnable output token's final state, through LayerNorm and a
  Linear, is the prediction.
- Timestep: nn.Embedding over the training steps. Tables 8 and 10 leave room for ~0.51M timestep
  parameters (= 1000 x 512), so no extra 512x512 projection follows it.
Classifier-free guidance: the diffusion networks hold a learned `null_condition` that replaces the
CLIP input when the condition is dropped.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

EMBED_DIM = 512


def with_null_condition(condition: torch.Tensor, null: torch.Tensor, drop: torch.Tensor | None) -> torch.Tensor:
    """Rows where `drop` is True get the learned null condition (classifier-free guidance)."""
    if drop is None:
        return condition
    return torch.where(drop.unsqueeze(-1), null.to(condition.dtype), condition)


class MLPBlock(nn.Sequential):
    def __init__(self, in_dim: int, out_dim: int):
        super().__init__(nn.Linear(in_dim, out_dim), nn.SiLU(), nn.LayerNorm(out_dim))


def mlp_stack(in_dim: int, hidden: int, out_dim: int, depth: int) -> nn.Sequential:
    blocks = [MLPBlock(in_dim if i == 0 else hidden, hidden) for i in range(depth)]
    return nn.Sequential(*blocks, nn.Linear(hidden, out_dim))


class RegressionMLP(nn.Module):
    def __init__(self, *, dim: int = EMBED_DIM, depth: int = 1, expansion: int = 4, **_: object):
        super().__init__()
        self.net = mlp_stack(dim, dim * expansion, dim, depth)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        return self.net(clip)


class DiffusionMLP(nn.Module):
    def __init__(self, *, dim: int = EMBED_DIM, depth: int = 1, expansion: int = 4, num_timesteps: int = 1000,
                 **_: object):
        super().__init__()
        self.time_embedding = nn.Embedding(num_timesteps, dim)
        self.null_condition = nn.Parameter(torch.zeros(dim))
        self.net = mlp_stack(3 * dim, dim * expansion, dim, depth)

    def forward(self, noisy: torch.Tensor, timesteps: torch.Tensor, condition: torch.Tensor,
                drop_condition: torch.Tensor | None = None) -> torch.Tensor:
        condition = with_null_condition(condition, self.null_condition, drop_condition)
        return self.net(torch.cat([self.time_embedding(timesteps), noisy, condition], dim=-1))


class Attention(nn.Module):
    """Multi-head attention whose heads share one key/value head (as DALLE2's prior)."""

    def __init__(self, dim: int, heads: int, dim_head: int):
        super().__init__()
        self.heads, self.dim_head = heads, dim_head
        self.norm = nn.LayerNorm(dim)
        self.to_q = nn.Linear(dim, heads * dim_head, bias=False)
        self.to_kv = nn.Linear(dim, 2 * dim_head, bias=False)
        self.to_out = nn.Linear(heads * dim_head, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        batch, tokens, _ = x.shape
        x = self.norm(x)
        q = self.to_q(x).view(batch, tokens, self.heads, self.dim_head).transpose(1, 2)
        k, v = self.to_kv(x).unsqueeze(1).chunk(2, dim=-1)
        k = k.expand(batch, self.heads, tokens, self.dim_head)
        v = v.expand(batch, self.heads, tokens, self.dim_head)
        out = F.scaled_dot_product_attention(q, k, v)
        return self.to_out(out.transpose(1, 2).reshape(batch, tokens, self.heads * self.dim_head))


class SwiGLUFeedForward(nn.Module):
    def __init__(self, dim: int, mult: int):
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.proj_in = nn.Linear(dim, 2 * mult * dim, bias=False)
        self.proj_out = nn.Linear(mult * dim, dim, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        value, gate = self.proj_in(self.norm(x)).chunk(2, dim=-1)
        return self.proj_out(value * F.silu(gate))


class TransformerLayer(nn.Module):
    def __init__(self, dim: int, heads: int, dim_head: int, ff_mult: int):
        super().__init__()
        self.attention = Attention(dim, heads, dim_head)
        self.feed_forward = SwiGLUFeedForward(dim, ff_mult)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(x)
        return x + self.feed_forward(x)


class TokenTransformer(nn.Module):
    """Transformer over a few 512-d tokens plus a learnable output token; returns that token's prediction."""

    def __init__(self, *, num_inputs: int, dim: int, depth: int, heads: int, dim_head: int, ff_mult: int):
        super().__init__()
        self.output_token = nn.Parameter(torch.randn(dim) * 0.02)
        # Inputs of the same kind (noisy CLAP vs CLIP) must be told apart: one learned position per token.
        self.positions = nn.Parameter(torch.randn(num_inputs + 1, dim) * 0.02)
        self.layers = nn.ModuleList(TransformerLayer(dim, heads, dim_head, ff_mult) for _ in range(depth))
        self.norm_out = nn.LayerNorm(dim)
        self.proj_out = nn.Linear(dim, dim)

    def forward(self, inputs: list[torch.Tensor]) -> torch.Tensor:
        batch = inputs[0].shape[0]
        tokens = torch.stack([*inputs, self.output_token.expand(batch, -1)], dim=1) + self.positions
        for layer in self.layers:
            tokens = layer(tokens)
        return self.proj_out(self.norm_out(tokens[:, -1]))


class RegressionTransformer(nn.Module):
    def __init__(self, *, dim: int = EMBED_DIM, depth: int = 8, heads: int = 12, dim_head: int = 64,
                 ff_mult: int = 4, **_: object):
        super().__init__()
        self.transformer = TokenTransformer(num_inputs=1, dim=dim, depth=depth, heads=heads, dim_head=dim_head,
                                            ff_mult=ff_mult)

    def forward(self, clip: torch.Tensor) -> torch.Tensor:
        return self.transformer([clip])


class DiffusionTransformer(nn.Module):
    """Tokens: [time embedding, noisy CLAP, CLIP condition, output token] -> predicted clean CLAP."""

    def __init__(self, *, dim: int = EMBED_DIM, depth: int = 12, heads: int = 12, dim_head: int = 64,
                 ff_mult: int = 4, num_timesteps: int = 1000, **_: object):
        super().__init__()
        self.time_embedding = nn.Embedding(num_timesteps, dim)
        self.null_condition = nn.Parameter(torch.zeros(dim))
        self.transformer = TokenTransformer(num_inputs=3, dim=dim, depth=depth, heads=heads, dim_head=dim_head,
                                            ff_mult=ff_mult)

    def forward(self, noisy: torch.Tensor, timesteps: torch.Tensor, condition: torch.Tensor,
                drop_condition: torch.Tensor | None = None) -> torch.Tensor:
        condition = with_null_condition(condition, self.null_condition, drop_condition)
        return self.transformer([self.time_embedding(timesteps), noisy, condition])


# (kind, arch) -> network class.
NETWORKS: dict[tuple[str, str], type[nn.Module]] = {
    ("regression", "mlp"): RegressionMLP,
    ("regression", "transformer"): RegressionTransformer,
    ("diffusion", "mlp"): DiffusionMLP,
    ("diffusion", "transformer"): DiffusionTransformer,
}

# The paper's best setting per variant (supplement Tables 7-10).
PAPER_DEFAULTS: dict[tuple[str, str], dict[str, int]] = {
    ("regression", "mlp"): {"depth": 1, "expansion": 4},
    ("regression", "transformer"): {"depth": 8},
    ("diffusion", "mlp"): {"depth": 1, "expansion": 4},
    ("diffusion", "transformer"): {"depth": 12},
}


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
