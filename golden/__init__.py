"""Bit-exact NumPy golden model of SPEC.md, one module per paper block."""
