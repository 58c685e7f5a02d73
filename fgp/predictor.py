"""A scikit-learn-like performance predictor: ``Predictor(...).fit(graphs, y).predict(graphs)``.

``fit`` optionally pre-trains the encoder (FGP by default) on the labelled plus any unlabelled graphs, then
fine-tunes encoder + score head with the pairwise hinge loss. Scores are only meaningful as a ranking.

Saved files (``save``/``load``) are ``torch.save`` archives of tensors and JSON strings only, read back with
``torch.load(weights_only=True)``, so loading one cannot run code. They hold the weights, the full configuration,
the surrogate draws (r, P, W, alpha) and the op vocabulary.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

import fgp
from fgp.batch import GraphBatch
from fgp.encoders import create_encoder, list_encoders
from fgp.encoders.registry import ENCODERS
from fgp.finetune import FinetuneConfig, ScoreEnsemble, ScoreModel, finetune, predict_scores
from fgp.graph import ArchGraph
from fgp.io import check_output, write_atomic
from fgp.metrics import kendall_tau
from fgp.pretrain import create_pretext, list_pretexts
from fgp.validation import one_of, per_graph_values, positive_int, torch_device

FORMAT = "fgp-predictor"
FORMAT_VERSION = 1

GraphsLike = Sequence[ArchGraph] | GraphBatch
ENSEMBLE_PRETRAIN = ("shared", "each")


class NotFittedError(ValueError, AttributeError):
    """The predictor was used before ``fit`` (or ``load``)."""


def _infer_space(vocab: tuple[str, ...]) -> str | None:
    """The registered search space whose op vocabulary is ``vocab`` (None when no or several spaces match)."""
    from fgp.spaces import get_space, list_spaces

    matches = []
    for name in list_spaces():
        try:
            if tuple(get_space(name).vocab) == tuple(vocab):
                matches.append(name)
        except Exception:  # noqa: BLE001  a space that cannot be built here simply does not match
            continue
    return matches[0] if len(matches) == 1 else None


def as_batch(graphs: GraphsLike, vocab: Sequence[str] | None = None, what: str = "graphs") -> GraphBatch:
    """A :class:`GraphBatch` from ArchGraphs or a batch, checked against ``vocab`` when given."""
    if isinstance(graphs, GraphBatch):
        batch = graphs
    else:
        graphs = list(graphs)
        if not graphs:
            raise ValueError(f"{what} is empty")
        if not all(isinstance(g, ArchGraph) for g in graphs):
            raise ValueError(f"{what} must be a GraphBatch or a sequence of ArchGraph")
        batch = GraphBatch.from_graphs(graphs, graphs[0].vocab)
    if batch.num_graphs == 0:
        raise ValueError(f"{what} is empty")
    if vocab is not None and tuple(batch.vocab) != tuple(vocab):
        raise ValueError(
            f"{what} use the op vocabulary {list(batch.vocab)} but the predictor was built for {list(vocab)}"
        )
    return batch


def graph_keys(batch: GraphBatch) -> list[bytes]:
    """One exact-identity key per graph (its node and edge counts, ops and wiring in the given numbering), the same
    in any batch."""
    batch = batch.to("cpu")
    nodes = (batch.node_ptr[1:] - batch.node_ptr[:-1]).numpy()
    edges = (batch.edge_ptr[1:] - batch.edge_ptr[:-1]).numpy()
    G = batch.num_graphs
    n_max, e_max = int(nodes.max()), int(max(edges.max(), 1))
    ops = np.full((G, n_max), -1, dtype=np.int64)
    node_graph = batch.batch.numpy()
    local = np.arange(batch.num_nodes) - batch.node_ptr[:-1].numpy()[node_graph]
    ops[node_graph, local] = batch.op_index.numpy()
    wires = np.full((G, 2, e_max), -1, dtype=np.int64)
    edge_graph = np.repeat(np.arange(G), edges)
    e_local = np.arange(edge_graph.size) - batch.edge_ptr[:-1].numpy()[edge_graph]
    ei = batch.edge_index.numpy() - batch.node_ptr[:-1].numpy()[edge_graph]
    wires[edge_graph, 0, e_local] = ei[0]
    wires[edge_graph, 1, e_local] = ei[1]
    rows = np.concatenate([nodes[:, None], edges[:, None], ops, wires.reshape(G, -1)], axis=1)
    # without the padding (-1; real entries are >= 0), so a key does not depend on the batch's largest graph
    return [r[r >= 0].tobytes() for r in rows]


def unseen_ids(first: GraphBatch, second: GraphBatch) -> np.ndarray:
    """Indices of the graphs of ``second`` that are not in ``first`` (exact duplicates, :func:`graph_keys`)."""
    have = set(graph_keys(first))
    return np.flatnonzero([k not in have for k in graph_keys(second)])


def join_unseen(first: GraphBatch, first_values, second: GraphBatch, second_values, what: str = "values"):
    """``first`` followed by the graphs of ``second`` that are not already in it (exact duplicates skipped), with
    their per-graph values (e.g. a proxy; ``None`` on both sides for none). ``first`` itself when nothing is new."""
    if (first_values is None) != (second_values is None):  # also when nothing is new: never drop given values
        raise ValueError(f"pass a {what} for both sets of graphs, or for neither")
    ids = unseen_ids(first, second)
    if ids.size == 0:
        return first, first_values
    joined_values = None if first_values is None else np.concatenate([first_values, second_values[ids]])
    return first.concat(second.subset(ids)), joined_values


class Predictor:
    """Architecture-performance predictor: an encoder, optional pre-training, and a ranking-trained score head.

    Parameters
    ----------
    encoder: registered encoder name (``fgp.encoders.list_encoders()``).
    pretrain: registered pretext task (``"fgp"``, ``"zc"``) or None for supervised-only.
    encoder_kwargs / pretrain_kwargs / finetune_kwargs: options of the encoder, the pretext task
        (:class:`fgp.pretrain.FGPPretext`) and fine-tuning (:class:`fgp.finetune.FinetuneConfig`).
    head_hidden: width of the score head's hidden layer (default: the encoder's ``out_dim``; 0: a linear head).
    seed: seeds the encoder and head initialisation, pre-training and fine-tuning (same seed, same numbers on CPU).
    device: ``"cpu"``, ``"cuda"``, ... ; None picks CUDA when available. Checked here: not a torch device, or CUDA
        on a machine without it, raises ``ValueError``.
    space: search-space name for the surrogate defaults; None infers it from the op vocabulary.
    cache: reuse / store pre-trained weights in the disk cache (``$FGP_CACHE``).
    head_init: ``"random"`` (default) or ``"proxy"``: start the score head from the pre-trained proxy head (it
        already ranks by the zero-cost proxy; needs ``l2 > 0`` and a head as wide as the proxy head).
    ensemble: number of score models fine-tuned (seeds ``seed``, ``seed + 1``, ...); predictions are their mean.
        1 (default) is a single model.
    ensemble_pretrain: ``"shared"`` (default): every member starts from the one pre-trained encoder;
        ``"each"``: member ``i`` is pre-trained on its own, with the pretext seed plus ``i`` (same surrogate
        draws), so the members differ in pre-training too (more diverse, ``ensemble`` times the pre-training).

    Model selection: with ``val_graphs``/``val_y`` the epoch with the best validation Kendall tau is kept;
    without them the last epoch is kept (no training labels are held out).
    """

    def __init__(
        self,
        encoder: str = "gatedgcn",
        pretrain: str | None = "fgp",
        encoder_kwargs: dict | None = None,
        pretrain_kwargs: dict | None = None,
        finetune_kwargs: dict | None = None,
        head_hidden: int | None = None,
        seed: int = 0,
        device: str | torch.device | None = None,
        space: str | None = None,
        cache: bool = True,
        head_init: str = "random",
        ensemble: int = 1,
        ensemble_pretrain: str = "shared",
    ):
        if encoder not in list_encoders():
            raise ValueError(f"unknown encoder {encoder!r}; choose one of {list_encoders()}")
        if pretrain is not None and pretrain not in list_pretexts():
            raise ValueError(f"unknown pretraining {pretrain!r}; choose None or one of {list_pretexts()}")
        self.encoder = encoder
        self.pretrain = pretrain
        self.encoder_kwargs = dict(encoder_kwargs or {})
        self.pretrain_kwargs = dict(pretrain_kwargs or {})
        self.finetune_kwargs = dict(finetune_kwargs or {})
        self.head_hidden = head_hidden
        self.seed = int(seed)
        torch_device(device)  # a typo or a missing GPU fails here, not after pre-training
        self.device = device
        self.space = space
        self.cache = bool(cache)
        self._finetune_config = FinetuneConfig.from_kwargs(self.finetune_kwargs)
        if head_init not in ("random", "proxy"):
            raise ValueError(f"head_init must be 'random' or 'proxy', got {head_init!r}")
        if self._finetune_config.pretext_weight > 0 and pretrain is None:
            raise ValueError("finetune pretext_weight > 0 keeps the pre-training loss: it needs pretrain='fgp' or 'zc'")
        if head_init == "proxy" and pretrain is None:
            raise ValueError("head_init='proxy' needs pre-training with a proxy head (pretrain='fgp' or 'zc')")
        self.head_init = head_init
        self.ensemble = positive_int(ensemble, "ensemble")
        self.ensemble_pretrain = one_of(ensemble_pretrain, ENSEMBLE_PRETRAIN, "ensemble_pretrain")
        # validate options early (a typo must not surface after minutes of pre-training)
        ENCODERS.check_kwargs(encoder, self.encoder_kwargs)
        if pretrain is not None:
            pretext = self._make_pretext()
            if head_init == "proxy":
                width = getattr(pretext, "proxy_hidden", None)
                if not getattr(pretext, "ranks_proxy", False) or width is None:
                    raise ValueError("head_init='proxy' needs a pretext task with a proxy head (l2 > 0)")
                if self.head_hidden is None:
                    self.head_hidden = int(width)
                elif self.head_hidden != width:
                    raise ValueError(f"head_init='proxy' needs head_hidden == the proxy head's width {width}")
        self.model_: ScoreModel | ScoreEnsemble | None = None
        self.vocab_: tuple[str, ...] | None = None
        self.draws_: dict | None = None
        self.info_: dict[str, Any] = {}

    @classmethod
    def for_space(cls, space: str, encoder: str = "gatedgcn", pretrain: str | None = "fgp", **kwargs: Any) -> Predictor:
        """A predictor with the settings ``fgp experiment`` runs on ``space`` (the ones benchmarks/RESULTS.md
        measured): the encoder's recommended options, the space's FGP options, the fine-tuning of the encoder on
        that space, pre-training seed 0. ``encoder_kwargs`` / ``pretrain_kwargs`` / ``finetune_kwargs`` in
        ``kwargs`` go over them; the other keyword arguments (``seed``, ``device``, ``ensemble``, ...) pass through.

        What ``fit`` needs to match an experiment: the proxy values of :func:`fgp.experiment.default_proxy_values`
        and the space's default graphs (``load_benchmark(space, space_options=DEFAULT_SPACE_OPTIONS.get(space))``,
        NB201's pruned graphs), both from :mod:`fgp.experiment`.
        """
        from fgp.experiment import ExperimentConfig

        grid = ExperimentConfig(
            space=space,
            encoders=(encoder,),
            pretrains=(pretrain,),
            encoder_kwargs={encoder: kwargs.pop("encoder_kwargs", None) or {}},
            pretrain_kwargs=kwargs.pop("pretrain_kwargs", None) or {},
            finetune_kwargs=kwargs.pop("finetune_kwargs", None) or {},
        )
        run = grid.run_config(encoder, pretrain)
        return cls(
            encoder,
            pretrain,
            encoder_kwargs=run["encoder_kwargs"],
            pretrain_kwargs=run["pretrain_kwargs"],
            finetune_kwargs=run["finetune_kwargs"],
            space=space,
            **kwargs,
        )

    # ------------------------------------------------------------------------------------------------------

    def _device(self) -> torch.device:
        return torch_device(self.device)

    def _make_pretext(self, member: int = 0):
        """The pretext task of ensemble member ``member`` (all members share member 0's unless
        ``ensemble_pretrain="each"``)."""
        kwargs = {"seed": self.seed, **self.pretrain_kwargs}
        if self.ensemble_pretrain == "each":
            kwargs["seed"] = int(kwargs["seed"]) + member
        try:
            return create_pretext(self.pretrain, **kwargs)
        except TypeError as exc:
            raise ValueError(f"bad pretrain_kwargs for {self.pretrain!r}: {exc}") from None

    def _member_seeds(self) -> list[int]:
        return [self.seed + i for i in range(self.ensemble)]

    def _build(self, num_ops: int, member: int) -> ScoreModel:
        """Member ``member``'s model: encoder initialised from its pre-training seed (so one pre-training serves
        runs with other seeds), or from its own seed without pre-training; score head from its own seed."""
        seed = self._member_seeds()[member]
        encoder_seed = self._make_pretext(member).seed if self.pretrain is not None else seed
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(encoder_seed)
            try:
                enc = create_encoder(self.encoder, num_ops, **self.encoder_kwargs)
            except TypeError as exc:
                raise ValueError(f"bad encoder_kwargs for {self.encoder!r}: {exc}") from None
            torch.manual_seed(seed)
            return ScoreModel(enc, self.head_hidden)

    def _build_fitted(self, num_ops: int) -> ScoreModel | ScoreEnsemble:
        """The architecture of a fitted predictor (what :meth:`load` fills with saved weights)."""
        members = [self._build(num_ops, i) for i in range(self.ensemble)]
        return members[0] if len(members) == 1 else ScoreEnsemble(members)

    def get_params(self) -> dict[str, Any]:
        return {
            "encoder": self.encoder,
            "pretrain": self.pretrain,
            "encoder_kwargs": self.encoder_kwargs,
            "pretrain_kwargs": self.pretrain_kwargs,
            "finetune_kwargs": self.finetune_kwargs,
            "head_hidden": self.head_hidden,
            "seed": self.seed,
            "space": self.space,
            "head_init": self.head_init,
            "ensemble": self.ensemble,
            "ensemble_pretrain": self.ensemble_pretrain,
        }

    # ------------------------------------------------------------------------------------------------------

    def fit(
        self,
        graphs: GraphsLike,
        y,
        unlabeled_graphs: GraphsLike | None = None,
        proxy=None,
        unlabeled_proxy=None,
        val_graphs: GraphsLike | None = None,
        val_y=None,
        progress=None,
    ) -> Predictor:
        """Pre-train (when ``pretrain`` is set) and fine-tune on ``(graphs, y)``.

        Pre-training sees ``unlabeled_graphs`` followed by those labelled graphs that are not already among them
        (exact duplicates are skipped, so passing the whole space as ``unlabeled_graphs`` gives the same
        pre-training set, and the same cache entry, for every split). ``proxy``/``unlabeled_proxy`` are the
        zero-cost proxy values (e.g. parameter counts) of ``graphs``/``unlabeled_graphs`` for ``L_aux``; with
        ``unlabeled_graphs`` pass both or neither. An argument that would go unused (any of these three without
        pre-training, a proxy with ``l2=0``) raises ``ValueError`` instead of being ignored.
        ``progress(stage, epoch, record)`` is called after every epoch (stage ``"pretrain"`` or ``"finetune"``).
        """
        batch = as_batch(graphs)
        vocab = batch.vocab
        y = per_graph_values(y, batch.num_graphs, "y")
        if batch.num_graphs < 2:
            raise ValueError("fit needs at least 2 labelled architectures (the loss ranks pairs)")
        if np.all(y == y[0]):
            raise ValueError("y is constant: no pair of architectures can be ranked, so the score head would not learn")
        if (val_graphs is None) != (val_y is None):
            raise ValueError("pass both val_graphs and val_y, or neither")
        val_batch = val_y_arr = None
        if val_graphs is not None:
            val_batch = as_batch(val_graphs, vocab, "val_graphs")
            val_y_arr = per_graph_values(val_y, val_batch.num_graphs, "val_y")
            # model selection by validation Kendall tau: with one value or constant ones it is 0 (or undefined) at
            # every epoch, and the nearly untrained epoch 1 would be kept
            if val_batch.num_graphs < 2:
                raise ValueError("val_y has 1 value: validation Kendall tau needs at least 2 architectures")
            if np.all(val_y_arr == val_y_arr[0]):
                raise ValueError("val_y is constant: validation Kendall tau would be 0 at every epoch; pass varied "
                                 "val_y, or no validation set")
        self._check_unused(unlabeled_graphs, proxy, unlabeled_proxy)
        unl = as_batch(unlabeled_graphs, vocab, "unlabeled_graphs") if unlabeled_graphs is not None else None
        if proxy is not None:
            proxy = per_graph_values(proxy, batch.num_graphs, "proxy", columns=True)
        if unlabeled_proxy is not None:
            if unl is None:
                raise ValueError("unlabeled_proxy was given without unlabeled_graphs")
            unlabeled_proxy = per_graph_values(unlabeled_proxy, unl.num_graphs, "unlabeled_proxy", columns=True)
        device = self._device()
        space = self.space or _infer_space(vocab)
        seeds = self._member_seeds()
        members = [self._build(batch.num_ops, i).to(device) for i in range(self.ensemble)]
        self.info_ = {"space": space, "fgp_version": fgp.__version__}
        self.draws_ = None
        objectives: list[Any] = []  # per member, when fine-tuning keeps the pre-training loss

        if self.pretrain is not None:
            pre_batch, pre_proxy = self._pretrain_set(batch, proxy, unl, unlabeled_proxy)
            cb = (lambda e, r: progress("pretrain", e, r)) if progress else None
            done: dict[int, tuple[dict, Any]] = {}  # pretext seed -> (pre-trained encoder state, result)
            kept = self._finetune_config.pretext_weight > 0
            for i, member in enumerate(members):
                pretext = self._make_pretext(i)
                if pretext.seed in done:  # a pre-training shared with an earlier member
                    member.encoder.load_state_dict(done[pretext.seed][0])
                    result = done[pretext.seed][1]
                else:
                    result = pretext.run(member.encoder, pre_batch, proxy=pre_proxy, space=space, device=device,
                                         progress=cb, cache=self.cache)
                    done[pretext.seed] = (member.encoder.state_dict(), result)
                if self.head_init == "proxy":
                    proxy_head = result.head_states["proxy"]
                    if proxy_head["2.weight"].shape[0] != 1:
                        raise ValueError("head_init='proxy' needs L_aux on a single proxy, not a table of several")
                    member.head.load_state_dict(proxy_head)
                if kept:  # the pre-training loss, with this member's own copy of its heads
                    objectives.append(pretext.objective(member.encoder, pre_batch, pre_proxy, result, device))
            results = [r for _, r in done.values()]
            self.draws_ = results[0].meta.get("draws")
            self.info_["pretrain"] = {
                "graphs": pre_batch.num_graphs,
                "seconds": sum(r.seconds for r in results),
                "cached": all(r.cached for r in results),
                "key": results[0].key if len(results) == 1 else [r.key for r in results],
                "final": results[0].history[-1] if results[0].history else None,
                "config": self._make_pretext().config(),
            }
        cb = (lambda e, r: progress("finetune", e, r)) if progress else None
        runs = [finetune(m, batch, y, val_batch, val_y_arr, self._finetune_config, seed=s, device=device, progress=cb,
                         pretext=objectives[i] if objectives else None)
                for i, (m, s) in enumerate(zip(members, seeds))]
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
        if len(runs) > 1:
            self.info_["finetune"]["member_val_tau"] = [r.best_val_tau for r in runs]
        self.vocab_ = tuple(vocab)
        return self

    def _check_unused(self, unlabeled_graphs, proxy, unlabeled_proxy) -> None:
        """Reject arguments that only pre-training (or only its ``L_aux``) would use, rather than ignore them."""
        given = [name for name, value in (("unlabeled_graphs", unlabeled_graphs), ("proxy", proxy),
                                          ("unlabeled_proxy", unlabeled_proxy)) if value is not None]
        if self.pretrain is None and given:
            raise ValueError(f"{', '.join(given)} would be unused: only pre-training uses them, and pretrain=None")
        given = [name for name in given if name != "unlabeled_graphs"]
        if self.pretrain is not None and given and not getattr(self._make_pretext(), "ranks_proxy", True):
            raise ValueError(f"{', '.join(given)} would be unused: only L_aux ranks the proxy, and pretrain_kwargs "
                             "l2=0 leaves it out")

    @staticmethod
    def _pretrain_set(batch, proxy, unl, unl_proxy):
        if unl is None:
            return batch, proxy
        return join_unseen(unl, unl_proxy, batch, proxy, what="proxy (proxy and unlabeled_proxy)")

    # ------------------------------------------------------------------------------------------------------

    def _check_fitted(self) -> None:
        if self.model_ is None or self.vocab_ is None:
            raise NotFittedError("this Predictor is not fitted yet: call fit(graphs, y) or Predictor.load(path)")

    def predict(self, graphs: GraphsLike, batch_size: int = 4096) -> np.ndarray:
        """Predicted scores (higher = better), one per graph; only their order is meaningful."""
        self._check_fitted()
        batch = as_batch(graphs, self.vocab_)
        return predict_scores(self.model_, batch, batch_size).double().numpy()

    # ------------------------------------------------------------------------------------------------------

    def save(self, path: str | os.PathLike) -> None:
        """Write the fitted predictor to ``path`` (a torch archive of tensors and JSON strings, no pickled code)."""
        self._check_fitted()
        config = {**self.get_params(), "info": self.info_, "fgp_version": fgp.__version__}
        payload = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "config": json.dumps(config),
            "vocab": json.dumps(list(self.vocab_)),
            "draws": json.dumps(self.draws_),
            "state_dict": {k: v.detach().cpu().clone() for k, v in self.model_.state_dict().items()},
        }
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
            raise ValueError(f"{path} is not a readable fgp predictor file ({type(exc).__name__}: {exc})") from None
        if not isinstance(payload, dict) or payload.get("format") != FORMAT:
            raise ValueError(f"{path} is not an fgp predictor file")
        version = payload.get("format_version")
        if version != FORMAT_VERSION:
            raise ValueError(
                f"{path} has predictor format version {version!r}; this fgp ({fgp.__version__}) reads version "
                f"{FORMAT_VERSION}"
            )
        try:
            config = json.loads(payload["config"])
            vocab = tuple(json.loads(payload["vocab"]))
            draws = json.loads(payload["draws"])
            state = payload["state_dict"]
            pred = cls(
                encoder=config["encoder"],
                pretrain=config["pretrain"],
                encoder_kwargs=config["encoder_kwargs"],
                pretrain_kwargs=config["pretrain_kwargs"],
                finetune_kwargs=config["finetune_kwargs"],
                head_hidden=config["head_hidden"],
                seed=config["seed"],
                device=device,
                space=config["space"],
                head_init=config.get("head_init", "random"),
                ensemble=config.get("ensemble", 1),
                ensemble_pretrain=config.get("ensemble_pretrain", "shared"),
            )
            model = pred._build_fitted(len(vocab))
            model.load_state_dict(state, strict=True)
        except (KeyError, TypeError, ValueError, RuntimeError, json.JSONDecodeError) as exc:
            raise ValueError(f"{path} is a damaged or mismatched fgp predictor file: {exc}") from None
        pred.model_ = model.to(pred._device()).eval()
        pred.vocab_ = vocab
        pred.draws_ = draws
        pred.info_ = config.get("info", {})
        return pred

    def __repr__(self) -> str:
        fitted = "fitted" if self.model_ is not None else "not fitted"
        return f"Predictor(encoder={self.encoder!r}, pretrain={self.pretrain!r}, seed={self.seed}) [{fitted}]"
