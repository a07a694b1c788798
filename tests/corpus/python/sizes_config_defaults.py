"""Sizes from configured defaults: a dataclass config's field defaults
(read through `config.x` and through `self.x = config.x`), and argparse
options' `default=`, which hold unless the program is run with other
values. Sources: `default`."""

import argparse
from dataclasses import dataclass


@dataclass
class ModelConfig:
    d_model: int = 512
    d_hidden: int = 2048
    n_tokens: int = 96


class Mlp:
    def __init__(self, config):
        self.d_model = config.d_model
        self.d_hidden = config.d_hidden

    def up(self, x, w, out, config):
        for t in range(config.n_tokens):  # expect: GS101 routine=gemm dims=96x2048x512 sources=default,default,default function=Mlp.up
            for h in range(self.d_hidden):
                acc = 0.0
                for d in range(self.d_model):
                    acc += x[t][d] * w[d][h]
                out[t][h] = acc


def square(a, b, c, n):
    for i in range(n):  # expect: GS101 routine=gemm dims=320x320x320 sources=call-site,call-site,call-site function=square
        for j in range(n):
            for k in range(n):
                c[i][j] += a[i][k] * b[k][j]


# Near miss: `width` has different defaults in two config classes, and
# `--steps` has no integer default: no size from either.
class SmallConfig:
    width = 64


class LargeConfig:
    width = 4096


def ambiguous(a, b, c, cfg, args):
    for i in range(cfg.width):  # expect: GS101 routine=gemm sources=-,-,- function=ambiguous
        for j in range(cfg.width):
            for k in range(args.steps):
                c[i][j] += a[i][k] * b[k][j]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=320)
    parser.add_argument("--steps", type=int, default=None)
    args = parser.parse_args()
    square(None, None, None, args.n)
    ambiguous(None, None, None, SmallConfig(), args)
