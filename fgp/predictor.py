"""A scikit-learn-style performance predictor: ``Predictor.for_space("nb201").fit(archs, y).rank(candidates)``.

``fit`` pre-trains the encoder (FGP by default; labels unused) on the labelled architectures plus an unlabelled
set (by default the whole space where it is enumerable, a sample otherwise), then fine-tunes encoder + score head
with the pairwise hinge loss. Architectures are given in the space's native form (NB201 arch strings, NB101
``(adjacency, ops)``, NAS-Bench-Graph ``(links, ops)``, DARTS genotypes), as :class:`ArchGraph` objects or as one
:class:`GraphBatch`. Scores are only meaningful as a ranking.

Saved files (``save``/``load``) are ``torch.save`` archives of tensors and JSON strings only, read back with
``torch.load(weights_only=True)``, so loading one cannot run code. They hold the weights, every constructor
parameter, the graph representation the model was trained on, the surrogate draws and the op vocabulary.
"""

from __future__ import annotations

import dataclasses
import hashlib
import inspect
import json
import os
import pickle
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

import fgp
from fgp.batch import GraphBatch, join_unseen
from fgp.encoders import create_encoder, list_encoders
from fgp.encoders.registry import ENCODERS
from fgp.finetune import FinetuneConfig, ScoreEnsemble, ScoreModel, finetune, predict_scores
from fgp.graph import ArchGraph
from fgp.io import check_output, check_weights, content_digest, write_atomic
from fgp.metrics import kendall_tau
from fgp.pretrain import create_pretext, list_pretexts
from fgp.validation import per_graph_values, positive_int, torch_device

FORMAT = "fgp-predictor"
FORMAT_VERSION = 3
UNLABELED = ("space", "train")  # what pre-training sees by default beside the labelled architectures
MAX_ENSEMBLE = 100  # bounds what a predictor file can make load() build

# The decoded unlabelled sets (and their proxy values) of the last few fits: refitting as labels arrive (a search,
# a user adding trained models) decodes and scores the same 15,625-30,000 architectures only once.
_UNLABELED_SETS: OrderedDict[str, tuple[GraphBatch, np.ndarray | None]] = OrderedDict()
_UNLABELED_SETS_KEPT = 2


@dataclasses.dataclass(frozen=True)
class Settings:
    """A predictor's parameters checked and resolved: what ``fit`` builds from (``Predictor._settings``)."""

    space: Any = None  # the SearchSpace object in the predictor's graph representation, or None
    representation: str | None = None  # e.g. "nb201(pruned=True)" (fgp.spaces.representation)
    graph_options: dict = dataclasses.field(default_factory=dict)
    pretext: Any = None  # the pretext task object, or None without pre-training
    finetune: FinetuneConfig = dataclasses.field(default_factory=FinetuneConfig)
    encoder_kwargs: dict = dataclasses.field(default_factory=dict)
    proxy: str | None = None  # what L_aux ranks


class NotFittedError(ValueError, AttributeError):
    """The predictor was used before ``fit`` (or ``load``)."""


def infer_space(vocab: Sequence[str]) -> str | None:
    """The registered search space whose op vocabulary is ``vocab`` (None when no or several spaces match): the
    surrogate constants of graphs given without a space."""
    from fgp.spaces import list_spaces, space_class

    matches = [name for name in list_spaces() if tuple(space_class(name).vocab) == tuple(vocab)]
    return matches[0] if len(matches) == 1 else None


class Predictor:
    """Architecture-performance predictor: an encoder, optional pre-training, and a ranking-trained score head.

    Parameters (stored as given; ``fit`` validates them, as scikit-learn estimators do)
    ----------
    encoder: registered encoder name (``fgp.encoders.list_encoders()``).
    pretrain: registered pretext task (``fgp.pretrain.list_pretexts()``: ``"fgp"``, ``"zc"``, ...) or None for
        supervised-only.
    space: search-space name (``fgp.spaces.list_spaces()``), or the import path ``"package.module:Class"`` of your
        own space (:class:`fgp.spaces.ModelSpace`). Needed for native architectures, for the unlabelled
        set and proxies computed inside ``fit``, and for the surrogate constants.
    space_options: the graph representation (options of the space, e.g. ``{"pruned": False}`` on NB201); None: the
        space's ``graph_options``, the representation its recipe was measured on.
    dataset: the benchmark dataset whose networks computed proxies are scored on (None: the space's default).
    proxy: what FGP's ``L_aux`` ranks: a zero-cost proxy name (``fgp.proxies.list_proxies()``) computed inside
        ``fit`` (the package ships NB201's and NB101's default ones); None: the space's ``default_proxy``.
    proxy_network: options of the networks the proxy is scored on (e.g. ``{"stem_channels": 16}`` on NB101).
    unlabeled: what pre-training sees when ``fit`` gets no ``unlabeled`` architectures: ``"space"`` (every
        architecture of an enumerable space, else ``unlabeled_size`` sampled ones) or ``"train"`` (the labelled
        ones only).
    unlabeled_size: how many architectures to sample for ``unlabeled="space"`` where the space is not enumerable.
    encoder_kwargs / pretrain_kwargs / finetune_kwargs: options of the encoder, the pretext task
        (:class:`fgp.pretrain.FGPPretext`) and fine-tuning (:class:`fgp.finetune.FinetuneConfig`).
    head_hidden: width of the score head's hidden layer (None: the encoder's ``out_dim``; 0: a linear head).
    ensemble: score models fine-tuned from the one pre-trained encoder (seeds ``seed``, ``seed + 1``, ...);
        predictions are their mean.
    seed: seeds the encoder and head initialisation, pre-training and fine-tuning (same seed, same numbers on CPU);
        ``pretrain_kwargs["seed"]`` sets pre-training's own.
    device: ``"cpu"``, ``"cuda"``, ... ; None picks CUDA when available.
    cache: reuse / store pre-trained weights in the disk cache (``$FGP_CACHE``).

    Model selection: with ``val_archs``/``val_y`` the epoch with the best validation Kendall tau is kept; without
    them the last epoch is kept (no training labels are held out).
    """

    def __init__(
        self,
        encoder: str = "gatedgcn",
        pretrain: str | None = "fgp",
        *,
        space: str | None = None,
        space_options: dict | None = None,
        dataset: str | None = None,
        proxy: str | None = None,
        proxy_network: dict | None = None,
        unlabeled: str = "space",
        unlabeled_size: int = 10_000,
        encoder_kwargs: dict | None = None,
        pretrain_kwargs: dict | None = None,
        finetune_kwargs: dict | None = None,
        head_hidden: int | None = None,
        ensemble: int = 1,
        seed: int = 0,
        device: str | torch.device | None = None,
        cache: bool = True,
    ):
        self.encoder = encoder
        self.pretrain = pretrain
        self.space = space
        self.space_options = space_options
        self.dataset = dataset
        self.proxy = proxy
        self.proxy_network = proxy_network
        self.unlabeled = unlabeled
        self.unlabeled_size = unlabeled_size
        self.encoder_kwargs = encoder_kwargs
        self.pretrain_kwargs = pretrain_kwargs
        self.finetune_kwargs = finetune_kwargs
        self.head_hidden = head_hidden
        self.ensemble = ensemble
        self.seed = seed
        self.device = device
        self.cache = cache

    @classmethod
    def for_space(cls, space: str, encoder: str = "gatedgcn", pretrain: str | None = "fgp",
                  **params: Any) -> Predictor:
        """A predictor with the settings measured for ``encoder`` on ``space`` (:mod:`fgp.recipes`: the space's
        graph representation, proxy and FGP options, the encoder's options and fine-tuning there, pre-training
        seed 0): what ``fgp experiment`` runs. ``encoder_kwargs`` / ``pretrain_kwargs`` / ``finetune_kwargs`` in
        ``params`` go over the recipe's; every other parameter passes through."""
        from fgp.recipes import default_proxy, recipe

        r = recipe(space, encoder)
        pretrain_kwargs = {**r.pretrain, **(r.fgp if pretrain == "fgp" else {}), "seed": 0,
                           **(params.pop("pretrain_kwargs", None) or {})}
        finetune_kwargs = {**r.finetune, **(r.finetune_pretrained if pretrain else {}),
                           **(params.pop("finetune_kwargs", None) or {})}
        encoder_kwargs = {**r.encoder, **(params.pop("encoder_kwargs", None) or {})}
        proxy, network = default_proxy(space, encoder)
        params.setdefault("proxy", proxy)
        params.setdefault("proxy_network", network if params["proxy"] == proxy else {})
        return cls(encoder, pretrain, space=space, encoder_kwargs=encoder_kwargs,
                   pretrain_kwargs=pretrain_kwargs if pretrain else {}, finetune_kwargs=finetune_kwargs, **params)

    # scikit-learn's parameter protocol ----------------------------------------------------------------------

    @classmethod
    def _param_names(cls) -> list[str]:
        return [p for p in inspect.signature(cls.__init__).parameters if p != "self"]

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Every constructor parameter as given (``Predictor(**p.get_params())`` builds the same predictor)."""
        return {name: getattr(self, name) for name in self._param_names()}

    def set_params(self, **params: Any) -> Predictor:
        unknown = sorted(set(params) - set(self._param_names()))
        if unknown:
            raise ValueError(f"unknown parameter(s) {unknown} of Predictor; known: {self._param_names()}")
        for name, value in params.items():
            setattr(self, name, value)
        return self

    # validation ---------------------------------------------------------------------------------------------

    def _settings(self) -> Settings:
        """The parameters checked and resolved (defaults filled in); ``ValueError`` names the first bad one. Called
        before any work, so a typo never surfaces after minutes of pre-training."""
        from fgp.spaces import get_space, representation, space_class

        if self.encoder not in list_encoders():
            raise ValueError(f"unknown encoder {self.encoder!r}; choose one of {list_encoders()}")
        if self.pretrain is not None and self.pretrain not in list_pretexts():
            raise ValueError(f"unknown pre-training {self.pretrain!r}; choose None or one of {list_pretexts()}")
        if self.space is not None:
            space_class(self.space)  # a registered name or an importable "module:Class", else ValueError
        if self.unlabeled not in UNLABELED:
            raise ValueError(f"unlabeled must be one of {UNLABELED}, got {self.unlabeled!r}")
        positive_int(self.unlabeled_size, "unlabeled_size")
        positive_int(self.ensemble, "ensemble")
        if self.ensemble > MAX_ENSEMBLE:
            raise ValueError(f"ensemble must be at most {MAX_ENSEMBLE} score models, got {self.ensemble}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer)) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        if self.head_hidden is not None and (isinstance(self.head_hidden, bool) or not isinstance(
                self.head_hidden, (int, np.integer)) or self.head_hidden < 0):
            raise ValueError(f"head_hidden must be an integer >= 0 (0: a linear head) or None, got "
                             f"{self.head_hidden!r}")
        for name in ("space_options", "proxy_network", "encoder_kwargs", "pretrain_kwargs", "finetune_kwargs"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, dict):
                raise ValueError(f"{name} must be a dict or None, got {type(value).__name__}")
        torch_device(self.device)
        encoder_kwargs = dict(self.encoder_kwargs or {})
        ENCODERS.check_kwargs(self.encoder, encoder_kwargs)
        if "num_attrs" in encoder_kwargs:
            raise ValueError("encoder_kwargs cannot set num_attrs: the graphs' node attributes set it, as their "
                             "vocabulary sets num_ops")
        finetune_config = FinetuneConfig.from_kwargs(self.finetune_kwargs)
        pretrain_kwargs = dict(self.pretrain_kwargs or {})
        pretext = self._pretext(pretrain_kwargs) if self.pretrain is not None else None
        space = graphs = None
        options: dict = {}
        if self.space is not None:
            options = (space_class(self.space).graph_options if self.space_options is None
                       else dict(self.space_options))
            space = get_space(self.space, **options)
            graphs = representation(self.space, options)
            if self.dataset is not None and self.dataset not in space_class(self.space).datasets:
                raise ValueError(f"unknown dataset {self.dataset!r} of {self.space}; choose one of "
                                 f"{list(space_class(self.space).datasets)}")
            if pretext is not None and getattr(pretext, "uses_surrogate", False):
                pretext.surrogate_constants(self.space)  # a space without surrogate constants fails now
        elif self.space_options:
            raise ValueError("space_options choose the graphs of a space: set space as well")
        proxy = self.proxy
        if proxy is None and self.space is not None:
            proxy = space_class(self.space).default_proxy
        if proxy is not None and not isinstance(proxy, str):
            raise ValueError(f"proxy must be a proxy name (or comma-separated names), got {proxy!r}")
        return Settings(space=space, representation=graphs, graph_options=options, pretext=pretext,
                        finetune=finetune_config, encoder_kwargs=encoder_kwargs, proxy=proxy)

    def resolved_config(self) -> dict[str, Any]:
        """Every option that determines what ``fit`` computes (seed, device and cache aside), defaults included:
        what experiments record with each result and hash into its config id."""
        settings = self._settings()
        pretext = settings.pretext
        ranks = pretext is not None and getattr(pretext, "ranks_proxy", True)
        encoder_kwargs = ENCODERS.resolved_kwargs(self.encoder, settings.encoder_kwargs)
        encoder_kwargs.pop("num_attrs", None)  # set by the graphs (as num_ops is), not an option
        return {
            "encoder_kwargs": encoder_kwargs,
            "pretrain_kwargs": pretext.config() if pretext is not None else {},
            "finetune_kwargs": dataclasses.asdict(settings.finetune),
            "space_options": settings.graph_options,
            "proxy": settings.proxy if ranks else None,
            "proxy_network": dict(self.proxy_network or {}) if ranks else None,
            "head_hidden": self.head_hidden,
            "ensemble": self.ensemble,
        }

    def _pretext(self, pretrain_kwargs: dict):
        try:
            return create_pretext(self.pretrain, **{"seed": int(self.seed), **pretrain_kwargs})
        except TypeError as exc:
            raise ValueError(f"bad pretrain_kwargs for {self.pretrain!r}: {exc}") from None

    # architectures in, graphs out ---------------------------------------------------------------------------

    def _graphs(self, archs: Any, settings: Settings, what: str) -> tuple[GraphBatch, list | None]:
        """``archs`` as one batch in the predictor's representation, and the native architectures when given
        (what proxies are computed from)."""
        if isinstance(archs, GraphBatch):
            batch, natives = archs, None
        else:
            if isinstance(archs, (str, bytes, ArchGraph)) or not isinstance(archs, (Sequence, np.ndarray)):
                raise ValueError(f"{what} must be a sequence of architectures (or a GraphBatch), got "
                                 f"{type(archs).__name__}")
            archs = list(archs)
            if not archs:
                raise ValueError(f"{what} is empty")
            if all(isinstance(a, ArchGraph) for a in archs):
                batch, natives = GraphBatch.from_graphs(archs, archs[0].vocab), None
            elif any(isinstance(a, ArchGraph) for a in archs):
                raise ValueError(f"{what} mixes ArchGraph objects with native architectures")
            else:
                batch, natives = self._decode(archs, settings, what), archs
        if batch.num_graphs == 0:
            raise ValueError(f"{what} is empty")
        expected = settings.representation
        if expected is not None and batch.representation not in (None, expected):
            raise ValueError(f"{what} are {batch.representation} graphs, but this predictor uses {expected} graphs; "
                             f"build them with the same space options, or pass native architectures")
        if settings.space is not None and tuple(batch.vocab) != tuple(settings.space.vocab):
            raise ValueError(f"{what} use the op vocabulary {list(batch.vocab)}, not {self.space}'s "
                             f"{list(settings.space.vocab)}")
        return batch, natives

    def _decode(self, archs: list, settings: Settings, what: str) -> GraphBatch:
        space = settings.space
        if space is None:
            raise ValueError(f"{what} are native architectures: set the predictor's space to decode them "
                             "(e.g. Predictor.for_space('nb201')), or pass ArchGraph objects")
        graphs = []
        for i, arch in enumerate(archs):
            try:
                graphs.append(space.decode(arch))
            except (ValueError, TypeError, KeyError, IndexError) as exc:
                raise ValueError(f"{what}[{i}] is not a {self.space} architecture: {exc}") from None
        return GraphBatch.from_graphs(graphs, space.vocab).with_representation(settings.representation)

    def _unlabeled_natives(self, settings: Settings) -> list:
        """The default unlabelled set: every architecture of an enumerable space, else a sample seeded like
        pre-training (so predictors that differ only in ``seed`` share one pre-training)."""
        space = settings.space
        if space is None:
            raise ValueError("pre-training on the space needs the predictor's space; pass unlabeled= "
                             "architectures, or unlabeled='train'")
        try:
            return list(space.enumerate())
        except NotImplementedError:
            rng = np.random.default_rng(int(getattr(settings.pretext, "seed", self.seed)))
            return [space.sample(rng) for _ in range(int(self.unlabeled_size))]

    def _proxy_values(self, natives: list | None, settings: Settings, what: str, progress: bool) -> np.ndarray:
        if natives is None:
            raise ValueError(f"L_aux ranks a zero-cost proxy of every architecture: pass {what}= values, or native "
                             "architectures for the predictor to compute it")
        from fgp.proxies import compute_proxies
        from fgp.spaces import ModelSpace, space_class

        names = [n.strip() for n in settings.proxy.split(",")]
        if isinstance(settings.space, ModelSpace):  # your own space: the proxies of its built networks
            values = settings.space.proxies(natives, names)
        else:
            dataset = self.dataset
            if dataset is None and self.space is not None:
                dataset = space_class(self.space).default_dataset
            values = compute_proxies(self.space, natives, names, dataset=dataset, progress=progress,
                                     network=dict(self.proxy_network or {}) or None)
        return values[names[0]] if len(names) == 1 else np.column_stack([values[n] for n in names])

    # fitting ------------------------------------------------------------------------------------------------

    def fit(
        self,
        archs: Any,
        y,
        *,
        unlabeled: Any = None,
        val_archs: Any = None,
        val_y=None,
        proxy_values=None,
        unlabeled_proxy_values=None,
        progress: Callable[[str, int, dict], None] | bool | None = None,
    ) -> Predictor:
        """Pre-train (when ``pretrain`` is set) and fine-tune on ``(archs, y)``.

        Pre-training sees ``unlabeled`` (default: the ``unlabeled`` parameter's set) followed by the labelled
        architectures not already among it (exact duplicates skipped, so every split of one space shares one
        pre-training set and cache entry). ``L_aux``'s proxy is computed from native architectures unless
        ``proxy_values`` / ``unlabeled_proxy_values`` give it (one value, or a row of several, per architecture).
        ``progress``: True for progress bars, or ``progress(stage, epoch, record)`` called after every epoch
        (stage ``"pretrain"`` or ``"finetune"``).
        """
        settings = self._settings()
        batch, natives = self._graphs(archs, settings, "archs")
        y = per_graph_values(y, batch.num_graphs, "y")
        if batch.num_graphs < 2:
            raise ValueError("fit needs at least 2 labelled architectures (the loss ranks pairs)")
        if np.all(y == y[0]):
            raise ValueError("y is constant: no pair of architectures can be ranked, so the score head would not learn")
        if (val_archs is None) != (val_y is None):
            raise ValueError("pass both val_archs and val_y, or neither")
        val_batch = val_y_arr = None
        if val_archs is not None:
            val_batch, _ = self._graphs(val_archs, settings, "val_archs")
            val_y_arr = per_graph_values(val_y, val_batch.num_graphs, "val_y")
            # model selection by validation Kendall tau: with one value or constant ones it is 0 (or undefined) at
            # every epoch, and the nearly untrained epoch 1 would be kept
            if val_batch.num_graphs < 2:
                raise ValueError("val_y has 1 value: validation Kendall tau needs at least 2 architectures")
            if np.all(val_y_arr == val_y_arr[0]):
                raise ValueError("val_y is constant: validation Kendall tau would be 0 at every epoch; pass varied "
                                 "val_y, or no validation set")
        pretext = settings.pretext
        self._check_unused(pretext, unlabeled, proxy_values, unlabeled_proxy_values)
        on_epoch, bars = _progress(progress, {
            "pretrain": None if pretext is None else pretext.epochs,
            "finetune": settings.finetune.epochs * int(self.ensemble)})
        device = torch_device(self.device)
        seeds = [int(self.seed) + i for i in range(int(self.ensemble))]
        members = [self._build(batch.num_ops, batch.num_attrs, settings, s) for s in seeds]
        for m in members:
            m.to(device)
        self.info_: dict[str, Any] = {"fgp_version": fgp.__version__}
        self.draws_ = None
        try:
            if pretext is not None:
                pre_batch, pre_proxy = self._pretrain_set(batch, natives, unlabeled, proxy_values,
                                                          unlabeled_proxy_values, pretext, settings, bars is not None)
                cb = (lambda e, r: on_epoch("pretrain", e, r)) if on_epoch else None
                result = pretext.run(members[0].encoder, pre_batch, proxy=pre_proxy, device=device, progress=cb,
                                     space=self.space or infer_space(batch.vocab), cache=bool(self.cache))
                if bars is not None:
                    bars.close("pretrain", "cached" if result.cached else None)
                for m in members[1:]:
                    m.encoder.load_state_dict(members[0].encoder.state_dict())
                self.draws_ = result.meta.get("draws")
                self.info_["pretrain"] = {"graphs": pre_batch.num_graphs, "seconds": result.seconds,
                                          "cached": result.cached, "key": result.key,
                                          "final": result.history[-1] if result.history else None}
            cb = (lambda e, r: on_epoch("finetune", e, r)) if on_epoch else None
            runs = [finetune(m, batch, y, val_batch, val_y_arr, settings.finetune, seed=s, device=device,
                             progress=cb) for m, s in zip(members, seeds)]
        finally:
            if bars is not None:
                bars.close()
        self.model_ = (members[0] if len(members) == 1 else ScoreEnsemble(members)).eval()
        best_val_tau = runs[0].best_val_tau
        if len(members) > 1 and val_batch is not None:
            best_val_tau = kendall_tau(predict_scores(self.model_, val_batch).double().numpy(), val_y_arr)
        self.info_["finetune"] = {
            "best_epoch": runs[0].best_epoch if len(runs) == 1 else [r.best_epoch for r in runs],
            "best_val_tau": best_val_tau,  # of the ensemble's mean score
            "seconds": sum(r.seconds for r in runs),
            "train_graphs": batch.num_graphs,
        }
        self.vocab_ = tuple(batch.vocab)
        self.num_attrs_ = batch.num_attrs
        self.representation_ = settings.representation or batch.representation
        self.graph_options_ = settings.graph_options
        return self

    def _build_model(self, num_ops: int, num_attrs: int, settings: Settings) -> ScoreModel | ScoreEnsemble:
        """The fitted predictor's model: one score model, or an ensemble of ``ensemble`` of them."""
        members = [self._build(num_ops, num_attrs, settings, int(self.seed) + i) for i in range(int(self.ensemble))]
        return members[0] if len(members) == 1 else ScoreEnsemble(members)

    def _build(self, num_ops: int, num_attrs: int, settings: Settings, seed: int) -> ScoreModel:
        """One score model: encoder initialised from the pre-training seed (so one pre-training serves runs with
        other seeds), or from its own seed without pre-training; score head from its own seed."""
        pretext = settings.pretext
        encoder_seed = pretext.seed if pretext is not None else seed
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(encoder_seed)
            try:
                attrs = {"num_attrs": num_attrs} if num_attrs else {}  # graphs with node attributes (traced models)
                enc = create_encoder(self.encoder, num_ops, **attrs, **settings.encoder_kwargs)
            except TypeError as exc:
                raise ValueError(f"bad encoder_kwargs for {self.encoder!r}: {exc}") from None
            torch.manual_seed(seed)
            return ScoreModel(enc, self.head_hidden)

    @staticmethod
    def _check_unused(pretext, unlabeled, proxy_values, unlabeled_proxy_values) -> None:
        """Reject arguments that only pre-training (or only its ``L_aux``) would use, rather than ignore them."""
        given = [name for name, value in (("unlabeled", unlabeled), ("proxy_values", proxy_values),
                                          ("unlabeled_proxy_values", unlabeled_proxy_values)) if value is not None]
        if pretext is None and given:
            raise ValueError(f"{', '.join(given)} would be unused: only pre-training uses them, and pretrain=None")
        given = [name for name in given if name != "unlabeled"]
        if pretext is not None and given and not getattr(pretext, "ranks_proxy", True):
            raise ValueError(f"{', '.join(given)} would be unused: {pretext.name} pre-training with these "
                             "pretrain_kwargs ranks no zero-cost proxy")
        if unlabeled_proxy_values is not None and unlabeled is None:
            raise ValueError("unlabeled_proxy_values was given without unlabeled architectures")
        if unlabeled is not None and (proxy_values is None) != (unlabeled_proxy_values is None):
            raise ValueError("pass a proxy (proxy_values and unlabeled_proxy_values) for both sets of graphs, or for "
                             "neither")

    def _pretrain_set(self, batch, natives, unlabeled, proxy_values, unlabeled_proxy_values, pretext, settings,
                      show_progress):
        """The pre-training graphs (the unlabelled set, then the labelled graphs not in it) and their proxy."""
        ranks = getattr(pretext, "ranks_proxy", True)
        if proxy_values is not None:
            proxy_values = per_graph_values(proxy_values, batch.num_graphs, "proxy_values", columns=True)
        elif ranks:
            proxy_values = self._proxy_values(natives, settings, "proxy_values", show_progress)
        if unlabeled is None and self.unlabeled == "train":
            return batch, proxy_values
        if unlabeled is None:
            unlabeled = self._unlabeled_natives(settings)
        if unlabeled_proxy_values is not None:
            unl, _ = self._graphs(unlabeled, settings, "unlabeled")
            unlabeled_proxy_values = per_graph_values(unlabeled_proxy_values, unl.num_graphs, "unlabeled_proxy_values",
                                                      columns=True)
        else:
            unl, unlabeled_proxy_values = self._unlabeled_set(unlabeled, settings, ranks, show_progress)
        return join_unseen(unl, unlabeled_proxy_values, batch, proxy_values,
                           what="proxy (proxy_values and unlabeled_proxy_values)")

    def _unlabeled_set(self, unlabeled: Any, settings: Settings, ranks: bool, show_progress: bool):
        """The unlabelled architectures as a batch, with their proxy where ``L_aux`` ranks one; native ones are
        decoded and scored once for the last few sets (:data:`_UNLABELED_SETS`)."""
        key = None
        if isinstance(unlabeled, (list, tuple)) and settings.space is not None:
            try:
                natives = pickle.dumps(list(unlabeled), protocol=4)
            except (pickle.PicklingError, TypeError, AttributeError):
                natives = None
            if natives is not None:
                key = json.dumps([self.space, settings.graph_options, settings.representation, self.dataset,
                                  settings.proxy if ranks else None, self.proxy_network if ranks else None,
                                  hashlib.sha256(natives).hexdigest()], sort_keys=True, default=str)
        if key is not None and key in _UNLABELED_SETS:
            _UNLABELED_SETS.move_to_end(key)
            return _UNLABELED_SETS[key]
        unl, unl_natives = self._graphs(unlabeled, settings, "unlabeled")
        values = self._proxy_values(unl_natives, settings, "unlabeled_proxy_values", show_progress) if ranks else None
        if key is not None:
            _UNLABELED_SETS[key] = (unl, values)
            while len(_UNLABELED_SETS) > _UNLABELED_SETS_KEPT:
                _UNLABELED_SETS.popitem(last=False)
        return unl, values

    # predicting ---------------------------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if getattr(self, "model_", None) is None:
            raise NotFittedError("this Predictor is not fitted yet: call fit(archs, y) or Predictor.load(path)")

    def _fitted_graphs(self, archs: Any, what: str = "archs") -> GraphBatch:
        self._check_fitted()
        space = None
        if self.space is not None and not isinstance(archs, GraphBatch):
            from fgp.spaces import get_space

            space = get_space(self.space, **self.graph_options_)
        batch, _ = self._graphs(archs, Settings(space=space, representation=self.representation_), what)
        if tuple(batch.vocab) != self.vocab_:
            raise ValueError(f"{what} use the op vocabulary {list(batch.vocab)} but the predictor was built for "
                             f"{list(self.vocab_)}")
        if batch.num_attrs != self.num_attrs_:
            raise ValueError(f"{what} have {batch.num_attrs} node attributes but the predictor was built for "
                             f"{self.num_attrs_}")
        return batch

    def predict(self, archs: Any, batch_size: int = 4096) -> np.ndarray:
        """Predicted scores (higher = better), one per architecture; only their order is meaningful."""
        batch = self._fitted_graphs(archs)
        return predict_scores(self.model_, batch, batch_size).double().numpy()

    def rank(self, archs: Any, top: int | None = None) -> list[tuple[int, float]]:
        """``(position in archs, score)`` of the best ``top`` architectures (all when None), best first; ties keep
        the order of ``archs``."""
        if top is not None:
            positive_int(top, "top")
        scores = self.predict(archs)
        order = np.argsort(-scores, kind="stable")[:top]
        return [(int(i), float(scores[i])) for i in order]

    # files --------------------------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted predictor to ``path`` (a torch archive of tensors and JSON strings, no pickled code)."""
        self._check_fitted()
        params = {k: v for k, v in self.get_params().items() if k != "device"}
        texts = {
            "params": json.dumps(params),
            "representation": json.dumps([self.representation_, self.graph_options_]),
            "info": json.dumps(self.info_),
            "vocab": json.dumps(list(self.vocab_)),
            "draws": json.dumps(self.draws_),
        }
        if self.num_attrs_:  # graphs with node attributes; files of graphs without stay as they were
            texts["num_attrs"] = json.dumps(self.num_attrs_)
        state = {k: v.detach().cpu().clone() for k, v in self.model_.state_dict().items()}
        payload = {"format": FORMAT, "format_version": FORMAT_VERSION, **texts, "state_dict": state,
                   "checksum": content_digest(texts, state)}
        write_atomic(check_output(path, force=True), lambda fh: torch.save(payload, fh))

    @classmethod
    def load(cls, path: str | os.PathLike, device: str | torch.device | None = None) -> Predictor:
        """Read a predictor written by :meth:`save`; anything else (corrupt, truncated, another format or
        version) raises ``ValueError`` naming the file; a bad ``device`` raises ``ValueError`` naming it."""
        torch_device(device)
        path = Path(path)
        if not path.is_file():
            raise ValueError(f"no predictor file at {path}")
        try:
            payload = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001  truncated zip, garbage bytes, forbidden pickle globals, ...
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise ValueError(f"{path} is not a readable fgp predictor file ({type(exc).__name__}: {reason})") from None
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ValueError(f"{path} is not an fgp predictor file")
        version = payload.get("format_version")
        if version != FORMAT_VERSION:
            raise ValueError(f"{path} has predictor format version {version!r}; this fgp ({fgp.__version__}) reads "
                             f"version {FORMAT_VERSION}")
        try:
            texts = {k: payload[k] for k in ("params", "representation", "info", "vocab", "draws")}
            if "num_attrs" in payload:  # written for graphs with node attributes only
                texts["num_attrs"] = payload["num_attrs"]
            state = payload["state_dict"]
            if not isinstance(state, dict) or not all(isinstance(t, str) for t in texts.values()):
                raise ValueError("its parts are not what fgp writes")
            if payload.get("checksum") != content_digest(texts, state):
                raise ValueError("its checksum does not match its content (the file was changed after it was "
                                 "written)")
            check_weights(state)
            params = json.loads(payload["params"])
            pred = cls(**params, device=device)
            settings = pred._settings()
            vocab = tuple(json.loads(payload["vocab"]))
            num_attrs = int(json.loads(texts.get("num_attrs", "0")))
            with torch.device("meta"):  # the architecture the parameters describe, without allocating it
                meta = pred._build_model(len(vocab), num_attrs, settings)
                shapes = {k: tuple(v.shape) for k, v in meta.state_dict().items()}
            found = {k: tuple(v.shape) for k, v in state.items()}
            if shapes != found:
                wrong = sorted(set(shapes) ^ set(found)) or sorted(k for k in shapes if shapes[k] != found[k])
                raise ValueError(f"its weights do not fit its parameters ({', '.join(wrong[:3])})")
            model = pred._build_model(len(vocab), num_attrs, settings)
            model.load_state_dict(state, strict=True)
            representation, graph_options = json.loads(payload["representation"])
            if settings.representation not in (None, representation):
                raise ValueError(f"its graphs are {representation}, its parameters say {settings.representation}")
            pred.info_ = json.loads(payload["info"])
            pred.draws_ = json.loads(payload["draws"])
        except (KeyError, TypeError, ValueError, RuntimeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path} is a damaged or mismatched fgp predictor file: {exc}") from None
        pred.model_ = model.to(torch_device(device)).eval()
        pred.vocab_ = vocab
        pred.num_attrs_ = num_attrs
        pred.representation_ = representation
        pred.graph_options_ = graph_options
        return pred

    def __repr__(self) -> str:
        fitted = "fitted" if getattr(self, "model_", None) is not None else "not fitted"
        space = f", space={self.space!r}" if self.space is not None else ""
        return f"Predictor(encoder={self.encoder!r}, pretrain={self.pretrain!r}{space}, seed={self.seed}) [{fitted}]"


def _progress(progress, totals: dict[str, int | None]) -> tuple[Callable | None, Any]:
    """``(on_epoch callback, bars or None)`` for ``fit``'s ``progress`` argument."""
    if progress is True:
        from fgp.progress import StageBars

        bars = StageBars(totals)
        return bars.update, bars
    if progress in (None, False):
        return None, None
    if not callable(progress):
        raise ValueError(f"progress must be True, False, None or a callable, got {type(progress).__name__}")
    return progress, None
