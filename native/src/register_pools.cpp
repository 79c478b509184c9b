// The Engine type: pool configuration, lifecycle and pool usage.
#include <optional>
#include <string>

#include "llm_datadist_ref/pybind11.hpp"
#include "llm_datadist_ref/status.hpp"

namespace llm_datadist_ref {
namespace {

std::optional<PoolConfig> read_pool(py::handle spec, const char* name) {
    if (spec.is_none()) {
        return std::nullopt;
    }
    if (!PyTuple_Check(spec.ptr()) || PyTuple_GET_SIZE(spec.ptr()) != 2) {
        throw py::type_error(std::string(name) + " must be None or a (memory_size, page_shift) tuple");
    }
    const uint64_t memory_size = read_uint64(PyTuple_GET_ITEM(spec.ptr(), 0), "memory_size");
    const int64_t page_shift = read_int64(PyTuple_GET_ITEM(spec.ptr(), 1), "page_shift");
    if (page_shift < 10 || page_shift >= 31) {
        throw py::value_error("page_shift must be in [10, 31)");
    }
    if (memory_size == 0) {
        throw py::value_error("memory_size must be greater than 0");
    }
    return PoolConfig{static_cast<std::size_t>(memory_size), static_cast<unsigned>(page_shift)};
}

Placement read_placement(int64_t placement) {
    if (placement != 0 && placement != 1) {
        throw py::value_error("placement must be 0 (HOST) or 1 (DEVICE)");
    }
    return placement == 0 ? Placement::kHost : Placement::kDevice;
}

py::object usage_dict(const std::optional<PoolUsage>& usage) {
    if (!usage) {
        return py::none();
    }
    py::dict out;
    out["page_size"] = usage->page_size;
    out["capacity_pages"] = usage->capacity_pages;
    out["used_pages"] = usage->used_pages;
    out["live_allocations"] = usage->live_allocations;
    out["free_runs"] = usage->free_runs;
    out["trimmed_bytes"] = usage->trimmed_bytes;
    return std::move(out);
}

}  // namespace

EngineClass register_pools(py::module_& m) {
    EngineClass engine(m, "Engine",
                       "The core of one LLMDataDist: memory pools, cache registry and data movement. Every "
                       "method validates its arguments again (the Python checks can be bypassed).");
    engine.def(py::init([](int64_t timeout_ms, py::object device_pool, py::object host_pool, bool shareable) {
                   return std::make_shared<Engine>(timeout_ms, read_pool(device_pool, "device_pool"),
                                                   read_pool(host_pool, "host_pool"),
                                                   shareable ? shared_memory_backend() : default_memory_backend());
               }),
               py::arg("timeout_ms"), py::arg("device_pool") = py::none(), py::arg("host_pool") = py::none(),
               py::arg("shareable") = false,
               "Pools are (memory_size, page_shift) tuples or None (not configured). Shareable pools live in "
               "shared memory that peer processes of this host can map (a listening engine's).");
    engine.def_property_readonly("timeout_ms", &Engine::timeout_ms);
    engine.def_property_readonly("finalized", &Engine::finalized);
    engine.def_property_readonly("staging_bytes", &Engine::staging_bytes,
                                 "Bytes of swap staging memory mapped now, outside both pools.");
    engine.def(
        "has_pool", [](const Engine& self, int64_t placement) { return self.has_pool(read_placement(placement)); },
        py::arg("placement"));
    engine.def(
        "usage", [](const Engine& self, int64_t placement) { return usage_dict(self.usage(read_placement(placement))); },
        py::arg("placement"),
        "Pool usage as a dict (page_size, capacity_pages, used_pages, live_allocations, free_runs, "
        "trimmed_bytes), or None "
        "without that pool. After finalize(), the usage left once every cache was dropped.");
    engine.def("finalize", &Engine::finalize, "Drops every cache and both pools. Idempotent.");
    return engine;
}

}  // namespace llm_datadist_ref
