// Behavioural model of the LAPA_SRAM macro (constraints/sram_map.v) for gate-level simulation
// of a mapped netlist (energy/gatesim.py): the semantics of Yosys's $mem_v2 for one clock
// domain. Synchronous read ports (RD_CLK_ENABLE) register the word on the clock edge when
// RD_EN is high, with the data being written in that cycle where RD_TRANSPARENCY_MASK
// (bit r * WR_PORTS + w) says so; asynchronous ones read combinationally. Writes are per bit
// (WR_EN is a bit mask). The contents start at zero (the design never reads a word before
// writing it, see rtl/generate.py), so no X spreads from an unwritten word.
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

  reg [WIDTH-1:0] mem [0:SIZE-1];
  reg [RD_PORTS*WIDTH-1:0] rd_q;
  reg [WIDTH-1:0] word, en;
  reg [ABITS-1:0] a;
  integer i, r, w;
  initial begin
    for (i = 0; i < SIZE; i = i + 1) mem[i] = {WIDTH{1'b0}};
    rd_q = {RD_PORTS*WIDTH{1'b0}};
  end

  always @(posedge WR_CLK[0]) begin
    for (r = 0; r < RD_PORTS; r = r + 1)
      if (RD_CLK_ENABLE[r] && RD_EN[r]) begin
        a = RD_ADDR[r*ABITS +: ABITS];
        word = mem[a];
        for (w = 0; w < WR_PORTS; w = w + 1)
          if (RD_TRANSPARENCY_MASK[r*WR_PORTS + w] && WR_ADDR[w*ABITS +: ABITS] == a) begin
            en = WR_EN[w*WIDTH +: WIDTH];
            word = (word & ~en) | (WR_DATA[w*WIDTH +: WIDTH] & en);
          end
        rd_q[r*WIDTH +: WIDTH] <= word;
      end
    for (w = 0; w < WR_PORTS; w = w + 1) begin
      en = WR_EN[w*WIDTH +: WIDTH];
      if (|en) begin
        a = WR_ADDR[w*ABITS +: ABITS];
        mem[a] = (mem[a] & ~en) | (WR_DATA[w*WIDTH +: WIDTH] & en);
      end
    end
  end

  genvar g;
  generate
    for (g = 0; g < RD_PORTS; g = g + 1) begin : port
      if (RD_CLK_ENABLE[g])
        assign RD_DATA[g*WIDTH +: WIDTH] = rd_q[g*WIDTH +: WIDTH];
      else
        assign RD_DATA[g*WIDTH +: WIDTH] = mem[RD_ADDR[g*ABITS +: ABITS]];
    end
  endgenerate
endmodule
