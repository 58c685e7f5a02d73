"""TransNAS-Bench-101 macro space: a network skeleton of 4-6 residual modules (3,256 architectures).

An architecture is ``64-<skeleton>-basic`` with one digit per module: 1 keeps the shape, 2 doubles the channels,
3 halves the resolution, 4 does both. The skeleton must halve the resolution 1-4 times and double the channels
1-3 times (which gives exactly the benchmark's 3,256 skeletons). As a graph it is the chain
``input -> module_1 -> ... -> module_L -> output`` whose node types are the four module kinds.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np

from fgp.graph import INPUT, OUTPUT, ArchGraph
from fgp.spaces.base import SearchSpace, register_space

#: module kinds in digit order (digit d is MODULES[d - 1])
MODULES: tuple[str, ...] = ("keep", "double_channels", "halve_resolution", "double_channels_halve_resolution")
VOCAB: tuple[str, ...] = (INPUT, OUTPUT) + MODULES
LENGTHS = (4, 5, 6)
RESOLUTION_HALVINGS = (1, 4)  # inclusive range
CHANNEL_DOUBLINGS = (1, 3)


def _code_digits(native: Any) -> str:
    """The skeleton of an integer code. NASLib pads skeletons shorter than 6 modules with zeros at the end, so
    only trailing zeros are padding; a zero inside, a float (which would be truncated) or a bool is an error."""
    if not isinstance(native, (Sequence, np.ndarray)) or isinstance(native, (bytes, bytearray)) or np.ndim(native) != 1:
        raise ValueError(
            "a TransNAS macro architecture is '64-<skeleton>-basic', a digit string or a sequence of module digits "
            f"1-4 (zero-padded at the end), got {native!r}"
        )
    digits = list(native)
    for d in digits:
        if isinstance(d, (bool, np.bool_)) or not isinstance(d, (int, np.integer)):
            raise ValueError(f"TransNAS macro code {native!r}: module digits must be integers, got {d!r}")
    digits = [int(d) for d in digits]
    while digits and digits[-1] == 0:
        digits.pop()
    if any(not 1 <= d <= 4 for d in digits):
        raise ValueError(
            f"TransNAS macro code {native!r}: module digits must be 1-4, with zeros only as padding at the end"
        )
    return "".join(map(str, digits))


def parse_skeleton(native: Any) -> str:
    """The skeleton digits of ``64-<skeleton>-basic``, a bare digit string, or NASLib's zero-padded 6-int code."""
    if isinstance(native, str):
        parts = native.split("-")
        if len(parts) == 3:
            if parts[0] != "64" or parts[2] != "basic":
                raise ValueError(f"malformed TransNAS macro string {native!r}: expected '64-<skeleton>-basic'")
            skeleton = parts[1]
        elif len(parts) == 1:
            skeleton = native
        else:
            raise ValueError(f"malformed TransNAS macro string {native!r}: expected '64-<skeleton>-basic'")
    else:
        skeleton = _code_digits(native)
    if not skeleton or set(skeleton) - set("1234"):
        raise ValueError(f"skeleton {skeleton!r} must consist of the module digits 1-4")
    if len(skeleton) not in LENGTHS:
        raise ValueError(f"skeleton {skeleton!r} has {len(skeleton)} modules; the space has 4-6")
    halvings = sum(c in "34" for c in skeleton)
    doublings = sum(c in "24" for c in skeleton)
    if not RESOLUTION_HALVINGS[0] <= halvings <= RESOLUTION_HALVINGS[1]:
        raise ValueError(f"skeleton {skeleton!r} halves the resolution {halvings} times; the space allows 1-4")
    if not CHANNEL_DOUBLINGS[0] <= doublings <= CHANNEL_DOUBLINGS[1]:
        raise ValueError(f"skeleton {skeleton!r} doubles the channels {doublings} times; the space allows 1-3")
    return skeleton


def arch_str(skeleton: str) -> str:
    return f"64-{skeleton}-basic"


@register_space("tnb101_macro")
class TNB101MacroSpace(SearchSpace):
    vocab = VOCAB
    # class_scene / class_object exist for 662 of the 725 macro architectures, so a complete task is the default
    datasets = {"naslib-zc": ("jigsaw", "class_scene", "class_object", "room_layout", "segmentsemantic", "normal",
                              "autoencoder")}
    default_dataset = "naslib-zc"

    def load_table(self, dataset: str):
        from fgp.tables import transnas_table

        return transnas_table(self, dataset, "transnas-bench-101/tnb101_macro_naslib_zc_subset.jsonl.gz", "arch_str")

    def decode(self, native: Any) -> ArchGraph:
        skeleton = parse_skeleton(native)
        ops = [INPUT] + [MODULES[int(d) - 1] for d in skeleton] + [OUTPUT]
        return ArchGraph(ops, [(v, v + 1) for v in range(len(ops) - 1)], VOCAB)

    def encode(self, graph: ArchGraph) -> str:
        order = np.argsort(graph.generations, kind="stable")
        chain = len(graph.edges) == graph.num_nodes - 1 and graph.generations.max() == graph.num_nodes
        if graph.vocab != VOCAB or not chain:
            raise ValueError(f"not a TransNAS macro chain graph: {graph!r}")
        digits = "".join(str(MODULES.index(graph.ops[v]) + 1) for v in order[1:-1])
        return arch_str(parse_skeleton(digits))

    def enumerate(self) -> Iterator[str]:
        """All 3,256 architectures, shortest skeletons first, then in digit order."""
        for length in LENGTHS:
            for digits in itertools.product("1234", repeat=length):
                try:
                    yield arch_str(parse_skeleton("".join(digits)))
                except ValueError:
                    continue

    def sample(self, rng: np.random.Generator) -> str:
        """A uniformly random architecture of the space."""
        while True:
            length = int(rng.choice(LENGTHS, p=np.array([256, 1024, 4096]) / 5376))
            digits = "".join(str(d) for d in rng.integers(1, 5, size=length))
            try:
                return arch_str(parse_skeleton(digits))
            except ValueError:
                continue

    def mutate(self, native: Any, rng: np.random.Generator) -> str:
        """One module changed to another kind (redrawn until the skeleton stays legal)."""
        skeleton = parse_skeleton(native)
        while True:
            pos = int(rng.integers(len(skeleton)))
            new = str((int(skeleton[pos]) - 1 + int(rng.integers(1, 4))) % 4 + 1)
            try:
                return arch_str(parse_skeleton(skeleton[:pos] + new + skeleton[pos + 1 :]))
            except ValueError:
                continue
