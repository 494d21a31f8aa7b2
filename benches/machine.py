#!/usr/bin/env python3
"""Prints, as JSON, the machine a benchmark run is on: date, CPU, cores,
memory, load averages, kernel, and the tool versions given as --tool=NAME=VERSION.

usage: machine.py --mode quick|full|end [--tool=NAME=VERSION ...]
"""

import argparse
import datetime
import json
import os
import platform


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def mem_gib():
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mode", required=True)
    ap.add_argument("--tool", action="append", default=[])
    a = ap.parse_args()
    print(json.dumps({
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "mode": a.mode,
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "memoryGiB": mem_gib(),
        "kernel": platform.release(),
        "load": [round(x, 2) for x in os.getloadavg()],
        "tools": dict(t.split("=", 1) for t in a.tool if "=" in t),
    }, indent=1))


if __name__ == "__main__":
    main()
