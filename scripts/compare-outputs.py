"""Compare two folders of scripts/demo-outputs.sh: every file byte for byte, and a JSON file
that differs in bytes also as data (the same values, objects compared without their key
order). Prints one line per file that is not byte-identical; exits 1 if any differs as data.

    python scripts/compare-outputs.py BEFORE/outputs AFTER/outputs
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(before: Path, after: Path) -> int:
    def files(d: Path) -> set[str]:
        return {str(p.relative_to(d)) for p in d.rglob("*") if p.is_file()}

    names = sorted(files(before) | files(after))
    same = differ = 0
    for name in names:
        a, b = before / name, after / name
        if not a.exists() or not b.exists():
            print(f"only in {'after' if not a.exists() else 'before'}: {name}")
            differ += 1
        elif a.read_bytes() == b.read_bytes():
            same += 1
        elif name.endswith(".json") and json.loads(a.read_bytes()) == json.loads(b.read_bytes()):
            print(f"equal as data, not in bytes (key order): {name}")
        else:
            print(f"DIFFERENT: {name}")
            differ += 1
    print(f"{same} of {len(names)} files byte-identical; {differ} different")
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
