"""Regenerates expected/<name>.txt for core/tests/highstate_output.rs by
running Salt 3007.8's own highstate outputter on each inputs/<file>.json
with the case's opts (over the minion defaults, color off unless set).

Run with the project's Salt venv:
    .salt-venv/bin/python core/tests/highstate_fixtures/generate.py
"""

import json
import os
import sys

import salt.config
import salt.output

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    with open(os.path.join(HERE, "cases.json"), encoding="utf-8") as f:
        cases = json.load(f)
    os.makedirs(os.path.join(HERE, "expected"), exist_ok=True)
    base = salt.config.minion_config(None)
    for case in cases:
        opts = dict(base)
        opts["color"] = False
        opts.update(case["opts"])
        with open(os.path.join(HERE, "inputs", case["input"]), encoding="utf-8") as f:
            data = json.load(f)
        text = salt.output.out_format(data, "highstate", opts)
        with open(
            os.path.join(HERE, "expected", case["name"] + ".txt"), "w", encoding="utf-8"
        ) as f:
            f.write(text)
        print("wrote", case["name"], file=sys.stderr)


if __name__ == "__main__":
    main()
