import pytest

from fgp.encoders import list_encoders
from fgp.pretrain import list_pretexts
from fgp.registry import Registry
from fgp.spaces import list_spaces


def test_register_list_create_and_errors():
    reg = Registry("widget")

    @reg.register("b-one")
    class One:
        def __init__(self, x=1):
            self.x = x

    @reg.register("a-two")
    class Two:
        pass

    assert reg.names() == ["a-two", "b-one"] and reg.names("b*") == ["b-one"]
    assert reg.create("b-one", x=5).x == 5 and One.name == "b-one"
    with pytest.raises(ValueError, match=r"unknown widget 'c'; choose one of \['a-two', 'b-one'\]"):
        reg.create("c")
    with pytest.raises(ValueError, match="already registered"):
        reg.register("a-two")(Two)


def test_the_package_registries():
    assert list_spaces() == ["nb101", "nb201", "nb301", "nbgraph", "tnb101_macro"]
    assert {"gatedgcn", "gin", "flowerformer"} <= set(list_encoders())
    assert {"fgp", "zc"} <= set(list_pretexts())
