"""Loads alexnet-cuda checkpoints into torchvision's AlexNet, defined here in plain torch (the
torchvision wheel on this project's machines does not match its torch), with
load_state_dict(strict=True), and runs it on the same input.

Environment: IN holds `input` (the images); WEIGHTS is a weights-only file; TRAINING a training
checkpoint (its `optimizer.` tensors are dropped before the strict load); OUT receives the logits
of both as `weights_logits` and `training_logits`.
"""
import os

import torch
from torch import nn
from safetensors.torch import load_file, save_file


class AlexNet(nn.Module):
    """torchvision.models.alexnet, verbatim in structure and names."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.5) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=11, stride=4, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(64, 192, kernel_size=5, padding=2),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
            nn.Conv2d(192, 384, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(384, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(inplace=True),
            nn.MaxPool2d(kernel_size=3, stride=2),
        )
        self.avgpool = nn.AdaptiveAvgPool2d((6, 6))
        self.classifier = nn.Sequential(
            nn.Dropout(p=dropout),
            nn.Linear(256 * 6 * 6, 4096),
            nn.ReLU(inplace=True),
            nn.Dropout(p=dropout),
            nn.Linear(4096, 4096),
            nn.ReLU(inplace=True),
            nn.Linear(4096, num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)
        x = self.avgpool(x)
        x = torch.flatten(x, 1)
        return self.classifier(x)


def logits(state_dict: dict, images: torch.Tensor) -> torch.Tensor:
    num_classes = state_dict["classifier.6.weight"].shape[0]
    model = AlexNet(num_classes=num_classes)
    model.load_state_dict(state_dict, strict=True)
    model.eval()
    with torch.no_grad():
        return model(images)


def main() -> None:
    torch.set_num_threads(2)
    images = load_file(os.environ["IN"])["input"]
    out = {"weights_logits": logits(load_file(os.environ["WEIGHTS"]), images)}
    training = {k: v for k, v in load_file(os.environ["TRAINING"]).items() if not k.startswith("optimizer.")}
    out["training_logits"] = logits(training, images)
    save_file({k: v.contiguous() for k, v in out.items()}, os.environ["OUT"])


if __name__ == "__main__":
    main()
