// The seam between the pools and the memory they hand out. "Device" memory is host RAM in this
// reference; a real accelerator backend implements MemoryBackend and CopyEngine instead.
#pragma once

#include <cstddef>
#include <memory>

namespace llm_datadist_ref {

/// One contiguous reservation made by a backend.
struct Region {
    std::byte* base = nullptr;   ///< aligned start handed to the pool
    std::size_t bytes = 0;       ///< usable bytes from base
    void* mapping = nullptr;     ///< what the backend must release
    std::size_t mapping_bytes = 0;
    int fd = -1;                 ///< shareable backends: a file descriptor of the memory at base
};

/// Reserves and releases large regions of memory for a pool.
class MemoryBackend {
  public:
    virtual ~MemoryBackend() = default;
    /// Reserves `bytes` (> 0) at an address aligned to `alignment` (a power of two).
    /// Throws CoreError(OUT_OF_MEMORY) when the system refuses.
    virtual Region reserve(std::size_t bytes, std::size_t alignment) = 0;
    virtual void release(const Region& region) noexcept = 0;
    /// Gives the memory of [base, base + bytes) (whole pages of a reserved region) back to the
    /// system; the range stays reserved and reads as zeros when touched again. Advisory.
    virtual void discard(std::byte* base, std::size_t bytes) noexcept {
        (void)base;
        (void)bytes;
    }
    virtual const char* name() const noexcept = 0;
};

/// Anonymous private mmap with MAP_NORESERVE, asking for transparent huge pages: creating a pool
/// costs no RAM until pages are touched, and large copies take fewer TLB misses.
class HostMmapBackend final : public MemoryBackend {
  public:
    Region reserve(std::size_t bytes, std::size_t alignment) override;
    void release(const Region& region) noexcept override;
    /// madvise(MADV_DONTNEED): private anonymous pages are dropped at once.
    void discard(std::byte* base, std::size_t bytes) noexcept override;
    const char* name() const noexcept override { return "host-mmap"; }
};

/// Shared memory (memfd) mapped MAP_SHARED: other processes that receive `Region::fd` map the same
/// pages, so a peer on this host reads a pool with one copy (pools of a listening engine).
class SharedMemoryBackend final : public MemoryBackend {
  public:
    Region reserve(std::size_t bytes, std::size_t alignment) override;
    void release(const Region& region) noexcept override;
    /// madvise(MADV_REMOVE): the pages leave the memfd, for every process that maps it.
    void discard(std::byte* base, std::size_t bytes) noexcept override;
    const char* name() const noexcept override { return "shared-memfd"; }
};

/// The backend used for both placements of the CPU reference.
std::shared_ptr<MemoryBackend> default_memory_backend();
std::shared_ptr<MemoryBackend> shared_memory_backend();

}  // namespace llm_datadist_ref
