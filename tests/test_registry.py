import numpy as np
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


def test_options_are_checked_by_name_and_kind_before_construction():
    reg = Registry("widget")

    @reg.register("base")
    class Base:
        def __init__(self, width: int = 8, rate: float = 0.5, flag: bool = False, extra=None, cap: float | None = 1.0,
                     limit: int | None = None, label: str | None = None):
            self.width, self.rate, self.flag, self.extra, self.cap = width, rate, flag, extra, cap
            self.limit, self.label = limit, label

    @reg.register("child")
    class Child(Base):  # takes its parent's options through **options
        def __init__(self, depth: int = 2, **options):
            super().__init__(**options)

    @reg.register("plain")
    class Plain:
        pass

    made = reg.create("child", depth=3, width=4, rate=1, flag=True, extra="anything", cap=None, limit=5, label="n")
    assert (made.width, made.rate, made.flag, made.extra, made.cap) == (4, 1, True, "anything", None)  # int: a number
    assert (made.limit, made.label) == (5, "n")
    assert reg.create("child", flag=np.True_, width=np.int64(3)).flag  # numpy's bool and integers pass as such
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['wdth'\] of widget 'child'; known: cap, depth, "
                                         r"extra, flag, label, limit, rate, width"):
        reg.create("child", wdth=4)
    with pytest.raises(ValueError, match=r"unknown option\(s\) \['x'\] of widget 'plain'; known: none"):
        reg.create("plain", x=1)
    for key, value, kind in [("width", "abc", "an integer"), ("width", 3.5, "an integer"),
                             ("width", True, "an integer"),
                             ("rate", "0.1", "a number"), ("flag", 1, "true or false"), ("depth", None, "an integer"),
                             ("rate", None, "a number"),  # None only where the annotation allows it
                             ("limit", "abc", "an integer"), ("limit", 2.5, "an integer")]:  # default None: annotation
        with pytest.raises(ValueError, match=f"option '{key}' of widget 'child' takes {kind}, got {value!r}"):
            reg.create("child", **{key: value})
