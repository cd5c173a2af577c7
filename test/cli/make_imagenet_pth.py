"""Writes a stand-in for torchvision's ImageNet weights for the README's fine-tuning walk-through.

The real alexnet-owt-7be5be79.pth cannot be downloaded here; this writes a file of its exact layout
(torchvision's AlexNet at full size, 1000 classes, a zip-format torch.save of its state_dict, with
PyTorch's default initialization) under the same name, in the folder given as the first argument.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop"))
from make_pth import AlexNet  # noqa: E402  (torchvision's AlexNet in plain torch)

torch.manual_seed(0)
torch.save(AlexNet(1000).state_dict(), os.path.join(sys.argv[1], "alexnet-owt-7be5be79.pth"))
