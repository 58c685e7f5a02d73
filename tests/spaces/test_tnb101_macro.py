import numpy as np
import pytest

from fgp.datasets import load_benchmark
from fgp.spaces import get_space


@pytest.fixture(scope="module")
def space():
    return get_space("tnb101_macro")


def test_enumerate_gives_the_benchmark_count(space):
    archs = list(space.enumerate())
    assert len(archs) == len(set(archs)) == 3_256


def test_decode_is_a_chain_and_round_trips(space):
    g = space.decode("64-41414-basic")
    assert g.ops == ("input", "double_channels_halve_resolution", "keep", "double_channels_halve_resolution",
                     "keep", "double_channels_halve_resolution", "output")
    assert g.edges == tuple((v, v + 1) for v in range(6))
    assert space.encode(g) == "64-41414-basic"
    assert space.encode(g.relabel([6, 0, 1, 2, 3, 4, 5])) == "64-41414-basic"
    assert space.decode([4, 1, 4, 1, 4, 0]) == g  # NASLib's zero-padded code


@pytest.mark.parametrize(
    "text, message",
    [
        ("64-1111-basic", "halves the resolution 0 times"),
        ("64-333-basic", "has 3 modules"),
        ("64-1151-basic", "digits 1-4"),
        ("64-42424-basic", "doubles the channels 5 times"),
        ("32-1234-basic", "malformed"),
    ],
)
def test_malformed_architectures(space, text, message):
    with pytest.raises(ValueError, match=message):
        space.decode(text)


def test_integer_codes_drop_only_trailing_padding(space):
    g = space.decode("64-1234-basic")
    for code in ([1, 2, 3, 4], [1, 2, 3, 4, 0, 0], (1, 2, 3, 4, 0), np.array([1, 2, 3, 4, 0, 0]),
                 [np.int64(1), 2, 3, 4, 0, 0]):
        assert space.decode(code) == g
    assert space.encode(space.decode([1, 2, 3, 4, 1, 2])) == "64-123412-basic"


@pytest.mark.parametrize(
    "native, message",
    [
        ([1, 0, 2, 3, 4, 1], "TransNAS macro code [1, 0, 2, 3, 4, 1]: module digits must be 1-4, with zeros only as "
                             "padding at the end"),
        ([1, 2, 5, 4], "TransNAS macro code [1, 2, 5, 4]: module digits must be 1-4, with zeros only as padding at "
                       "the end"),
        ([1, -2, 3, 4], "TransNAS macro code [1, -2, 3, 4]: module digits must be 1-4, with zeros only as padding "
                        "at the end"),
        ([1.7, 2, 3, 4], "TransNAS macro code [1.7, 2, 3, 4]: module digits must be integers, got 1.7"),
        ([True, 2, 3, 4], "TransNAS macro code [True, 2, 3, 4]: module digits must be integers, got True"),
        (["a", 2, 3, 4], "TransNAS macro code ['a', 2, 3, 4]: module digits must be integers, got 'a'"),
        (1234, "a TransNAS macro architecture is '64-<skeleton>-basic', a digit string or a sequence of module "
               "digits 1-4 (zero-padded at the end), got 1234"),
        (None, "a TransNAS macro architecture is '64-<skeleton>-basic', a digit string or a sequence of module "
               "digits 1-4 (zero-padded at the end), got None"),
        (b"\x01\x02\x03\x04", "a TransNAS macro architecture is '64-<skeleton>-basic', a digit string or a "
                                "sequence of module digits 1-4 (zero-padded at the end), got b'\\x01\\x02\\x03\\x04'"),
        ([0, 0, 0, 0], "skeleton '' must consist of the module digits 1-4"),
    ],
)
def test_bad_integer_codes_name_the_problem(space, native, message):
    with pytest.raises(ValueError) as exc:
        space.decode(native)
    assert str(exc.value) == message


def test_sample_and_mutate_are_seeded_and_legal(space):
    legal = set(space.enumerate())
    a = [space.sample(np.random.default_rng(3)) for _ in range(3)]
    assert a == [space.sample(np.random.default_rng(3)) for _ in range(3)] and set(a) <= legal
    m = space.mutate("64-41414-basic", np.random.default_rng(0))
    assert m in legal and sum(x != y for x, y in zip(m, "64-41414-basic")) == 1


@pytest.mark.data
def test_benchmark_subset(space):
    b = load_benchmark("tnb101_macro")
    assert len(b) == 725 and b.label == "jigsaw" and np.isfinite(b.y).all()
    with pytest.raises(ValueError, match="63 of 725"):
        load_benchmark("tnb101_macro", label="class_scene")
    assert len(load_benchmark("tnb101_macro", label="class_scene", drop_missing=True)) == 662
