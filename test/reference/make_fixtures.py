#!/usr/bin/env python3
"""Writes the PyTorch reference fixtures that the CPU (and GPU) tests compare against.

PyTorch is the oracle. For every op and several configurations this script stores inputs,
parameters, outputs, input gradients and parameter gradients (backward from a random upstream
gradient) as safetensors files under test/reference/fixtures/, with each file's configurations as
JSON in the safetensors metadata ("cases"). It also writes every AlexNet preset at reduced width
(logits, loss and every gradient in training mode, dropout active), the full-size layer output
shapes and parameter counts of every preset, and a ten-step SGD loss trajectory.

Determinism: every random draw comes from a torch.Generator seeded from the case's name, so the
files are identical on every run (and adding a case does not change the others).

Precision: inputs and parameters are drawn in float32 (what the tests upload), then every reference
result is computed in float64 and stored as float32. The tests' 1e-4 tolerance then measures our
fp32 arithmetic against the exact answer, not against PyTorch's own fp32 rounding.

Dropout: our masks come from Philox 4x32-10 (native/core/philox.h). This script implements the same
generator in numpy, checked against the Random123 known-answer vectors, and builds the masks from
(seed, offset) exactly as the backends do, so the fixtures check our generator bit for bit and the
whole-model fixtures replicate the model's masks (no mask is transferred from the TS side).

Run: `npm run fixtures` (with torch, numpy and safetensors importable; see README.md), or
`python3 make_fixtures.py DIR` to write them into another folder.
"""
from __future__ import annotations

import hashlib
import json
import math
import sys
import zlib
from collections import OrderedDict
from pathlib import Path

try:
    import numpy as np
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
    from safetensors.numpy import load_file
except ImportError as error:  # pragma: no cover - a setup problem, said plainly
    sys.exit(
        f"make_fixtures.py needs torch, numpy and safetensors ({error}).\n"
        "Install them (python3 -m pip install --target DIR torch==2.13.0+cpu numpy safetensors)\n"
        "and run with PYTHONPATH=DIR; see test/reference/README.md."
    )

HERE = Path(__file__).resolve().parent
OUT = HERE / "fixtures"  # main() takes another folder as its only argument (CI regenerates into one and compares bytes)
SCRIPT_SHA256 = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
COMPUTE = torch.float64
MASK64 = (1 << 64) - 1
MASK32 = (1 << 32) - 1

torch.use_deterministic_algorithms(True)
torch.set_num_threads(1)  # summation order (and so the float64 results) independent of the machine


# ---------------------------------------------------------------------------------------------
# Random numbers: PyTorch generators for data, Philox 4x32-10 and SplitMix64 as the library has them
# ---------------------------------------------------------------------------------------------

def generator(*names: object) -> torch.Generator:
    """A generator seeded from a stable hash of the names (crc32 of their repr)."""
    g = torch.Generator()
    g.manual_seed(zlib.crc32(repr(names).encode()))
    return g


def randn(g: torch.Generator, *shape: int, scale: float = 1.0) -> torch.Tensor:
    return (torch.randn(*shape, generator=g, dtype=torch.float32) * scale).to(torch.float32)


def philox4x32_10(c0, c1, c2, c3, k0: int, k1: int):
    """Philox 4x32-10 over arrays of counter words (uint32), key (k0, k1); returns four uint32 arrays.

    The same round function as native/core/philox.h: per round, (hi, lo) = M * c for the two
    multipliers, the words are permuted and mixed with the key, and the key is bumped by the Weyl
    constants. 32x32-bit products are exact in uint64.
    """
    c0, c1, c2, c3 = (np.asarray(c, dtype=np.uint64) & MASK32 for c in (c0, c1, c2, c3))
    for _ in range(10):
        p0 = np.uint64(0xD2511F53) * c0
        p1 = np.uint64(0xCD9E8D57) * c2
        hi0, lo0 = p0 >> np.uint64(32), p0 & np.uint64(MASK32)
        hi1, lo1 = p1 >> np.uint64(32), p1 & np.uint64(MASK32)
        c0, c1, c2, c3 = hi1 ^ c1 ^ np.uint64(k0), lo1, hi0 ^ c3 ^ np.uint64(k1), lo0
        k0 = (k0 + 0x9E3779B9) & MASK32
        k1 = (k1 + 0xBB67AE85) & MASK32
    return [w.astype(np.uint32) for w in (c0, c1, c2, c3)]


def check_philox_known_answers() -> None:
    """Random123's kat_vectors for philox4x32_10: fail loudly rather than write wrong fixtures."""
    vectors = [
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((MASK32,) * 4, (MASK32, MASK32), (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
         (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
    ]
    for counter, key, expected in vectors:
        got = tuple(int(w[0]) for w in philox4x32_10(*([c] for c in counter), *key))
        if got != expected:
            sys.exit(f"numpy Philox fails the known-answer test {counter}, {key}: {got} != {expected}")


def philox_bits(seed: int, offset: int, count: int) -> np.ndarray:
    """The uint32 stream of native/core/philox.h: element i is word (offset+i) % 4 of counter (offset+i) / 4."""
    position = np.uint64(offset) + np.arange(count, dtype=np.uint64)
    counter = position >> np.uint64(2)
    words = philox4x32_10(counter & np.uint64(MASK32), counter >> np.uint64(32), 0, 0, seed & MASK32, seed >> 32)
    stacked = np.stack(words)  # [4, count]
    return stacked[(position & np.uint64(3)).astype(np.int64), np.arange(count)]


def unit_floats(bits: np.ndarray) -> np.ndarray:
    """bits_to_unit_float: the top 24 bits over 2^24, exact in float32."""
    return ((bits >> np.uint32(8)).astype(np.float64) / 16777216.0).astype(np.float32)


def dropout_mask(seed: int, offset: int, count: int, p: float) -> np.ndarray:
    """The backends' inverted-dropout mask: (u >= p) / (1 - p), compared and scaled in float32."""
    p32 = np.float32(p)
    scale = np.float32(1.0) / (np.float32(1.0) - p32)
    keep = unit_floats(philox_bits(seed, offset, count)) >= p32
    return np.where(keep, scale, np.float32(0.0)).astype(np.float32)


def dropout_advance(count: int) -> int:
    """How far lib/nn/dropout.ts moves a layer's offset after a forward over `count` elements."""
    return -(-count // 4) * 4


def derive_seed(base: int, stream: int) -> int:
    """lib/random.ts deriveSeed: SplitMix64 of base + golden-ratio increment * (stream + 1)."""
    z = (base + 0x9E3779B97F4A7C15 * (stream + 1)) & MASK64
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
    return z ^ (z >> 31)


# ---------------------------------------------------------------------------------------------
# Writing fixtures
# ---------------------------------------------------------------------------------------------

def as_f32(t: torch.Tensor | np.ndarray) -> np.ndarray:
    if isinstance(t, torch.Tensor):
        t = t.detach().cpu().numpy()
    return np.ascontiguousarray(t, dtype=np.float32)


class Fixture:
    """One safetensors file: tensors named '<case>.<role>' and the cases' configurations as JSON."""

    def __init__(self, name: str):
        self.name = name
        self.tensors: dict[str, np.ndarray] = {}
        self.cases: list[dict] = []
        self.extra: dict[str, str] = {}

    def case(self, name: str, config: dict, **tensors) -> None:
        if any(c["name"] == name for c in self.cases):
            raise ValueError(f"{self.name}: duplicate case {name}")
        self.cases.append({"name": name, **config})
        for role, value in tensors.items():
            if value is None:
                continue
            if isinstance(value, np.ndarray) and value.dtype == np.int32:
                array = np.ascontiguousarray(value)
            elif isinstance(value, torch.Tensor) and value.dtype in (torch.int32, torch.int64):
                array = np.ascontiguousarray(value.numpy().astype(np.int32))
            else:
                array = as_f32(value)
            self.tensors[f"{name}.{role}"] = array

    def save(self) -> int:
        path = OUT / f"{self.name}.safetensors"
        path.parent.mkdir(parents=True, exist_ok=True)
        metadata = {
            "cases": json.dumps(self.cases),
            "script_sha256": SCRIPT_SHA256,
            "torch": torch.__version__,
            "compute_dtype": "float64",
            **self.extra,
        }
        write_safetensors(path, self.tensors, metadata)
        return path.stat().st_size


def write_safetensors(path: Path, tensors: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    """The safetensors layout (8-byte little-endian header size, JSON header, raw little-endian data),
    written here rather than with safetensors.save_file because that one emits the metadata in hash
    order, so every run would change the committed files' bytes. The result is read back with the
    safetensors library to prove it conforms."""
    dtypes = {np.dtype(np.float32): "F32", np.dtype(np.int32): "I32"}
    header: dict[str, object] = {"__metadata__": metadata}
    chunks, offset = [], 0
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        data = array.astype(array.dtype.newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": dtypes[array.dtype], "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header, sort_keys=True, separators=(",", ":"))
    text += " " * (-(8 + len(text.encode())) % 8)  # data 8-byte aligned, as the format allows
    encoded = text.encode()
    with open(path, "wb") as f:
        f.write(len(encoded).to_bytes(8, "little"))
        f.write(encoded)
        for chunk in chunks:
            f.write(chunk)
    loaded = load_file(str(path))
    if sorted(loaded) != sorted(tensors) or any(loaded[k].tobytes() != np.ascontiguousarray(tensors[k]).tobytes() for k in tensors):
        sys.exit(f"{path}: safetensors reads back something other than what was written")


def grads(output: torch.Tensor, inputs: list[torch.Tensor | None], grad_output: torch.Tensor):
    """Gradients of <output, grad_output> with respect to each input (None stays None)."""
    live = [t for t in inputs if t is not None]
    found = iter(torch.autograd.grad(output, live, grad_output))
    return [None if t is None else next(found) for t in inputs]


def leaf(t: torch.Tensor | None) -> torch.Tensor | None:
    return None if t is None else t.to(COMPUTE).requires_grad_(True)


# ---------------------------------------------------------------------------------------------
# Ops
# ---------------------------------------------------------------------------------------------

def conv2d_fixture() -> Fixture:
    fx = Fixture("ops/conv2d")
    # name: (N, C, H, W), out channels, kernel (kh, kw), stride (sh, sw), padding (top, bottom, left, right), groups, bias, relu
    cases = {
        "basic_pad1": ((2, 3, 7, 7), 4, (3, 3), (1, 1), (1, 1, 1, 1), 1, True, False),
        "stride2_odd": ((2, 4, 9, 11), 6, (3, 3), (2, 2), (0, 0, 0, 0), 1, True, False),
        "groups2": ((2, 4, 8, 8), 6, (3, 3), (1, 1), (1, 1, 1, 1), 2, True, False),
        "groups2_stride2_no_bias": ((1, 6, 11, 9), 4, (5, 5), (2, 2), (2, 2, 2, 2), 2, False, False),
        "no_bias": ((1, 3, 6, 5), 5, (2, 2), (1, 1), (0, 0, 0, 0), 1, False, False),
        # Keras' ZeroPadding2D((1, 2), (1, 2)) before a 'valid' 11x11 stride-4 convolution
        "keras_asymmetric_k11_s4": ((2, 3, 27, 27), 4, (11, 11), (4, 4), (1, 2, 1, 2), 1, True, False),
        # TensorFlow SAME with an odd total: 8 wide, kernel 3, stride 2 -> one column after only
        "tf_same_odd_total": ((2, 3, 8, 8), 4, (3, 3), (2, 2), (0, 1, 0, 1), 1, True, False),
        "asymmetric_groups2": ((2, 4, 7, 10), 6, (3, 4), (1, 2), (2, 0, 1, 3), 2, True, False),
        "k11_s4_pad2": ((2, 3, 31, 31), 8, (11, 11), (4, 4), (2, 2, 2, 2), 1, True, False),
        "one_by_one": ((2, 6, 5, 7), 4, (1, 1), (1, 1), (0, 0, 0, 0), 1, True, False),
        "one_by_one_groups2": ((2, 6, 5, 7), 4, (1, 1), (1, 1), (0, 0, 0, 0), 2, True, False),
        "rect_kernel_stride": ((2, 3, 10, 9), 5, (3, 5), (2, 1), (1, 1, 2, 2), 1, True, False),
        "fused_relu": ((2, 4, 9, 9), 6, (3, 3), (1, 1), (1, 1, 1, 1), 2, True, True),
        "fused_relu_asymmetric": ((2, 3, 12, 12), 4, (5, 5), (2, 2), (1, 2, 1, 2), 1, True, True),
    }
    for name, (xs, out, (kh, kw), (sh, sw), (pt, pb, pl, pr), groups, bias, relu) in cases.items():
        g = generator("conv2d", name)
        x = randn(g, *xs)
        w = randn(g, out, xs[1] // groups, kh, kw, scale=1 / math.sqrt(xs[1] // groups * kh * kw))
        b = randn(g, out, scale=0.5) if bias else None
        xd, wd, bd = leaf(x), leaf(w), leaf(b)
        padded = F.pad(xd, (pl, pr, pt, pb))
        y = F.conv2d(padded, wd, bd, stride=(sh, sw), groups=groups)
        if relu:
            y = F.relu(y)
        dy = randn(g, *y.shape)
        dx, dw, db = grads(y, [xd, wd, bd], dy.to(COMPUTE))
        config = {
            "stride": [sh, sw],
            "padding": {"top": pt, "bottom": pb, "left": pl, "right": pr},
            "groups": groups,
            "bias": bias,
            "relu": relu,
        }
        fx.case(name, config, x=x, w=w, b=b, y=y, dy=dy, dx=dx, dw=dw, db=db)
    return fx


def lrn_fixture() -> Fixture:
    fx = Fixture("ops/lrn")
    # alpha in PyTorch's convention (divided by size inside); the paper's constants are size 5,
    # alpha 1e-4 * 5, beta 0.75, k 2. Inputs are scaled so that the sum term is not negligible
    # next to k (post-ReLU AlexNet activations are large), which keeps the cross-channel part of
    # the gradient above the tolerance.
    cases = {
        "paper_constants": ((2, 8, 5, 5), 5, 5e-4, 0.75, 2.0, 30.0),
        "paper_constants_c96": ((1, 96, 3, 3), 5, 5e-4, 0.75, 2.0, 40.0),
        "size3_c2_fewer_than_window": ((2, 2, 4, 5), 3, 0.6, 0.75, 1.0, 1.5),
        "size5_c3_fewer_than_window": ((2, 3, 5, 4), 5, 1.0, 0.75, 1.0, 1.5),
        "size5_c5_equal_window": ((2, 5, 3, 3), 5, 0.8, 0.5, 1.0, 1.5),
        "size5_c6_beta1": ((2, 6, 4, 4), 5, 0.7, 1.0, 1.0, 1.5),
        "size3_c7_beta06_k15": ((1, 7, 6, 5), 3, 1.2, 0.6, 1.5, 1.5),
        "size1": ((1, 4, 3, 3), 1, 0.5, 0.75, 1.0, 1.5),
        "size7_c16_large_plane": ((1, 16, 17, 19), 7, 0.9, 0.8, 1.2, 1.0),
    }
    for name, (xs, size, alpha, beta, k, scale) in cases.items():
        g = generator("lrn", name)
        x = randn(g, *xs, scale=scale)
        xd = leaf(x)
        y = F.local_response_norm(xd, size, alpha=alpha, beta=beta, k=k)
        dy = randn(g, *y.shape)
        (dx,) = grads(y, [xd], dy.to(COMPUTE))
        fx.case(name, {"size": size, "alpha": alpha, "beta": beta, "k": k}, x=x, y=y, dy=dy, dx=dx)
    return fx


def pooling_fixture() -> Fixture:
    fx = Fixture("ops/pool2d")
    # name: (N, C, H, W), kernel (kh, kw), stride (sh, sw), padding (ph, pw), ties
    max_cases = {
        "max_overlap_3_2": ((2, 3, 13, 13), (3, 3), (2, 2), (0, 0), False),
        "max_overlap_3_2_odd": ((2, 2, 9, 11), (3, 3), (2, 2), (0, 0), False),
        "max_2_2": ((2, 3, 8, 8), (2, 2), (2, 2), (0, 0), False),
        "max_2_2_odd": ((1, 2, 7, 9), (2, 2), (2, 2), (0, 0), False),
        "max_3_2_pad1": ((2, 2, 10, 10), (3, 3), (2, 2), (1, 1), False),
        "max_rect_pad": ((2, 2, 9, 8), (3, 2), (2, 1), (1, 0), False),
        "max_3_1_dense_overlap": ((1, 2, 6, 7), (3, 3), (1, 1), (1, 1), False),
        # values from {0, 1, 2}: many ties, the gradient goes to each window's first maximum
        "max_ties_first_maximum": ((2, 2, 7, 7), (3, 3), (2, 2), (0, 0), True),
    }
    for name, (xs, (kh, kw), (sh, sw), (ph, pw), ties) in max_cases.items():
        g = generator("pooling", name)
        x = torch.randint(0, 3, xs, generator=g).to(torch.float32) if ties else randn(g, *xs)
        xd = leaf(x)
        y = F.max_pool2d(xd, (kh, kw), (sh, sw), (ph, pw))
        dy = randn(g, *y.shape)
        (dx,) = grads(y, [xd], dy.to(COMPUTE))
        config = {"kind": "max", "kernelSize": [kh, kw], "stride": [sh, sw], "padding": [ph, pw]}
        fx.case(name, config, x=x, y=y, dy=dy, dx=dx)
    adaptive_cases = {
        "adaptive_13_to_6": ((2, 3, 13, 13), (6, 6)),
        "adaptive_5_to_6_upsampling": ((2, 2, 5, 5), (6, 6)),
        "adaptive_7_to_3": ((2, 2, 7, 7), (3, 3)),
        "adaptive_identity_6": ((2, 3, 6, 6), (6, 6)),
        "adaptive_rect_9x5_to_4x3": ((1, 2, 9, 5), (4, 3)),
        "adaptive_global_1x1": ((2, 3, 5, 6), (1, 1)),
    }
    for name, (xs, (oh, ow)) in adaptive_cases.items():
        g = generator("pooling", name)
        x = randn(g, *xs)
        xd = leaf(x)
        y = F.adaptive_avg_pool2d(xd, (oh, ow))
        dy = randn(g, *y.shape)
        (dx,) = grads(y, [xd], dy.to(COMPUTE))
        fx.case(name, {"kind": "adaptive", "outputSize": [oh, ow]}, x=x, y=y, dy=dy, dx=dx)
    return fx


def activation_fixture() -> Fixture:
    fx = Fixture("ops/activation")
    g = generator("activation", "relu")
    x = randn(g, 3, 4, 5, 6)
    x.view(-1)[::7] = 0.0  # exact zeros: PyTorch's gradient there is 0, as ours
    xd = leaf(x)
    y = F.relu(xd)
    dy = randn(g, *y.shape)
    (dx,) = grads(y, [xd], dy.to(COMPUTE))
    fx.case("relu_with_zeros", {}, x=x, y=y, dy=dy, dx=dx)
    # NaN propagates through the forward pass (forward only: the gradient at a NaN is not defined)
    x = torch.tensor([-1.0, float("nan"), 0.0, 2.5, float("-inf"), float("inf"), -0.0, 1e-30], dtype=torch.float32)
    fx.case("relu_nan_inf", {}, x=x, y=F.relu(x.to(COMPUTE)))
    for name, shape in {"softmax_small": (4, 10), "softmax_wide": (2, 1000), "softmax_single_class": (3, 1)}.items():
        g = generator("activation", name)
        x = randn(g, *shape, scale=3.0)
        fx.case(name, {}, x=x, y=torch.softmax(x.to(COMPUTE), dim=1))
    g = generator("activation", "softmax_large_logits")
    x = randn(g, 3, 7, scale=200.0)  # exp overflows without the max subtraction
    fx.case("softmax_large_logits", {}, x=x, y=torch.softmax(x.to(COMPUTE), dim=1))
    return fx


def linear_fixture() -> Fixture:
    fx = Fixture("ops/linear")
    cases = {
        "basic": (4, 7, 5, True, False),
        "no_bias": (3, 6, 4, False, False),
        "batch1": (1, 33, 17, True, False),
        "wide": (2, 300, 40, True, False),
        "fused_relu": (5, 12, 9, True, True),
        "fused_relu_no_bias": (3, 8, 6, False, True),
    }
    for name, (n, fin, fout, bias, relu) in cases.items():
        g = generator("linear", name)
        x = randn(g, n, fin)
        w = randn(g, fout, fin, scale=1 / math.sqrt(fin))
        b = randn(g, fout, scale=0.5) if bias else None
        xd, wd, bd = leaf(x), leaf(w), leaf(b)
        y = F.linear(xd, wd, bd)
        if relu:
            y = F.relu(y)
        dy = randn(g, *y.shape)
        dx, dw, db = grads(y, [xd, wd, bd], dy.to(COMPUTE))
        fx.case(name, {"bias": bias, "relu": relu}, x=x, w=w, b=b, y=y, dy=dy, dx=dx, dw=dw, db=db)
    return fx


def dropout_fixture() -> Fixture:
    fx = Fixture("ops/dropout")
    # seeds are decimal strings in the metadata: they are 64-bit and JSON numbers are doubles
    cases = {
        "p05_seed1234": ((4, 64), 0.5, 1234, 0),
        "p02_big_seed_offset8": ((3, 5, 7), 0.2, derive_seed(42, 1000), 8),
        "p05_offset_not_multiple_of_4": ((2, 3, 5), 0.5, 987654321, 3),
        "p09_high_offset": ((1000,), 0.9, 2**63 + 12345, 2**40 + 2),
        "p0_keeps_everything": ((5, 6), 0.0, 77, 0),
    }
    for name, (shape, p, seed, offset) in cases.items():
        g = generator("dropout", name)
        x = randn(g, *shape)
        count = int(np.prod(shape))
        mask = dropout_mask(seed, offset, count, p).reshape(shape)
        y = x.numpy() * mask  # one float32 multiply, as the backends do: bit-exact
        dy = randn(g, *shape)
        dx = dy.numpy() * mask
        fx.case(name, {"p": p, "seed": str(seed), "offset": str(offset)}, x=x, mask=mask, y=y, dy=dy, dx=dx)
    # The Dropout layer: two training forwards of the same input draw consecutive, disjoint masks.
    shape, p, seed = (3, 5, 7), 0.5, derive_seed(7, 1000)
    count = int(np.prod(shape))
    g = generator("dropout", "layer")
    x = randn(g, *shape)
    second = dropout_advance(count)
    fx.case(
        "layer_two_forwards",
        {"p": p, "seed": str(seed), "offset": "0", "secondOffset": str(second)},
        x=x,
        mask0=dropout_mask(seed, 0, count, p).reshape(shape),
        mask1=dropout_mask(seed, second, count, p).reshape(shape),
    )
    return fx


def random_fixture() -> Fixture:
    """Tensor.uniform and Tensor.normal draw from the same Philox stream (offset 0), and deriveSeed."""
    fx = Fixture("ops/random")
    for name, (count, seed) in {"uniform_small_seed": (1001, 5), "uniform_big_seed": (4096, 2**64 - 3)}.items():
        fx.case(name, {"seed": str(seed), "low": 0.0, "high": 1.0}, values=unit_floats(philox_bits(seed, 0, count)))
    # Tensor.normal: Box-Muller on words 0 and 1 of counter i (one normal per element), in float64
    # here; the backend computes log and cos in float32, so this one is compared with a tolerance.
    count, seed, mean, std = 2000, 99, 0.5, 2.0

    def standard_normal(counters: np.ndarray) -> np.ndarray:
        words = philox4x32_10(counters & np.uint64(MASK32), counters >> np.uint64(32), 0, 0, seed & MASK32, seed >> 32)
        u1 = ((words[0] >> np.uint32(8)).astype(np.float64) + 1.0) / 16777216.0
        u2 = (words[1] >> np.uint32(8)).astype(np.float64) / 16777216.0
        return np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)

    index = np.arange(count, dtype=np.uint64)
    z = standard_normal(index)
    fx.case("normal", {"seed": str(seed), "mean": mean, "std": std}, values=mean + std * z)
    # truncation 2 (TensorFlow's truncated_normal): a draw beyond it is replaced by the draw of
    # counter i + k * 2^48 for k = 1, 2, ... (native/core/philox.h), at most 32 draws in all.
    truncated = z.copy()
    for draw in range(1, 32):
        redraw = np.abs(truncated) > 2.0
        if not redraw.any():
            break
        truncated[redraw] = standard_normal(index[redraw] + np.uint64(draw << 48))
    truncated[np.abs(truncated) > 2.0] = 0.0
    fx.case("truncated_normal", {"seed": str(seed), "mean": mean, "std": std, "truncation": 2.0,
                                 "redrawn": int((np.abs(z) > 2.0).sum())}, values=mean + std * truncated)
    table = [[str(base), stream, str(derive_seed(base, stream))] for base in (0, 1, 20121203, 2**64 - 1) for stream in (0, 1, 1000, 1001)]
    fx.extra["derive_seed"] = json.dumps(table)
    return fx


def loss_fixture() -> Fixture:
    fx = Fixture("ops/loss")
    cases = {
        "batch4_classes10": (4, 10, 2.0),
        "batch1_classes1000": (1, 1000, 1.0),
        "batch7_classes3": (7, 3, 1.0),
        "large_logits": (3, 6, 100.0),
    }
    for name, (n, classes, scale) in cases.items():
        g = generator("loss", name)
        logits = randn(g, n, classes, scale=scale)
        labels = torch.randint(0, classes, (n,), generator=g).to(torch.int32)
        ld = leaf(logits)
        loss = F.cross_entropy(ld, labels.long(), reduction="mean")
        (dlogits,) = torch.autograd.grad(loss, [ld])
        fx.case(name, {}, logits=logits, labels=labels, loss=loss.reshape(1), dlogits=dlogits)
    # top-k counts: random logits (no ties) against torch.topk ...
    g = generator("loss", "topk")
    logits = randn(g, 64, 10)
    labels = torch.randint(0, 10, (64,), generator=g).to(torch.int32)
    counts = {str(k): int((torch.topk(logits, k, dim=1).indices == labels[:, None].long()).any(1).sum()) for k in (1, 2, 5, 10)}
    fx.case("topk_random", {"counts": counts}, logits=logits, labels=labels)
    # ... and integer logits with many ties, where a stable descending sort ranks the lower class
    # index first (torch.topk leaves the order among equal values unspecified)
    logits = torch.randint(0, 3, (64, 6), generator=g).to(torch.float32)
    labels = torch.randint(0, 6, (64,), generator=g).to(torch.int32)
    order = torch.sort(logits, dim=1, descending=True, stable=True).indices
    counts = {str(k): int((order[:, :k] == labels[:, None].long()).any(1).sum()) for k in (1, 2, 3, 6)}
    fx.case("topk_ties_stable", {"counts": counts}, logits=logits, labels=labels)
    return fx


def sgd_fixture() -> Fixture:
    fx = Fixture("ops/sgd")
    cases = {
        "momentum09_wd5e-4": dict(lr=0.01, momentum=0.9, dampening=0.0, weight_decay=5e-4, nesterov=False),
        "nesterov": dict(lr=0.05, momentum=0.9, dampening=0.0, weight_decay=5e-4, nesterov=True),
        "dampening01": dict(lr=0.02, momentum=0.9, dampening=0.1, weight_decay=5e-4, nesterov=False),
        "plain_no_momentum": dict(lr=0.1, momentum=0.0, dampening=0.0, weight_decay=0.0, nesterov=False),
        "weight_decay_only": dict(lr=0.1, momentum=0.0, dampening=0.0, weight_decay=0.01, nesterov=False),
    }
    shapes = [(5, 3), (7,), (2, 3, 2, 2)]
    steps = 4
    for name, options in cases.items():
        g = generator("sgd", name)
        initial = [randn(g, *s) for s in shapes]
        gradients = [[randn(g, *s) for s in shapes] for _ in range(steps)]
        params = [nn.Parameter(p.to(COMPUTE)) for p in initial]
        optimizer = torch.optim.SGD(params, **options)
        tensors = {f"p{i}.initial": p for i, p in enumerate(initial)}
        for step in range(steps):
            for i, p in enumerate(params):
                p.grad = gradients[step][i].to(COMPUTE)
                tensors[f"p{i}.grad{step}"] = gradients[step][i]
            optimizer.step()
            for i, p in enumerate(params):
                tensors[f"p{i}.after{step}"] = p.detach().clone()
                if options["momentum"] != 0:
                    tensors[f"p{i}.buffer{step}"] = optimizer.state[p]["momentum_buffer"].clone()
        config = {
            "lr": options["lr"],
            "momentum": options["momentum"],
            "dampening": options["dampening"],
            "weightDecay": options["weight_decay"],
            "nesterov": options["nesterov"],
            "steps": steps,
            "params": len(shapes),
        }
        fx.case(name, config, **tensors)
    return fx


# ---------------------------------------------------------------------------------------------
# AlexNet presets, mirroring lib/models/alexnet.ts layer by layer (so parameter names match)
# ---------------------------------------------------------------------------------------------

class PhiloxDropout(nn.Module):
    """lib/nn/dropout.ts: a mask from Philox(seed, offset); the offset advances after each training forward."""

    def __init__(self, p: float, seed: int):
        super().__init__()
        self.p, self.seed, self.offset = p, seed, 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0:
            return x
        mask = dropout_mask(self.seed, self.offset, x.numel(), self.p).reshape(tuple(x.shape))
        self.offset += dropout_advance(x.numel())
        return x * torch.from_numpy(mask).to(x.dtype)


class PaddedConv2d(nn.Conv2d):
    """A convolution after explicit zero padding: Keras' ZeroPadding2D sides, or TensorFlow's SAME."""

    def __init__(self, *args, pad, **kwargs):
        super().__init__(*args, **kwargs)
        self.pad = pad  # 'same' or (top, bottom, left, right)

    def sides(self, h: int, w: int) -> tuple[int, int, int, int]:
        if self.pad != "same":
            return self.pad

        def same(size: int, k: int, s: int) -> tuple[int, int]:
            total = max((math.ceil(size / s) - 1) * s + k - size, 0)
            return total // 2, total - total // 2

        top, bottom = same(h, self.kernel_size[0], self.stride[0])
        left, right = same(w, self.kernel_size[1], self.stride[1])
        return top, bottom, left, right

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        top, bottom, left, right = self.sides(x.shape[2], x.shape[3])
        return F.conv2d(F.pad(x, (left, right, top, bottom)), self.weight, self.bias, self.stride, 0, 1, self.groups)


PAPER_LRN = dict(size=5, alpha=1e-4 * 5, beta=0.75, k=2.0)  # the paper's alpha 1e-4, times n in PyTorch's convention


def js_round(x: float) -> int:
    return math.floor(x + 0.5)  # Math.round, which rounds halves up (Python's round goes to even)


def build_alexnet(preset: str, width: float, num_classes: int, in_channels: int, input_size: int, seed: int) -> nn.Sequential:
    def ch(c: int, groups: int = 1) -> int:
        return max(groups, js_round(c * width / groups) * groups)

    dropouts = [0]

    def dropout(p: float) -> PhiloxDropout:
        layer = PhiloxDropout(p, derive_seed(seed, 1000 + dropouts[0]))
        dropouts[0] += 1
        return layer

    def pool() -> nn.Module:
        return nn.MaxPool2d(3, 2)

    def lrn() -> nn.Module:
        return nn.LocalResponseNorm(**PAPER_LRN)

    def conv(i: int, o: int, k: int, stride: int = 1, padding=0, groups: int = 1) -> nn.Module:
        if isinstance(padding, int):
            return nn.Conv2d(i, o, k, stride, padding, groups=groups)
        return PaddedConv2d(i, o, k, stride, 0, groups=groups, pad=padding)

    if preset == "paper":
        c = [ch(96, 2), ch(256, 2), ch(384, 2), ch(384, 2), ch(256, 2)]
        features = [conv(in_channels, c[0], 11, 4), nn.ReLU(), lrn(), pool(),
                    conv(c[0], c[1], 5, 1, 2, 2), nn.ReLU(), lrn(), pool(),
                    conv(c[1], c[2], 3, 1, 1), nn.ReLU(),
                    conv(c[2], c[3], 3, 1, 1, 2), nn.ReLU(),
                    conv(c[3], c[4], 3, 1, 1, 2), nn.ReLU(), pool()]
    elif preset == "seed-tf":
        c = [ch(96, 2), ch(256, 2), ch(384, 2), ch(384, 2), ch(256, 2)]
        features = [conv(in_channels, c[0], 11, 4, "same"), nn.ReLU(), lrn(), pool(),
                    conv(c[0], c[1], 5, 1, "same", 2), nn.ReLU(), lrn(), pool(),
                    conv(c[1], c[2], 3, 1, "same"), nn.ReLU(),
                    conv(c[2], c[3], 3, 1, "same", 2), nn.ReLU(),
                    conv(c[3], c[4], 3, 1, "same", 2), nn.ReLU(), pool()]
    elif preset == "torchvision":
        c = [ch(64), ch(192), ch(384), ch(256), ch(256)]
        features = [conv(in_channels, c[0], 11, 4, 2), nn.ReLU(), pool(),
                    conv(c[0], c[1], 5, 1, 2), nn.ReLU(), pool(),
                    conv(c[1], c[2], 3, 1, 1), nn.ReLU(),
                    conv(c[2], c[3], 3, 1, 1), nn.ReLU(),
                    conv(c[3], c[4], 3, 1, 1), nn.ReLU(), pool()]
    elif preset in ("keras-v1", "keras-v2"):
        c = [ch(48), ch(128), ch(192), ch(192), ch(128)]
        features = [conv(in_channels, c[0], 11, 4, (1, 2, 1, 2)), nn.ReLU(), pool(),
                    conv(c[0], c[1], 5, 1, "same"), nn.ReLU(), pool(),
                    conv(c[1], c[2], 3, 1, "same"), nn.ReLU(),
                    conv(c[2], c[3], 3, 1, "same"), nn.ReLU(),
                    conv(c[3], c[4], 3, 1, "same"), nn.ReLU(), pool()]
    elif preset == "d2l":
        c = [ch(96), ch(256), ch(384), ch(384), ch(256)]
        features = [conv(in_channels, c[0], 11, 4, 1), nn.ReLU(), pool(),
                    conv(c[0], c[1], 5, 1, 2), nn.ReLU(), pool(),
                    conv(c[1], c[2], 3, 1, 1), nn.ReLU(),
                    conv(c[2], c[3], 3, 1, 1), nn.ReLU(),
                    conv(c[3], c[4], 3, 1, 1), nn.ReLU(), pool()]
    else:
        raise ValueError(preset)
    features = nn.Sequential(*features)
    entries = [("features", features)]
    with torch.no_grad():  # the flattened size, from a pass over zeros (on 'meta' for the full-size models)
        device = next(features.parameters()).device
        shape = features(torch.zeros(1, in_channels, input_size, input_size, device=device)).shape
    if preset == "torchvision":
        entries.append(("avgpool", nn.AdaptiveAvgPool2d(6)))
        shape = (1, shape[1], 6, 6)
    entries.append(("flatten", nn.Flatten()))
    flat = int(np.prod(shape[1:]))

    def head(hidden: list[int], p: float, dropout_first: bool) -> nn.Sequential:
        layers, features_in = [], flat
        for h in hidden:
            if dropout_first:
                layers.append(dropout(p))
            layers += [nn.Linear(features_in, h), nn.ReLU()]
            if not dropout_first:
                layers.append(dropout(p))
            features_in = h
        layers.append(nn.Linear(features_in, num_classes))
        return nn.Sequential(*layers)

    if preset in ("paper", "seed-tf", "d2l"):
        classifier = head([ch(4096), ch(4096)], 0.5, False)
    elif preset == "torchvision":
        classifier = head([ch(4096), ch(4096)], 0.5, True)
    elif preset == "keras-v1":
        classifier = head([ch(2048), ch(2048)], 0.2, True)
    else:
        classifier = head([ch(1024), ch(128)], 0.2, True)
    entries.append(("classifier", classifier))
    return nn.Sequential(OrderedDict(entries))


def init_parameters(model: nn.Module, g: torch.Generator) -> dict[str, torch.Tensor]:
    """float32 values for every parameter: He-normal weights (activations keep their scale through
    the layers, so every layer matters to the logits) and small uniform biases; the output layer's
    weights are 10x smaller, so that the logits start near 1 and the training steps stay tame (a
    chaotic trajectory would amplify rounding differences past any tolerance)."""
    values = {}
    output_weight = [n for n, _ in model.named_parameters()][-2]
    for name, p in model.named_parameters():
        if name.endswith("weight"):
            fan_in = int(np.prod(p.shape[1:]))
            gain = 0.1 if name == output_weight else 1.0
            values[name] = randn(g, *p.shape, scale=gain * math.sqrt(2.0 / fan_in))
        else:
            values[name] = ((torch.rand(*p.shape, generator=g) * 2 - 1) * 0.1).to(torch.float32)
    return values


# Reduced presets: width and input size keep the fixtures small while every layer still sees a
# spatial extent above 1 (the last pooling outputs 2x2) and conv groups stay divisible.
REDUCED = {
    "paper": dict(width=1 / 16, input_size=99, in_channels=3),
    "seed-tf": dict(width=1 / 32, input_size=90, in_channels=3),  # conv1 SAME pads 4 top/left, 5 bottom/right
    "torchvision": dict(width=1 / 32, input_size=95, in_channels=3),  # 2x2 features, avgpool upsamples to 6x6
    "keras-v1": dict(width=1 / 16, input_size=96, in_channels=3),
    "keras-v2": dict(width=1 / 8, input_size=96, in_channels=3),
    "d2l": dict(width=1 / 32, input_size=97, in_channels=1),
}
MODEL_BATCH = 2
MODEL_CLASSES = 10
MODEL_SEED = 20121203
TRAJECTORY = dict(presets=["paper", "torchvision"], steps=10, lr=0.01, momentum=0.9, weight_decay=5e-4)


def reduced_model(preset: str):
    cfg = REDUCED[preset]
    model = build_alexnet(preset, cfg["width"], MODEL_CLASSES, cfg["in_channels"], cfg["input_size"], MODEL_SEED)
    g = generator("model", preset)
    values = init_parameters(model, g)
    x = randn(g, MODEL_BATCH, cfg["in_channels"], cfg["input_size"], cfg["input_size"])
    labels = torch.randint(0, MODEL_CLASSES, (MODEL_BATCH,), generator=g).to(torch.int32)
    model.to(COMPUTE).train()
    model.load_state_dict({k: v.to(COMPUTE) for k, v in values.items()})
    config = {
        "preset": preset,
        "width": cfg["width"],
        "inputSize": cfg["input_size"],
        "inChannels": cfg["in_channels"],
        "numClasses": MODEL_CLASSES,
        "batch": MODEL_BATCH,
        "seed": str(MODEL_SEED),
        "init": "pytorch",
    }
    return model, values, x, labels, config


def preset_fixture(preset: str) -> Fixture:
    fx = Fixture(f"models/{preset}")
    model, values, x, labels, config = reduced_model(preset)
    logits = model(x.to(COMPUTE))
    loss = F.cross_entropy(logits, labels.long())
    names = [n for n, _ in model.named_parameters()]
    found = torch.autograd.grad(loss, [p for _, p in model.named_parameters()])
    tensors = {"x": x, "labels": labels, "logits": logits, "loss": loss.reshape(1)}
    for name, grad in zip(names, found):
        tensors[f"param.{name}"] = values[name]
        tensors[f"grad.{name}"] = grad
    config["parameters"] = names
    fx.case("reduced", config, **tensors)
    return fx


def trajectory_fixture() -> Fixture:
    """Ten SGD steps from each reduced preset's fixture (same parameters, input and labels), with
    dropout active and its masks advancing each step as lib/nn/dropout.ts does."""
    fx = Fixture("models/training")
    for preset in TRAJECTORY["presets"]:
        model, _, x, labels, config = reduced_model(preset)
        optimizer = torch.optim.SGD(model.parameters(), lr=TRAJECTORY["lr"], momentum=TRAJECTORY["momentum"],
                                    weight_decay=TRAJECTORY["weight_decay"])
        losses = []
        for _ in range(TRAJECTORY["steps"]):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x.to(COMPUTE)), labels.long())
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        names = [n for n, _ in model.named_parameters()]
        last = names[-2:]  # the output layer's weight and bias
        params = dict(model.named_parameters())
        tensors = {"losses": np.array(losses), **{f"final.{n}": params[n] for n in last}}
        config.update(steps=TRAJECTORY["steps"], lr=TRAJECTORY["lr"], momentum=TRAJECTORY["momentum"],
                      weightDecay=TRAJECTORY["weight_decay"], finalParameters=last, parameters=names)
        fx.case(preset, config, **tensors)
    return fx


def full_size_shapes() -> dict:
    """Every preset at full size: each layer's output shape (batch 1) and the parameter count."""
    out = {}
    for preset in REDUCED:
        d2l = preset == "d2l"
        classes, channels = (10, 1) if d2l else (1000, 3)
        size = 227 if preset == "paper" else 224
        with torch.device("meta"):
            model = build_alexnet(preset, 1.0, classes, channels, size, MODEL_SEED).eval()
            x = torch.empty(1, channels, size, size)
            layers = []
            for name, child in model.named_children():
                nested = child.named_children() if isinstance(child, nn.Sequential) else [("", child)]
                for sub, layer in nested:
                    x = layer(x)
                    layers.append([f"{name}.{sub}" if sub else name, list(x.shape)])
        out[preset] = {
            "inputSize": size,
            "inChannels": channels,
            "numClasses": classes,
            "parameterCount": sum(p.numel() for p in model.parameters()),
            "layers": layers,
        }
    return {"script_sha256": SCRIPT_SHA256, "torch": torch.__version__, "presets": out}


def main() -> None:
    global OUT
    if len(sys.argv) > 1:
        OUT = Path(sys.argv[1]).resolve()
    check_philox_known_answers()
    sizes = {}
    fixtures = [conv2d_fixture, lrn_fixture, pooling_fixture, activation_fixture, linear_fixture, dropout_fixture,
                random_fixture, loss_fixture, sgd_fixture, trajectory_fixture]
    for make in fixtures:
        fx = make()
        sizes[fx.name] = fx.save()
    for preset in REDUCED:
        fx = preset_fixture(preset)
        sizes[fx.name] = fx.save()
    shapes_path = OUT / "models" / "full_size.json"
    shapes_path.write_text(json.dumps(full_size_shapes(), indent=1) + "\n")
    sizes["models/full_size.json"] = shapes_path.stat().st_size
    for name, size in sizes.items():
        print(f"{name:32s} {size / 1024:8.1f} KiB")
    print(f"{'total':32s} {sum(sizes.values()) / 1024:8.1f} KiB in {OUT}")


if __name__ == "__main__":
    main()
