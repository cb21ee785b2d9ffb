// AXI4-Lite master for the accelerator's register bank: one 32-bit write or read at a time.
//
// Same discipline as the memory model: `drive` sets the bus from state before the edge,
// `sample` records the handshakes of the settled design, `update` advances after the edge.
// A write raises AWVALID and WVALID together and waits for both, then for BVALID; a read
// raises ARVALID, then waits for RVALID. A response other than OKAY is an error.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

#include "ports.h"

namespace harness {

template <class Top>
class AxilDriver {
  public:
    bool busy() const { return op_ != Op::kIdle; }
    uint32_t rdata() const { return rdata_; }

    void write(uint32_t addr, uint32_t data) {
        op_ = Op::kWrite; addr_ = addr; data_ = data; aw_done_ = w_done_ = false;
    }
    void read(uint32_t addr) { op_ = Op::kRead; addr_ = addr; ar_done_ = false; }

    void drive(Top* t) {
        bool wr = op_ == Op::kWrite, rd = op_ == Op::kRead;
        t->AXIL(awaddr) = addr_;
        t->AXIL(awprot) = 0;
        t->AXIL(awvalid) = wr && !aw_done_;
        t->AXIL(wdata) = data_;
        t->AXIL(wstrb) = 0xF;
        t->AXIL(wvalid) = wr && !w_done_;
        t->AXIL(bready) = wr && aw_done_ && w_done_;
        t->AXIL(araddr) = addr_;
        t->AXIL(arprot) = 0;
        t->AXIL(arvalid) = rd && !ar_done_;
        t->AXIL(rready) = rd && ar_done_;
    }

    void sample(Top* t) {
        aw_fire_ = t->AXIL(awvalid) && t->AXIL(awready);
        w_fire_ = t->AXIL(wvalid) && t->AXIL(wready);
        b_fire_ = t->AXIL(bready) && t->AXIL(bvalid);
        ar_fire_ = t->AXIL(arvalid) && t->AXIL(arready);
        r_fire_ = t->AXIL(rready) && t->AXIL(rvalid);
        if (b_fire_) resp_ = t->AXIL(bresp);
        if (r_fire_) { resp_ = t->AXIL(rresp); rdata_ = t->AXIL(rdata); }
    }

    void update() {
        aw_done_ |= aw_fire_;
        w_done_ |= w_fire_;
        ar_done_ |= ar_fire_;
        if (b_fire_ || r_fire_) {
            if (resp_ != 0)
                throw std::runtime_error("AXI-Lite " + std::string(b_fire_ ? "write" : "read") +
                                         " of offset " + std::to_string(addr_) + ": response " +
                                         std::to_string(resp_));
            op_ = Op::kIdle;
        }
    }

  private:
    enum class Op { kIdle, kWrite, kRead };
    Op op_ = Op::kIdle;
    uint32_t addr_ = 0, data_ = 0, rdata_ = 0;
    unsigned resp_ = 0;
    bool aw_done_ = false, w_done_ = false, ar_done_ = false;
    bool aw_fire_ = false, w_fire_ = false, b_fire_ = false, ar_fire_ = false, r_fire_ = false;
};

}  // namespace harness
