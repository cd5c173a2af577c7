"""The seed tutorial's TensorFlow AlexNet (shared/seed/, "tensorflow实现"), translated op for op into PyTorch.

Each function below stands for the TensorFlow call of the same name and keeps TensorFlow's layout
and conventions, so the translation can be read against the seed line by line: activations are
NHWC, kernels HWIO ([height, width, in, out]), fully connected weights [in, out] (xw_plus_b),
SAME padding computed as TensorFlow does (the extra row and column go to the bottom and right),
tf.split / tf.concat for the two halves of conv2, conv4 and conv5, TensorFlow's LRN formula
(sqr_sum over depth_radius channels on each side, divided by (bias + alpha * sqr_sum) ** beta, alpha
not divided by the window), and the flatten of pool5 in NHWC order.

`alexnet(x, variables, dropout)` is the seed's `alexnet(x, keep_prob, num_classes)` with its
tf.Variables passed in by name. `variables_from_ours` maps our seed-tf preset's parameters
(PyTorch layouts: conv weights [out, in / groups, h, w], linear weights [out, in] over a CHW
flatten) onto them, and `grads_to_ours` maps gradients back, so tests compare our model with this
translation parameter for parameter.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

# The seed's variables, in the order it creates them, with their TensorFlow shapes at 1000 classes.
CONVS = ["conv1", "conv2", "conv3", "conv4", "conv5"]
FCS = ["fc6", "fc7", "fc8"]
GROUPED = {"conv2", "conv4", "conv5"}  # split into two halves with tf.split
# Our seed-tf preset's module names for each seed scope (lib/models/alexnet.ts).
OUR_NAMES = {
    "conv1": "features.0", "conv2": "features.4", "conv3": "features.8", "conv4": "features.10",
    "conv5": "features.12", "fc6": "classifier.0", "fc7": "classifier.3", "fc8": "classifier.6",
}


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's SAME: output ceil(size / stride); the odd padding element goes after."""
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def conv2d(x: torch.Tensor, kernel: torch.Tensor, strides: list[int], padding: str) -> torch.Tensor:
    """tf.nn.conv2d on NHWC input with an HWIO kernel."""
    assert padding == "SAME"
    stride = strides[1]
    top, bottom = same_padding(x.shape[1], kernel.shape[0], stride)
    left, right = same_padding(x.shape[2], kernel.shape[1], stride)
    nchw = F.pad(x.permute(0, 3, 1, 2), (left, right, top, bottom))
    return F.conv2d(nchw, kernel.permute(3, 2, 0, 1), stride=stride).permute(0, 2, 3, 1)


def bias_add(x: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    return x + bias


def relu(x: torch.Tensor) -> torch.Tensor:
    return torch.clamp_min(x, 0)


def local_response_normalization(x: torch.Tensor, alpha: float, beta: float, depth_radius: int, bias: float) -> torch.Tensor:
    """TensorFlow's formula over the last (channel) axis, windows clipped at the ends."""
    squares = x * x
    channels = x.shape[3]
    sqr_sum = torch.stack(
        [squares[..., max(0, d - depth_radius): d + depth_radius + 1].sum(dim=3) for d in range(channels)], dim=3)
    return x / (bias + alpha * sqr_sum) ** beta


def max_pool(x: torch.Tensor, ksize: list[int], strides: list[int], padding: str) -> torch.Tensor:
    assert padding == "VALID"
    return F.max_pool2d(x.permute(0, 3, 1, 2), ksize[1], strides[1]).permute(0, 2, 3, 1)


def split(axis: int, value: torch.Tensor, num_or_size_splits: int) -> list[torch.Tensor]:
    return list(torch.chunk(value, num_or_size_splits, dim=axis))


def concat(axis: int, values: list[torch.Tensor]) -> torch.Tensor:
    return torch.cat(values, dim=axis)


def xw_plus_b(x: torch.Tensor, weights: torch.Tensor, biases: torch.Tensor) -> torch.Tensor:
    return x @ weights + biases


def conv_layer(x: torch.Tensor, kernel: torch.Tensor, biases: torch.Tensor, stride: int, grouped: bool) -> torch.Tensor:
    """One `with tf.name_scope('convN')` block of the seed."""
    strides = [1, stride, stride, 1]
    if not grouped:
        return relu(bias_add(conv2d(x, kernel, strides, padding="SAME"), biases))
    x_groups = split(axis=3, value=x, num_or_size_splits=2)
    kernel_groups = split(axis=3, value=kernel, num_or_size_splits=2)
    biases_groups = split(axis=0, value=biases, num_or_size_splits=2)
    up = bias_add(conv2d(x_groups[0], kernel_groups[0], strides, padding="SAME"), biases_groups[0])
    down = bias_add(conv2d(x_groups[1], kernel_groups[1], strides, padding="SAME"), biases_groups[1])
    return relu(concat(axis=3, values=[up, down]))


def lrn(x: torch.Tensor) -> torch.Tensor:
    return local_response_normalization(x, alpha=1e-4, beta=0.75, depth_radius=2, bias=2.0)


def pool(x: torch.Tensor) -> torch.Tensor:
    return max_pool(x, ksize=[1, 3, 3, 1], strides=[1, 2, 2, 1], padding="VALID")


def alexnet(x_nhwc: torch.Tensor, v: dict[str, torch.Tensor], dropout: Callable[[int, torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """The seed's graph. `dropout(i, x)` stands for tf.nn.dropout(x, keep_prob) after fc6 (i = 0) and fc7 (i = 1)."""
    conv1 = conv_layer(x_nhwc, v["conv1.weights"], v["conv1.biases"], 4, grouped=False)
    pool1 = pool(lrn(conv1))
    conv2 = conv_layer(pool1, v["conv2.weights"], v["conv2.biases"], 1, grouped=True)
    pool2 = pool(lrn(conv2))
    conv3 = conv_layer(pool2, v["conv3.weights"], v["conv3.biases"], 1, grouped=False)
    conv4 = conv_layer(conv3, v["conv4.weights"], v["conv4.biases"], 1, grouped=True)
    conv5 = conv_layer(conv4, v["conv5.weights"], v["conv5.biases"], 1, grouped=True)
    pool5 = pool(conv5)
    flattened = pool5.reshape(-1, pool5.shape[1] * pool5.shape[2] * pool5.shape[3])
    fc6 = relu(xw_plus_b(flattened, v["fc6.weights"], v["fc6.biases"]))
    fc7 = relu(xw_plus_b(dropout(0, fc6), v["fc7.weights"], v["fc7.biases"]))
    return xw_plus_b(dropout(1, fc7), v["fc8.weights"], v["fc8.biases"])


def variables_from_ours(ours: dict[str, torch.Tensor], pool5_hw: int) -> dict[str, torch.Tensor]:
    """The seed's variables from our parameters: conv [out, in/g, h, w] -> HWIO; linear [out, in] -> [in, out],
    with fc6's rows reordered from our CHW flatten to TensorFlow's HWC flatten of pool5."""
    v = {}
    for scope in CONVS:
        v[f"{scope}.weights"] = ours[f"{OUR_NAMES[scope]}.weight"].permute(2, 3, 1, 0)
        v[f"{scope}.biases"] = ours[f"{OUR_NAMES[scope]}.bias"]
    for scope in FCS:
        w = ours[f"{OUR_NAMES[scope]}.weight"]
        if scope == "fc6":
            channels = w.shape[1] // (pool5_hw * pool5_hw)
            w = w.reshape(w.shape[0], channels, pool5_hw, pool5_hw).permute(0, 2, 3, 1).reshape(w.shape[0], -1)
        v[f"{scope}.weights"] = w.t()
        v[f"{scope}.biases"] = ours[f"{OUR_NAMES[scope]}.bias"]
    return v


def grads_to_ours(grads: dict[str, torch.Tensor], pool5_hw: int) -> dict[str, torch.Tensor]:
    """Gradients of the seed's variables in our parameters' names and layouts (the inverse of variables_from_ours)."""
    out = {}
    for scope in CONVS:
        out[f"{OUR_NAMES[scope]}.weight"] = grads[f"{scope}.weights"].permute(3, 2, 0, 1)
        out[f"{OUR_NAMES[scope]}.bias"] = grads[f"{scope}.biases"]
    for scope in FCS:
        g = grads[f"{scope}.weights"].t()
        if scope == "fc6":
            channels = g.shape[1] // (pool5_hw * pool5_hw)
            g = g.reshape(g.shape[0], pool5_hw, pool5_hw, channels).permute(0, 3, 1, 2).reshape(g.shape[0], -1)
        out[f"{OUR_NAMES[scope]}.weight"] = g
        out[f"{OUR_NAMES[scope]}.bias"] = grads[f"{scope}.biases"]
    return out
