import gzip
import json

import numpy as np
import pytest
import torch

from fgp.batch import GraphBatch
from fgp.graph import ArchGraph
from fgp.paths import data_file
from fgp.spaces import get_space
from fgp.spaces.nb101 import VOCAB, NB101Space, graph_hash, load_space_arrays, model_hash, prune_spec, space_batch

C3, C1, MP = "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3"

# first row of nb101_val_30k (its hash is the official NB101 key)
KNOWN_HASH = "00005c142e6f48ac74fdcf73e3439874"
KNOWN_ADJ = [
    [0, 1, 0, 0, 1, 1, 0],
    [0, 0, 1, 0, 0, 0, 0],
    [0, 0, 0, 1, 0, 0, 1],
    [0, 0, 0, 0, 0, 1, 0],
    [0, 0, 0, 0, 0, 1, 0],
    [0, 0, 0, 0, 0, 0, 1],
    [0, 0, 0, 0, 0, 0, 0],
]
KNOWN_OPS = ["input", C3, MP, C3, C3, C1, "output"]


@pytest.fixture(scope="module")
def rows():
    with gzip.open(data_file("nasbench101/nb101_val_30k.jsonl.gz"), "rt") as f:
        return [json.loads(line) for line in f]


@pytest.fixture(scope="module")
def arrays():
    return load_space_arrays()


def test_registered_with_exact_vocab():
    space = get_space("nb101")
    assert isinstance(space, NB101Space)
    assert space.vocab == ("input", "output", "conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")


def test_known_model_hash():
    assert model_hash(KNOWN_ADJ, KNOWN_OPS) == KNOWN_HASH
    assert model_hash(np.array(KNOWN_ADJ, dtype=bool), KNOWN_OPS) == KNOWN_HASH
    g = NB101Space().decode((KNOWN_ADJ, KNOWN_OPS))
    assert graph_hash(g) == KNOWN_HASH
    assert g.edges == ((0, 1), (0, 4), (0, 5), (1, 2), (2, 3), (2, 6), (3, 5), (4, 5), (5, 6))
    assert g.generations.tolist() == [1, 2, 3, 4, 2, 5, 6]
    assert NB101Space().encode(g) == (KNOWN_ADJ, KNOWN_OPS)


def test_pruning_drops_dead_vertices():
    # vertex 2 has no way out, vertex 3 no way in; both go, as in NB101's ModelSpec
    adj = [
        [0, 1, 1, 0, 0],
        [0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0],
        [0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0],
    ]
    ops = ["input", C1, MP, C3, "output"]
    g = NB101Space().decode((adj, ops))
    assert g.ops == ("input", C1, "output")
    assert g.edges == ((0, 1), (1, 2))
    matrix, pruned_ops = prune_spec((adj, ops))
    assert matrix.tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 0]] and pruned_ops == ["input", C1, "output"]
    assert model_hash(adj, ops) == model_hash(matrix, pruned_ops)
    assert NB101Space().encode(g) == (matrix.tolist(), pruned_ops)


def test_dict_rows_decode():
    space = NB101Space()
    assert space.decode({"adjacency": KNOWN_ADJ, "ops": KNOWN_OPS}) == space.decode((KNOWN_ADJ, KNOWN_OPS))


def _full(n):
    return np.triu(np.ones((n, n), dtype=int), 1)


@pytest.mark.parametrize(
    "adj, ops, message",
    [
        (_full(7), ["input", C3, C3, C3, C3, C3, "output"], "21 edges after pruning, at most 9"),
        (_full(6), ["input", C3, C1, MP, C3, "output"], "15 edges after pruning"),
        ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", "conv5x5", "output"], r"unknown NB101 op\(s\) \['conv5x5'\]"),
        ([[0, 1, 0], [0, 0, 1], [1, 0, 0]], ["input", C3, "output"], "strictly upper triangular; it has edge 2->0"),
        ([[0, 1, 0], [0, 1, 1], [0, 0, 0]], ["input", C3, "output"], "strictly upper triangular; it has edge 1->1"),
        ([[0, 1, 0], [0, 0, 0], [0, 0, 0]], ["input", C3, "output"], "output is not reachable"),
        ([[0, 1, 0, 0], [0, 0, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", C3, C1, "output"], "not reachable"),
        ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], [C3, "input", "output"], "must start with 'input'"),
        ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", "output", C3], "end with 'output'"),
        ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", "input", "output"], "unknown NB101 op"),
        ([[0, 1, 1], [0, 0, 1]], ["input", C3, "output"], "square matrix"),
        ([[0, 1, 1], [0, 0, 1], [0, 0, 0]], ["input", "output"], "there are 2 ops"),
        ([[0, 2, 0], [0, 0, 1], [0, 0, 0]], ["input", C3, "output"], "0 or 1"),
        (_full(8), ["input"] + [C3] * 6 + ["output"], "2..7 vertices, got 8"),
    ],
)
def test_invalid_specs_are_rejected(adj, ops, message):
    with pytest.raises(ValueError, match=message):
        NB101Space().decode((adj, ops))
    with pytest.raises(ValueError, match=message):
        model_hash(adj, ops)


def test_nine_edges_after_pruning_are_fine():
    adj = np.zeros((7, 7), dtype=int)
    for i, j in [(0, 1), (0, 2), (0, 3), (1, 4), (2, 4), (3, 5), (4, 6), (5, 6), (1, 6)]:
        adj[i, j] = 1
    assert len(NB101Space().decode((adj, ["input", C3, C1, MP, C3, C1, "output"])).edges) == 9
    adj[0, 4] = 1
    with pytest.raises(ValueError, match="10 edges"):
        NB101Space().decode((adj, ["input", C3, C1, MP, C3, C1, "output"]))


def test_not_a_spec():
    with pytest.raises(ValueError, match=r"\(adjacency, ops\) pair"):
        NB101Space().decode("abc")
    with pytest.raises(ValueError, match="'adjacency' and 'ops'"):
        NB101Space().decode({"matrix": KNOWN_ADJ, "ops": KNOWN_OPS})


def test_isomorphic_relabelled_specs_share_the_hash():
    space = NB101Space()
    rng = np.random.default_rng(0)
    changed = 0
    for _ in range(100):
        spec = space.sample(rng)
        g = space.decode(spec)
        perm = rng.permutation(g.num_nodes)
        relabelled = space.encode(g.relabel(perm))  # renumbered, then put back in a topological order
        assert model_hash(*relabelled) == model_hash(*spec)
        assert space.decode(relabelled).canonical_hash() == g.canonical_hash()
        changed += relabelled != space.encode(g)
    assert changed > 10  # the relabelling really produced other matrices
    # swapping two parallel branches by hand
    a = ([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", C3, MP, "output"])
    b = ([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", MP, C3, "output"])
    c = ([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]], ["input", MP, MP, "output"])
    assert model_hash(*a) == model_hash(*b) != model_hash(*c)


def test_encode_rejects_foreign_graphs():
    space = NB101Space()
    with pytest.raises(ValueError, match="vocabulary"):
        space.encode(ArchGraph(["input", "output"], [(0, 1)], ("input", "output", "x")))
    with pytest.raises(ValueError, match="one input"):
        space.encode(ArchGraph(["input", "input", C3, "output"], [(0, 2), (1, 2), (2, 3)], VOCAB))
    chain = ArchGraph(["input"] + [C3] * 7 + ["output"], [(i, i + 1) for i in range(8)], VOCAB)
    with pytest.raises(ValueError, match="not an NB101 cell"):
        space.encode(chain)


def test_sample_is_seeded_and_valid():
    space = NB101Space()
    a = [space.sample(np.random.default_rng(5)) for _ in range(2)]
    assert a[0] == a[1]
    rng = np.random.default_rng(1)
    specs = [space.sample(rng) for _ in range(300)]
    assert len({model_hash(*s) for s in specs}) > 100
    for adj, ops in specs:
        assert np.array(adj).shape == (7, 7) and len(ops) == 7
        assert np.all(np.tril(adj) == 0)
        g = space.decode((adj, ops))
        assert len(g.edges) <= 9


def test_mutate_is_seeded_one_change_and_a_new_cell():
    space = NB101Space()
    rng = np.random.default_rng(2)
    specs = [space.sample(rng) for _ in range(200)]
    m1 = [space.mutate(s, np.random.default_rng(i)) for i, s in enumerate(specs)]
    m2 = [space.mutate(s, np.random.default_rng(i)) for i, s in enumerate(specs)]
    assert m1 == m2
    kinds = set()
    for (adj, ops), (new_adj, new_ops) in zip(specs, m1):
        edge_changes = int(np.sum(np.array(adj) != np.array(new_adj)))
        op_changes = sum(x != y for x, y in zip(ops, new_ops))
        assert edge_changes + op_changes == 1
        kinds.add("edge" if edge_changes else "op")
        assert model_hash(new_adj, new_ops) != model_hash(adj, ops)
    assert kinds == {"edge", "op"}
    # a pruned (smaller) spec mutates within its own size
    small = ([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", C3, "output"])
    adj, ops = space.mutate(small, np.random.default_rng(0))
    assert len(ops) == 3 and model_hash(adj, ops) != model_hash(*small)


def test_mutate_without_a_legal_move_says_so():
    with pytest.raises(ValueError, match="no single edge flip or op change"):
        NB101Space().mutate(([[0, 1], [0, 0]], ["input", "output"]), np.random.default_rng(0))


@pytest.mark.data
def test_model_hash_of_every_labelled_row(rows):
    assert len(rows) == 30_001
    space = NB101Space()
    for r in rows:
        assert model_hash(r["adjacency"], r["ops"]) == r["hash"]
    for r in rows[::10]:
        assert space.encode(space.decode(r)) == (r["adjacency"], r["ops"])


@pytest.mark.data
def test_space_arrays(arrays):
    n = 423_624
    assert arrays["ops"].shape == (n, 7) and arrays["ops"].dtype == np.int64
    assert arrays["adjacency"].shape == (n, 7, 7) and arrays["adjacency"].dtype == bool
    assert arrays["num_nodes"].shape == (n,) and arrays["hash"].shape == (n,)
    assert len(set(arrays["hash"].tolist())) == n
    assert np.bincount(arrays["num_nodes"]).tolist() == [0, 0, 1, 6, 84, 2441, 62010, 359082]
    pad = np.arange(7)[None, :] >= arrays["num_nodes"][:, None]
    assert (arrays["ops"][pad] == -1).all() and (arrays["ops"][~pad] >= 0).all()
    assert (arrays["ops"][:, 0] == VOCAB.index("input")).all()
    last = arrays["ops"][np.arange(n), arrays["num_nodes"] - 1]
    assert (last == VOCAB.index("output")).all()
    assert arrays["hash"][0] == KNOWN_HASH
    assert (arrays["ops"][0] == [0, 2, 4, 2, 2, 3, 1]).all()
    assert (arrays["adjacency"][0].astype(int) == np.array(KNOWN_ADJ)).all()


@pytest.mark.data
def test_space_cells_hash_to_their_key(arrays):
    space = NB101Space()
    rng = np.random.default_rng(0)
    for i in rng.choice(len(arrays["hash"]), 2000, replace=False):
        k = int(arrays["num_nodes"][i])
        ops = [VOCAB[v] for v in arrays["ops"][i, :k]]
        adj = arrays["adjacency"][i, :k, :k].astype(int)
        g = space.decode((adj, ops))
        assert g.num_nodes == k  # the stored cells are already pruned
        assert graph_hash(g) == model_hash(adj, ops) == arrays["hash"][i]


@pytest.mark.data
def test_space_batch_matches_per_graph_batching(arrays):
    batch = space_batch(arrays)
    assert batch.num_graphs == 423_624
    assert batch.num_nodes == int(arrays["num_nodes"].sum())
    assert batch.edge_index.shape[1] == int(arrays["adjacency"].sum())
    space = NB101Space()
    ids = np.random.default_rng(1).choice(batch.num_graphs, 300, replace=False)
    graphs = []
    for i in ids:
        k = int(arrays["num_nodes"][i])
        graphs.append(space.decode((arrays["adjacency"][i, :k, :k], [VOCAB[v] for v in arrays["ops"][i, :k]])))
    ref = GraphBatch.from_graphs(graphs)
    sub = batch.subset(ids)
    for field in ("op_index", "edge_index", "batch", "generation", "node_ptr", "edge_ptr"):
        assert torch.equal(getattr(sub, field), getattr(ref, field)), field
    assert sub.vocab == VOCAB


def test_load_space_arrays_rejects_other_files(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, a=np.zeros(3))
    with pytest.raises(ValueError, match="missing arrays"):
        load_space_arrays(path)
