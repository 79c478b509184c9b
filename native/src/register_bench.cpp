// Benchmark-only baselines: a trivial call, memcpy of blocks between regions the helper owns, and
// eviction of memory from the CPU caches (of those regions, a pool, a mapped peer pool): no caller
// address ever reaches it.
#include <chrono>
#include <cstring>
#include <functional>
#include <string>

#include "llm_datadist_ref/memory_backend.hpp"
#include "llm_datadist_ref/pybind11.hpp"
#include "llm_datadist_ref/remote.hpp"
#include "llm_datadist_ref/worker_pool.hpp"

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace llm_datadist_ref {
namespace {

/// Writes back and drops every cache line of [base, base + bytes) from every CPU cache, so that a
/// timed copy reads and writes memory as a KV transfer meets it (written long ago, in a pool far
/// larger than the caches). A host whose last-level cache is larger than a benchmark's working set
/// would otherwise serve the copy from that cache. False where the CPU has no such instruction.
bool evict_lines(const std::byte* base, std::size_t bytes) noexcept {
#if defined(__SSE2__)
    constexpr std::size_t kLine = 64;  // the smallest line of any x86 CPU with CLFLUSH
    for (std::size_t offset = 0; offset < bytes; offset += kLine) {
        _mm_clflush(base + offset);
    }
    _mm_mfence();
    return true;
#else
    (void)base;
    (void)bytes;
    return false;
#endif
}

/// Two prefaulted regions (THP-advised, as the pools are) to copy blocks between.
class MemcpyBench {
  public:
    MemcpyBench(std::size_t src_bytes, std::size_t dst_bytes) : backend_(default_memory_backend()) {
        if (src_bytes == 0 || dst_bytes == 0) {
            throw py::value_error("region sizes must be > 0");
        }
        src_ = backend_->reserve(src_bytes, std::size_t{2} << 20);
        dst_ = backend_->reserve(dst_bytes, std::size_t{2} << 20);
        std::memset(src_.base, 1, src_.bytes);
        std::memset(dst_.base, 2, dst_.bytes);
    }
    ~MemcpyBench() {
        backend_->release(src_);
        backend_->release(dst_);
    }
    MemcpyBench(const MemcpyBench&) = delete;
    MemcpyBench& operator=(const MemcpyBench&) = delete;

    /// Seconds to copy block src_blocks[i] to block dst_blocks[i] for every i, on `threads`
    /// persistent workers (1 = the calling thread).
    double copy_blocks(std::size_t block_bytes, const std::vector<int64_t>& src_blocks,
                       const std::vector<int64_t>& dst_blocks, unsigned threads) {
        if (block_bytes == 0 || src_blocks.size() != dst_blocks.size()) {
            throw py::value_error("block_bytes must be > 0 and the block lists of equal length");
        }
        for (std::size_t i = 0; i < src_blocks.size(); ++i) {
            if (src_blocks[i] < 0 || static_cast<std::size_t>(src_blocks[i]) >= src_.bytes / block_bytes ||
                dst_blocks[i] < 0 || static_cast<std::size_t>(dst_blocks[i]) >= dst_.bytes / block_bytes) {
                throw py::value_error("block index out of range of the region");
            }
        }
        py::gil_scoped_release release;
        const auto copy_range = [&](std::size_t begin, std::size_t end) {
            for (std::size_t i = begin; i < end; ++i) {
                std::memcpy(dst_.base + block_bytes * static_cast<std::size_t>(dst_blocks[i]),
                            src_.base + block_bytes * static_cast<std::size_t>(src_blocks[i]), block_bytes);
            }
        };
        const auto start = std::chrono::steady_clock::now();
        if (threads <= 1) {
            copy_range(0, src_blocks.size());
        } else {
            std::vector<std::function<void()>> jobs;
            const std::size_t n = src_blocks.size();
            for (unsigned t = 0; t < threads; ++t) {
                const std::size_t begin = n * t / threads;
                const std::size_t end = n * (t + 1) / threads;
                jobs.emplace_back([&copy_range, begin, end] { copy_range(begin, end); });
            }
            WorkerPool::shared().run_all(std::move(jobs));
        }
        return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    }

    /// Both regions out of the CPU caches (see evict_lines).
    bool evict() const noexcept { return evict_lines(src_.base, src_.bytes) && evict_lines(dst_.base, dst_.bytes); }

    std::size_t src_bytes() const noexcept { return src_.bytes; }
    std::size_t dst_bytes() const noexcept { return dst_.bytes; }

  private:
    std::shared_ptr<MemoryBackend> backend_;
    Region src_;
    Region dst_;
};

}  // namespace

void register_bench(py::module_& m) {
    py::module_ bench = m.def_submodule("bench", "Benchmark-only baselines; not part of the API.");
    bench.def("noop", [] {}, "A trivial pybind11 call: the cost floor of crossing into C++.");
    bench.def(
        "noop_like_allocate",
        [](int64_t, int64_t, int64_t, int64_t, bool, py::handle, py::handle) {
            return py::make_tuple(0, py::list());
        },
        "A trivial call with Engine.allocate's argument and result shape.");
    bench.def(
        "noop_like_allocate_cache",
        [](py::handle, py::handle, py::handle, py::handle cache_desc) {
            return py::reinterpret_borrow<py::object>(cache_desc);
        },
        "A trivial call with Engine.allocate_cache's arguments (engine first), returning an existing object "
        "where the real one returns a new Cache.");
    bench.def(
        "noop_like_deallocate", [](int64_t, bool) {}, "A trivial call with Engine.deallocate's arguments.");
    // The GIL stays held while lines are evicted: nothing can finalize the engine or drop the
    // region meanwhile.
    bench.def(
        "evict_pool",
        [](const Engine& engine, int placement) {
            const auto pool = engine.shared_pool(placement == 0 ? Placement::kHost : Placement::kDevice);
            if (!pool) {
                throw py::value_error("the engine has no pool of this placement (or is finalized)");
            }
            return evict_lines(reinterpret_cast<const std::byte*>(pool->base), pool->bytes);
        },
        py::arg("engine"), py::arg("placement"),
        "Evicts an engine's pool (placement 0 HOST, 1 DEVICE) from the CPU caches; False where the CPU "
        "cannot.");
    bench.def(
        "evict_peer_region",
        [](const PeerRegion& region) {
            if (!region.mapped()) {
                throw py::value_error("the region is another host's pool, not mapped here");
            }
            return evict_lines(region.base(), region.bytes());
        },
        py::arg("region"), "Evicts a peer's pool mapped here from the CPU caches; False where the CPU cannot.");
    py::class_<MemcpyBench>(bench, "MemcpyBench")
        .def(py::init<std::size_t, std::size_t>(), py::arg("src_bytes"), py::arg("dst_bytes"))
        .def(
            "copy_blocks",
            [](MemcpyBench& self, std::size_t block_bytes, py::handle src_blocks, py::handle dst_blocks,
               unsigned threads) {
                const auto src = read_index_list(src_blocks, "src_blocks");
                const auto dst = read_index_list(dst_blocks, "dst_blocks");
                return self.copy_blocks(block_bytes, src, dst, threads);
            },
            py::arg("block_bytes"), py::arg("src_blocks"), py::arg("dst_blocks"), py::arg("threads") = 1)
        .def("evict", &MemcpyBench::evict, "Evicts both regions from the CPU caches; False where the CPU cannot.")
        .def_property_readonly("src_bytes", &MemcpyBench::src_bytes)
        .def_property_readonly("dst_bytes", &MemcpyBench::dst_bytes);
}

}  // namespace llm_datadist_ref
