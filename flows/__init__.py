"""Synthesis and timing flows behind `build.py synth`.

`tools` finds the programs and the liberty, `asic` runs Yosys to a standard-cell netlist,
`sta` times it with OpenSTA, `ecp5` runs Yosys + nextpnr for the ECP5 FPGA, `report` writes
`report.md`, `report.json` and the area chart. Each flow takes a list of `Design`s (a block's
name, its unit and its Verilog), so anything the registry knows can be synthesized.
"""
