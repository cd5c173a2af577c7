#!/usr/bin/env python3
"""PyTorch's answer for one full-size AlexNet preset, computed live (full-size parameters are too
large to commit as fixtures): test/models/fullSizePytorch.test.ts writes our model's parameters, a
batch and its labels, this script computes in float64 the logits, the mean cross-entropy loss and
every parameter's gradient in training mode (dropout active, with the masks our model draws,
replicated from its seed as in make_fixtures.py), and writes them back.

The network is make_fixtures.py's `build_alexnet` for every preset but seed-tf, which is checked
against seed_tf.py: an op-for-op translation of the seed tutorial's TensorFlow code (NHWC, tf.split
groups, TensorFlow's LRN and SAME padding, HWC flatten), so that preset is compared with the seed
itself rather than with a second copy of our own layer list.

Usage: python3 full_size.py IN.safetensors OUT.safetensors
  IN holds param.<name> (float32), x (float32 NCHW), labels (int32) and metadata "config":
  {"preset", "seed", "numClasses", "inChannels", "inputSize"}.
  OUT gets logits, loss and grad.<name>, float64 results stored as float32.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.numpy import save_file  # noqa: E402

import make_fixtures as mf  # noqa: E402
import seed_tf  # noqa: E402

torch.set_num_threads(2)  # make_fixtures pins one thread for its byte-stable fixtures; these are compared with a tolerance
COMPUTE = torch.float64


def read_input(path: str) -> tuple[dict, dict[str, torch.Tensor]]:
    with safe_open(path, framework="np") as f:
        config = json.loads(f.metadata()["config"])
        tensors = {k: torch.from_numpy(f.get_tensor(k)) for k in f.keys()}
    return config, tensors


def seed_tf_answer(config: dict, params: dict[str, torch.Tensor], x: torch.Tensor, labels: torch.Tensor):
    """Logits, loss and our-named gradients from the translation of the seed's TensorFlow code."""
    seed = int(config["seed"])
    dropouts = [mf.PhiloxDropout(0.5, mf.derive_seed(seed, 1000 + i)) for i in range(2)]
    ours = {k: v.to(COMPUTE) for k, v in params.items()}
    size = -(-config["inputSize"] // 4)  # conv1: SAME, stride 4; the other convolutions keep the size
    for _ in range(3):  # pool1, pool2, pool5: 3x3, stride 2, VALID
        size = (size - 3) // 2 + 1
    variables = {k: v.detach().clone().requires_grad_(True) for k, v in seed_tf.variables_from_ours(ours, size).items()}
    logits = seed_tf.alexnet(x.to(COMPUTE).permute(0, 2, 3, 1), variables, lambda i, t: dropouts[i](t))
    loss = F.cross_entropy(logits, labels.long())
    names = list(variables)
    found = torch.autograd.grad(loss, [variables[n] for n in names])
    grads = seed_tf.grads_to_ours(dict(zip(names, found)), size)
    return logits, loss, grads


def builder_answer(config: dict, params: dict[str, torch.Tensor], x: torch.Tensor, labels: torch.Tensor,
                   dtype: torch.dtype = COMPUTE):
    model = mf.build_alexnet(config["preset"], 1.0, config["numClasses"], config["inChannels"], config["inputSize"], int(config["seed"]))
    model.to(dtype).train()
    model.load_state_dict({k: v.to(dtype) for k, v in params.items()})
    logits = model(x.to(dtype))
    loss = F.cross_entropy(logits, labels.long())
    names = [n for n, _ in model.named_parameters()]
    found = torch.autograd.grad(loss, [p for _, p in model.named_parameters()])
    return logits, loss, dict(zip(names, found))


def main() -> None:
    torch.use_deterministic_algorithms(False)
    config, tensors = read_input(sys.argv[1])
    params = {k[len("param."):]: v for k, v in tensors.items() if k.startswith("param.")}
    answer = seed_tf_answer if config["preset"] == "seed-tf" else builder_answer
    logits, loss, grads = answer(config, params, tensors["x"], tensors["labels"])
    missing = set(params) ^ set(grads)
    if missing:
        sys.exit(f"full_size.py: parameter names differ from the reference network's: {sorted(missing)}")
    out = {"logits": mf.as_f32(logits), "loss": mf.as_f32(loss.reshape(1))}
    out.update({f"grad.{name}": mf.as_f32(g) for name, g in grads.items()})
    if config.get("alsoFloat32"):
        # PyTorch's own fp32 answer, to show how far fp32 arithmetic itself is from the exact one.
        logits, loss, grads = builder_answer(config, params, tensors["x"], tensors["labels"], torch.float32)
        out.update({"fp32.logits": mf.as_f32(logits), "fp32.loss": mf.as_f32(loss.reshape(1))})
        out.update({f"fp32.grad.{name}": mf.as_f32(g) for name, g in grads.items()})
    save_file({k: np.ascontiguousarray(v) for k, v in out.items()}, sys.argv[2])


if __name__ == "__main__":
    main()
