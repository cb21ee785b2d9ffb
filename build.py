#!/usr/bin/env python3
"""LAPA accelerator generator: the one entry point (`python build.py -h`)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from lapa.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
