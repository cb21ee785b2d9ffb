// AXI4 memory slave for the accelerator's 64-bit master, all five channels, in C++.
//
// Moore-style: every output of the model (ready, valid, data) comes from its state only, so the
// harness drives them, lets the design settle, samples the handshakes and only then clocks; no
// output depends combinationally on the design in the same cycle. INCR, FIXED and WRAP bursts of
// any size up to the bus width; reads and writes queue up to `kDepth` outstanding bursts each and
// are answered in order. With a stall probability p > 0 every channel stalls at random: a ready
// drops, or a valid rises later (a raised valid is held until its beat is taken, as AXI demands).
// An access outside the memory answers DECERR; a protocol error (a burst crossing 4 KiB, a wlast
// in the wrong place, a size wider than the bus) stops the harness with a message.
#pragma once

#include <cstdint>
#include <cstring>
#include <deque>
#include <stdexcept>
#include <string>

#include "ports.h"
#include <vector>

namespace harness {

// xorshift64*: cheap, seeded, reproducible stalls.
struct Rng {
    uint64_t s;
    explicit Rng(uint64_t seed) : s(seed * 0x9E3779B97F4A7C15ull + 1) {}
    double uniform() {
        s ^= s >> 12; s ^= s << 25; s ^= s >> 27;
        return double((s * 0x2545F4914F6CDD1Dull) >> 11) * (1.0 / 9007199254740992.0);
    }
};

struct ProtocolError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct Burst {
    uint64_t addr;      // current beat's address
    uint64_t wrap_lo, wrap_hi;
    unsigned beats;     // awlen / arlen + 1
    unsigned beat = 0;
    unsigned bytes;     // 1 << size
    unsigned burst;     // 0 FIXED, 1 INCR, 2 WRAP
    unsigned id;
    unsigned resp = 0;  // OKAY, or DECERR once a beat fell outside the memory

    Burst(uint64_t a, unsigned len, unsigned size, unsigned type, unsigned id_, unsigned bus_bytes,
          const char* ch) : beats(len + 1), bytes(1u << size), burst(type), id(id_) {
        if (bytes > bus_bytes)
            throw ProtocolError(std::string(ch) + ": size " + std::to_string(bytes) + " bytes exceeds the bus");
        if (type == 3)
            throw ProtocolError(std::string(ch) + ": reserved burst type 3");
        addr = a / bytes * bytes;
        uint64_t total = uint64_t(bytes) * beats;
        if (type == 1 && (addr & 0xFFF) + total > 0x1000)
            throw ProtocolError(std::string(ch) + ": INCR burst at 0x" + hex(a) + " of " +
                                std::to_string(beats) + " beats crosses a 4 KiB boundary");
        if (type == 2) {
            if (a % bytes || (beats != 2 && beats != 4 && beats != 8 && beats != 16))
                throw ProtocolError(std::string(ch) + ": illegal WRAP burst at 0x" + hex(a));
            wrap_lo = a / total * total;
            wrap_hi = wrap_lo + total;
        }
    }
    void advance() {
        ++beat;
        if (burst == 0) return;
        addr += bytes;
        if (burst == 2 && addr == wrap_hi) addr = wrap_lo;
    }
    static std::string hex(uint64_t v) {
        char b[32];
        snprintf(b, sizeof b, "%llx", (unsigned long long)v);
        return b;
    }
};

template <class Top>
class AxiMem {
  public:
    static constexpr unsigned kBus = 8;     // bytes per beat of the 64-bit master
    static constexpr size_t kDepth = 16;    // outstanding bursts per direction

    std::vector<uint8_t> mem;
    uint64_t read_beats = 0, write_beats = 0, errors = 0;

    AxiMem(size_t size, double stall, uint64_t seed) : mem(size, 0), p_(stall), rng_(seed) {}

    // Before the edge: drive the slave's outputs from state.
    void drive(Top* t) {
        t->AXI(arready) = ar_.size() < kDepth && !stall();
        t->AXI(awready) = aw_.size() < kDepth && !stall();
        t->AXI(wready) = !aw_.empty() && b_.size() < kDepth && !stall();
        if (!r_valid_ && !ar_.empty() && !stall()) {
            Burst& r = ar_.front();
            r_valid_ = true;
            t->AXI(rdata) = load(r);
            t->AXI(rid) = r.id;
            t->AXI(rresp) = in_range(r.addr, r.bytes) ? 0 : 3;
            t->AXI(rlast) = r.beat + 1 == r.beats;
        }
        t->AXI(rvalid) = r_valid_;
        if (!b_valid_ && !b_.empty() && !stall()) {
            b_valid_ = true;
            t->AXI(bid) = b_.front().id;
            t->AXI(bresp) = b_.front().resp;
        }
        t->AXI(bvalid) = b_valid_;
    }

    // After the design settled, before the edge: which handshakes take place at this edge.
    void sample(Top* t) {
        ar_fire_ = t->AXI(arvalid) && t->AXI(arready);
        aw_fire_ = t->AXI(awvalid) && t->AXI(awready);
        w_fire_ = t->AXI(wvalid) && t->AXI(wready);
        r_fire_ = r_valid_ && t->AXI(rready);
        b_fire_ = b_valid_ && t->AXI(bready);
        if (ar_fire_) ar_next_ = {t->AXI(araddr), t->AXI(arlen), t->AXI(arsize), t->AXI(arburst), t->AXI(arid)};
        if (aw_fire_) aw_next_ = {t->AXI(awaddr), t->AXI(awlen), t->AXI(awsize), t->AXI(awburst), t->AXI(awid)};
        if (w_fire_) { w_data_ = t->AXI(wdata); w_strb_ = t->AXI(wstrb); w_last_ = t->AXI(wlast); }
    }

    // After the edge: the taken beats change the state.
    void update() {
        if (r_fire_) {
            Burst& r = ar_.front();
            ++read_beats;
            r.advance();
            if (r.beat == r.beats) ar_.pop_front();
            r_valid_ = false;
        }
        if (w_fire_) {
            Burst& w = aw_.front();
            ++write_beats;
            bool last = w.beat + 1 == w.beats;
            if (w_last_ != last)
                throw ProtocolError("W: wlast = " + std::to_string(w_last_) + " on beat " +
                                    std::to_string(w.beat + 1) + " of " + std::to_string(w.beats));
            if (in_range(w.addr, w.bytes)) store(w.addr, w_data_, w_strb_);
            else { w.resp = 3; ++errors; }
            w.advance();
            if (last) { b_.push_back({w.id, w.resp}); aw_.pop_front(); }
        }
        if (b_fire_) { b_.pop_front(); b_valid_ = false; }
        if (ar_fire_) push(ar_, ar_next_, "AR");
        if (aw_fire_) push(aw_, aw_next_, "AW");
    }

    bool idle() const { return ar_.empty() && aw_.empty() && b_.empty(); }

  private:
    struct Req { uint64_t addr; unsigned len, size, burst, id; };
    struct Resp { unsigned id, resp; };

    double p_;
    Rng rng_;
    std::deque<Burst> ar_, aw_;
    std::deque<Resp> b_;
    bool r_valid_ = false, b_valid_ = false;
    bool ar_fire_ = false, aw_fire_ = false, w_fire_ = false, r_fire_ = false, b_fire_ = false;
    Req ar_next_{}, aw_next_{};
    uint64_t w_data_ = 0;
    unsigned w_strb_ = 0;
    bool w_last_ = false;

    bool stall() { return p_ > 0 && rng_.uniform() < p_; }
    bool in_range(uint64_t addr, unsigned bytes) const { return addr + bytes <= mem.size(); }

    void push(std::deque<Burst>& q, const Req& r, const char* ch) {
        q.emplace_back(r.addr, r.len, r.size, r.burst, r.id, kBus, ch);
        if (!in_range(q.back().addr, q.back().bytes)) ++errors;
    }
    // The bus word holding the beat's address (narrow beats sit on their own byte lanes).
    uint64_t load(const Burst& r) const {
        uint64_t word = r.addr / kBus * kBus, v = 0;
        if (word + kBus <= mem.size()) std::memcpy(&v, &mem[word], kBus);
        return v;
    }
    void store(uint64_t addr, uint64_t data, unsigned strb) {
        uint64_t word = addr / kBus * kBus;
        for (unsigned i = 0; i < kBus; ++i)
            if (strb >> i & 1 && word + i < mem.size()) mem[word + i] = uint8_t(data >> (8 * i));
    }
};

}  // namespace harness
