#!/usr/bin/env python3
"""torch.optim run live for test/optim/torchOptim.test.ts: SGD (with parameter groups), Adam and
AdamW over several steps from given parameters and gradients.

Usage: python3 optim_reference.py IN OUT (test/python.ts runTorchFile). IN holds, for each case,
`<case>.p<i>.initial` and `<case>.p<i>.grad<step>` (float32), and in its metadata `cases`: a JSON
list of {name, type: sgd|adam|adamw, defaults, groups: [{params: [i...], options}], steps,
frozen: [i...], lrFactors: [one per step]} with torch.optim's option names. Each step sets every
group's lr to its initial lr times that step's factor (as a schedule does), gives every parameter
that is not frozen its gradient (a frozen one has requires_grad False and no gradient, so torch
skips it), and steps. OUT gets `<case>.p<i>.after<step>` after every step and, after the last,
`<case>.p<i>.<slot>` for each state tensor torch keeps (momentum_buffer, exp_avg, exp_avg_sq).

Precision: the parameters and gradients are float32 as given; torch computes in float64 (the exact
answer for float32 inputs, up to float64 rounding), stored as float32, so the tests' tolerance
measures our float32 arithmetic against exact arithmetic rather than against PyTorch's own rounding.
"""
from __future__ import annotations

import json
import sys

import numpy as np
import torch
from safetensors import safe_open
from safetensors.numpy import save_file

COMPUTE = torch.float64
OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam, "adamw": torch.optim.AdamW}


def main() -> None:
    source, target = sys.argv[1], sys.argv[2]
    torch.set_num_threads(1)
    tensors: dict[str, torch.Tensor] = {}
    with safe_open(source, framework="pt") as f:
        cases = json.loads(f.metadata()["cases"])
        for key in f.keys():
            tensors[key] = f.get_tensor(key)
    out: dict[str, np.ndarray] = {}
    for case in cases:
        name = case["name"]
        count = sum(1 for key in tensors if key.startswith(f"{name}.p") and key.endswith(".initial"))
        frozen = set(case.get("frozen", []))
        params = []
        for i in range(count):
            p = torch.nn.Parameter(tensors[f"{name}.p{i}.initial"].to(COMPUTE))
            p.requires_grad_(i not in frozen)
            params.append(p)
        groups = [{"params": [params[i] for i in g["params"]], **g.get("options", {})} for g in case["groups"]]
        optimizer = OPTIMIZERS[case["type"]](groups, **case["defaults"])
        initial_lrs = [g["lr"] for g in optimizer.param_groups]
        for step in range(case["steps"]):
            for g, lr in zip(optimizer.param_groups, initial_lrs):
                g["lr"] = lr * case["lrFactors"][step]
            for i, p in enumerate(params):
                p.grad = None if i in frozen else tensors[f"{name}.p{i}.grad{step}"].to(COMPUTE)
            optimizer.step()
            for i, p in enumerate(params):
                out[f"{name}.p{i}.after{step}"] = p.detach().to(torch.float32).numpy().copy()
        for i, p in enumerate(params):
            for slot, value in optimizer.state.get(p, {}).items():
                if isinstance(value, torch.Tensor) and value.shape == p.shape:
                    out[f"{name}.p{i}.{slot}"] = value.detach().to(torch.float32).numpy().copy()
    save_file(out, target)


if __name__ == "__main__":
    main()
