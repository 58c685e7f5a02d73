"""Recipes: every registered space carries its own facts, and every (space, encoder) recipe builds what it names."""

import dataclasses

import pytest

from fgp.encoders import create_encoder, list_encoders
from fgp.finetune import FinetuneConfig
from fgp.pretrain import create_pretext, list_pretexts
from fgp.proxies import list_proxies
from fgp.recipes import RECIPES, Recipe, default_proxy, recipe
from fgp.spaces import get_space, list_spaces, space_class
from fgp.spaces.base import SPACES


@pytest.mark.parametrize("space", list_spaces())
def test_every_registered_space_exposes_a_complete_recipe(space):
    cls = space_class(space)
    assert cls.vocab and cls.vocab[:2] == ("input", "output")
    if cls.surrogate is not None:
        k, std = cls.surrogate
        assert isinstance(k, int) and k > 0 and std > 0
    if cls.datasets:  # a space with benchmark data names a default dataset and a default label for each
        assert cls.default_dataset in cls.datasets
        assert all(isinstance(labels, tuple) for labels in cls.datasets.values())
    else:
        assert cls.default_dataset is None
    assert cls.protocol_dataset in (None, *cls.datasets)
    SPACES.check_kwargs(space, dict(cls.graph_options))  # its representation is one its constructor takes
    get_space(space, **cls.graph_options)
    for encoder in list_encoders():
        r = recipe(space, encoder)
        enc = create_encoder(encoder, len(cls.vocab), **r.encoder)
        assert enc.out_dim > 0
        FinetuneConfig.from_kwargs({**r.finetune, **r.finetune_pretrained})
        for pretext in list_pretexts():
            create_pretext(pretext, **r.pretrain, **(r.fgp if pretext == "fgp" else {}))
        proxy, network = default_proxy(space, encoder)
        assert proxy in list_proxies() and isinstance(network, dict)


def test_recipe_table_names_only_registered_spaces_encoders_and_finetune_fields():
    fields = {f.name for f in dataclasses.fields(FinetuneConfig)}
    for (space, encoder), r in RECIPES.items():
        assert space in list_spaces() and encoder in (None, *list_encoders())
        assert set(r.finetune) | set(r.finetune_pretrained) <= fields


def test_the_space_entry_is_merged_under_the_encoder_entry(monkeypatch):
    monkeypatch.setitem(RECIPES, ("nbgraph", None), Recipe(pretrain={"epochs": 7, "lr": 1.0}, proxy="flops"))
    monkeypatch.setitem(RECIPES, ("nbgraph", "gin"), Recipe(pretrain={"epochs": 3}))
    r = recipe("nbgraph", "gin")
    assert r.pretrain == {"epochs": 3, "lr": 1.0} and r.proxy == "flops"
    assert default_proxy("nbgraph", "gin") == ("flops", {})
    assert default_proxy("nbgraph", "gatedgcn") == ("flops", {})
    assert recipe("nb201", "gatedgcn").encoder == {"undirected": True}
    assert recipe("nb201", "gatedgcn").fgp == {"standardize": False}  # the space's entry
    assert default_proxy("nb201", "gatedgcn") == ("snip", {})  # the space's default proxy
    assert default_proxy("nb101", "flowerformer") == ("grad_norm", {"stem_channels": 16})
    with pytest.raises(ValueError, match="unknown encoder 'nope'"):
        recipe("nb201", "nope")
    with pytest.raises(ValueError, match="unknown search space 'nb999'"):
        recipe("nb999", "gin")
