#include "llm_datadist_ref/memory_backend.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#include "llm_datadist_ref/status.hpp"

namespace llm_datadist_ref {

Region HostMmapBackend::reserve(std::size_t bytes, std::size_t alignment) {
    if (bytes == 0 || alignment == 0 || (alignment & (alignment - 1)) != 0) {
        throw_status(StatusCode::kParamInvalid, "invalid pool reservation request");
    }
    if (bytes > SIZE_MAX - alignment) {
        throw_status(StatusCode::kOutOfMemory, "pool of " + std::to_string(bytes) + " bytes is too large");
    }
    // Over-reserve by one alignment unit and hand out the aligned part; the slack stays mapped
    // (it is never touched, so it costs address space only).
    const std::size_t mapping_bytes = bytes + alignment;
    void* mapping = ::mmap(nullptr, mapping_bytes, PROT_READ | PROT_WRITE,
                           MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mapping == MAP_FAILED) {
        throw_status(StatusCode::kOutOfMemory,
                     "cannot reserve " + std::to_string(bytes) + " bytes for a memory pool");
    }
    const auto raw = reinterpret_cast<std::uintptr_t>(mapping);
    const auto aligned = (raw + alignment - 1) & ~(static_cast<std::uintptr_t>(alignment) - 1);
    Region region;
    region.base = reinterpret_cast<std::byte*>(aligned);
    region.bytes = bytes;
    region.mapping = mapping;
    region.mapping_bytes = mapping_bytes;
#ifdef MADV_HUGEPAGE
    (void)::madvise(region.base, bytes, MADV_HUGEPAGE);  // advisory: failure only costs speed
#endif
    return region;
}

void HostMmapBackend::release(const Region& region) noexcept {
    if (region.mapping != nullptr) {
        (void)::munmap(region.mapping, region.mapping_bytes);
    }
}

void HostMmapBackend::discard(std::byte* base, std::size_t bytes) noexcept {
    if (base != nullptr && bytes > 0) {
        (void)::madvise(base, bytes, MADV_DONTNEED);  // advisory: failure only costs memory
    }
}

void SharedMemoryBackend::discard(std::byte* base, std::size_t bytes) noexcept {
    if (base != nullptr && bytes > 0) {
        (void)::madvise(base, bytes, MADV_REMOVE);  // frees the memfd's pages (a hole reads as zeros)
    }
}

Region SharedMemoryBackend::reserve(std::size_t bytes, std::size_t alignment) {
    if (bytes == 0 || alignment == 0 || (alignment & (alignment - 1)) != 0) {
        throw_status(StatusCode::kParamInvalid, "invalid pool reservation request");
    }
    if (bytes > SIZE_MAX - alignment || bytes > static_cast<std::size_t>(INT64_MAX)) {
        throw_status(StatusCode::kOutOfMemory, "pool of " + std::to_string(bytes) + " bytes is too large");
    }
    const int fd = ::memfd_create("llm_datadist_ref-pool", MFD_CLOEXEC);
    if (fd < 0) {
        throw_status(StatusCode::kOutOfMemory, "cannot create shared memory for a memory pool");
    }
    if (::ftruncate(fd, static_cast<off_t>(bytes)) != 0) {
        (void)::close(fd);
        throw_status(StatusCode::kOutOfMemory, "cannot size shared memory of " + std::to_string(bytes) + " bytes");
    }
    // Reserve address space with room to align, then map the memfd over its aligned part.
    const std::size_t mapping_bytes = bytes + alignment;
    void* mapping = ::mmap(nullptr, mapping_bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (mapping == MAP_FAILED) {
        (void)::close(fd);
        throw_status(StatusCode::kOutOfMemory, "cannot reserve " + std::to_string(bytes) + " bytes for a memory pool");
    }
    const auto raw = reinterpret_cast<std::uintptr_t>(mapping);
    const auto aligned = (raw + alignment - 1) & ~(static_cast<std::uintptr_t>(alignment) - 1);
    void* shared = ::mmap(reinterpret_cast<void*>(aligned), bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, fd, 0);
    if (shared == MAP_FAILED) {
        (void)::munmap(mapping, mapping_bytes);
        (void)::close(fd);
        throw_status(StatusCode::kOutOfMemory, "cannot map shared memory for a memory pool");
    }
    Region region;
    region.base = static_cast<std::byte*>(shared);
    region.bytes = bytes;
    region.mapping = mapping;
    region.mapping_bytes = mapping_bytes;
    region.fd = fd;
#ifdef MADV_HUGEPAGE
    // Advisory: shared memory gets huge pages only where the host allows them for shmem
    // (transparent_hugepage/shmem_enabled "advise"); elsewhere this changes nothing.
    (void)::madvise(region.base, bytes, MADV_HUGEPAGE);
#endif
    return region;
}

void SharedMemoryBackend::release(const Region& region) noexcept {
    if (region.mapping != nullptr) {
        (void)::munmap(region.mapping, region.mapping_bytes);
    }
    if (region.fd >= 0) {
        (void)::close(region.fd);
    }
}

std::shared_ptr<MemoryBackend> shared_memory_backend() {
    static const auto backend = std::make_shared<SharedMemoryBackend>();
    return backend;
}

std::shared_ptr<MemoryBackend> default_memory_backend() {
    static const auto backend = std::make_shared<HostMmapBackend>();
    return backend;
}

}  // namespace llm_datadist_ref
