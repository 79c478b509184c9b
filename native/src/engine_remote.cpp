// Transfers with an engine in another process of this host. The serving engine resolves a key
// under its registry lock and leases the result (pinning the memory); the peer checks the lease's
// layout against its mapping of the serving pool, copies under its own registry lock's plan, and
// asks the serving engine to commit (release the key) only after its copy is done. A transfer that
// fails anywhere before the commit releases nothing.
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <string>
#include <utility>

#include "llm_datadist_ref/engine.hpp"
#include "llm_datadist_ref/remote.hpp"
#include "llm_datadist_ref/status.hpp"
#include "llm_datadist_ref/transfer_plan.hpp"

namespace llm_datadist_ref {
namespace {

[[noreturn]] void bad_lease(const std::string& what) {
    throw_status(StatusCode::kParamInvalid, "the remote cluster described an impossible cache: " + what);
}

}  // namespace

PeerRegion::PeerRegion(std::uintptr_t remote_base, std::size_t bytes)
    : base_(reinterpret_cast<std::byte*>(remote_base)), bytes_(bytes), mapped_(false) {
    if (remote_base == 0 || bytes == 0 || remote_base > UINTPTR_MAX - bytes) {
        throw_status(StatusCode::kParamInvalid, "a remote pool needs a base address and a size");
    }
}

PeerRegion::PeerRegion(int fd, std::size_t bytes) : bytes_(bytes), mapped_(true) {
    if (fd < 0 || bytes == 0) {
        throw_status(StatusCode::kParamInvalid, "a peer pool needs a file descriptor and a size");
    }
    void* mapping = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (mapping == MAP_FAILED) {
        throw_status(StatusCode::kFailed, std::string("cannot map the remote cluster's pool: ") + std::strerror(errno));
    }
    base_ = static_cast<std::byte*>(mapping);
}

PeerRegion::~PeerRegion() {
    if (mapped_) {
        (void)::munmap(base_, bytes_);
    }
}

PeerCache make_peer_cache(std::shared_ptr<PeerRegion> region, uint32_t num_tensors, uint64_t tensor_bytes,
                          uint32_t batch_size, bool is_blocks, uint32_t batch_index,
                          const std::vector<uint64_t>& tensor_offsets) {
    if (!region) {
        bad_lease("no mapped pool");
    }
    if (num_tensors == 0 || tensor_offsets.size() != num_tensors) {
        bad_lease("tensor count " + std::to_string(num_tensors) + " with " + std::to_string(tensor_offsets.size()) +
                  " offsets");
    }
    if (batch_size == 0 || tensor_bytes < batch_size) {
        bad_lease("batch size " + std::to_string(batch_size) + " of " + std::to_string(tensor_bytes) + " B tensors");
    }
    if (!is_blocks && batch_index >= batch_size) {
        bad_lease("batch index " + std::to_string(batch_index) + " of " + std::to_string(batch_size));
    }
    PeerCache cache;
    cache.geometry.num_tensors = num_tensors;
    cache.geometry.tensor_bytes = tensor_bytes;
    cache.geometry.batch_size = batch_size;
    cache.geometry.stride = tensor_bytes / batch_size;
    cache.geometry.is_blocks = is_blocks;
    cache.batch_index = batch_index;
    cache.tensors.reserve(num_tensors);
    for (const uint64_t offset : tensor_offsets) {
        if (offset > region->bytes() || tensor_bytes > region->bytes() - offset) {
            bad_lease("a tensor at offset " + std::to_string(offset) + " leaves the " +
                      std::to_string(region->bytes()) + " B pool");
        }
        cache.tensors.push_back(region->base() + offset);
    }
    cache.region = std::move(region);
    return cache;
}

std::optional<SharedPool> Engine::shared_pool(Placement placement) const {
    std::lock_guard<std::mutex> lock(registry_.mutex());
    const MemoryPool* p = pool(placement);
    if (finalized_flag_ || p == nullptr) {
        return std::nullopt;
    }
    return SharedPool{p->region().fd, p->region().bytes, reinterpret_cast<std::uintptr_t>(p->region().base)};
}

namespace {

Lease lease_of(const SourceRef& ref, const MemoryPool* pool) {
    if (pool == nullptr) {
        throw_status(StatusCode::kFeatureNotEnabled, "this cluster's pool is gone");
    }
    Lease lease;
    lease.cache_id = ref.entry->id;
    lease.geometry = ref.entry->geometry;
    lease.batch_index = ref.batch_index;
    lease.key = ref.key;
    lease.pin = ref.entry->storage;
    const std::byte* base = pool->region().base;
    for (std::byte* tensor : lease.pin->tensors()) {
        lease.tensor_offsets.push_back(static_cast<uint64_t>(tensor - base));
    }
    return lease;
}

}  // namespace

Lease Engine::lease_source(const RemoteKey& key, bool blocks) {
    std::lock_guard<std::mutex> lock(registry_.mutex());
    if (finalized_flag_) {
        throw_status(StatusCode::kNotYetLink, "the remote cluster has been finalized");
    }
    const SourceRef ref = resolve_source(registry_, key);
    Lease lease = lease_of(ref, pool(ref.entry->geometry.placement));
    if (blocks) {
        lease.key.reset();  // pull_blocks never releases keys
    }
    return lease;
}

Lease Engine::lease_push_target(int64_t cache_id, uint32_t batch_index) {
    std::lock_guard<std::mutex> lock(registry_.mutex());
    if (finalized_flag_) {
        throw_status(StatusCode::kNotYetLink, "the remote cluster has been finalized");
    }
    const SourceRef ref = resolve_push_target(registry_, cache_id, batch_index);
    return lease_of(ref, pool(ref.entry->geometry.placement));
}

void Engine::commit_lease(const Lease& lease, const std::vector<uint32_t>& tensors) {
    std::lock_guard<std::mutex> lock(registry_.mutex());
    if (finalized_flag_ || !lease.key) {
        return;
    }
    const KeyBinding* binding = registry_.find_key(*lease.key);
    if (binding == nullptr || binding->cache_id != lease.cache_id) {
        return;  // removed meanwhile, or bound again to a newer cache: not this transfer's key
    }
    registry_.take_tensors(*lease.key, tensors);
}

std::pair<CopyPlan, std::vector<uint32_t>> Engine::plan_pull_from_peer(
    const PeerCache& src, RemoteKey::Kind kind, int64_t dst_id, uint32_t dst_batch_index, int64_t size,
    const std::vector<int64_t>& src_blocks, const std::vector<int64_t>& dst_blocks, bool blocks,
    const TensorMapping& mapping, const Deadline& deadline) {
    std::lock_guard<std::mutex> lock(registry_.mutex());
    require_live();
    const CacheEntry& dst = pull_destination(registry_, dst_id, blocks, dst_batch_index, dst_blocks);
    if (kind != RemoteKey::Kind::kBlocks && src.geometry.is_blocks) {
        throw_status(StatusCode::kParamInvalid, "the remote cache is a blocks cache; use a BlocksCacheKey");
    }
    CopyPlan plan;
    plan.pins = {dst.storage};
    const TensorSide src_side{src.geometry, src.tensors, src.batch_index};
    const PullShape shape{kind, dst_batch_index, size, src_blocks, dst_blocks, blocks, mapping};
    const auto tensors = add_pull_spans(plan, src_side, dst, shape);
    deadline.check(blocks ? "pull_blocks" : "pull_cache");
    plan.independent = plan.total_bytes >= kParallelCopyThreshold && distinct(seconds(tensors)) &&
                       (!blocks || distinct(std::vector<int64_t>(dst_blocks)));
    return {std::move(plan), firsts(tensors)};
}

std::pair<CopyPlan, std::vector<uint32_t>> Engine::plan_push_to_peer(const PeerCache& dst, int64_t src_id,
                                                                     uint32_t src_batch_index,
                                                                     const TensorMapping& mapping,
                                                                     const Deadline& deadline) {
    std::lock_guard<std::mutex> lock(registry_.mutex());
    require_live();
    const CacheEntry* src = registry_.find(src_id);
    if (src == nullptr) {
        throw_status(StatusCode::kKvCacheNotExist, "src cache (cache_id " + std::to_string(src_id) + ") does not exist");
    }
    if (dst.geometry.is_blocks) {
        bad_lease("a push target that is a blocks cache");
    }
    CopyPlan plan;
    plan.pins = {src->storage};
    const TensorSide dst_side{dst.geometry, dst.tensors, dst.batch_index};
    const auto tensors = add_push_spans(plan, *src, src_batch_index, dst_side, mapping);
    deadline.check("push_cache");
    plan.independent = plan.total_bytes >= kParallelCopyThreshold && distinct(seconds(tensors));
    return {std::move(plan), seconds(tensors)};
}

}  // namespace llm_datadist_ref
