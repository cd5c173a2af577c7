#!/usr/bin/env python3
"""PyTorch eager baseline for alexnet-cuda's benchmarks: the same AlexNet presets (plain torch
modules, no torchvision), the same work and the same timing method as lib/benchmark.ts.

Tasks (each timed per iteration after warm-up; medians are taken by the caller):
  train      forward (training mode), F.cross_entropy, backward, SGD(lr 0.01, momentum 0.9,
             weight_decay 5e-4).step() with set_to_none zero_grad
  inference  forward in eval mode under torch.inference_mode()
  layers     each unit of the model (a Conv2d/Linear with the ReLU after it taken together, as
             alexnet-cuda fuses them; Flatten left out) timed forward, then backward with
             torch.autograd.grad against the unit's parameters (and its input, except for the first
             unit), then the loss (forward and backward) and the SGD update alone.
An iteration's time is the wall time from the first call to torch.cuda.synchronize() returning
(on the CPU, to the call returning). Inputs are created on the device beforehand; nothing is read
back to the host.

Two ways to run it:
  python3 bench/pytorch_baseline.py --device cpu --presets torchvision --batch 1,32 --tasks train,inference
      prints a table (and --json FILE writes the results)
  python3 bench/pytorch_baseline.py --serve --device cpu --threads 2
      reads one JSON request per line on stdin ({"task", "preset", "batch", "warmup", "iters",
      "tf32", "bf16"}) and answers one JSON line per request on stdout: how bench/cpu.ts and bench/gpu.ts
      interleave their measurements with PyTorch's.
"""
import argparse
import json
import sys
import time
from collections import OrderedDict

import torch
import torch.nn as nn
import torch.nn.functional as F

PRESETS = ("paper", "seed-tf", "torchvision", "keras-v1", "keras-v2", "d2l")
SGD_OPTIONS = dict(lr=0.01, momentum=0.9, weight_decay=5e-4)


class PaddedConv2d(nn.Conv2d):
    """A convolution with zero padding that may differ per side (TensorFlow's SAME with an even
    total, Keras' ZeroPadding2D((1, 2), (1, 2))): F.pad, then a convolution without padding.
    pad = (left, right, top, bottom), as F.pad takes it."""

    def __init__(self, *args, pad, **kwargs):
        super().__init__(*args, padding=0, **kwargs)
        self.pad = pad

    def forward(self, x):
        return super().forward(F.pad(x, self.pad))


def lrn_from_paper():
    # The paper's alpha = 1e-4 multiplies the window's sum; PyTorch divides alpha by size.
    return nn.LocalResponseNorm(5, alpha=1e-4 * 5, beta=0.75, k=2.0)


def pool():
    return nn.MaxPool2d(kernel_size=3, stride=2)


def head(in_features, hidden, classes, p, dropout_first):
    layers = []
    features = in_features
    for h in hidden:
        if dropout_first:
            layers.append(nn.Dropout(p))
        layers += [nn.Linear(features, h), nn.ReLU(inplace=True)]
        if not dropout_first:
            layers.append(nn.Dropout(p))
        features = h
    layers.append(nn.Linear(features, classes))
    return nn.Sequential(*layers)


def build(preset):
    """The model, its input shape (C, H, W) and class count; module names as lib/models/alexnet.ts."""
    relu = lambda: nn.ReLU(inplace=True)  # noqa: E731
    if preset == "paper":
        features = nn.Sequential(
            nn.Conv2d(3, 96, 11, stride=4), relu(), lrn_from_paper(), pool(),
            nn.Conv2d(96, 256, 5, padding=2, groups=2), relu(), lrn_from_paper(), pool(),
            nn.Conv2d(256, 384, 3, padding=1), relu(),
            nn.Conv2d(384, 384, 3, padding=1, groups=2), relu(),
            nn.Conv2d(384, 256, 3, padding=1, groups=2), relu(), pool(),
        )
        return wrap(features, None, head(9216, [4096, 4096], 1000, 0.5, False)), (3, 227, 227), 1000
    if preset == "seed-tf":
        features = nn.Sequential(
            PaddedConv2d(3, 96, 11, stride=4, pad=(3, 4, 3, 4)), relu(), lrn_from_paper(), pool(),
            nn.Conv2d(96, 256, 5, padding=2, groups=2), relu(), lrn_from_paper(), pool(),
            nn.Conv2d(256, 384, 3, padding=1), relu(),
            nn.Conv2d(384, 384, 3, padding=1, groups=2), relu(),
            nn.Conv2d(384, 256, 3, padding=1, groups=2), relu(), pool(),
        )
        return wrap(features, None, head(9216, [4096, 4096], 1000, 0.5, False)), (3, 224, 224), 1000
    if preset == "torchvision":
        # torchvision.models.alexnet, written out (torchvision's wheel here does not match torch).
        features = nn.Sequential(
            nn.Conv2d(3, 64, 11, stride=4, padding=2), relu(), pool(),
            nn.Conv2d(64, 192, 5, padding=2), relu(), pool(),
            nn.Conv2d(192, 384, 3, padding=1), relu(),
            nn.Conv2d(384, 256, 3, padding=1), relu(),
            nn.Conv2d(256, 256, 3, padding=1), relu(), pool(),
        )
        avgpool = nn.AdaptiveAvgPool2d((6, 6))
        return wrap(features, avgpool, head(9216, [4096, 4096], 1000, 0.5, True)), (3, 224, 224), 1000
    if preset in ("keras-v1", "keras-v2"):
        features = nn.Sequential(
            PaddedConv2d(3, 48, 11, stride=4, pad=(1, 2, 1, 2)), relu(), pool(),
            nn.Conv2d(48, 128, 5, padding=2), relu(), pool(),
            nn.Conv2d(128, 192, 3, padding=1), relu(),
            nn.Conv2d(192, 192, 3, padding=1), relu(),
            nn.Conv2d(192, 128, 3, padding=1), relu(), pool(),
        )
        hidden = [2048, 2048] if preset == "keras-v1" else [1024, 128]
        return wrap(features, None, head(4608, hidden, 1000, 0.2, True)), (3, 224, 224), 1000
    if preset == "d2l":
        features = nn.Sequential(
            nn.Conv2d(1, 96, 11, stride=4, padding=1), relu(), pool(),
            nn.Conv2d(96, 256, 5, padding=2), relu(), pool(),
            nn.Conv2d(256, 384, 3, padding=1), relu(),
            nn.Conv2d(384, 384, 3, padding=1), relu(),
            nn.Conv2d(384, 256, 3, padding=1), relu(), pool(),
        )
        return wrap(features, None, head(6400, [4096, 4096], 10, 0.5, False)), (1, 224, 224), 10
    raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")


def wrap(features, avgpool, classifier):
    parts = [("features", features)]
    if avgpool is not None:
        parts.append(("avgpool", avgpool))
    parts += [("flatten", nn.Flatten()), ("classifier", classifier)]
    return nn.Sequential(OrderedDict(parts))


def units(model):
    """Leaf modules grouped as alexnet-cuda runs them: [(name, [modules])]."""
    leaves = [(name, m) for name, m in model.named_modules() if len(list(m.children())) == 0]
    out, i = [], 0
    while i < len(leaves):
        name, layer = leaves[i]
        nxt = leaves[i + 1][1] if i + 1 < len(leaves) else None
        if isinstance(layer, nn.Flatten):
            i += 1
            continue
        if isinstance(layer, (nn.Conv2d, nn.Linear)) and isinstance(nxt, nn.ReLU):
            out.append((name, [layer, nxt]))
            i += 2
        else:
            out.append((name, [layer]))
            i += 1
    return out


def kind(m):
    return "Conv2d" if isinstance(m, nn.Conv2d) else type(m).__name__


class Runner:
    def __init__(self, device, threads=None):
        self.device = torch.device(device)
        self.cuda = self.device.type == "cuda"
        if threads:
            torch.set_num_threads(threads)
        if self.cuda:
            torch.backends.cudnn.benchmark = True
        self.models = {}

    def set_tf32(self, on):
        if self.cuda:
            torch.backends.cuda.matmul.allow_tf32 = bool(on)
            torch.backends.cudnn.allow_tf32 = bool(on)

    def sync(self):
        if self.cuda:
            torch.cuda.synchronize(self.device)

    def time_once(self, fn):
        start = time.perf_counter()
        fn()
        self.sync()
        return (time.perf_counter() - start) * 1000.0

    def samples(self, fn, warmup, iters):
        self.sync()
        for _ in range(warmup):
            self.time_once(fn)
        return [self.time_once(fn) for _ in range(iters)]

    def model(self, preset, channels_last=False):
        # One model per preset (and memory format), kept between requests (as its parameters would be in training).
        key = (preset, channels_last)
        if key not in self.models:
            torch.manual_seed(1)
            model, shape, classes = build(preset)
            model = model.to(self.device)
            if channels_last:
                model = model.to(memory_format=torch.channels_last)
            self.models[key] = (model, shape, classes)
        return self.models[key]

    def batch(self, shape, classes, n, channels_last=False):
        gen = torch.Generator(device="cpu").manual_seed(2)
        images = (torch.rand((n, *shape), generator=gen) * 2 - 1).to(self.device)
        if channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        labels = torch.tensor([(i * 7919) % classes for i in range(n)], dtype=torch.long, device=self.device)
        return images, labels

    def train(self, preset, n, warmup, iters, bf16=False):
        # bf16: the configuration people use for speed, autocast with channels_last (fp32 master weights).
        model, shape, classes = self.model(preset, channels_last=bf16)
        images, labels = self.batch(shape, classes, n, channels_last=bf16)
        model.train()
        opt = torch.optim.SGD(model.parameters(), **SGD_OPTIONS)

        def step():
            opt.zero_grad(set_to_none=True)
            with torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=bf16):
                loss = F.cross_entropy(model(images), labels)
            loss.backward()
            opt.step()

        return {"samples_ms": self.samples(step, warmup, iters)}

    def inference(self, preset, n, warmup, iters, bf16=False):
        model, shape, classes = self.model(preset, channels_last=bf16)
        images, _ = self.batch(shape, classes, n, channels_last=bf16)
        model.eval()

        def step():
            with torch.inference_mode(), torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=bf16):
                model(images)

        return {"samples_ms": self.samples(step, warmup, iters)}

    def layers(self, preset, n, warmup, iters):
        model, shape, classes = self.model(preset)
        model.train()
        rows = []
        x_shape = (n, *shape)
        gen = torch.Generator(device="cpu").manual_seed(3)

        def rand(s):
            return (torch.rand(s, generator=gen) * 2 - 1).to(self.device)

        for index, (name, mods) in enumerate(units(model)):
            if isinstance(mods[0], nn.Linear) and len(x_shape) > 2:
                x_shape = (x_shape[0], int(torch.tensor(x_shape[1:]).prod()))
            unit = nn.Sequential(*mods)
            x = rand(x_shape).requires_grad_(index > 0)
            with torch.no_grad():
                y_shape = tuple(unit(x).shape)
            dy = rand(y_shape)
            wrt = ([x] if index > 0 else []) + [p for p in unit.parameters()]
            fwd, bwd = [], []
            for i in range(warmup + iters):
                holder = {}

                def forward():
                    holder["y"] = unit(x)

                f = self.time_once(forward)
                y = holder.pop("y")
                # Dropout has neither parameters nor (for the first unit) an input gradient to ask for.
                if wrt:
                    b = self.time_once(lambda: torch.autograd.grad(y, wrt, dy))
                else:
                    b = 0.0
                del y
                if i >= warmup:
                    fwd.append(f)
                    bwd.append(b)
            rows.append({
                "name": name,
                "layers": "+".join(kind(m) for m in mods),
                "input_shape": list(x_shape),
                "output_shape": list(y_shape),
                "forward_ms": fwd,
                "backward_ms": bwd,
            })
            x_shape = y_shape

        logits = rand(x_shape).requires_grad_(True)
        labels = torch.tensor([(i * 7919) % classes for i in range(n)], dtype=torch.long, device=self.device)

        def loss_step():
            torch.autograd.grad(F.cross_entropy(logits, labels), [logits])

        rows.append({"name": "loss", "layers": "SoftmaxCrossEntropy", "input_shape": list(x_shape),
                     "output_shape": [1], "forward_ms": self.samples(loss_step, warmup, iters), "backward_ms": None})

        params = list(model.parameters())
        for p in params:
            p.grad = rand(tuple(p.shape))
        opt = torch.optim.SGD(params, **SGD_OPTIONS)
        count = sum(p.numel() for p in params)
        rows.append({"name": "sgd", "layers": "SGD", "input_shape": [count], "output_shape": [count],
                     "forward_ms": self.samples(opt.step, warmup, iters), "backward_ms": None})
        for p in params:
            p.grad = None
        return {"rows": rows}

    def handle(self, request):
        task = request["task"]
        if task == "info":
            return self.info()
        preset = request["preset"]
        if preset not in PRESETS:
            raise ValueError(f"preset must be one of {', '.join(PRESETS)}, got {preset!r}")
        self.set_tf32(request.get("tf32", False))
        args = (preset, int(request["batch"]), int(request.get("warmup", 2)), int(request.get("iters", 5)))
        bf16 = bool(request.get("bf16", False))
        if task == "train":
            return self.train(*args, bf16=bf16)
        if task == "inference":
            return self.inference(*args, bf16=bf16)
        if task == "layers":
            return self.layers(*args)
        raise ValueError(f"task must be info, train, inference or layers, got {task!r}")

    def info(self):
        out = {"torch": torch.__version__, "device": str(self.device), "threads": torch.get_num_threads()}
        if self.cuda:
            out["gpu"] = torch.cuda.get_device_name(self.device)
            out["cudnn"] = torch.backends.cudnn.version()
        else:
            out["onednn"] = torch.backends.mkldnn.is_available()
        return out


def serve(runner):
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            reply = {"ok": True, **runner.handle(json.loads(line))}
        except Exception as error:  # report, keep serving
            reply = {"ok": False, "error": f"{type(error).__name__}: {error}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


def median(xs):
    s = sorted(xs)
    m = len(s) // 2
    return s[m] if len(s) % 2 else (s[m - 1] + s[m]) / 2


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (CPU)")
    ap.add_argument("--serve", action="store_true", help="answer JSON requests on stdin")
    ap.add_argument("--presets", default="torchvision")
    ap.add_argument("--batch", default="1,32")
    ap.add_argument("--tasks", default="train,inference")
    ap.add_argument("--tf32", action="store_true")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--json", default=None, help="write the results here")
    args = ap.parse_args()
    runner = Runner(args.device, args.threads)
    if args.serve:
        serve(runner)
        return
    results = []
    print(json.dumps(runner.info()))
    for preset in args.presets.split(","):
        for n in [int(b) for b in args.batch.split(",")]:
            for task in args.tasks.split(","):
                r = runner.handle({"task": task, "preset": preset, "batch": n, "warmup": args.warmup,
                                   "iters": args.iters, "tf32": args.tf32})
                results.append({"task": task, "preset": preset, "batch": n, **r})
                if task == "layers":
                    for row in r["rows"]:
                        b = f"{median(row['backward_ms']):9.2f}" if row["backward_ms"] else " " * 9
                        print(f"{preset:12} {n:4} {row['name']:14} {row['layers']:22} "
                              f"fwd {median(row['forward_ms']):9.2f} ms  bwd {b} ms")
                else:
                    ms = median(r["samples_ms"])
                    print(f"{preset:12} {n:4} {task:10} {ms:9.2f} ms  {n / ms * 1000:9.1f} img/s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
