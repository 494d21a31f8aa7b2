#!/usr/bin/env python3
"""Sanity step of the audit benchmark: conftest (benches/policy/audit.rego)
and `secure-mattermost audit` must give the same verdict for every rule the
policy names, on every file of a sample; otherwise comparing their speed
means nothing.

usage: agree.py --policy FILE.rego --catalog catalog/controls.json
                --audit AUDIT.jsonl --conftest CONFTEST.json
AUDIT.jsonl is `audit --format json` of the sample, CONFTEST.json is
`conftest test --output json` of the same files (same paths). Prints the
per-rule counts; exit 1 on any disagreement, a rule missing from the catalog,
a file missing from either side, or a rule whose fail and pass were not both
seen (a one-sided sample proves nothing).
"""

import argparse
import json
import re
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for a in ("--policy", "--catalog", "--audit", "--conftest"):
        ap.add_argument(a, required=True)
    a = ap.parse_args()
    with open(a.policy) as f:
        rules = re.findall(r'^deny contains "([a-z0-9-]+): ', f.read(), re.M)
    with open(a.catalog) as f:
        catalog = {r["id"] for r in json.load(f)["rules"]}
    problems = [f"policy rule {r} is not in the catalog" for r in rules if r not in catalog]
    if len(rules) < 10:
        problems.append(f"the policy checks {len(rules)} rules; the benchmark needs ten or more")

    ours = {}
    with open(a.audit) as f:
        for line in f:
            d = json.loads(line)
            ours[d["file"]] = {r["id"]: r["outcome"] for r in d["rules"]}
    with open(a.conftest) as f:
        theirs = {}
        for d in json.load(f):
            denied = {m["msg"].split(":", 1)[0] for m in d.get("failures") or []}
            theirs[d["filename"]] = denied

    counts = {r: {"fail": 0, "pass": 0, "other": 0} for r in rules}
    files_agree = 0
    for name in sorted(set(ours) | set(theirs)):
        if name not in ours or name not in theirs:
            problems.append(f"{name}: judged by only one side")
            continue
        same = True
        for r in rules:
            outcome = ours[name].get(r)
            ours_fail = outcome in ("fail", "ineffective-without-licence")
            if ours_fail != (r in theirs[name]):
                same = False
                problems.append(f"{name}: {r}: audit says {outcome}, conftest {'denies' if r in theirs[name] else 'allows'}")
            counts[r]["fail" if ours_fail else "pass" if outcome == "pass" else "other"] += 1
        files_agree += same
    for r in rules:
        c = counts[r]
        print(f"  {r:<28} fail {c['fail']:>5}  pass {c['pass']:>5}  n/a {c['other']:>5}")
        if c["fail"] == 0 or c["pass"] + c["other"] == 0:
            problems.append(f"{r}: the sample does not show both verdicts")
    print(f"agreement: {files_agree} of {len(ours)} files, {len(rules)} rules each")
    for p in problems[:20]:
        print(f"DISAGREE: {p}", file=sys.stderr)
    if problems:
        print(f"{len(problems)} problem(s)", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
