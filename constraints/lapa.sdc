# LAPA timing constraints: a template whose $$-fields flows/sta.py fills in.
# One clock `clk` (a virtual clock for a combinational block). The block's inputs and outputs
# are taken as registered just outside it: I/O delays are a fraction of the period, the inputs
# are driven by a library buffer and every output drives a fixed load, as in ABC's mapping.
create_clock -name clk -period ${period_ns} ${clock_port}
set_input_delay ${io_delay_ns} -clock clk ${data_inputs}
set_output_delay ${io_delay_ns} -clock clk [all_outputs]
set_driving_cell -lib_cell ${driving_cell} ${data_inputs}
set_load ${load_pf} [all_outputs]
