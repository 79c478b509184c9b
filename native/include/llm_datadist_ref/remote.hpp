// Transfers between engines of different processes on one host: leases on the serving side, and
// the serving engine's pools as the peer maps them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>
#include <optional>
#include <vector>

#include "llm_datadist_ref/cache_registry.hpp"

namespace llm_datadist_ref {

/// What a serving engine hands a peer for one transfer. Holding it keeps the cache's memory out
/// of the pool (the pin) even if the cache is released meanwhile: a peer never reads reused pages.
struct Lease {
    int64_t cache_id = 0;
    CacheGeometry geometry;
    uint32_t batch_index = 0;
    std::vector<uint64_t> tensor_offsets;  ///< from the base of the pool of geometry.placement
    std::optional<KeyId> key;              ///< released by commit_lease
    std::shared_ptr<CacheStorage> pin;
};

/// A peer's pool mapped into this process (MAP_SHARED of the fd the peer sent).
class PeerRegion {
  public:
    /// Maps `bytes` of `fd`; the mapping outlives the fd, which the caller closes. Throws CoreError.
    PeerRegion(int fd, std::size_t bytes);
    /// A pool of another host, at `remote_base` in that host's address space: never mapped here,
    /// so its addresses are handed to a transfer engine and never dereferenced in this process.
    PeerRegion(std::uintptr_t remote_base, std::size_t bytes);
    ~PeerRegion();
    PeerRegion(const PeerRegion&) = delete;
    PeerRegion& operator=(const PeerRegion&) = delete;

    std::byte* base() const noexcept { return base_; }
    std::size_t bytes() const noexcept { return bytes_; }
    bool mapped() const noexcept { return mapped_; }

  private:
    std::byte* base_ = nullptr;
    std::size_t bytes_ = 0;
    bool mapped_ = true;
};

/// A cache of a peer as its lease describes it, with its tensors located in this process's
/// mapping of the peer's pool. make_peer_cache checks every figure the peer sent.
struct PeerCache {
    std::shared_ptr<PeerRegion> region;
    CacheGeometry geometry;
    uint32_t batch_index = 0;
    std::vector<std::byte*> tensors;
};

/// Throws CoreError(PARAM_INVALID) when the layout is impossible or a tensor leaves the region.
PeerCache make_peer_cache(std::shared_ptr<PeerRegion> region, uint32_t num_tensors, uint64_t tensor_bytes,
                          uint32_t batch_size, bool is_blocks, uint32_t batch_index,
                          const std::vector<uint64_t>& tensor_offsets);

}  // namespace llm_datadist_ref
