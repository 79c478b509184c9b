// One LLMDataDist's core: its pools, its cache registry, its timeout, and every operation of the
// CacheManager as validate -> check deadline -> commit.
#pragma once

#include <cstddef>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "llm_datadist_ref/cache_registry.hpp"
#include "llm_datadist_ref/copy_engine.hpp"
#include "llm_datadist_ref/deadline.hpp"
#include "llm_datadist_ref/fork_guard.hpp"
#include "llm_datadist_ref/memory_backend.hpp"
#include "llm_datadist_ref/memory_pool.hpp"

namespace llm_datadist_ref {

struct PoolConfig {
    std::size_t memory_size = 0;
    unsigned page_shift = 16;
};

struct AllocateRequest {
    Placement placement = Placement::kDevice;
    uint32_t num_tensors = 0;
    uint64_t tensor_bytes = 0;
    uint32_t batch_size = 0;
    bool is_blocks = false;
    std::vector<KeySpec> keys;                  ///< cache_keys in batch order (allocate_cache)
    std::optional<uint64_t> blocks_key_model;   ///< BlocksCacheKey model_id (allocate_blocks_cache)
};

struct Allocated {
    int64_t cache_id = 0;
    std::shared_ptr<const CacheStorage> storage;  ///< the tensors, readable without any lock
};

/// A (source, destination) index pair of a block or batch copy.
struct IndexPair {
    int64_t src;
    int64_t dst;
};

/// Caller memory described by address: the host side of swap_blocks with Cache.create_cpu_cache.
/// Trusted input (as in the vendor's API): the core checks what it can without touching the
/// memory (no null page, no wrap-around, mapped at both ends, no tensor aliasing this engine's
/// pools or staging or another tensor of the same cache), and trusts that each tensor holds
/// tensor_bytes of writable memory for the whole call.
struct ExternalCache {
    std::vector<std::byte*> tensors;
    uint64_t tensor_bytes = 0;
    uint32_t num_blocks = 0;
};

/// Copies decided and validated under the registry lock, run after it is released. The pins keep
/// the memory of every cache involved alive until the copies are done.
struct CopyPlan {
    std::vector<std::shared_ptr<CacheStorage>> pins;
    std::vector<CopySpan> spans;
    std::size_t total_bytes = 0;
    /// No span writes bytes another span reads or writes, so the spans may run in any order, in
    /// parallel. Plans whose spans depend on each other run in order on one thread; transfers
    /// leave it false below kParallelCopyThreshold, where it would not be used.
    bool independent = false;
};

/// Whether the (src, dst) block pairs of a copy_blocks may run in any order: no block is written
/// twice, or written and also read. Costs O(pairs), whatever the size of the cache.
bool blocks_independent(const std::vector<IndexPair>& pairs, uint32_t num_blocks);

enum class SwapDirection : uint8_t { kIn, kOut };

struct SwapPlan {
    CopyPlan copies;           ///< one span per (tensor, block pair), destination blocks unique
    SwapDirection direction = SwapDirection::kOut;
    std::size_t block_bytes = 0;
};

/// What a transfer between two engines addresses on the remote side.
struct RemoteKey {
    enum class Kind : uint8_t { kCacheKey, kById, kBlocks } kind = Kind::kCacheKey;
    KeySpec key;                ///< kCacheKey
    int64_t cache_id = 0;       ///< kById
    uint32_t batch_index = 0;   ///< kById
    uint64_t model_id = 0;      ///< kBlocks
};

/// Layer-wise transfers name tensor indices; empty means "every tensor, index to index".
struct TensorMapping {
    std::vector<uint32_t> src;
    std::vector<uint32_t> dst;
};

struct Lease;
struct PeerCache;

/// A pool's memory: a peer process on this host maps `fd` (when >= 0) to see its `bytes`; a
/// transfer engine across hosts registers [base, base + bytes).
struct SharedPool {
    int fd = -1;
    std::size_t bytes = 0;
    std::uintptr_t base = 0;
};

/// sync_kv_timeout bound: far beyond any use (about 31 years), and far inside the nanosecond
/// clock's range, so deadline arithmetic cannot overflow.
constexpr int64_t kMaxTimeoutMs = int64_t{1000000000000};

/// An allocate of at most this many tensors and keys is quick work (microseconds): its deadline
/// starts only if it has to wait for a lock (see Deadline::unstarted).
constexpr std::size_t kQuickTensors = 64;

/// Staging of a staged swap-in: 4 slots of at most this many bytes (larger blocks go through in
/// pieces), so the ring is at most 16 MiB outside both pools while a swap runs...
constexpr std::size_t kMaxStagingSlotBytes = std::size_t{4} << 20;
/// ...and it is kept between swaps only up to this size (blocks up to 256 KiB); a larger ring is
/// unmapped as soon as its swap is done.
constexpr std::size_t kRetainedStagingBytes = std::size_t{1} << 20;

class Engine {
  public:
    Engine(int64_t timeout_ms, std::optional<PoolConfig> device_pool, std::optional<PoolConfig> host_pool,
           std::shared_ptr<MemoryBackend> backend = default_memory_backend(),
           std::shared_ptr<CopyEngine> copier = default_copy_engine());
    ~Engine();
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;

    int64_t timeout_ms() const noexcept { return timeout_ms_; }
    bool has_pool(Placement placement) const;
    bool finalized() const;

    /// The quick operations take an unstarted deadline (Deadline::unstarted) and start it
    /// before anything that may take long.
    Allocated allocate(const AllocateRequest& request, Deadline& deadline);
    void deallocate(int64_t cache_id, bool blocks, Deadline& deadline);
    void remove_cache_key(const KeySpec& key, const Deadline& deadline);

    CopyPlan plan_copy_cache(int64_t dst_id, int64_t src_id, uint32_t dst_batch_index, uint32_t src_batch_index,
                             uint64_t offset, int64_t size, const Deadline& deadline);
    CopyPlan plan_copy_blocks(int64_t cache_id, const std::vector<IndexPair>& pairs, const Deadline& deadline);
    /// A side of a swap is a cache of this engine (id >= 0) or caller memory (id < 0).
    SwapPlan plan_swap(int64_t src_id, const ExternalCache* src_external, int64_t dst_id,
                       const ExternalCache* dst_external, const std::vector<IndexPair>& pairs,
                       const Deadline& deadline);
    /// pull_cache / pull_blocks: copy from `remote` into a cache of this engine. A pull_cache by a
    /// bound key releases that key on the remote once every tensor has been pulled.
    CopyPlan plan_pull(Engine& remote, const RemoteKey& key, int64_t dst_id, uint32_t dst_batch_index,
                       int64_t size, const std::vector<int64_t>& src_blocks, const std::vector<int64_t>& dst_blocks,
                       bool blocks, const TensorMapping& mapping, const Deadline& deadline);
    /// push_cache: copy a batch slice of a cache of this engine into (cache_id, batch_index) of
    /// `remote`, releasing the key bound there once every tensor has been written.
    CopyPlan plan_push(Engine& remote, int64_t remote_cache_id, uint32_t remote_batch_index, int64_t src_id,
                       uint32_t src_batch_index, const TensorMapping& mapping, const Deadline& deadline);

    void run(const CopyPlan& plan) const;
    void run(const SwapPlan& plan);

    // Transfers with an engine in another process (engine_remote.cpp). The serving engine leases
    // what a key names (the lease pins its memory) and commits the lease once the peer's copy is
    // done; the peer copies between its own cache and its mapping of the serving engine's pool.
    std::optional<SharedPool> shared_pool(Placement placement) const;  ///< any configured pool
    Lease lease_source(const RemoteKey& key, bool blocks);
    Lease lease_push_target(int64_t cache_id, uint32_t batch_index);
    /// Releases the key a lease names once `tensors` have been transferred; a no-op when the key
    /// was meanwhile removed or bound to another cache.
    void commit_lease(const Lease& lease, const std::vector<uint32_t>& tensors);
    /// Plans return the tensor pairs as well, for the serving side's commit.
    std::pair<CopyPlan, std::vector<uint32_t>> plan_pull_from_peer(
        const PeerCache& src, RemoteKey::Kind kind, int64_t dst_id, uint32_t dst_batch_index, int64_t size,
        const std::vector<int64_t>& src_blocks, const std::vector<int64_t>& dst_blocks, bool blocks,
        const TensorMapping& mapping, const Deadline& deadline);
    std::pair<CopyPlan, std::vector<uint32_t>> plan_push_to_peer(const PeerCache& dst, int64_t src_id,
                                                                 uint32_t src_batch_index,
                                                                 const TensorMapping& mapping,
                                                                 const Deadline& deadline);

    /// Drops every cache and the pools; later operations fail with ENGINE_FINALIZED.
    void finalize();

    std::optional<PoolUsage> usage(Placement placement) const;
    /// Unmaps the staging ring if it is larger than kRetainedStagingBytes; called once a swap (all
    /// its slices) is done.
    void release_idle_staging();
    /// Bytes of swap staging memory mapped right now (outside both pools).
    std::size_t staging_bytes() const noexcept { return staging_bytes_.load(std::memory_order_relaxed); }
    /// Whether [begin, begin + bytes) shares a byte with this engine's pools or staging ring.
    bool aliases_own_memory(const std::byte* begin, std::size_t bytes) const noexcept;
    std::size_t cache_count();
    std::size_t key_count();
    std::vector<int64_t> cache_ids();
    /// Test hook: holds the registry lock for `ms`, as a long operation of another thread would.
    void hold_registry_lock(int64_t ms);

  private:
    MemoryPool* pool(Placement placement) const noexcept;
    void require_live() const;
    /// Validates allocate_cache's keys (none bound already) and lays them out by batch index.
    std::vector<std::optional<KeyId>> bind_keys(const std::vector<KeySpec>& keys) const;
    void run_staged_swap_in(const SwapPlan& plan);
    void map_staging(std::size_t bytes);    // caller holds staging_mu_
    void unmap_staging() noexcept;          // caller holds staging_mu_

    int64_t timeout_ms_;
    std::shared_ptr<MemoryBackend> backend_;
    std::shared_ptr<CopyEngine> copier_;
    std::shared_ptr<MemoryPool> device_pool_;
    std::shared_ptr<MemoryPool> host_pool_;
    std::optional<PoolUsage> final_device_usage_;
    std::optional<PoolUsage> final_host_usage_;
    bool finalized_flag_ = false;  ///< guarded by the registry mutex
    mutable CacheRegistry registry_;

    std::mutex staging_mu_;  ///< one staged swap-in at a time per engine
    Region staging_;
    // The staging ring's extent, readable without staging_mu_ (by aliases_own_memory).
    std::atomic<std::uintptr_t> staging_base_{0};
    std::atomic<std::size_t> staging_bytes_{0};

    ForkGuard::Registration registry_fork_{registry_.mutex(), LockRank::kRegistry};
    ForkGuard::Registration staging_fork_{staging_mu_, LockRank::kStaging};
};

}  // namespace llm_datadist_ref
