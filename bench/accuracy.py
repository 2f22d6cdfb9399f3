"""Accuracy benchmark (scripted round trip): `python bench/accuracy.py [--profile paper] [--cases sit,lift]`.

Same as `zerohsi bench accuracy`; prints one line per case and writes a JSON report.
"""

import sys

from zerohsi_core.cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", "accuracy", *sys.argv[1:]]))
