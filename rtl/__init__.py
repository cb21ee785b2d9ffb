"""Amaranth 0.5 RTL of the LAPA accelerator, one module per paper block."""
