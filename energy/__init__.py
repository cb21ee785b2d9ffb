"""Energy per action from gate-level activity (issue 17): gate-level simulation of the mapped
netlist, toggle counts per net, OpenSTA power per instance, per-action energy tables, energy per
layer. One module per step: `gatesim` (simulate), `vcd` (toggles), `netlist` (pins and nets),
`power` (OpenSTA), `table` (energy per action), `layer` (energy of a layer)."""
