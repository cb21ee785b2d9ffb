// The SRAM macro the ASIC flow maps buffers to (constraints/sram_map.v): a black box whose
// area flows/asic.py estimates from SIZE * WIDTH and the technology's um^2 per bit.
(* blackbox *)
module LAPA_SRAM (RD_CLK, RD_EN, RD_ADDR, RD_DATA, WR_CLK, WR_EN, WR_ADDR, WR_DATA);
  parameter SIZE = 1;
  parameter ABITS = 1;
  parameter WIDTH = 1;
  parameter RD_PORTS = 1;
  parameter WR_PORTS = 1;
  parameter RD_CLK_ENABLE = 1;
  parameter RD_TRANSPARENCY_MASK = 0;
  input [RD_PORTS-1:0] RD_CLK, RD_EN;
  input [RD_PORTS*ABITS-1:0] RD_ADDR;
  output [RD_PORTS*WIDTH-1:0] RD_DATA;
  input [WR_PORTS-1:0] WR_CLK;
  input [WR_PORTS*WIDTH-1:0] WR_EN;
  input [WR_PORTS*ABITS-1:0] WR_ADDR;
  input [WR_PORTS*WIDTH-1:0] WR_DATA;
endmodule
