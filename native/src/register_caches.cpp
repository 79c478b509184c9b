// Cache registry operations: allocate, deallocate, remove_cache_key, and introspection.
#include <string>

#include "llm_datadist_ref/pybind11.hpp"
#include "llm_datadist_ref/status.hpp"

namespace llm_datadist_ref {
namespace {

uint32_t read_count(int64_t value, const char* name) {
    if (value < 0 || value > static_cast<int64_t>(UINT32_MAX)) {
        throw py::value_error(std::string(name) + " is out of range of uint32");
    }
    return static_cast<uint32_t>(value);
}

/// cache_keys as a sequence of (req_id, prefix_id, model_id) tuples.
std::vector<KeySpec> read_keys(py::handle keys) {
    std::vector<KeySpec> out;
    if (keys.is_none()) {
        return out;
    }
    if (!PyList_Check(keys.ptr()) && !PyTuple_Check(keys.ptr())) {
        throw py::type_error("cache_keys must be a list or tuple of (req_id, prefix_id, model_id)");
    }
    py::sequence sequence = py::reinterpret_borrow<py::sequence>(keys);
    out.reserve(sequence.size());
    for (py::handle item : sequence) {
        if (!PyTuple_Check(item.ptr()) || PyTuple_GET_SIZE(item.ptr()) != 3) {
            throw py::type_error("each cache key must be a (req_id, prefix_id, model_id) tuple");
        }
        KeySpec key;
        key.req_id = read_uint64(PyTuple_GET_ITEM(item.ptr(), 0), "req_id");
        key.prefix_id = read_uint64(PyTuple_GET_ITEM(item.ptr(), 1), "prefix_id");
        key.model_id = read_uint64(PyTuple_GET_ITEM(item.ptr(), 2), "model_id");
        out.push_back(key);
    }
    return out;
}

AllocateRequest read_request(int64_t placement, int64_t num_tensors, int64_t tensor_bytes, int64_t batch_size,
                             bool is_blocks) {
    if (placement != 0 && placement != 1) {
        throw py::value_error("placement must be 0 (HOST) or 1 (DEVICE)");
    }
    if (tensor_bytes <= 0) {
        throw py::value_error("tensor_bytes must be greater than 0");
    }
    AllocateRequest request;
    request.placement = placement == 0 ? Placement::kHost : Placement::kDevice;
    request.num_tensors = read_count(num_tensors, "num_tensors");
    request.tensor_bytes = static_cast<uint64_t>(tensor_bytes);
    request.batch_size = read_count(batch_size, "batch_size");
    request.is_blocks = is_blocks;
    return request;
}

py::list address_list(const CacheStorage& storage) {
    const std::vector<std::byte*>& tensors = storage.tensors();
    py::list addresses(tensors.size());
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        PyObject* address = PyLong_FromSize_t(reinterpret_cast<std::size_t>(tensors[i]));
        if (address == nullptr) {
            throw py::error_already_set();
        }
        PyList_SET_ITEM(addresses.ptr(), static_cast<Py_ssize_t>(i), address);
    }
    return addresses;
}

/// Allocates, then makes the Python result with `make`. If that fails (MemoryError), the caller
/// never learns the cache_id, so its reference is released again (keys, if any, stay bound).
template <typename Make>
auto allocate_then(Engine& self, const AllocateRequest& request, Make make) {
    const Operation op = request.is_blocks ? Operation::kAllocateBlocksCache : Operation::kAllocateCache;
    Deadline deadline = begin_quick_operation(self, op);
    const Allocated allocated = self.allocate(request, deadline);
    try {
        return make(allocated.cache_id, address_list(*allocated.storage));
    } catch (...) {
        Deadline undo = Deadline::unstarted(self.timeout_ms());
        self.deallocate(allocated.cache_id, request.is_blocks, undo);
        throw;
    }
}

py::tuple allocate(Engine& self, int64_t placement, int64_t num_tensors, int64_t tensor_bytes, int64_t batch_size,
                    bool is_blocks, py::handle keys, py::handle blocks_key_model) {
    AllocateRequest request = read_request(placement, num_tensors, tensor_bytes, batch_size, is_blocks);
    request.keys = read_keys(keys);
    if (!blocks_key_model.is_none()) {
        request.blocks_key_model = read_uint64(blocks_key_model, "model_id");
    }
    return allocate_then(self, request, [](int64_t cache_id, py::list addresses) {
        return py::make_tuple(cache_id, std::move(addresses));
    });
}

/// allocate_cache without keys, returning the finished Cache handle. `geometry` is
/// (placement, num_tensors, tensor_bytes, batch_size), as CacheDesc._allocation_geometry gives it.
py::object allocate_cache(Engine& self, py::handle geometry, py::handle cache_desc, py::handle manager) {
    if (!PyTuple_Check(geometry.ptr()) || PyTuple_GET_SIZE(geometry.ptr()) != 4) {
        throw py::type_error("geometry must be a (placement, num_tensors, tensor_bytes, batch_size) tuple");
    }
    const auto field = [&](Py_ssize_t i, const char* name) {
        return read_int64(PyTuple_GET_ITEM(geometry.ptr(), i), name);
    };
    const AllocateRequest request = read_request(field(0, "placement"), field(1, "num_tensors"),
                                                 field(2, "tensor_bytes"), field(3, "batch_size"), false);
    return allocate_then(self, request, [&](int64_t cache_id, py::list addresses) {
        return new_cache_handle(cache_id, cache_desc, addresses, manager, geometry, false);
    });
}

}  // namespace

void register_caches(py::module_& m, EngineClass& engine) {
    m.def("set_cache_class", &set_cache_class, py::arg("cls"),
          "Records the Cache class whose handles Engine.allocate_cache returns (set by llm_datadist_ref._types).");
    engine.def("allocate", &allocate, py::arg("placement"), py::arg("num_tensors"), py::arg("tensor_bytes"),
               py::arg("batch_size"), py::arg("is_blocks"), py::arg("keys"), py::arg("blocks_key_model"),
               "Allocates num_tensors tensors of tensor_bytes from the pool of `placement` (0 HOST, 1 DEVICE) "
               "and binds `keys` ((req_id, prefix_id, model_id) per batch index; a repeated key binds its last "
               "index; req_id UINT64_MAX holds an index). Returns (cache_id, [tensor addresses]).");
    engine.def("allocate_cache", &allocate_cache, py::arg("geometry"), py::arg("cache_desc"), py::arg("manager"),
               "allocate_cache's hot path: allocates a cache of `geometry` (placement, num_tensors, tensor_bytes, "
               "batch_size) without keys and returns its Cache handle (of `cache_desc`, held by `manager`).");
    engine.def(
        "deallocate",
        [](Engine& self, int64_t cache_id, bool blocks) {
            Deadline deadline =
                begin_quick_operation(self, blocks ? Operation::kDeallocateBlocksCache : Operation::kDeallocateCache);
            self.deallocate(cache_id, blocks, deadline);
        },
        py::arg("cache_id"), py::arg("blocks"),
        "Releases the cache_id reference (a blocks cache is freed at once). No-op when absent.");
    engine.def(
        "remove_cache_key",
        [](Engine& self, py::handle req_id, py::handle prefix_id, py::handle model_id) {
            KeySpec key;
            key.req_id = read_uint64(req_id, "req_id");
            key.prefix_id = read_uint64(prefix_id, "prefix_id");
            key.model_id = read_uint64(model_id, "model_id");
            const Deadline deadline = begin_operation(self, Operation::kRemoveCacheKey);
            self.remove_cache_key(key, deadline);
        },
        py::arg("req_id"), py::arg("prefix_id"), py::arg("model_id"),
        "Releases one key reference. No-op when absent.");
    engine.def("cache_ids", &Engine::cache_ids, "Ids of the caches still held (by id or by a key).");
    engine.def("cache_count", &Engine::cache_count);
    engine.def("key_count", &Engine::key_count, "Number of keys currently bound.");
}

}  // namespace llm_datadist_ref
