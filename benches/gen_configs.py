#!/usr/bin/env python3
"""Writes N config.json variations for the audit benchmark.

Half start from the pinned release's shipped defaults
(catalog/mattermost-defaults.json), half from a hardened config.json (the
bare-metal example rendered by secure-mattermost). Each file then gets a
seeded handful of changes: settings the benchmark's rules read set to a
compliant or a non-compliant value (numbers out of range, wrong types, http
URLs, the S3 and LDAP switches that make conditional rules apply), unrelated
settings changed, keys and whole sections left out (the default fills in),
so both audit and conftest see passing and failing files of every rule.

Same seed, same files (byte for byte).

usage: gen_configs.py --defaults FILE --hardened FILE --out DIR --count N [--seed S]
"""

import argparse
import copy
import json
import os
import random
import sys

# (section, key, values to choose from): compliant and non-compliant ones.
CHANGES = [
    ("EmailSettings", "EnableSignUpWithEmail", [True, False, "false"]),
    ("TeamSettings", "EnableOpenServer", [True, False, None]),
    ("PasswordSettings", "MinimumLength", [8, 14, 15, 16, 64, "15"]),
    ("ServiceSettings", "MaximumLoginAttempts", [0, 1, 3, 4, 10, 2.5]),
    ("LdapSettings", "Enable", [True, False]),
    ("LdapSettings", "MaximumLoginAttempts", [0, 2, 3, 10]),
    ("ServiceSettings", "SessionLengthWebInHours", [0, 1, 8, 12, 13, 720]),
    ("GuestAccountsSettings", "Enable", [True, False]),
    ("ServiceSettings", "EnableUserAccessTokens", [True, False]),
    ("ServiceSettings", "EnableTesting", [True, False]),
    ("ServiceSettings", "EnableDeveloper", [True, False]),
    ("ServiceSettings", "SiteURL", ["", "https://chat.example.com", "https://chat.example.com/", "http://chat.example.com",
                                    "https://chat.example.com/team", "HTTPS://chat.example.com"]),
    ("ServiceSettings", "TLSStrictTransport", [True, False]),
    ("RateLimitSettings", "Enable", [True, False]),
    ("RateLimitSettings", "VaryByRemoteAddr", [True, False]),
    ("FileSettings", "DriverName", ["local", "amazons3"]),
    ("FileSettings", "AmazonS3SSL", [True, False]),
    ("SqlSettings", "Trace", [True, False]),
    ("PluginSettings", "RequirePluginSignature", [True, False]),
    # Settings no benchmark rule reads (other catalog rules do).
    ("ServiceSettings", "EnableLinkPreviews", [True, False]),
    ("ServiceSettings", "ListenAddress", [":8065", "127.0.0.1:8065", "[::1]:8065"]),
    ("LogSettings", "ConsoleLevel", ["DEBUG", "INFO", "ERROR"]),
    ("TeamSettings", "MaxUsersPerTeam", [50, 500, 5000]),
    ("SupportSettings", "SupportEmail", ["help@example.com", "security@example.org"]),
]

# Keys whose absence lets a rule's default through.
DROPPABLE = [(s, k) for s, k, _ in CHANGES[:19]]
SECTIONS = ["RateLimitSettings", "GuestAccountsSettings", "PluginSettings", "SqlSettings", "LdapSettings"]


def variation(rng, base):
    doc = copy.deepcopy(base)
    for section, key, values in rng.sample(CHANGES, rng.randint(1, 8)):
        if isinstance(doc.get(section), dict):
            doc[section][key] = rng.choice(values)
    for section, key in rng.sample(DROPPABLE, rng.choice([0, 0, 0, 1, 3])):
        if isinstance(doc.get(section), dict):
            doc[section].pop(key, None)
    if rng.random() < 0.05:
        doc.pop(rng.choice(SECTIONS), None)
    return doc


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--defaults", required=True)
    ap.add_argument("--hardened", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--count", type=int, required=True)
    ap.add_argument("--seed", type=int, default=12)
    a = ap.parse_args()
    try:
        with open(a.defaults) as f:
            shipped = json.load(f)
        with open(a.hardened) as f:
            hardened = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"gen_configs: {e}")
    os.makedirs(a.out, exist_ok=True)
    rng = random.Random(a.seed)
    width = max(5, len(str(a.count)))
    for i in range(a.count):
        base = hardened if i % 2 else shipped
        doc = variation(rng, base)
        path = os.path.join(a.out, f"config-{i:0{width}d}.json")
        with open(path, "w") as f:
            json.dump(doc, f, indent=4)
            f.write("\n")


if __name__ == "__main__":
    main()
