// Engine lifecycle and the reference-counting operations: allocate, deallocate, remove_cache_key.
#include "llm_datadist_ref/engine.hpp"

#include <chrono>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>

#include "llm_datadist_ref/status.hpp"

namespace llm_datadist_ref {

Engine::Engine(int64_t timeout_ms, std::optional<PoolConfig> device_pool, std::optional<PoolConfig> host_pool,
               std::shared_ptr<MemoryBackend> backend, std::shared_ptr<CopyEngine> copier)
    : timeout_ms_(timeout_ms), backend_(std::move(backend)), copier_(std::move(copier)) {
    if (timeout_ms_ <= 0 || timeout_ms_ > kMaxTimeoutMs) {
        throw_out_of_range("sync_kv_timeout " + std::to_string(timeout_ms_) + " ms out of range (0, " +
                           std::to_string(kMaxTimeoutMs) + "]");
    }
    if (device_pool) {
        device_pool_ = std::make_shared<MemoryPool>(backend_, device_pool->memory_size, device_pool->page_shift);
    }
    if (host_pool) {
        host_pool_ = std::make_shared<MemoryPool>(backend_, host_pool->memory_size, host_pool->page_shift);
    }
}

Engine::~Engine() { finalize(); }

MemoryPool* Engine::pool(Placement placement) const noexcept {
    return placement == Placement::kHost ? host_pool_.get() : device_pool_.get();
}

bool Engine::has_pool(Placement placement) const {
    std::lock_guard<std::mutex> lock(registry_.mutex());
    return pool(placement) != nullptr;
}

bool Engine::finalized() const {
    std::lock_guard<std::mutex> lock(registry_.mutex());
    return finalized_flag_;
}

std::vector<std::optional<KeyId>> Engine::bind_keys(const std::vector<KeySpec>& keys) const {
    // Slot i holds the key bound to batch index i. Placeholders hold their index unbound; a
    // repeated key binds its LAST index, so its earlier slots are cleared. One hash lookup per key.
    std::vector<std::optional<KeyId>> slots(keys.size());
    if (keys.empty()) {
        return slots;
    }
    std::unordered_map<KeyId, uint32_t, KeyIdHash> seen;
    seen.reserve(keys.size());
    for (std::size_t index = 0; index < keys.size(); ++index) {
        if (keys[index].is_placeholder()) {
            continue;
        }
        const KeyId key = KeyId::of(keys[index]);
        if (registry_.is_bound(key)) {
            throw_status(StatusCode::kParamInvalid, "cache_key (" + std::to_string(key.id) + ", " +
                                                        std::to_string(key.model_id) +
                                                        ") is already bound to a live cache");
        }
        const auto [earlier, first] = seen.try_emplace(key, static_cast<uint32_t>(index));
        if (!first) {
            slots[earlier->second].reset();
            earlier->second = static_cast<uint32_t>(index);
        }
        slots[index] = key;
    }
    return slots;
}

void Engine::require_live() const {
    if (finalized_flag_) {
        throw_status(StatusCode::kEngineFinalized, "LLMDataDist has been finalized");
    }
}

Allocated Engine::allocate(const AllocateRequest& request, Deadline& deadline) {
    const char* operation = request.is_blocks ? "allocate_blocks_cache" : "allocate_cache";
    if (request.num_tensors == 0) {
        throw_out_of_range("num_tensors should be bigger than zero");
    }
    if (request.batch_size == 0 || request.tensor_bytes == 0 || request.tensor_bytes < request.batch_size) {
        throw_out_of_range("cache shape describes an empty tensor or batch");
    }
    if (request.keys.size() > request.batch_size) {
        throw_status(StatusCode::kParamInvalid, "number of cache_keys (" + std::to_string(request.keys.size()) +
                                                    ") > batch_size (" + std::to_string(request.batch_size) + ")");
    }
    if (request.is_blocks && !request.keys.empty()) {
        throw_status(StatusCode::kParamInvalid, "a blocks cache is indexed by a BlocksCacheKey only");
    }

    if (request.num_tensors > kQuickTensors || request.keys.size() > kQuickTensors) {
        deadline.start();  // enough work to be measured
    }
    const auto lock = lock_counting_wait(registry_.mutex(), deadline);
    require_live();
    const std::shared_ptr<MemoryPool>& pool_ptr = request.placement == Placement::kHost ? host_pool_ : device_pool_;
    if (!pool_ptr) {
        throw_status(StatusCode::kParamInvalid,
                     std::string("you should config memory pool firstly: no ") +
                         (request.placement == Placement::kHost ? "host_mem_pool_cfg" : "mem_pool_cfg") +
                         " for this placement");
    }

    std::vector<std::optional<KeyId>> key_slots = bind_keys(request.keys);
    if (request.blocks_key_model && registry_.is_blocks_key_bound(*request.blocks_key_model)) {
        throw_status(StatusCode::kParamInvalid, "blocks_cache_key (model_id " +
                                                    std::to_string(*request.blocks_key_model) +
                                                    ") is already bound to a live cache");
    }

    auto storage = std::make_shared<CacheStorage>(pool_ptr, request.num_tensors, request.tensor_bytes, deadline);
    deadline.check(operation);  // on timeout the storage is dropped and its pages return

    CacheGeometry geometry;
    geometry.num_tensors = request.num_tensors;
    geometry.tensor_bytes = request.tensor_bytes;
    geometry.batch_size = request.batch_size;
    geometry.stride = request.tensor_bytes / request.batch_size;
    geometry.placement = request.placement;
    geometry.is_blocks = request.is_blocks;
    Allocated result;
    result.storage = storage;
    result.cache_id = registry_.insert(geometry, std::move(storage), std::move(key_slots), request.blocks_key_model);
    return result;
}

void Engine::deallocate(int64_t cache_id, bool blocks, Deadline& deadline) {
    const char* operation = blocks ? "deallocate_blocks_cache" : "deallocate_cache";
    std::shared_ptr<CacheStorage> dropped;  // released after the lock, if this was the last reference
    {
        const auto lock = lock_counting_wait(registry_.mutex(), deadline);
        require_live();
        CacheEntry* entry = registry_.find(cache_id);
        if (entry != nullptr && entry->geometry.is_blocks != blocks) {
            throw_status(StatusCode::kParamInvalid, blocks ? "param check failed, cache should be blocks cache"
                                                           : "param check failed, cache can not be blocks cache");
        }
        deadline.check(operation);
        if (entry == nullptr) {
            return;  // absent or already released: no-op
        }
        dropped = entry->storage;
        if (blocks) {
            registry_.erase(cache_id);
        } else {
            registry_.release_id(cache_id);
        }
    }
}

void Engine::remove_cache_key(const KeySpec& key, const Deadline& deadline) {
    std::lock_guard<std::mutex> lock(registry_.mutex());
    require_live();
    deadline.check("remove_cache_key");
    if (key.is_placeholder()) {
        return;
    }
    registry_.release_key(KeyId::of(key));  // no-op when absent or already released
}

void Engine::finalize() {
    std::vector<std::shared_ptr<CacheStorage>> storages;
    {
        std::lock_guard<std::mutex> lock(registry_.mutex());
        if (finalized_flag_) {
            return;
        }
        finalized_flag_ = true;
        storages = registry_.clear();
    }
    storages.clear();  // pages return unless an in-flight copy still pins them
    std::shared_ptr<MemoryPool> device;
    std::shared_ptr<MemoryPool> host;
    {
        std::lock_guard<std::mutex> lock(registry_.mutex());
        if (device_pool_) {
            final_device_usage_ = device_pool_->usage();
        }
        if (host_pool_) {
            final_host_usage_ = host_pool_->usage();
        }
        device = std::move(device_pool_);
        host = std::move(host_pool_);
        std::lock_guard<std::mutex> staging_lock(staging_mu_);
        unmap_staging();
    }
    // The pools (and their mappings) go here, outside the registry lock, unless a pinned storage
    // still holds one: a pool's destructor takes the fork guard's table lock, which the fork
    // handler holds while it waits for registry locks.
}

void Engine::map_staging(std::size_t bytes) {
    unmap_staging();
    staging_ = backend_->reserve(bytes, std::size_t{2} << 20);
    staging_base_.store(reinterpret_cast<std::uintptr_t>(staging_.base), std::memory_order_relaxed);
    staging_bytes_.store(staging_.bytes, std::memory_order_relaxed);
}

void Engine::unmap_staging() noexcept {
    staging_bytes_.store(0, std::memory_order_relaxed);
    staging_base_.store(0, std::memory_order_relaxed);
    backend_->release(staging_);
    staging_ = Region{};
}

bool Engine::aliases_own_memory(const std::byte* begin, std::size_t bytes) const noexcept {
    // Caller holds the registry lock, so the pools cannot go meanwhile.
    if ((device_pool_ && device_pool_->overlaps(begin, bytes)) || (host_pool_ && host_pool_->overlaps(begin, bytes))) {
        return true;
    }
    const auto lo = reinterpret_cast<std::uintptr_t>(begin);
    const std::uintptr_t base = staging_base_.load(std::memory_order_relaxed);
    const std::size_t size = staging_bytes_.load(std::memory_order_relaxed);
    return size > 0 && lo < base + size && base < lo + bytes;
}

std::optional<PoolUsage> Engine::usage(Placement placement) const {
    std::lock_guard<std::mutex> lock(registry_.mutex());
    if (finalized_flag_) {
        return placement == Placement::kHost ? final_host_usage_ : final_device_usage_;
    }
    const MemoryPool* p = pool(placement);
    if (p == nullptr) {
        return std::nullopt;
    }
    return p->usage();
}

std::size_t Engine::cache_count() {
    std::lock_guard<std::mutex> lock(registry_.mutex());
    return registry_.cache_count();
}

std::size_t Engine::key_count() {
    std::lock_guard<std::mutex> lock(registry_.mutex());
    return registry_.key_count();
}

std::vector<int64_t> Engine::cache_ids() {
    std::lock_guard<std::mutex> lock(registry_.mutex());
    return registry_.cache_ids();
}

void Engine::hold_registry_lock(int64_t ms) {
    std::lock_guard<std::mutex> lock(registry_.mutex());
    std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

}  // namespace llm_datadist_ref
