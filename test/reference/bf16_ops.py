"""The bf16 precision mode's per-op references (test/ops/bfloat16.test.ts), run live:
python3 bf16_ops.py IN OUT.

IN holds fp32 inputs drawn by the test (not yet rounded). Every reference is PyTorch's fp32 op on
the inputs rounded to bfloat16 here, with torch's own cast (x.to(torch.bfloat16).float(): round to
nearest even), so the test also checks our rounding against PyTorch's. The references are NOT
rounded afterwards: the test states how far from fp32 the bf16 mode may be (test/helpers.ts,
BF16_RTOL). Weight and bias gradients are fp32 in the bf16 mode, and so are the loss and softmax.
"""
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file


def r(t: torch.Tensor) -> torch.Tensor:
    """Rounded to bfloat16, kept in fp32."""
    return t.to(torch.bfloat16).float()


def leaf(t: torch.Tensor) -> torch.Tensor:
    return r(t).clone().requires_grad_(True)


def main(src: str, dst: str) -> None:
    torch.backends.mkldnn.enabled = False  # plain fp32 reference kernels
    i = load_file(src)
    out: dict[str, torch.Tensor] = {}

    out["round.y"] = r(i["round.x"])

    # conv2d: groups 2, stride 2, padding 1; forward with and without the fused ReLU, both backwards
    x, w, b = leaf(i["conv.x"]), leaf(i["conv.w"]), leaf(i["conv.b"])
    y = F.conv2d(x, w, b, stride=2, padding=1, groups=2)
    y.backward(r(i["conv.dy"]))
    out["conv.y"], out["conv.y_relu"] = y.detach(), F.relu(y).detach()
    out["conv.dx"], out["conv.dw"], out["conv.db"] = x.grad, w.grad, b.grad

    # linear
    x, w, b = leaf(i["linear.x"]), leaf(i["linear.w"]), leaf(i["linear.b"])
    y = F.linear(x, w, b)
    y.backward(r(i["linear.dy"]))
    out["linear.y"], out["linear.y_relu"] = y.detach(), F.relu(y).detach()
    out["linear.dx"], out["linear.dw"], out["linear.db"] = x.grad, w.grad, b.grad

    # LRN (PyTorch's alpha convention, as ours)
    x = leaf(i["lrn.x"])
    y = F.local_response_norm(x, size=5, alpha=1e-2, beta=0.75, k=2.0)
    y.backward(r(i["lrn.dy"]))
    out["lrn.y"], out["lrn.dx"] = y.detach(), x.grad

    # max pooling 3x3 stride 2 (overlapping windows: the backward sums)
    x = leaf(i["pool.x"])
    y = F.max_pool2d(x, kernel_size=3, stride=2)
    y.backward(r(i["pool.dy"]))
    out["pool.y"], out["pool.dx"] = y.detach(), x.grad

    # adaptive average pooling 7x7 -> 3x3 (overlapping windows)
    x = leaf(i["avgpool.x"])
    y = F.adaptive_avg_pool2d(x, (3, 3))
    y.backward(r(i["avgpool.dy"]))
    out["avgpool.y"], out["avgpool.dx"] = y.detach(), x.grad

    # ReLU
    x = leaf(i["relu.x"])
    y = F.relu(x)
    y.backward(r(i["relu.dy"]))
    out["relu.y"], out["relu.dx"] = y.detach(), x.grad

    # dropout with our mask (0 or 1 / (1 - p)): y = x * mask, dx = dy * mask
    mask = i["dropout.mask"]
    out["dropout.y"] = r(i["dropout.x"]) * mask
    out["dropout.dx"] = r(i["dropout.dy"]) * mask

    # loss and softmax: fp32 in every mode, on the logits as given
    logits = i["loss.logits"].clone().requires_grad_(True)
    labels = i["loss.labels"].long()
    loss = F.cross_entropy(logits, labels)
    loss.backward()
    out["loss.loss"], out["loss.dlogits"] = loss.detach().reshape(1), logits.grad
    out["loss.softmax"] = F.softmax(i["loss.logits"], dim=1)

    save_file({k: v.contiguous().float() for k, v in out.items()}, dst)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
