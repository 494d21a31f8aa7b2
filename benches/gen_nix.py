#!/usr/bin/env python3
"""Writes a tree of N generated .nix files for the lint benchmark.

The files look like what a deployment repository holds: NixOS-style modules
setting services.secureMattermost and other options (attribute sets, lists,
strings with interpolation, let/with/inherit, lib.mkIf/mkDefault, imports)
and small library files (functions with set patterns, recursion, builtins).
A few carry what lint reports (a literal password, a path literal given to
a ...File option, a placeholder justification) and what deadnix reports (an
unused let binding or argument), so both tools have findings to print.

File i depends only on (seed, i): a tree of N files is the first N files of
any larger one. 50 files a directory.

usage: gen_nix.py --out DIR --files N [--seed S]
"""

import argparse
import itertools
import os
import random

WORDS = ["chat", "ops", "team", "alpha", "bravo", "charlie", "delta", "echo", "intel", "logistics", "medical", "range"]


# Names are numbered per file, so no attribute is defined twice.
names = itertools.count()


def ident(rng):
    return rng.choice(WORDS) + rng.choice(["", "Host", "Port", "Name", "Dir", "List", "Cfg"]) + str(next(names))


def string(rng):
    w = rng.choice(WORDS)
    return rng.choice([f'"{w}.example.com"', f'"/var/lib/{w}"', f'"${{cfg.domain}}-{w}"', f"''\n      {w} line\n      {w} ${{toString 3}}\n    ''"])


def value(rng, depth):
    r = rng.random()
    if depth > 3 or r < 0.35:
        return rng.choice([string(rng), str(rng.randint(0, 65535)), rng.choice(["true", "false", "null"]), f"lib.mkDefault {rng.randint(1, 9)}"])
    if r < 0.55:
        return "[ " + " ".join(f"({value(rng, depth + 1)})" if rng.random() < 0.3 else string(rng) for _ in range(rng.randint(1, 6))) + " ]"
    if r < 0.75:
        return attrs(rng, depth + 1, rng.randint(1, 5))
    if r < 0.85:
        return f"lib.mkIf cfg.enable {attrs(rng, depth + 1, rng.randint(1, 3))}"
    if r < 0.93:
        return f"map (x: x + {string(rng)}) [ {string(rng)} {string(rng)} ]"
    return f"builtins.concatStringsSep \",\" [ {string(rng)} {string(rng)} ]"


def attrs(rng, depth, n):
    pad = "  " * (depth + 1)
    body = "".join(f"{pad}{ident(rng)} = {value(rng, depth)};\n" for _ in range(n))
    return "{\n" + body + "  " * depth + "}"


def module(rng, i):
    parts = ["{ config, lib, pkgs, ... }:\n", "let\n", "  cfg = config.services.secureMattermost;\n"]
    bound = [ident(rng) for _ in range(rng.randint(1, 6))]
    for name in bound:
        parts.append(f"  {name} = {value(rng, 1)};\n")
    if i % 13 == 0:
        parts.append("  unusedHelper = x: x;\n")
    parts.append("in\n{\n")
    if i % 5 == 0:
        parts.append(f"  imports = [ ./f{(i + 1) % 50:04d}.nix ];\n")
    parts.append("  services.secureMattermost = {\n    enable = true;\n")
    parts.append(f'    mode = "{rng.choice(["baremetal", "kubernetes"])}";\n')
    parts.append(f'    domain = "{rng.choice(WORDS)}{i}.example.com";\n')
    parts.append('    database.passwordFile = "/run/secrets/db";\n')
    if i % 17 == 0:
        parts.append('    smtp.password = "hunter2-not-a-real-one";\n')
    if i % 19 == 0:
        parts.append("    tls.keyFile = ./secrets/tls.key;\n")
    if i % 23 == 0:
        parts.append('    allowGuestUsers = true;\n    justification.allowGuestUsers = "TODO";\n')
    parts.append("  };\n")
    parts.append(f"  environment.variables.SM_BENCH_{i} = builtins.toJSON [ {' '.join(bound)} ];\n")
    for _ in range(rng.randint(2, 12)):
        parts.append(f"  {rng.choice(['services', 'environment', 'networking', 'systemd.services'])}.{ident(rng)} = {value(rng, 1)};\n")
    parts.append("}\n")
    return "".join(parts)


def library(rng, i):
    parts = ["{ lib }:\n", "let\n", "  cfg = { enable = true; domain = \"lib.example.com\"; };\n"]
    parts.append("  inherit (lib) mapAttrs filterAttrs optional;\n")
    nfn = rng.randint(2, 8)
    for k in range(nfn):
        parts.append(f"  fn{k} = {{ name, value ? {rng.randint(0, 9)}, ... }}@args: if value > 3 then [ name ] ++ optional (args ? extra) args.extra else [ ];\n")
    parts.append("  go = n: if n == 0 then [ ] else [ n ] ++ go (n - 1);\n")
    if i % 11 == 0:
        parts.append("  dead = unused: 1;\n")
    parts.append("in\nrec {\n")
    for k in range(rng.randint(2, 10)):
        parts.append(f"  {ident(rng)} = with lib; mapAttrs (n: v: v // {{ inherit n; }}) {attrs(rng, 1, rng.randint(1, 4))};\n")
    parts.append(f"  count = builtins.length (go {rng.randint(1, 20)});\n")
    parts.append(f"  helpers = [ {' '.join(f'fn{k}' for k in range(nfn))} cfg filterAttrs ];\n")
    parts.append('  describe = x: "value ${toString x} of ${builtins.typeOf x}";\n')
    parts.append("}\n")
    return "".join(parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True)
    ap.add_argument("--files", type=int, required=True)
    ap.add_argument("--seed", type=int, default=12)
    a = ap.parse_args()
    global names
    for i in range(a.files):
        rng = random.Random(a.seed * 1_000_003 + i)
        names = itertools.count()
        d = os.path.join(a.out, f"d{i // 50:04d}")
        os.makedirs(d, exist_ok=True)
        text = module(rng, i) if i % 3 else library(rng, i)
        with open(os.path.join(d, f"f{i % 50:04d}.nix"), "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
