#!/usr/bin/python3
"""Python anchor of flatmin-bench-train: the same small ResNet (16/32/64, one basic block per stage),
the same Fashion-MNIST batches and Adam settings, timed with Debian's python3-torch (1.13).
Prints one JSON line: {"images_per_s": ..., "threads": ..., "torch": ...}.
Usage: /usr/bin/python3 bench/train_reference.py --data-dir D --threads T --batch B --warmup W --steps S"""
import argparse, gzip, json, os, time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


class BasicBlock(nn.Module):
    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class SmallResNet(nn.Module):
    def __init__(self, cin=1, classes=10, widths=(16, 32, 64)):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        layers, c = [], widths[0]
        for i, w in enumerate(widths):
            layers.append(BasicBlock(c, w, 1 if i == 0 else 2))
            c = w
        self.layers = nn.Sequential(*layers)
        self.linear = nn.Linear(c, classes)

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.layers(out)
        return self.linear(F.adaptive_avg_pool2d(out, 1).flatten(1))


def load_images(d, n):
    with gzip.open(os.path.join(d, "train-images-idx3-ubyte.gz")) as f:
        x = np.frombuffer(f.read(), np.uint8, offset=16)[: n * 784].reshape(n, 1, 28, 28)
    with gzip.open(os.path.join(d, "train-labels-idx1-ubyte.gz")) as f:
        y = np.frombuffer(f.read(), np.uint8, offset=8)[:n]
    x = (torch.from_numpy(x.astype(np.float32)) / 255.0 - 0.2860) / 0.3530
    return x, torch.from_numpy(y.astype(np.int64))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--data-dir", default="/usr/share/datasets/fashion-mnist")
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--steps", type=int, default=30)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    nb = 8
    x, y = load_images(a.data_dir, nb * a.batch)
    model = SmallResNet()
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=5e-5)

    def step(i):
        j = i % nb
        xb, yb = x[j * a.batch:(j + 1) * a.batch], y[j * a.batch:(j + 1) * a.batch]
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
        return loss.item()

    for i in range(a.warmup):
        step(i)
    t0 = time.perf_counter()
    for i in range(a.steps):
        step(i)
    dt = time.perf_counter() - t0
    print(json.dumps({"images_per_s": a.steps * a.batch / dt, "seconds": dt, "threads": torch.get_num_threads(),
                      "torch": torch.__version__, "params": sum(p.numel() for p in model.parameters())}))


if __name__ == "__main__":
    main()
