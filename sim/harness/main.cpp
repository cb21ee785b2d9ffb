// One accelerator job under Verilator with no Python in the clock loop.
//
//   harness JOB RESULT DUMP [--stall P] [--seed N] [--trace-fst FILE] [--progress-seconds S]
//
// JOB is a text file written by host/harness.py, one directive a line:
//   memory BYTES            size of the AXI memory
//   image PATH              its initial contents (raw bytes from address 0)
//   write OFFSET VALUE      a register write before the start (in order)
//   start OFFSET VALUE      the write that starts the job (CTRL with its start bit)
//   progress OFFSET HEADS   the register polled for the progress line, and the heads of the job
//   read NAME OFFSET        a register read after irq, written to RESULT as "NAME VALUE"
//   max_cycles N            a job without irq after N cycles is a hang (exit 3)
// After irq the registers are read, RESULT gains "sim_cycles", "sim_seconds" (wall, from the start
// write to the last read) and "sim_cpu_seconds" (this process's CPU time), and the whole
// memory is written to DUMP. A progress line (heads done, cycles, cycles/s) goes to stderr every
// few seconds. Exit 0: done; 2: bad arguments or files; 3: hang or AXI protocol error.
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "Vlapa.h"
#include "verilated.h"
#if VM_TRACE_FST
#include "verilated_fst_c.h"
#endif

#include "axi_mem.h"
#include "axil_driver.h"

namespace {

using harness::AxiMem;
using harness::AxilDriver;

using Clock = std::chrono::steady_clock;

struct Job {
    size_t memory = 0;
    std::string image;
    std::vector<std::pair<uint32_t, uint32_t>> writes;
    std::pair<uint32_t, uint32_t> start{0, 0};
    uint32_t progress_offset = 0;
    unsigned heads = 0;
    std::vector<std::pair<std::string, uint32_t>> reads;
    uint64_t max_cycles = 0;
};

[[noreturn]] void fail(int code, const std::string& msg) {
    std::fprintf(stderr, "harness: %s\n", msg.c_str());
    std::exit(code);
}

Job read_job(const char* path) {
    std::ifstream f(path);
    if (!f) fail(2, std::string("cannot read the job file ") + path);
    Job job;
    std::string line;
    int n = 0;
    while (std::getline(f, line)) {
        ++n;
        std::istringstream in(line);
        std::string key;
        if (!(in >> key)) continue;
        bool ok = true;
        if (key == "memory") ok = bool(in >> job.memory);
        else if (key == "image") ok = bool(in >> job.image);
        else if (key == "write") { uint32_t o, v; ok = bool(in >> o >> v); job.writes.emplace_back(o, v); }
        else if (key == "start") ok = bool(in >> job.start.first >> job.start.second);
        else if (key == "progress") ok = bool(in >> job.progress_offset >> job.heads);
        else if (key == "read") { std::string name; uint32_t o; ok = bool(in >> name >> o); job.reads.emplace_back(name, o); }
        else if (key == "max_cycles") ok = bool(in >> job.max_cycles);
        else ok = false;
        if (!ok) fail(2, std::string(path) + ":" + std::to_string(n) + ": cannot parse '" + line + "'");
    }
    if (!job.memory || !job.max_cycles) fail(2, std::string(path) + ": needs memory and max_cycles");
    return job;
}

// Every register and memory word of the design starts random (built with --x-initial unique),
// so a buffer entry read before it is written shows up as a mismatch against golden.
VerilatedContext* random_context(uint64_t seed) {
    auto* ctx = new VerilatedContext;
    ctx->randReset(2);
    ctx->randSeed(int(seed % 2147483647) + 1);
    return ctx;
}

class Harness {
  public:
    Harness(const Job& job, double stall, uint64_t seed, const char* fst)
        : ctx_(random_context(seed)), top_(new Vlapa(ctx_.get(), "lapa")), mem_(job.memory, stall, seed) {
        if (fst) {
#if VM_TRACE_FST
            ctx_->traceEverOn(true);
            fst_.reset(new VerilatedFstC);
            top_->trace(fst_.get(), 99);
            fst_->open(fst);
#else
            fail(2, "this harness was built without --trace-fst");
#endif
        }
        top_->clk = 1;
        top_->rst = 1;
    }
    ~Harness() {
        close_trace();
        top_->final();
    }
    // Flush the waves (also before a failure exits, so a hang's waves can be read).
    void close_trace() {
#if VM_TRACE_FST
        if (fst_) fst_->close();
        fst_.reset();
#endif
    }

    AxiMem<Vlapa>& mem() { return mem_; }
    Vlapa* top() { return top_.get(); }
    uint64_t cycles = 0;

    void cycle() {
        mem_.drive(top_.get());
        lite_.drive(top_.get());
        top_->clk = 0;
        eval();
        mem_.sample(top_.get());
        lite_.sample(top_.get());
        top_->clk = 1;
        eval();
        mem_.update();
        lite_.update();
        ++cycles;
    }
    void reset(int n = 4) {
        top_->rst = 1;
        for (int i = 0; i < n; ++i) cycle();
        top_->rst = 0;
    }
    void write(uint32_t addr, uint32_t data) {
        lite_.write(addr, data);
        while (lite_.busy()) cycle();
    }
    uint32_t read(uint32_t addr) {
        lite_.read(addr);
        while (lite_.busy()) cycle();
        return lite_.rdata();
    }

  private:
    std::unique_ptr<VerilatedContext> ctx_;
    std::unique_ptr<Vlapa> top_;
    AxiMem<Vlapa> mem_;
    AxilDriver<Vlapa> lite_;
#if VM_TRACE_FST
    std::unique_ptr<VerilatedFstC> fst_;
#endif
    void eval() {
        top_->eval();
#if VM_TRACE_FST
        if (fst_) fst_->dump(ctx_->time());
#endif
        ctx_->timeInc(5);
    }
};

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 4) fail(2, "usage: harness JOB RESULT DUMP [--stall P] [--seed N] [--trace-fst FILE] [--progress-seconds S]");
    double stall = 0.0, every = 5.0;
    uint64_t seed = 1;
    const char* fst = nullptr;
    for (int i = 4; i < argc; ++i) {
        std::string a = argv[i];
        if (i + 1 >= argc) fail(2, "option " + a + " needs a value");
        const char* v = argv[++i];
        if (a == "--stall") stall = std::atof(v);
        else if (a == "--seed") seed = std::strtoull(v, nullptr, 10);
        else if (a == "--trace-fst") fst = v;
        else if (a == "--progress-seconds") every = std::atof(v);
        else fail(2, "unknown option " + a);
    }
    if (!(stall >= 0.0 && stall < 1.0)) fail(2, "--stall must be in [0, 1)");
    Job job = read_job(argv[1]);
    Harness h(job, stall, seed, fst);
    if (!job.image.empty()) {
        std::ifstream img(job.image, std::ios::binary | std::ios::ate);
        if (!img) fail(2, "cannot read the image " + job.image);
        size_t n = size_t(img.tellg());
        if (n > job.memory) fail(2, "the image " + job.image + " is larger than the memory");
        img.seekg(0);
        img.read(reinterpret_cast<char*>(h.mem().mem.data()), std::streamsize(n));
    }

    auto t0 = Clock::now();
    std::clock_t cpu0 = std::clock();
    uint64_t run_cycles = 0;
    try {
        h.reset();
        for (auto& w : job.writes) h.write(w.first, w.second);
        h.write(job.start.first, job.start.second);
        uint64_t begin = h.cycles;
        std::pair<uint64_t, uint64_t> beats0{h.mem().read_beats, h.mem().write_beats};
        auto last_print = t0;
        uint64_t last_cycles = h.cycles;
        while (!h.top()->irq) {
            h.cycle();
            if (h.cycles - begin > job.max_cycles) {
                unsigned heads = job.progress_offset ? h.read(job.progress_offset) : 0;
                throw std::runtime_error("no irq after " + std::to_string(h.cycles - begin) + " cycles (heads done " +
                                         std::to_string(heads) + "/" + std::to_string(job.heads) + ")");
            }
            if ((h.cycles & 0xFFF) == 0) {
                double dt = seconds_since(last_print);
                if (every > 0 && dt >= every) {
                    unsigned heads = job.progress_offset ? h.read(job.progress_offset) : 0;
                    std::fprintf(stderr, "RTL simulation: heads done %u/%u, %llu cycles, %.0f cycles/s\n", heads,
                                 job.heads, (unsigned long long)(h.cycles - begin), (h.cycles - last_cycles) / dt);
                    std::fflush(stderr);
                    last_print = Clock::now();
                    last_cycles = h.cycles;
                }
            }
        }
        run_cycles = h.cycles - begin;
        std::vector<std::pair<std::string, uint32_t>> values;
        for (auto& r : job.reads) values.emplace_back(r.first, h.read(r.second));
        double secs = seconds_since(t0);
        FILE* out = std::fopen(argv[2], "w");
        if (!out) fail(2, std::string("cannot write ") + argv[2]);
        for (auto& v : values) std::fprintf(out, "%s %u\n", v.first.c_str(), v.second);
        double cpu = double(std::clock() - cpu0) / CLOCKS_PER_SEC;
        std::fprintf(out, "sim_cycles %llu\nsim_seconds %.3f\nsim_cpu_seconds %.3f\naxi_errors %llu\n",
                     (unsigned long long)run_cycles, secs, cpu, (unsigned long long)h.mem().errors);
        // AXI beats of the job (the register reads after it move no AXI4 data)
        std::fprintf(out, "axi_read_beats %llu\naxi_write_beats %llu\n",
                     (unsigned long long)(h.mem().read_beats - beats0.first),
                     (unsigned long long)(h.mem().write_beats - beats0.second));
        std::fclose(out);
    } catch (const harness::ProtocolError& e) {
        h.close_trace();
        fail(3, std::string("AXI protocol error at cycle ") + std::to_string(h.cycles) + ": " + e.what());
    } catch (const std::exception& e) {
        h.close_trace();
        fail(3, e.what());
    }
    std::ofstream dump(argv[3], std::ios::binary);
    dump.write(reinterpret_cast<const char*>(h.mem().mem.data()), std::streamsize(h.mem().mem.size()));
    if (!dump) fail(2, std::string("cannot write ") + argv[3]);
    return 0;
}
