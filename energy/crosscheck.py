"""Cross-check of the gate-level power of one block against OpenSTA's vectorless estimate
(stated in the report, not asserted): `python -m energy.crosscheck [WORK_DIR]`.

The PEA (2 lanes, D 32) is synthesized, driven at full rate by random beats at gate level, and
its power computed twice: from every pin's simulated activity (`energy.power`), and by OpenSTA's
own propagation from the block's input ports, each port bit given its measured toggle rate and
duty (vectorless inside the block: OpenSTA's probabilistic propagation through the logic).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

import numpy as np

__all__ = ["pea_crosscheck", "run_pea_bench"]


def run_pea_bench(d, words):
    """Simulate the PEA netlist `d/netlist.v` (2 lanes) at gate level on `words`, one per cycle
    from the first falling edge after reset (bit 21 valid, bits 20..0 the beat), output always
    ready, sh = 6: `d/tb.vcd`, scope tb.dut; word k is applied at (25 + 10 k) ns."""
    from .gatesim import CELL_MODELS

    n = len(words)
    with open(os.path.join(d, "stim.hex"), "w") as f:
        f.write("\n".join(f"{v:06x}" for v in words) + "\n")
    with open(os.path.join(d, "tb.v"), "w") as f:
        f.write(f"""`timescale 1ns/1ps
module tb; reg clk = 0, rst = 1; reg [21:0] s; reg [21:0] mem [0:{n - 1}]; integer k;
wire i__ready, o__valid; wire [15:0] o__payload;
pea dut(.clk(clk), .rst(rst), .i__valid(s[21]), .i__payload(s[20:0]), .i__ready(i__ready),
        .o__valid(o__valid), .o__payload(o__payload), .o__ready(1'b1), .sh(5'd6));
always #5 clk = ~clk;
initial begin $readmemh("{d}/stim.hex", mem); s = 0; $dumpfile("{d}/tb.vcd"); $dumpvars(0, dut);
  #22 rst = 0;
  for (k = 0; k < {n}; k = k + 1) begin @(negedge clk); s = mem[k]; end
  @(negedge clk); $finish; end
endmodule
""")
    subprocess.run(["iverilog", "-o", f"{d}/tb.vvp", f"{d}/tb.v", f"{d}/netlist.v", CELL_MODELS],
                   check=True, capture_output=True)
    subprocess.run(["vvp", "-n", f"{d}/tb.vvp"], check=True, capture_output=True)


def pea_crosscheck(work_dir):
    from flows.asic import LIB_NAME, _liberty_cells, synthesize_asic, tech_settings
    from flows.tools import DEFAULT_LIBERTY, Design
    from rtl.generate import to_verilog
    from rtl.speculation.pea import PEA

    from .netlist import cell_pins, parse_modules
    from .power import hier_power, parse_power, pin_activity_lines, port_activity_lines
    from .vcd import read_windows

    d = os.path.abspath(work_dir)
    tech = tech_settings(DEFAULT_LIBERTY)
    synthesize_asic(Design("pea", "speculation", to_verilog(PEA(lanes=2, d_model=32,
                                                                 acc_width=22), "pea")),
                    d, DEFAULT_LIBERTY, tech, 10)
    rng = np.random.default_rng(3)
    n = 2000
    words = []
    for k in range(n):
        x = int(np.clip(rng.normal(0, 60), -128, 127)) & 0xFF
        w = sum((int(rng.random() < 0.1) | int(rng.integers(2)) << 1
                 | int(rng.integers(0, 8)) << 2) << (6 * lane) for lane in range(2))
        words.append(1 << 21 | int((k + 1) % 32 == 0) << 20 | w << 8 | x)
    run_pea_bench(d, words)
    t0, t1 = 30_000, (30 + 10 * n) * 1000
    [act] = read_windows(os.path.join(d, "tb.vcd"), [(t0, t1)])
    cycles = (t1 - t0) / 10_000
    with open(os.path.join(d, "netlist.v")) as f:
        text = f.read()
    pins = cell_pins(parse_modules(text), "pea", _liberty_cells(DEFAULT_LIBERTY), "tb.dut")
    gate = hier_power(d, "pea", pin_activity_lines(pins, act, cycles), 10.0, tech, "gate",
                      port_activity_lines(text, "pea", act, cycles, "tb.dut"))[""]
    lines = []
    for port in ("i__valid", "i__payload", "o__ready", "sh", "rst"):
        tog, hi = act.toggles[f"tb.dut.{port}"], act.high[f"tb.dut.{port}"]
        for b, (t, h) in enumerate(zip(tog, hi)):
            name = port if len(tog) == 1 else f"{port}[{b}]"
            lines.append(f"sta::set_power_input_port_activity [get_ports {{{name}}}] "
                         f"{t / cycles:.6g} {h / act.span:.4g}")
    with open(os.path.join(d, "vectorless.tcl"), "w") as f:
        f.write(f"read_liberty {LIB_NAME}\nread_verilog netlist_sta.v\nlink_design pea\n"
                "read_sdc power.sdc\n" + "\n".join(lines) + "\nreport_power -digits 6\nexit\n")
    out = subprocess.run(["sta", "-no_splash", "-exit", "vectorless.tcl"], cwd=d,
                         capture_output=True, text=True).stdout
    vectorless = parse_power(out)[""]
    return {"gate_level": gate, "vectorless": vectorless,
            "ratio_total": vectorless["total_w"] / gate["total_w"],
            "ratio_switching": vectorless["switching_w"] / gate["switching_w"]}


if __name__ == "__main__":
    work = sys.argv[1] if len(sys.argv) > 1 else tempfile.mkdtemp(prefix="lapa-xcheck-")
    os.makedirs(work, exist_ok=True)
    r = pea_crosscheck(work)
    for k in ("gate_level", "vectorless"):
        p = r[k]
        print(f"{k:11s}: internal {p['internal_w'] * 1e3:.4f} mW, switching "
              f"{p['switching_w'] * 1e3:.4f} mW, leakage {p['leakage_w'] * 1e6:.4f} uW, total "
              f"{p['total_w'] * 1e3:.4f} mW")
    print(f"vectorless / gate-level: total {r['ratio_total']:.3f}, switching "
          f"{r['ratio_switching']:.3f} (work folder {work})")
