"""cocotb 2.x testbenches: drive generated Verilog and compare with the golden model."""
