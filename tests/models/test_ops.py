"""The vocabulary: convolution naming by kernel and grouping, pooling and resampling, module classes."""

import pytest
from torch import nn

from fgp.graph import INPUT, OUTPUT
from fgp.models import ATTRIBUTES, VOCAB
from fgp.models.ops import COLLAPSE, CONV_OPS, adaptive_pool, classify_module, conv, module_class_name, pool, resample


def test_the_vocabulary_is_unique_and_holds_the_graph_ends():
    assert len(set(VOCAB)) == len(VOCAB) and VOCAB[:2] == (INPUT, OUTPUT)
    assert set(CONV_OPS) <= set(VOCAB) and not any(op.startswith("other:") for op in VOCAB)
    assert len(set(ATTRIBUTES)) == len(ATTRIBUTES)


@pytest.mark.parametrize("kernel, groups, c_in, c_out, op", [
    (1, 1, 8, 16, "conv_1x1"),  # pointwise
    ((3, 3), 1, 8, 8, "conv_3x3"),
    (5, 8, 8, 8, "dwconv_5x5"),  # depthwise: one group per input channel
    (7, 8, 8, 16, "dwconv_7x7"),  # depthwise with a channel multiplier
    (3, 2, 8, 8, "gconv_3x3"),
    ((1, 3), 1, 4, 4, "conv_other"),  # not square
    (9, 1, 4, 4, "conv_other"),
    (2, 4, 8, 8, "gconv_other"),
])
def test_convolutions_are_named_by_kernel_and_grouping(kernel, groups, c_in, c_out, op):
    node = conv(kernel, 1, 1, groups, c_in, c_out)
    assert node.name == op and node.name in VOCAB
    assert node.attrs["kernel"] == max(kernel if isinstance(kernel, tuple) else (kernel,))
    assert node.attrs["groups"] == groups and node.attrs["channel_ratio"] == c_out / c_in


def test_pooling_and_resampling():
    assert pool("max", 3).attrs == {"kernel": 3, "stride": 3}  # a missing stride is the kernel
    assert pool("avg", (3, 3), (1, 1)).attrs == {"kernel": 3, "stride": 1}
    assert adaptive_pool("avg", 1).name == "global_avg_pool"
    assert adaptive_pool("max", (1, 1)).name == "global_max_pool"
    assert adaptive_pool("avg", (7, 7)).name == "adaptive_avg_pool"
    assert adaptive_pool("avg", (None, 1)).name == "adaptive_avg_pool"
    assert resample(2.0).name == "upsample" and resample(0.5).name == "downsample"
    assert resample(0.5).attrs == {"scale": 0.5}
    assert resample(None).name == "upsample" and resample(None).attrs == {}


def test_module_classes_and_their_subclasses_map_onto_the_vocabulary():
    class MyConv(nn.Conv2d):
        pass

    assert module_class_name(MyConv) == "Conv2d"
    assert module_class_name(nn.modules.linear.NonDynamicallyQuantizableLinear) == "Linear"
    assert module_class_name(nn.LSTM) is None
    conv_module = MyConv(4, 8, 3, stride=2, groups=4)
    got = classify_module("Conv2d", lambda name, default: getattr(conv_module, name, default), lambda: (None, None))
    assert got == conv(3, 2, 1, 4, 4, 8)
    assert classify_module("Dropout", dict().get, lambda: (None, None)) is COLLAPSE
    assert classify_module("LSTM", dict().get, lambda: (None, None)).name == "other:LSTM"
    upsample = classify_module("Upsample", {"scale_factor": None}.get, lambda: ((1, 3, 4, 4), (1, 3, 12, 12)))
    assert upsample.attrs == {"scale": 3.0}
