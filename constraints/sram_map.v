// Memories to SRAM macros for the ASIC flow (Yosys techmap of $mem_v2, see flows/asic.py).
// A memory with a write port and at least SRAM_MIN_BITS bits becomes one LAPA_SRAM black box
// (its area is estimated per bit from the technology settings); ROMs and smaller memories
// are refused here and become flip-flops and logic as usual.
(* techmap_celltype = "$mem_v2" *)
module _lapa_mem_to_sram (RD_CLK, RD_EN, RD_ARST, RD_SRST, RD_ADDR, RD_DATA,
                          WR_CLK, WR_EN, WR_ADDR, WR_DATA);
  parameter MEMID = "";
  parameter signed SIZE = 0;
  parameter signed OFFSET = 0;
  parameter signed ABITS = 0;
  parameter signed WIDTH = 0;
  parameter signed RD_PORTS = 0;
  parameter RD_CLK_ENABLE = 0;
  parameter RD_CLK_POLARITY = 0;
  parameter RD_TRANSPARENCY_MASK = 0;
  parameter RD_COLLISION_X_MASK = 0;
  parameter RD_WIDE_CONTINUATION = 0;
  parameter RD_CE_OVER_SRST = 0;
  parameter RD_ARST_VALUE = 0;
  parameter RD_SRST_VALUE = 0;
  parameter RD_INIT_VALUE = 0;
  parameter signed WR_PORTS = 0;
  parameter WR_CLK_ENABLE = 0;
  parameter WR_CLK_POLARITY = 0;
  parameter WR_PRIORITY_MASK = 0;
  parameter WR_WIDE_CONTINUATION = 0;
  parameter INIT = 0;

  input [RD_PORTS-1:0] RD_CLK, RD_EN, RD_ARST, RD_SRST;
  input [RD_PORTS*ABITS-1:0] RD_ADDR;
  output [RD_PORTS*WIDTH-1:0] RD_DATA;
  input [WR_PORTS-1:0] WR_CLK;
  input [WR_PORTS*WIDTH-1:0] WR_EN;
  input [WR_PORTS*ABITS-1:0] WR_ADDR;
  input [WR_PORTS*WIDTH-1:0] WR_DATA;

  wire _TECHMAP_FAIL_ = WR_PORTS == 0 || SIZE * WIDTH < `SRAM_MIN_BITS;

  // RD_CLK_ENABLE / RD_TRANSPARENCY_MASK: for the gate-level simulation model
  // (constraints/sram_sim.v); area, CACTI and STA use only the shape.
  LAPA_SRAM #(.SIZE(SIZE), .ABITS(ABITS), .WIDTH(WIDTH), .RD_PORTS(RD_PORTS),
              .WR_PORTS(WR_PORTS), .RD_CLK_ENABLE(RD_CLK_ENABLE),
              .RD_TRANSPARENCY_MASK(RD_TRANSPARENCY_MASK)) _TECHMAP_REPLACE_ (
    .RD_CLK(RD_CLK), .RD_EN(RD_EN), .RD_ADDR(RD_ADDR), .RD_DATA(RD_DATA),
    .WR_CLK(WR_CLK), .WR_EN(WR_EN), .WR_ADDR(WR_ADDR), .WR_DATA(WR_DATA));
endmodule
