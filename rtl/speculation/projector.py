"""Projector of the speculation unit (SPEC 3.2-3.3, 3a): x -> PEA -> RoPE -> q_hat / k_hat rows.

One job (`start`, then `busy` until its last row is out) projects seq_len tokens, token by token:
the `x` stream brings the token's D int8 values (one per beat, tokens in order) into one bank of
the two-bank x row buffer (token t in bank t mod 2), while the PEA works on the token in the other
bank; the PEA runs dh/pea_lanes column groups of `q_hat` (and, when `config.project_k` = 1, as
many of `k_hat`), D beats each, reading the LO-coded weights from the weight buffer; each
finished row passes the RoPE rotator (`rtl.common.rope`, rotated when `config.rope` = 1, table row t =
position pos0 + t) and goes out on `rows` (layout `rtl.predictors.slot.hat_layout`: token t's q_hat
row, then its k_hat row when `project_k`), one beat per row, never stalled (`rows.ready` must be 1:
the predictor stores them in its row buffers as they come).

Loading (before `start`): `w_*` writes the weight buffer, entry `g*D + i` holding the LO codes
(`rtl.speculation.loe.LOCode`) of `w[i, (g mod G)*lanes + l]` for l < pea_lanes, with G = dh / pea_lanes
groups of wq (g < G) then of wk (g >= G); `rope_w_*` writes the RoPE table. A token costs
(1 + project_k) * dh / pea_lanes * D cycles of PEA passes, and one cycle to change banks: its x
row (D beats) loads during the previous token's passes, so only the first token's load is in
line (x at one value a cycle). `pea_beats` counts the PEA's beats since reset.
"""

from amaranth.hdl import Module, Mux, Signal, signed, unsigned
from amaranth.lib import data, memory, stream, wiring
from amaranth.lib.wiring import In, Out

from lapa.config import HardwareConfig

from rtl.speculation.loe import LOCode
from rtl.speculation.pea import PEA
from rtl.predictors.slot import hat_layout
from rtl.common.rope import RopeRotator, RopeTable, rope_table_layout

__all__ = ["PERF_WIDTH", "LOAD_PORTS", "load_members", "projector_config_layout", "Projector"]

PERF_WIDTH = 48


def projector_config_layout(hw: HardwareConfig, spec_config):
    """The projector's share of the speculation unit's config struct `spec_config` (same widths)."""
    return data.StructLayout({n: spec_config[n].shape for n in ("seq_len", "project_k", "rope", "sh_qhat", "sh_khat")})


LOAD_PORTS = ("w_en", "w_addr", "w_data", "rope_w_en", "rope_w_addr", "rope_w_data")


def load_members(hw: HardwareConfig):
    """The signature members of the projector's inputs: `x`, the weight and RoPE table loads."""
    return {"x": In(stream.Signature(signed(8))),
            "w_en": In(1), "w_addr": In(range(2 * (hw.head_dim // hw.pea_lanes) * hw.d_model)),
            "w_data": In(data.ArrayLayout(LOCode, hw.pea_lanes)),
            "rope_w_en": In(1), "rope_w_addr": In(unsigned(hw.seq_index_width)),
            "rope_w_data": In(rope_table_layout(hw.head_dim))}


class Projector(wiring.Component):
    """x to q_hat / k_hat rows of one head (see module docstring)."""

    def __init__(self, hw: HardwareConfig, config_layout):
        self.hw = hw
        self.groups = hw.head_dim // hw.pea_lanes
        super().__init__({
            "config": In(config_layout),
            "start": In(1), "busy": Out(1),
            **load_members(hw),
            "rows": Out(stream.Signature(hat_layout(hw))),
            "pea_beats": Out(PERF_WIDTH),
        })

    def elaborate(self, platform):
        m = Module()
        hw, cfg = self.hw, self.config
        D, dh, L, G, PL = hw.d_model, hw.head_dim, hw.max_seq_len, self.groups, hw.pea_lanes
        iw = hw.seq_index_width
        i8 = signed(8)
        row = data.ArrayLayout(i8, dh)
        m.submodules.pea = pea = PEA(lanes=PL, d_model=D, acc_width=hw.pea_acc_width)
        m.submodules.rope = rot = RopeRotator(head_dim=dh)
        m.submodules.rope_table = table = RopeTable(head_dim=dh, max_seq_len=L)
        m.submodules.xbuf = xbuf = memory.Memory(shape=i8, depth=2 * D, init=[])   # two banks
        m.submodules.wbuf = wbuf = memory.Memory(shape=data.ArrayLayout(LOCode, PL), depth=2 * G * D, init=[])
        m.d.comb += [table.w_en.eq(self.rope_w_en), table.w_addr.eq(self.rope_w_addr),
                     table.w_data.eq(self.rope_w_data), rot.rope_en.eq(cfg.rope)]
        w_wr = wbuf.write_port()
        m.d.comb += [w_wr.en.eq(self.w_en), w_wr.addr.eq(self.w_addr), w_wr.data.eq(self.w_data)]

        x_wr = xbuf.write_port()
        x_rd = xbuf.read_port()
        w_rd = wbuf.read_port()
        tok = Signal(iw + 1)        # token being loaded / projected
        xi = Signal(range(D))       # x element / PEA beat within the token
        grp = Signal(range(2 * G))  # PEA column group being issued
        n_groups = Mux(cfg.project_k, 2 * G, G)
        issue = Signal()            # a PEA beat read from the buffers this cycle
        # x rows: the loader fills bank `ld_bank` while the passes read bank `ps_bank` (token t in
        # bank t mod 2); the loader runs while the job does (`busy`)
        ld_tok = Signal(iw + 1)     # tokens loaded
        lx = Signal(range(D))       # x element being loaded
        ld_bank, ps_bank = ld_tok[0], tok[0]
        full = Signal(2)            # bank holds a token not yet projected
        can_load = self.busy & (ld_tok < cfg.seq_len) & ~full.bit_select(ld_bank, 1)
        m.d.comb += [self.x.ready.eq(can_load), x_wr.addr.eq(Mux(ld_bank, D, 0) + lx),
                     x_wr.data.eq(self.x.payload), x_wr.en.eq(self.x.valid & can_load)]
        with m.If(self.x.valid & can_load):
            m.d.sync += lx.eq(Mux(lx == D - 1, 0, lx + 1))
            with m.If(lx == D - 1):
                m.d.sync += ld_tok.eq(ld_tok + 1)
        set_full = Signal(2)
        clr_full = Signal(2)
        with m.If(self.x.valid & can_load & (lx == D - 1)):
            m.d.comb += set_full.bit_select(ld_bank, 1).eq(1)
        m.d.sync += full.eq((full | set_full) & ~clr_full)
        m.d.comb += [x_rd.addr.eq(Mux(ps_bank, D, 0) + xi), w_rd.addr.eq(grp * D + xi)]
        # beat read this cycle reaches the PEA next cycle (the read ports' latency)
        m.d.sync += [pea.i.valid.eq(issue), pea.i.payload.last.eq(xi == D - 1)]
        m.d.comb += [pea.i.payload.x.eq(x_rd.data), pea.i.payload.w.eq(w_rd.data), pea.o.ready.eq(1)]
        out_grp = Signal(range(2 * G))  # group of the PEA's next output beat
        m.d.comb += pea.sh.eq(Mux(out_grp < G, cfg.sh_qhat, cfg.sh_khat))
        hat = Signal(row)
        rot_valid = Signal()
        rot_is_k = Signal()
        rot_tok = Signal(iw)        # token of the row leaving the rotator
        with m.If(pea.o.valid):
            col = Mux(out_grp >= G, out_grp - G, out_grp)
            for g in range(G):
                with m.If(col == g):
                    m.d.sync += [hat[g * PL + k].eq(pea.o.payload[k]) for k in range(PL)]
            last_q = out_grp == G - 1
            last_k = out_grp == 2 * G - 1
            m.d.sync += [out_grp.eq(Mux(out_grp == n_groups - 1, 0, out_grp + 1)),
                         rot_valid.eq(last_q | last_k), rot_is_k.eq(last_k)]
        with m.Else():
            m.d.sync += rot_valid.eq(0)
        m.d.comb += [rot.i.valid.eq(rot_valid), rot.i.payload.a.eq(hat),
                     rot.i.payload.c.eq(table.r_data.c), rot.i.payload.s.eq(table.r_data.s),
                     table.r_addr.eq(rot_tok), rot.o.ready.eq(1)]
        out_is_k = Signal()
        m.d.sync += out_is_k.eq(Mux(rot.i.valid & rot.i.ready, rot_is_k, out_is_k))
        m.d.comb += [self.rows.valid.eq(rot.o.valid), self.rows.payload.is_k.eq(out_is_k),
                     self.rows.payload.row.eq(rot_tok), self.rows.payload.data.eq(rot.o.payload)]
        rows_out = Signal(iw + 1)   # tokens whose last row (q, or k when project_k) went out
        with m.If(rot.o.valid & (out_is_k | ~cfg.project_k)):
            m.d.sync += [rows_out.eq(rows_out + 1), rot_tok.eq(rot_tok + 1)]
        with m.If(pea.i.valid):
            m.d.sync += self.pea_beats.eq(self.pea_beats + 1)

        with m.FSM(name="projector"):
            with m.State("idle"):
                with m.If(self.start):
                    m.d.sync += [self.busy.eq(1), tok.eq(0), xi.eq(0), grp.eq(0), out_grp.eq(0), rot_tok.eq(0),
                                 rows_out.eq(0), ld_tok.eq(0), lx.eq(0)]
                    m.next = "wait_x"
            with m.State("wait_x"):
                with m.If(full.bit_select(ps_bank, 1)):
                    m.next = "pass"
            with m.State("pass"):
                m.d.comb += issue.eq(1)
                m.d.sync += xi.eq(Mux(xi == D - 1, 0, xi + 1))
                with m.If(xi == D - 1):
                    m.d.sync += grp.eq(Mux(grp == n_groups - 1, 0, grp + 1))
                    with m.If(grp == n_groups - 1):
                        m.d.comb += clr_full.bit_select(ps_bank, 1).eq(1)
                        m.d.sync += tok.eq(tok + 1)
                        with m.If(tok + 1 == cfg.seq_len):
                            m.next = "drain"
                        with m.Elif((full | set_full).bit_select(~ps_bank, 1)):
                            m.next = "pass"          # the next token's row is in: no bubble
                        with m.Else():
                            m.next = "wait_x"
            with m.State("drain"):
                with m.If(rows_out == cfg.seq_len):
                    m.d.sync += self.busy.eq(0)
                    m.next = "idle"
        return m
