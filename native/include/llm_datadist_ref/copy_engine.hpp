// Byte movement between cache tensors. The host engine is memcpy; a device backend would queue
// DMA descriptors here instead.
#pragma once

#include <cstddef>
#include <memory>
#include <vector>

namespace llm_datadist_ref {

/// One contiguous copy.
struct CopySpan {
    std::byte* dst;
    const std::byte* src;
    std::size_t bytes;
};

/// Executes batches of copies. Spans are applied in order; a span whose ranges overlap is moved
/// as memmove would.
class CopyEngine {
  public:
    virtual ~CopyEngine() = default;
    /// Runs the spans on the calling thread.
    virtual void run(const CopySpan* spans, std::size_t count) const = 0;
    /// Runs the spans split into `ways` contiguous shares on the shared worker pool and waits.
    virtual void run_parallel(const std::vector<CopySpan>& spans, unsigned ways) const = 0;
    virtual const char* name() const noexcept = 0;
};

class HostCopyEngine final : public CopyEngine {
  public:
    void run(const CopySpan* spans, std::size_t count) const override;
    void run_parallel(const std::vector<CopySpan>& spans, unsigned ways) const override;
    const char* name() const noexcept override { return "host-memcpy"; }
};

std::shared_ptr<CopyEngine> default_copy_engine();

/// Spans at least this large are written with non-temporal (streaming) stores where the CPU has
/// them: the destination is not read back soon (a pulled or copied KV cache), and skipping the
/// read-for-ownership of each destination line moves blocks that are not in the CPU caches
/// 1.15x-1.2x faster than memcpy here, from 8 KiB up (at 4 KiB the two tie). Smaller spans
/// stay in the cache as memcpy leaves them.
constexpr std::size_t kStreamingCopyThreshold = 4 * 1024;

/// Before copying a span shorter than this, the first lines of the next span's source are
/// requested, so that a list of scattered blocks does not wait for each block's first line (and
/// page walk) in turn: 1.15x on cold 8 KiB blocks here. Longer spans keep the prefetcher to
/// themselves (asking for the next one slowed a cold 64 KiB block by 1.1x).
constexpr std::size_t kPrefetchNextBelow = 32 * 1024;

/// Copies smaller than this keep the GIL: releasing and re-taking it costs more than the copy.
constexpr std::size_t kReleaseGilThreshold = 64 * 1024;

/// Swaps smaller than this run inline instead of on the worker pool.
constexpr std::size_t kInlineSwapThreshold = 1024 * 1024;

/// Independent copies at least this large are split across the worker pool, one share per core
/// (up to 4): a single thread cannot saturate memory bandwidth (notes/performance.md 2.1).
constexpr std::size_t kParallelCopyThreshold = 8 * 1024 * 1024;

/// Shares a large independent copy is split into: the cores of this machine, at most 4.
unsigned copy_parallelism() noexcept;

}  // namespace llm_datadist_ref
