// swap_blocks between a DEVICE cache and HOST memory.
#include <string>

#include "llm_datadist_ref/pybind11.hpp"

namespace llm_datadist_ref {
namespace {

std::optional<ExternalCache> read_external(int64_t cache_id, py::handle addresses, py::handle tensor_bytes,
                                           py::handle num_blocks, const char* role) {
    if (cache_id >= 0) {
        return std::nullopt;
    }
    ExternalCache external;
    for (const int64_t address : read_index_list(addresses, role)) {
        external.tensors.push_back(reinterpret_cast<std::byte*>(static_cast<uintptr_t>(address)));
    }
    external.tensor_bytes = read_uint64(tensor_bytes, "tensor_bytes");
    const uint64_t blocks = read_uint64(num_blocks, "num_blocks");
    if (blocks > UINT32_MAX) {
        throw py::value_error(std::string(role) + " num_blocks out of range of uint32");
    }
    external.num_blocks = static_cast<uint32_t>(blocks);
    return external;
}

}  // namespace

void register_swap(EngineClass& engine) {
    engine.def(
        "swap_blocks",
        [](Engine& self, int64_t src_id, py::handle src_addresses, py::handle src_tensor_bytes,
           py::handle src_num_blocks, int64_t dst_id, py::handle dst_addresses, py::handle dst_tensor_bytes,
           py::handle dst_num_blocks, py::handle src_to_dst) {
            const auto src = read_external(src_id, src_addresses, src_tensor_bytes, src_num_blocks, "src");
            const auto dst = read_external(dst_id, dst_addresses, dst_tensor_bytes, dst_num_blocks, "dst");
            const std::vector<IndexPair> pairs = read_index_dict(src_to_dst, "src_to_dst");
            const Deadline deadline = begin_operation(self, Operation::kSwapBlocks);
            SwapPlan plan = self.plan_swap(src_id, src ? &*src : nullptr, dst_id, dst ? &*dst : nullptr, pairs,
                                           deadline);
            run_interruptible(self, plan);
        },
        py::arg("src_id"), py::arg("src_addresses"), py::arg("src_tensor_bytes"), py::arg("src_num_blocks"),
        py::arg("dst_id"), py::arg("dst_addresses"), py::arg("dst_tensor_bytes"), py::arg("dst_num_blocks"),
        py::arg("src_to_dst"),
        "Moves blocks HOST<->DEVICE. A side with cache_id >= 0 is a blocks cache of this engine (the other "
        "arguments of that side are ignored); a side with cache_id < 0 is caller memory given by tensor "
        "addresses, tensor size and block count, which the core has to trust.");
}

}  // namespace llm_datadist_ref
