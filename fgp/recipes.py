"""Measured training settings per (search space, encoder): the one place both ``fgp experiment`` and
``Predictor.for_space`` read them from.

A space's own facts (surrogate constants, datasets and labels, graph representation, default proxy) live on its
class in :mod:`fgp.spaces`; what depends on the encoder too lives here, as :class:`Recipe` entries. Every entry says
why, with the validation Kendall tau at 1% labels over the protocol's 9 runs that chose it (the history is in
``benchmarks/archive/RESULTS-v0.1.md``). Adding a space or an encoder means adding its class and, if its settings
differ from the shared defaults (METHOD.md's), one entry here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

from fgp.spaces import space_class


@dataclass(frozen=True)
class Recipe:
    """Options over the library's plain defaults for one (space, encoder); empty fields keep those defaults.

    ``pretrain`` applies to every pretext task, ``fgp`` to FGP's only (ZC-only pre-training has no surrogate to
    scale); ``finetune_pretrained`` adds to ``finetune`` when the encoder is pre-trained. ``proxy`` is what FGP's
    ``L_aux`` ranks (None: the space's ``default_proxy``), scored on networks built with ``proxy_network``.
    """

    encoder: dict[str, Any] = field(default_factory=dict)
    pretrain: dict[str, Any] = field(default_factory=dict)
    fgp: dict[str, Any] = field(default_factory=dict)
    finetune: dict[str, Any] = field(default_factory=dict)
    finetune_pretrained: dict[str, Any] = field(default_factory=dict)
    proxy: str | None = None
    proxy_network: dict[str, Any] = field(default_factory=dict)

    def merged(self, other: Recipe) -> Recipe:
        """``self`` with ``other``'s options over it (``other``'s proxy, where it names one, wins)."""
        values = {f.name: {**getattr(self, f.name), **getattr(other, f.name)} for f in fields(self)
                  if f.name not in ("proxy", "proxy_network")}
        if other.proxy is not None:
            return Recipe(**values, proxy=other.proxy, proxy_network=dict(other.proxy_network))
        return Recipe(**values, proxy=self.proxy, proxy_network={**self.proxy_network, **other.proxy_network})


def _flowerformer(space: str, **changes: dict[str, Any]) -> Recipe:
    """The FlowerFormer authors' configuration file for ``space`` (``cfgs/<space>/FLOWERFormer.yaml``): model size
    and their fine-tuning optimiser (AdamW, cosine schedule with linear warm-up, gradient clipping at norm 1,
    pairwise hinge loss with ``margin`` over at most ``max_compare_ratio * batch_size`` pairs where they limit it).
    The NB101 file writes its weight decay as ``3.0-05`` (a YAML string); 3e-5 is clearly meant."""
    ref = {
        "nb101": dict(dim=64, num_layers=9, num_heads=8, attn_dropout=0.5, lr=8e-4, weight_decay=3e-5, epochs=300,
                      warmup_epochs=30, batch_size=16, margin=0.5, max_compare_ratio=8),
        "nb201": dict(dim=64, num_layers=9, num_heads=8, attn_dropout=0.5, lr=8e-4, weight_decay=6e-5, epochs=600,
                      warmup_epochs=30, batch_size=32, margin=0.5, max_compare_ratio=None),
        "nb301": dict(dim=256, num_layers=8, num_heads=8, attn_dropout=0.3, lr=3e-3, weight_decay=2e-5, epochs=500,
                      warmup_epochs=50, batch_size=64, margin=0.1, max_compare_ratio=8),
        "nbgraph": dict(dim=256, num_layers=4, num_heads=8, attn_dropout=0.4, lr=7e-3, weight_decay=4.5e-10,
                        epochs=200, warmup_epochs=50, batch_size=1024, margin=0.01, max_compare_ratio=2),
    }[space]
    ratio = ref["max_compare_ratio"]
    return Recipe(
        encoder={k: ref[k] for k in ("dim", "num_layers", "num_heads", "attn_dropout")},
        finetune={
            **{k: ref[k] for k in ("lr", "weight_decay", "epochs", "warmup_epochs", "batch_size", "margin")},
            "schedule": "cosine",
            "max_pairs": None if ratio is None else int(ratio * ref["batch_size"]),
        },
    ).merged(Recipe(**changes))


# Keyed by (space, encoder); (space, None) holds what every encoder on that space uses.
RECIPES: dict[tuple[str, str | None], Recipe] = {
    # NB201: L_rec reconstructs the raw flow surrogate, as in the paper (on the 8-node graphs it varies by only
    # 0.003-0.05 per dimension, so L_rec stays a small term beside L_aux): ResGatedGCN 83.2 vs 80.3 z-scored, GIN
    # 79.6 vs 79.6; on the pruned graphs 85.0 vs 84.5. Elsewhere the z-scored target (NB101's raw one, values up to
    # ~80, validates at 70.9 against 73.9).
    ("nb201", None): Recipe(fgp={"standardize": False}),
    # ResGatedGCN: messages in both edge directions on NB201 and NB101 (NB201: 79.3 vs 74.5 supervised, 79.6 vs
    # 77.2 with FGP; NB101: 77.0 vs 72.9 supervised, 76.4 vs 76.1 with FGP), not on NAS-Bench-Graph (cora /
    # citeseer 46.5 / 53.4 vs 48.9 / 53.6 supervised). On NB101 the FGP authors' width 256 (supervised 76.6 vs
    # 76.7, ZC-only 76.6 vs 74.4, FGP 79.1 vs 77.8), pre-trained for 50 epochs, not 200 (FGP 80.0 vs 79.1, ZC-only
    # 78.4 vs 76.6), and L_aux on snip scored on 16-channel-stem networks (77.9 vs 76.4 with the parameter count;
    # grad_norm 76.3, nwot 76.2, synflow 74.6).
    ("nb201", "gatedgcn"): Recipe(encoder={"undirected": True}),
    ("nb101", "gatedgcn"): Recipe(encoder={"undirected": True, "hidden": 256}, pretrain={"epochs": 50},
                                  proxy="snip", proxy_network={"stem_channels": 16}),
    # GIN on NB101: directed messages (69.1 vs 68.6 supervised, 74.2 vs 67.4 with FGP), the score head trained
    # alone for the first 100 fine-tuning epochs (supervised / ZC-only / FGP 74.8 / 73.9 / 74.9 vs 73.6 / 73.6 /
    # 74.3 end to end) and L_aux on snip of 16-channel stems (78.2 vs 74.9 with the parameter count). Both
    # directions and end to end elsewhere (on NB201's pruned graphs end to end: 79.5 / 83.9 / 83.5 vs 80.6 / 81.8 /
    # 81.7 head first).
    ("nb101", "gin"): Recipe(encoder={"undirected": False}, finetune={"freeze_encoder_epochs": 100},
                             proxy="snip", proxy_network={"stem_channels": 16}),
    # FlowerFormer: its authors' settings. On NB201 a pre-trained encoder trains its new score head alone for the
    # first 100 fine-tuning epochs (FGP 82.8 vs 81.9, ZC-only 80.4 vs 78.6; supervised 81.3 vs 81.9, so only when
    # pre-trained), is pre-trained in batches of 1024 as the FGP authors' code does (FGP 84.0 vs 82.8) and L_aux
    # ranks grad_norm. On NB101 it is pre-trained for 20 epochs (FGP 73.8 vs 70.8 with 200) at lr 1e-4 (77.6 vs
    # 75.6 at 1e-3), L_aux on grad_norm of 16-channel stems (75.6 vs 74.5 with the parameter count; snip 75.0);
    # on NAS-Bench-Graph for 5 epochs at lr 1e-4 (FGP 58.4 vs 50.5 at 1e-3 on cora, 62.3 vs 56.3 on citeseer).
    ("nb201", "flowerformer"): _flowerformer("nb201", finetune_pretrained={"freeze_encoder_epochs": 100},
                                             pretrain={"batch_size": 1024}, proxy="grad_norm"),
    ("nb101", "flowerformer"): _flowerformer("nb101", pretrain={"epochs": 20, "lr": 1e-4}, proxy="grad_norm",
                                             proxy_network={"stem_channels": 16}),
    ("nbgraph", "flowerformer"): _flowerformer("nbgraph", pretrain={"epochs": 5, "lr": 1e-4}),
    ("nb301", "flowerformer"): _flowerformer("nb301"),
}


def recipe(space: str, encoder: str) -> Recipe:
    """The recipe of ``encoder`` on ``space``: the space's entry, then the (space, encoder) one over it (both
    empty where the shared defaults hold). Unknown names raise ``ValueError``."""
    from fgp.encoders import ENCODERS

    space_class(space)
    ENCODERS.get(encoder)
    return RECIPES.get((space, None), Recipe()).merged(RECIPES.get((space, encoder), Recipe()))


def default_proxy(space: str, encoder: str) -> tuple[str, dict[str, Any]]:
    """``(proxy, network options)`` that ``encoder``'s ``L_aux`` ranks on ``space`` by default."""
    r = recipe(space, encoder)
    return (r.proxy or space_class(space).default_proxy), dict(r.proxy_network)
