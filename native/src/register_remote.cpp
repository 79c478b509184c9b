// Transfers with an engine of another process: the serving side's leases, the peer side's mapping
// of the serving pools, and the copies between them (GIL released for large copies).
#include <string>
#include <utility>

#include "llm_datadist_ref/pybind11.hpp"
#include "llm_datadist_ref/remote.hpp"

namespace llm_datadist_ref {
namespace {

/// A peer's cache from the figures of its lease: (num_tensors, tensor_bytes, batch_size, is_blocks,
/// batch_index, tensor_offsets).
PeerCache read_peer_cache(const std::shared_ptr<PeerRegion>& region, py::handle layout) {
    if (!PyTuple_Check(layout.ptr()) || PyTuple_GET_SIZE(layout.ptr()) != 6) {
        throw py::type_error("a peer cache layout is a 6-tuple");
    }
    auto item = [&](Py_ssize_t i) { return py::handle(PyTuple_GET_ITEM(layout.ptr(), i)); };
    std::vector<uint64_t> offsets;
    for (const int64_t offset : read_index_list(item(5), "tensor_offsets")) {
        if (offset < 0) {
            throw py::value_error("tensor offsets are not negative");
        }
        offsets.push_back(static_cast<uint64_t>(offset));
    }
    return make_peer_cache(region, read_u32(item(0), "num_tensors"), read_uint64(item(1), "tensor_bytes"),
                           read_u32(item(2), "batch_size"), PyObject_IsTrue(item(3).ptr()) == 1,
                           read_u32(item(4), "batch_index"), offsets);
}

void require_mapped(const PeerRegion& region) {
    if (!region.mapped()) {
        throw py::value_error("a pool of another host is reached through a transfer engine, not copied from");
    }
}

Deadline remaining(int64_t remaining_ms) { return Deadline(Deadline::Clock::now(), remaining_ms); }

/// A plan whose copies a transfer engine runs: its pins keep the local cache's memory alive
/// until release(). Spans are given as (local, remote, bytes).
struct RemotePlan {
    RemotePlan(CopyPlan p, std::vector<uint32_t> t, bool push) : plan(std::move(p)), tensors(std::move(t)), is_push(push) {}
    CopyPlan plan;
    std::vector<uint32_t> tensors;
    bool is_push;

    py::list span_list() const {
        py::list out;
        for (const CopySpan& span : plan.spans) {
            const auto dst = reinterpret_cast<std::uintptr_t>(span.dst);
            const auto src = reinterpret_cast<std::uintptr_t>(span.src);
            out.append(is_push ? py::make_tuple(src, dst, span.bytes) : py::make_tuple(dst, src, span.bytes));
        }
        return out;
    }
    void release() { plan.pins.clear(); }
};

py::list to_list(const std::vector<uint32_t>& values) {
    py::list out;
    for (const uint32_t v : values) {
        out.append(v);
    }
    return out;
}

}  // namespace

void register_remote(py::module_& m, EngineClass& engine) {
    py::class_<Lease, std::shared_ptr<Lease>>(m, "Lease",
                                              "What a serving engine leased for one transfer; holding it pins the "
                                              "cache's memory.")
        .def_property_readonly("cache_id", [](const Lease& l) { return l.cache_id; })
        .def_property_readonly("placement", [](const Lease& l) { return static_cast<int>(l.geometry.placement); })
        .def_property_readonly("layout", [](const Lease& l) {
            return py::make_tuple(l.geometry.num_tensors, l.geometry.tensor_bytes, l.geometry.batch_size,
                                  l.geometry.is_blocks, l.batch_index, l.tensor_offsets);
        });
    py::class_<PeerRegion, std::shared_ptr<PeerRegion>>(m, "PeerRegion", "A peer's pool mapped into this process.")
        .def(py::init<int, std::size_t>(), py::arg("fd"), py::arg("bytes"))
        .def_static(
            "remote",
            [](std::uintptr_t base, std::size_t bytes) { return std::make_shared<PeerRegion>(base, bytes); },
            py::arg("base"), py::arg("bytes"), "A pool of another host: addresses for a transfer engine only.")
        .def_property_readonly("bytes", &PeerRegion::bytes)
        .def_property_readonly("mapped", &PeerRegion::mapped);
    py::class_<RemotePlan, std::shared_ptr<RemotePlan>>(
        m, "RemotePlan",
        "The copies of a transfer with another host, for a transfer engine to run. Holding it pins the local "
        "cache; `spans` are (local address, remote address, bytes).")
        .def_property_readonly("spans", &RemotePlan::span_list)
        .def_property_readonly("tensors", [](const RemotePlan& p) { return p.tensors; })
        .def_property_readonly("total_bytes", [](const RemotePlan& p) { return p.plan.total_bytes; })
        .def("release", &RemotePlan::release, "Drops the pin once the transfer engine is done.");

    engine.def(
        "shared_pool",
        [](const Engine& self, int64_t placement) -> py::object {
            const auto pool = self.shared_pool(placement == 0 ? Placement::kHost : Placement::kDevice);
            if (!pool || pool->fd < 0) {
                return py::none();
            }
            return py::make_tuple(pool->fd, pool->bytes);
        },
        py::arg("placement"), "(fd, bytes) of a shared pool, or None.");
    engine.def(
        "pool_region",
        [](const Engine& self, int64_t placement) -> py::object {
            const auto pool = self.shared_pool(placement == 0 ? Placement::kHost : Placement::kDevice);
            if (!pool) {
                return py::none();
            }
            return py::make_tuple(pool->base, pool->bytes);
        },
        py::arg("placement"), "(base address, bytes) of a pool, or None: what a transfer engine registers.");
    engine.def(
        "lease_source",
        [](Engine& self, int64_t kind, py::handle a, py::handle b, py::handle c, bool blocks) {
            return std::make_shared<Lease>(self.lease_source(read_key(kind, a, b, c), blocks));
        },
        py::arg("key_kind"), py::arg("a"), py::arg("b"), py::arg("c"), py::arg("blocks"));
    engine.def(
        "lease_push_target",
        [](Engine& self, int64_t cache_id, py::handle batch_index) {
            return std::make_shared<Lease>(self.lease_push_target(cache_id, read_u32(batch_index, "batch_index")));
        },
        py::arg("cache_id"), py::arg("batch_index"));
    engine.def(
        "commit_lease",
        [](Engine& self, const Lease& lease, py::handle tensors) {
            self.commit_lease(lease, read_tensor_indices(tensors, "tensors"));
        },
        py::arg("lease"), py::arg("tensors"));
    engine.def(
        "pull_from_peer",
        [](Engine& self, const std::shared_ptr<PeerRegion>& region, py::handle layout, int64_t key_kind,
           int64_t dst_id, py::handle batch_index, py::handle size, py::handle src_blocks, py::handle dst_blocks,
           bool blocks, py::handle src_tensor_indices, py::handle dst_tensor_indices, int64_t remaining_ms) {
            if (key_kind < 0 || key_kind > 2) {
                throw py::value_error("unknown key kind " + std::to_string(key_kind));
            }
            require_mapped(*region);
            const PeerCache src = read_peer_cache(region, layout);
            const TensorMapping mapping = read_mapping(src_tensor_indices, dst_tensor_indices);
            auto [plan, taken] = self.plan_pull_from_peer(
                src, static_cast<RemoteKey::Kind>(key_kind), dst_id, read_u32(batch_index, "batch_index"),
                read_int64(size, "size"), read_index_list(src_blocks, "src_blocks"),
                read_index_list(dst_blocks, "dst_blocks"), blocks, mapping, remaining(remaining_ms));
            run_plan(self, plan);  // `src` keeps the peer mapping alive until the copy is done
            return to_list(taken);
        },
        py::arg("region"), py::arg("layout"), py::arg("key_kind"), py::arg("dst_id"), py::arg("batch_index"),
        py::arg("size"), py::arg("src_blocks"), py::arg("dst_blocks"), py::arg("blocks"),
        py::arg("src_tensor_indices"), py::arg("dst_tensor_indices"), py::arg("remaining_ms"),
        "Copies from a peer's leased cache into a local cache; returns the source tensors taken.");
    engine.def(
        "push_to_peer",
        [](Engine& self, const std::shared_ptr<PeerRegion>& region, py::handle layout, int64_t src_id,
           py::handle src_batch_index, py::handle src_tensor_indices, py::handle dst_tensor_indices,
           int64_t remaining_ms) {
            require_mapped(*region);
            const PeerCache dst = read_peer_cache(region, layout);
            const TensorMapping mapping = read_mapping(src_tensor_indices, dst_tensor_indices);
            auto [plan, written] = self.plan_push_to_peer(dst, src_id, read_u32(src_batch_index, "src_batch_index"),
                                                          mapping, remaining(remaining_ms));
            run_plan(self, plan);
            return to_list(written);
        },
        py::arg("region"), py::arg("layout"), py::arg("src_id"), py::arg("src_batch_index"),
        py::arg("src_tensor_indices"), py::arg("dst_tensor_indices"), py::arg("remaining_ms"),
        "Copies a local batch slice into a peer's leased cache; returns the destination tensors written.");
    engine.def(
        "plan_pull_remote",
        [](Engine& self, const std::shared_ptr<PeerRegion>& region, py::handle layout, int64_t key_kind,
           int64_t dst_id, py::handle batch_index, py::handle size, py::handle src_blocks, py::handle dst_blocks,
           bool blocks, py::handle src_tensor_indices, py::handle dst_tensor_indices, int64_t remaining_ms) {
            if (key_kind < 0 || key_kind > 2) {
                throw py::value_error("unknown key kind " + std::to_string(key_kind));
            }
            const PeerCache src = read_peer_cache(region, layout);
            const TensorMapping mapping = read_mapping(src_tensor_indices, dst_tensor_indices);
            auto [plan, taken] = self.plan_pull_from_peer(
                src, static_cast<RemoteKey::Kind>(key_kind), dst_id, read_u32(batch_index, "batch_index"),
                read_int64(size, "size"), read_index_list(src_blocks, "src_blocks"),
                read_index_list(dst_blocks, "dst_blocks"), blocks, mapping, remaining(remaining_ms));
            return std::make_shared<RemotePlan>(std::move(plan), std::move(taken), false);
        },
        py::arg("region"), py::arg("layout"), py::arg("key_kind"), py::arg("dst_id"), py::arg("batch_index"),
        py::arg("size"), py::arg("src_blocks"), py::arg("dst_blocks"), py::arg("blocks"),
        py::arg("src_tensor_indices"), py::arg("dst_tensor_indices"), py::arg("remaining_ms"),
        "Plans a pull from a cache of another host (spans for a transfer engine's read); runs nothing.");
    engine.def(
        "plan_push_remote",
        [](Engine& self, const std::shared_ptr<PeerRegion>& region, py::handle layout, int64_t src_id,
           py::handle src_batch_index, py::handle src_tensor_indices, py::handle dst_tensor_indices,
           int64_t remaining_ms) {
            const PeerCache dst = read_peer_cache(region, layout);
            const TensorMapping mapping = read_mapping(src_tensor_indices, dst_tensor_indices);
            auto [plan, written] = self.plan_push_to_peer(dst, src_id, read_u32(src_batch_index, "src_batch_index"),
                                                          mapping, remaining(remaining_ms));
            return std::make_shared<RemotePlan>(std::move(plan), std::move(written), true);
        },
        py::arg("region"), py::arg("layout"), py::arg("src_id"), py::arg("src_batch_index"),
        py::arg("src_tensor_indices"), py::arg("dst_tensor_indices"), py::arg("remaining_ms"),
        "Plans a push into a cache of another host (spans for a transfer engine's write); runs nothing.");
}

}  // namespace llm_datadist_ref
