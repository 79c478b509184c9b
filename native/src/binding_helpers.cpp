// Argument readers shared by the bindings. They walk Python containers directly (no std::map
// conversion) and raise TypeError/ValueError, never crash, on malformed input.
#include <chrono>
#include <climits>
#include <string>
#include <thread>

#include "llm_datadist_ref/pybind11.hpp"

namespace llm_datadist_ref {
namespace {

[[noreturn]] void type_error(const std::string& message) { throw py::type_error(message); }

std::string type_name(py::handle value) { return Py_TYPE(value.ptr())->tp_name; }

}  // namespace

uint32_t read_u32(py::handle value, const char* name) {
    const int64_t v = read_int64(value, name);
    if (v < 0 || v > static_cast<int64_t>(UINT32_MAX)) {
        throw py::value_error(std::string(name) + " out of range of uint32");
    }
    return static_cast<uint32_t>(v);
}

TensorMapping read_mapping(py::handle src, py::handle dst) {
    TensorMapping mapping;
    mapping.src = read_tensor_indices(src, "src_tensor_indices");
    mapping.dst = read_tensor_indices(dst, "dst_tensor_indices");
    return mapping;
}

RemoteKey read_key(int64_t kind, py::handle a, py::handle b, py::handle c) {
    RemoteKey key;
    if (kind == 0) {
        key.kind = RemoteKey::Kind::kCacheKey;
        key.key = KeySpec{read_uint64(a, "req_id"), read_uint64(b, "prefix_id"), read_uint64(c, "model_id")};
    } else if (kind == 1) {
        key.kind = RemoteKey::Kind::kById;
        key.cache_id = read_int64(a, "cache_id");
        key.batch_index = read_u32(b, "batch_index");
    } else if (kind == 2) {
        key.kind = RemoteKey::Kind::kBlocks;
        key.model_id = read_uint64(a, "model_id");
    } else {
        throw py::value_error("unknown key kind " + std::to_string(kind));
    }
    return key;
}

namespace {

void apply_delay(int32_t delay_ms) {
    py::gil_scoped_release release;
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
}

}  // namespace

Deadline begin_operation(const Engine& engine, Operation op) {
    const auto start = Deadline::Clock::now();
    if (const int32_t delay_ms = OperationDelays::get(op); delay_ms > 0) {
        apply_delay(delay_ms);
    }
    return Deadline(start, engine.timeout_ms());
}

Deadline begin_quick_operation(const Engine& engine, Operation op) {
    Deadline deadline = Deadline::unstarted(engine.timeout_ms());
    if (const int32_t delay_ms = OperationDelays::get(op); delay_ms > 0) {
        deadline.start();
        apply_delay(delay_ms);
    }
    return deadline;
}

void run_plan(const Engine& engine, const CopyPlan& plan) {
    if (plan.total_bytes >= kReleaseGilThreshold) {
        py::gil_scoped_release release;
        engine.run(plan);
    } else {
        engine.run(plan);
    }
}

int64_t read_int64(py::handle value, const char* name) {
    if (!PyLong_Check(value.ptr())) {
        type_error(std::string(name) + " only support int, but got " + type_name(value));
    }
    int overflow = 0;
    const long long result = PyLong_AsLongLongAndOverflow(value.ptr(), &overflow);
    if (overflow != 0) {
        throw py::value_error(std::string(name) + "'s value is out of range of int64");
    }
    if (result == -1 && PyErr_Occurred()) {
        throw py::error_already_set();
    }
    return result;
}

uint64_t read_uint64(py::handle value, const char* name) {
    if (!PyLong_Check(value.ptr())) {
        type_error(std::string(name) + " only support int, but got " + type_name(value));
    }
    const unsigned long long result = PyLong_AsUnsignedLongLong(value.ptr());
    if (result == static_cast<unsigned long long>(-1) && PyErr_Occurred()) {
        PyErr_Clear();
        throw py::value_error(std::string(name) + "'s value is out of range of uint64");
    }
    return result;
}

std::vector<IndexPair> read_block_copy_info(py::handle info) {
    if (!PyDict_Check(info.ptr())) {
        type_error("copy_block_info only support dict, but got " + type_name(info));
    }
    std::vector<IndexPair> pairs;
    pairs.reserve(static_cast<std::size_t>(PyDict_Size(info.ptr())));
    PyObject* key = nullptr;
    PyObject* value = nullptr;
    Py_ssize_t position = 0;
    while (PyDict_Next(info.ptr(), &position, &key, &value)) {
        const int64_t src = read_int64(key, "copy_block_info dict key");
        if (!PyList_Check(value)) {
            type_error("copy_block_info dict value only support list, but got " + type_name(value));
        }
        const Py_ssize_t count = PyList_GET_SIZE(value);
        if (count == 0) {
            pairs.push_back({src, src});  // copies nothing, but the source index is still checked
        }
        for (Py_ssize_t i = 0; i < count; ++i) {
            pairs.push_back({src, read_int64(PyList_GET_ITEM(value, i), "copy_block_info dict value")});
        }
    }
    return pairs;
}

std::vector<IndexPair> read_index_dict(py::handle info, const char* name) {
    if (!PyDict_Check(info.ptr())) {
        type_error(std::string(name) + " only support dict, but got " + type_name(info));
    }
    std::vector<IndexPair> pairs;
    pairs.reserve(static_cast<std::size_t>(PyDict_Size(info.ptr())));
    PyObject* key = nullptr;
    PyObject* value = nullptr;
    Py_ssize_t position = 0;
    const std::string key_name = std::string(name) + " dict key";
    const std::string value_name = std::string(name) + " dict value";
    while (PyDict_Next(info.ptr(), &position, &key, &value)) {
        pairs.push_back({read_int64(key, key_name.c_str()), read_int64(value, value_name.c_str())});
    }
    return pairs;
}

std::vector<int64_t> read_index_list(py::handle values, const char* name) {
    if (!PyList_Check(values.ptr()) && !PyTuple_Check(values.ptr())) {
        type_error(std::string(name) + " only support list or tuple, but got " + type_name(values));
    }
    py::sequence sequence = py::reinterpret_borrow<py::sequence>(values);
    std::vector<int64_t> out;
    out.reserve(sequence.size());
    for (py::handle item : sequence) {
        out.push_back(read_int64(item, name));
    }
    return out;
}

bool read_exact_index_list(py::handle values, std::vector<int64_t>& out) {
    PyObject* const sequence = values.ptr();
    if (!PyList_CheckExact(sequence) && !PyTuple_CheckExact(sequence)) {
        return false;
    }
    const Py_ssize_t size = PySequence_Fast_GET_SIZE(sequence);
    PyObject** const items = PySequence_Fast_ITEMS(sequence);
    out.clear();
    out.reserve(static_cast<std::size_t>(size));
    for (Py_ssize_t i = 0; i < size; ++i) {
        if (!PyLong_CheckExact(items[i])) {
            return false;
        }
        int overflow = 0;
        const long long value = PyLong_AsLongLongAndOverflow(items[i], &overflow);
        if (overflow != 0) {
            return false;
        }
        out.push_back(static_cast<int64_t>(value));
    }
    return true;
}

std::vector<uint32_t> read_tensor_indices(py::handle values, const char* name) {
    std::vector<uint32_t> out;
    for (const int64_t value : read_index_list(values, name)) {
        if (value < 0 || value > static_cast<int64_t>(UINT32_MAX)) {
            throw py::value_error(std::string(name) + " holds a tensor index out of range");
        }
        out.push_back(static_cast<uint32_t>(value));
    }
    return out;
}

}  // namespace llm_datadist_ref
