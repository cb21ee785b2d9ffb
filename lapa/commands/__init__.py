"""Sub-commands of build.py: each module defines `register(subparsers)`."""
