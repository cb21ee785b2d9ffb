"""The host side of a LAPA job, as a driver would do it: no simulator and no cocotb needed.

`host.job` lays a vector file's inputs out in the accelerator's memory (`lapa.memlayout`), lists
the register writes that start the job and decodes the output buffers and counters back into the
outputs of SPEC section 6; `host.rtl` is the RTL backend of `build.py run`, which hands those jobs
to a simulation engine: `host.harness` runs the C++ Verilator harness of `sim/harness/`,
`sim.layer` the cocotb path.
"""
