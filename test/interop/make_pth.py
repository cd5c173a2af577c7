"""Writes PyTorch checkpoints for test/interop/torchImport.test.ts, with the logits PyTorch computes.

Run by the test (test/python.ts's runTorch): $PTH_DIR receives the .pth files, $OUT a
safetensors file with the input batch and the logits (eval mode) of each model.

torchvision cannot be installed here, so its AlexNet is defined below in plain torch with the same
module names and layers as torchvision.models.alexnet; its state_dict is therefore laid out as
torchvision's (features.0.weight, ..., classifier.6.bias).

Files (all but full.pth at width 0.25, 10 classes):
  full.pth      the full-size model, 1000 classes: the layout of alexnet-owt-7be5be79.pth
  legacy.pth    the pre-1.6 (non-zip) format
  wrapped.pth   a training checkpoint: {'epoch', 'state_dict' with DataParallel's 'module.' names, 'optimizer'}
  strided.pth   every parameter a view into one shared storage, at offsets, linear weights transposed (non-contiguous)
  mixed.pth     conv weights float16, linear weights bfloat16, biases float64
  params.pth    state_dict(keep_vars=True): Parameters, not tensors
  module.pth    torch.save(model): a pickled nn.Module, which the importer must refuse
"""
import os

import torch
from safetensors.torch import save_file
from torch import nn


class AlexNet(nn.Module):
    """torchvision's AlexNet (same names and layers), with a width multiplier for small test models."""

    def __init__(self, num_classes=1000, width=1.0):
        super().__init__()

        def ch(c):
            scaled = c * width
            assert scaled == int(scaled), f"width {width} does not scale {c} to an integer"
            return int(scaled)

        c = [ch(64), ch(192), ch(384), ch(256), ch(256)]
        hidden = ch(4096)
        self.features = nn.Sequential(
            nn.Conv2d(3, c[0], kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(c[0], c[1], kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(c[1], c[2], kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(c[2], c[3], kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(c[3], c[4], kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=0.5),
            nn.Linear(c[4] * 6 * 6, hidden),
            nn.ReLU(inplace=True),
            nn.Dropout(p=0.5),
            nn.Linear(hidden, hidden),
            nn.ReLU(inplace=True),
            nn.Linear(hidden, num_classes),
        )

    def forward(self, x):
        x = self.avgpool(self.features(x))
        return self.classifier(torch.flatten(x, 1))


def logits(model, x):
    model.eval()
    with torch.no_grad():
        return model(x).contiguous()


def main():
    out_dir = os.environ["PTH_DIR"]
    path = lambda name: os.path.join(out_dir, name)
    torch.manual_seed(0)
    x = torch.empty(2, 3, 224, 224).uniform_(-2, 2)
    outputs = {"input": x}

    full = AlexNet(1000)
    torch.save(full.state_dict(), path("full.pth"))
    outputs["full_logits"] = logits(full, x)
    del full

    small = AlexNet(10, width=0.25)
    # Larger weights than the default initialization, so that the logits are far from zero.
    with torch.no_grad():
        for p in small.parameters():
            p.mul_(3)
    sd = small.state_dict()
    outputs["small_logits"] = logits(small, x)

    torch.save(sd, path("legacy.pth"), _use_new_zipfile_serialization=False)

    optimizer = torch.optim.SGD(small.parameters(), lr=0.0, momentum=0.9)  # lr 0: one step fills the buffers, keeps the weights
    small.train()
    small(x).square().mean().backward()
    optimizer.step()
    torch.save({"epoch": 3, "state_dict": {f"module.{k}": v for k, v in sd.items()}, "optimizer": optimizer.state_dict(), "best_top1": 0.5}, path("wrapped.pth"))

    total = sum(v.numel() for v in sd.values())
    flat = torch.zeros(total + 7)
    strided = {}
    offset = 7  # no parameter starts at the storage's beginning
    for k, v in sd.items():
        n = v.numel()
        region = flat[offset : offset + n]
        view = region.view(v.shape[1], v.shape[0]).t() if v.dim() == 2 else region.view(v.shape)
        view.copy_(v)
        strided[k] = view
        offset += n
    assert not strided["classifier.1.weight"].is_contiguous()
    torch.save(strided, path("strided.pth"))

    mixed = {}
    for k, v in sd.items():
        if k.endswith("bias"):
            mixed[k] = v.double()
        elif v.dim() == 4:
            mixed[k] = v.half()
        else:
            mixed[k] = v.bfloat16()
    torch.save(mixed, path("mixed.pth"))
    rounded = AlexNet(10, width=0.25)
    rounded.load_state_dict({k: v.float() for k, v in mixed.items()})
    outputs["mixed_logits"] = logits(rounded, x)

    torch.save(small.state_dict(keep_vars=True), path("params.pth"))
    torch.save(small, path("module.pth"))

    save_file({k: v.contiguous() for k, v in outputs.items()}, os.environ["OUT"])
    print(f"torch {torch.__version__}")


if __name__ == "__main__":  # importable for its AlexNet (test/cli/make_imagenet_pth.py)
    main()
