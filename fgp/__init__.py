"""fgp: flow-surrogate generative pre-training for neural architecture encoders."""

__version__ = "0.2.0"
