"""SSV2A's networks, driven by its config (`ssv2a.json`); our own implementation of its inference path.

    manifold:  CLIP (and CLAP) -> a shared "manifold" code      (clip_encoder / clap_encoder)
    generator: manifold code -> CLAP                            (per sound source)
    remixer:   the sources' codes + their CLIPs -> one CLAP     (a transformer over the slots)
    aggregator (agg.pth): per-frame CLAPs of a video -> one CLAP

Each encoder is `linear`, `mlp`, `transformer` or `moe` (a mixture of MLP experts with a router),
variational (a mean and a log-variance, sampled) or not. Module and parameter names follow SSV2A's
checkpoints so its state dicts load strictly. Every network works on the last dimension, so a batch
of slots [B, S, D] is encoded slot by slot (SSV2A's own transformer and moe encoders accept only
[B, D]; for those the slots are flattened first, which is what their maths means).
"""

from __future__ import annotations

import torch
from torch import nn

from v2a_cli.errors import CheckpointError
from v2a_cli.mapper.ssv2a.layers import (MLP, LinearProjection, MixtureOfExperts, SinusoidalPositions,
                                         TransformerEncoder, averaged_sample, mean_of_draws)

ARCHS = ("linear", "mlp", "transformer", "moe")


def _per_vector(fn, x: torch.Tensor) -> torch.Tensor:
    """Apply `fn` ([N, D] -> [N, E]) to x [..., D]."""
    flat = fn(x.reshape(-1, x.shape[-1]))
    return flat.reshape(*x.shape[:-1], flat.shape[-1])


class Encoder(nn.Module):
    """One config-driven encoder: in_dim -> out_dim (a Gaussian's mean and log-variance when variational).

    `in_bias` is SSV2A's choice for the mlp arch's first projection: none in the manifold, one in the generator.
    """

    def __init__(self, in_dim: int, out_dim: int, cfg: dict, *, in_bias: bool):
        super().__init__()
        self.arch = cfg.get("arch")
        self.variational = bool(cfg.get("variational", False))
        if self.arch not in ARCHS:
            raise CheckpointError(f"encoder arch {self.arch!r}: SSV2A knows {', '.join(ARCHS)}")
        hidden = in_dim
        if self.arch == "linear":
            self.model = LinearProjection(in_dim, out_dim)
            hidden = out_dim
        elif self.arch == "mlp":
            self.model = nn.Sequential(nn.Linear(in_dim, cfg["layers"][0], bias=in_bias), MLP.from_config(cfg))
            hidden = cfg["layers"][-1]
        elif self.arch == "transformer":
            width = cfg["embed_dim"] * (2 if cfg["pe_inject"] == "cat" else 1)
            self.patches = cfg["patches"]
            self.prefix = nn.Parameter(torch.zeros(cfg["out_dim"] // width, width))  # learned output tokens
            self.pos_embed = SinusoidalPositions(width, resolution=cfg["pe_res"], inject=cfg["pe_inject"])
            self.in_proj = nn.Linear(in_dim // self.patches, width)
            self.transformer = TransformerEncoder.from_config(cfg)
            self.model = MLP.from_config(cfg)
            hidden = cfg["layers"][-1]
        else:  # moe
            self.n_experts = cfg["experts"]
            self.moe = MixtureOfExperts(cfg, self.n_experts, bool(cfg.get("diverse_experts", False)))
            self.router = MLP([in_dim, (in_dim + self.n_experts) // 2, self.n_experts])
            self.model = nn.Linear(cfg["layers"][-1], cfg["layers"][-1], bias=False)
            hidden = cfg["layers"][-1]
        if self.variational:
            self.out_mu = nn.Linear(hidden, out_dim)
            self.out_sigma = nn.Linear(hidden, out_dim)
        elif self.arch != "linear":
            self.out = nn.Linear(hidden, out_dim)

    def _hidden(self, x: torch.Tensor) -> torch.Tensor:
        if self.arch == "transformer":
            tokens = self.in_proj(x.reshape(x.shape[0], self.patches, -1))
            tokens = torch.cat([self.prefix.expand(x.shape[0], -1, -1), tokens], dim=1)
            tokens = self.transformer(self.pos_embed(tokens))[:, : self.prefix.shape[0], :]
            x = torch.flatten(tokens, start_dim=1)
        elif self.arch == "moe":
            x = self.moe(x, torch.softmax(self.router(x), dim=-1))
        return self.model(x)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(mean, log-variance) when variational, else (output, None). x: [..., in_dim]."""
        if self.arch == "linear" and not self.variational:
            return _per_vector(self.model, x), None
        hidden = _per_vector(self._hidden, x)
        if self.variational:
            return self.out_mu(hidden), self.out_sigma(hidden)
        return self.out(hidden), None

    def sample(self, x: torch.Tensor, draws: int, generator: torch.Generator | None) -> torch.Tensor:
        """The output, or the mean of `draws` samples when variational."""
        mu, log_var = self(x)
        return mu if log_var is None else averaged_sample(mu, log_var, draws, generator)


# SSV2A's checkpoint names the transformer encoder's learned tokens after their role.
_PREFIX_NAMES = {"manifold": "fold_embedding", "generator": "gen_embedding"}


def _rename_prefix(state: dict[str, torch.Tensor], role: str, to_ours: bool) -> dict[str, torch.Tensor]:
    theirs = _PREFIX_NAMES[role]
    old, new = (theirs, "prefix") if to_ours else ("prefix", theirs)
    return {(k[: -len(old)] + new if k.split(".")[-1] == old else k): v for k, v in state.items()}


class Manifold(nn.Module):
    """CLIP -> manifold (`clip_encoder`) and CLAP -> manifold (`clap_encoder`), one config for both."""

    def __init__(self, clip_dim: int, clap_dim: int, manifold_dim: int, cfg: dict):
        super().__init__()
        self.clip_encoder = Encoder(clip_dim, manifold_dim, cfg, in_bias=False)
        self.clap_encoder = Encoder(clap_dim, manifold_dim, cfg, in_bias=False)
        # Training-only contrastive temperatures, kept so the checkpoint loads strictly.
        self.logit_scale = nn.Parameter(torch.zeros([]))
        self.self_logit_scale = nn.Parameter(torch.zeros([]))


class Generator(nn.Module):
    """Manifold code -> a unit CLAP embedding (a sound source's sound).

    arch `linear` has no weights: it inverts the manifold's linear CLAP encoder (SSV2A's `linear_generator`).
    """

    def __init__(self, manifold_dim: int, clap_dim: int, cfg: dict, manifold: Manifold):
        super().__init__()
        self.linear_inverse = cfg.get("arch") == "linear"
        if self.linear_inverse:
            if manifold.clap_encoder.arch != "linear":
                raise CheckpointError("generator arch 'linear' needs a linear manifold (it inverts it)")
            self._manifold = [manifold]  # a list: not a registered submodule, no weights of its own
        else:
            self.encoder = Encoder(manifold_dim, clap_dim, cfg, in_bias=True)

    def stats(self, folds: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(mean, log-variance) when variational, else (output, None)."""
        if self.linear_inverse:
            return _per_vector(self._manifold[0].clap_encoder.model.solve, folds), None
        return self.encoder(folds)

    def claps(self, folds: torch.Tensor, draws: int, generator: torch.Generator | None) -> torch.Tensor:
        """Unit CLAPs: the output, or the mean of `draws` samples when variational."""
        mu, log_var = self.stats(folds)
        out = mu if log_var is None else averaged_sample(mu, log_var, draws, generator)
        return out / out.norm(p=2, dim=-1, keepdim=True)

    @staticmethod
    def claps_from(stats: tuple[torch.Tensor, torch.Tensor | None], noise: torch.Tensor | None,
                   count: int) -> torch.Tensor:
        """`count` sample sets of unit CLAPs [count, *shape] from precomputed stats and noise
        [draws, count, *shape] (None when not variational: the same output `count` times)."""
        mu, log_var = stats
        out = mu.expand(count, *mu.shape) if log_var is None else mean_of_draws(mu, log_var, noise)
        return out / out.norm(p=2, dim=-1, keepdim=True)


class Styler(nn.Module):
    """The remixer: [B, S, source code + CLIP] slots -> one CLAP, read from learned tokens in front."""

    def __init__(self, source_dim: int, clip_dim: int, clap_dim: int, cfg: dict):
        super().__init__()
        if cfg.get("arch") != "transformer":
            raise CheckpointError(f"remixer styler arch {cfg.get('arch')!r}: SSV2A supports only 'transformer'")
        self.variational = bool(cfg.get("variational", False))
        width = cfg["embed_dim"]
        dropout = cfg.get("dropout", 0.1)
        self.in_proj = nn.Linear(source_dim + clip_dim, width)
        self.style_encoder = TransformerEncoder.from_config(cfg)
        self.pred_token = nn.Parameter(torch.zeros(2 if self.variational else 1, width))
        self.head_mu = MLP([width, width], dropout=dropout)
        if self.variational:
            self.head_sigma = MLP([width, width], dropout=dropout)
            self.out_mu = nn.Linear(width, clap_dim)
            self.out_sigma = nn.Linear(width, clap_dim)
        else:
            self.out = nn.Linear(width, clap_dim)

    def forward(self, sources: torch.Tensor, clips: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(mean, log-variance) [B, clap_dim] when variational, else (output, None). The encoder's output
        at its learned tokens does not depend on the order of the slots (attention sums over them), so
        SSV2A's slot shuffling is not repeated."""
        tokens = self.in_proj(torch.cat([sources, clips], dim=-1))
        tokens = torch.cat([self.pred_token.expand(tokens.shape[0], -1, -1), tokens], dim=1)
        tokens = self.style_encoder(tokens)
        if self.variational:
            return self.out_mu(self.head_mu(tokens[:, 0])), self.out_sigma(self.head_sigma(tokens[:, 1]))
        return self.out(self.head_mu(tokens[:, 0])), None


class Aggregator(nn.Module):
    """SSV2A's temporal aggregation (agg.pth): [B, frames, 512] per-frame CLAPs -> one unit CLAP."""

    def __init__(self, dim: int = 512):
        super().__init__()
        self.pe = SinusoidalPositions(dim, resolution=1024, inject="add")
        self.encoder = TransformerEncoder(num_layers=1, embed_dim=dim, nhead=8, dropout=0.2, exp_rate=2)
        self.pred_token = nn.Parameter(torch.zeros(2, dim))
        self.head_mu = MLP([dim, dim], dropout=0.2)
        self.head_sigma = MLP([dim, dim], dropout=0.2)
        self.out_mu = nn.Linear(dim, dim)
        self.out_sigma = nn.Linear(dim, dim)

    def sample(self, frames: torch.Tensor, draws: int, generator: torch.Generator | None) -> torch.Tensor:
        tokens = torch.cat([self.pred_token.expand(frames.shape[0], -1, -1), frames], dim=1)
        tokens = self.encoder(self.pe(tokens))
        out = averaged_sample(self.out_mu(self.head_mu(tokens[:, 0])), self.out_sigma(self.head_sigma(tokens[:, 1])),
                              draws, generator)
        return out / out.norm(p=2, dim=-1, keepdim=True)


class SSV2ANetworks(nn.Module):
    """Everything in ssv2a.pth (+ agg.pth), built from the ssv2a.json config."""

    def __init__(self, config: dict, *, with_aggregator: bool = False):
        super().__init__()
        self.clip_dim = int(config["clip_dim"])
        self.clap_dim = int(config["clap_dim"])
        self.manifold_dim = int(config["manifold_dim"])
        generator_cfg = config["generator"]
        if generator_cfg.get("disabled"):
            raise CheckpointError("this SSV2A config disables its generator; SSV2A cannot map pictures without one")
        self.manifold = Manifold(self.clip_dim, self.clap_dim, self.manifold_dim, config["manifold"])
        self.generator = Generator(self.manifold_dim, self.clap_dim, generator_cfg, self.manifold)
        remixer = config["remixer"]
        self.slots = int(remixer["slot"])
        self.guidance = remixer.get("guidance", "manifold")
        source_dim = {"generator": self.clap_dim,
                      "manifold+generator": self.manifold_dim + self.clap_dim}.get(self.guidance, self.manifold_dim)
        self.remixer = Styler(source_dim, self.clip_dim, self.clap_dim, remixer["styler"])
        self.aggregator = Aggregator(self.clap_dim) if with_aggregator else None

    @property
    def variational(self) -> bool:
        return (self.manifold.clip_encoder.variational or self.remixer.variational
                or (not self.generator.linear_inverse and self.generator.encoder.variational))

    # -- SSV2A's checkpoint <-> ours --------------------------------------------------------------
    def load_original(self, state: dict, aggregator: dict | None = None) -> None:
        """Load ssv2a.pth's {'manifold_state', 'generator_state', 'remixer_state'} (+ agg.pth) strictly."""
        self.manifold.load_state_dict(_rename_prefix(dict(state["manifold_state"]), "manifold", True))
        if not self.generator.linear_inverse:
            self.generator.encoder.load_state_dict(_rename_prefix(dict(state["generator_state"]), "generator", True))
        styler = {k[len("styler."):]: v for k, v in state["remixer_state"].items() if k.startswith("styler.")}
        self.remixer.load_state_dict(styler)
        if self.aggregator is not None:
            self.aggregator.load_state_dict(aggregator)

    def original_state(self) -> tuple[dict, dict | None]:
        """The inverse of load_original: (ssv2a.pth state, agg.pth state or None)."""
        manifold = _rename_prefix(self.manifold.state_dict(), "manifold", False)
        generator = None if self.generator.linear_inverse else _rename_prefix(
            self.generator.encoder.state_dict(), "generator", False)
        remixer = {f"styler.{k}": v for k, v in self.remixer.state_dict().items()}
        state = {"timestamp": "v2a", "manifold_state": manifold, "generator_state": generator,
                 "remixer_state": remixer}
        return state, (self.aggregator.state_dict() if self.aggregator is not None else None)

