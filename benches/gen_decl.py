#!/usr/bin/env python3
"""Writes a declaration of a given size for the evaluation scaling benchmark.

Every one is the product card's Kubernetes example plus K of something:
  list     airGap.internalDomains with K host names (one long list)
  imports  K imported modules, each adding one host name to that list (list merge)
  attrs    publicPluginSettings with K plugin entries (K attribute definitions)

usage: gen_decl.py --kind list|imports|attrs --size K --out DIR
Writes DIR/decl.nix (and DIR/m*.nix for imports).
"""

import argparse
import os

HEAD = """{
  services.secureMattermost = {
    enable = true;
    mode = "kubernetes";
    domain = "chat.example.com";
    auth.provider = "oidc";
    allowGuestUsers = false;
"""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--kind", choices=["list", "imports", "attrs"], required=True)
    ap.add_argument("--size", type=int, required=True)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    k = a.size
    if a.kind == "list":
        body = HEAD + "    airGap.internalDomains = [\n" + "".join(f'      "h{i}.internal.example.com"\n' for i in range(k)) + "    ];\n  };\n}\n"
    elif a.kind == "attrs":
        body = HEAD + "    publicPluginSettings = {\n" + "".join(f'      "com.example.plugin{i}" = [ "Setting{i}" ];\n' for i in range(k)) + "    };\n  };\n}\n"
    else:
        for i in range(k):
            with open(os.path.join(a.out, f"m{i}.nix"), "w") as f:
                f.write(f'{{ services.secureMattermost.airGap.internalDomains = [ "m{i}.internal.example.com" ]; }}\n')
        imports = "".join(f"    ./m{i}.nix\n" for i in range(k))
        body = "{\n  imports = [\n" + imports + "  ];\n" + HEAD[2:] + "  };\n}\n"
    with open(os.path.join(a.out, "decl.nix"), "w") as f:
        f.write(body)


if __name__ == "__main__":
    main()
