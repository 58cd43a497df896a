#!/usr/bin/env python3
"""Writes the README's marked snippets into a folder: each fenced block right
after a `<!-- readme-snippet: LANG -->` line becomes NN.LANG (01.cpp,
02.python, ...), with 127.0.0.1:50051 replaced by the given target. Prints
the file names. Fails when there are none, or a marker has no block."""

import re
import sys
from pathlib import Path


def main() -> int:
    readme, out_dir, target = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3]
    lines = readme.read_text(encoding="utf-8").splitlines()
    count = 0
    i = 0
    while i < len(lines):
        marker = re.fullmatch(r"<!-- readme-snippet: (\w+) -->", lines[i].strip())
        i += 1
        if not marker:
            continue
        if i >= len(lines) or not lines[i].startswith("```"):
            print(f"{readme}:{i}: marker without a fenced block after it", file=sys.stderr)
            return 1
        end = lines.index("```", i + 1)
        body = "\n".join(lines[i + 1:end]).replace("127.0.0.1:50051", target) + "\n"
        count += 1
        name = out_dir / f"{count:02d}.{marker.group(1)}"
        name.write_text(body, encoding="utf-8")
        print(name.name)
        i = end + 1
    if count == 0:
        print(f"{readme}: no readme-snippet markers", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
