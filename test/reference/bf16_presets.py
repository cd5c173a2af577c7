"""PyTorch's bf16 autocast on the CPU for the reduced presets (test/models/bf16Presets.test.ts), run
live: python3 bf16_presets.py IN OUT, with IN's metadata "presets" a comma-separated list.

Each preset is make_fixtures.py's reduced model (the same parameters, input, labels and dropout
masks as fixtures/models/<preset>.safetensors) in fp32, run under torch.autocast("cpu",
dtype=torch.bfloat16) in training mode: convolutions and linear layers in bfloat16 with fp32 sums,
the other layers on the bfloat16 activations they receive, the loss in fp32 on the logits. Writes
<preset>.logits, <preset>.loss and <preset>.grad.<name> (the fp32 parameters' gradients).
"""
import sys
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import save_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_fixtures import reduced_model  # noqa: E402  (the fixtures' models, bit for bit)


def main(src: str, dst: str) -> None:
    with safe_open(src, "pt") as f:
        presets = (f.metadata() or {}).get("presets", "").split(",")
    out: dict[str, torch.Tensor] = {}
    for preset in filter(None, presets):
        model, values, x, labels, _ = reduced_model(preset)
        model.float().train()
        model.load_state_dict({k: v.float() for k, v in values.items()})
        params = [p for _, p in model.named_parameters()]
        with torch.autocast("cpu", dtype=torch.bfloat16):
            logits = model(x.float())
        loss = F.cross_entropy(logits.float(), labels.long())
        grads = torch.autograd.grad(loss, params)
        out[f"{preset}.logits"] = logits.float().detach()
        out[f"{preset}.loss"] = loss.detach().reshape(1)
        for (name, _), g in zip(model.named_parameters(), grads):
            out[f"{preset}.grad.{name}"] = g.float()
    save_file({k: v.contiguous() for k, v in out.items()}, dst)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
