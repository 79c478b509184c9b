// The front end's Cache handle, built here for allocate_cache's hot path: one allocation and nine
// slot stores in C++ cost a fraction of object.__new__(Cache) plus nine attribute stores in Python.
#include <array>
#include <string>

#include "llm_datadist_ref/pybind11.hpp"

namespace llm_datadist_ref {
namespace {

/// The slots of llm_datadist_ref._types.Cache, in the order new_cache_handle sets them.
constexpr std::array<const char*, 9> kSlotNames = {
    "_cache_id", "_cache_desc", "_tensor_addrs", "_cache_manager", "_is_registered",
    "_is_blocks_cache", "_valid", "_buffers", "_geometry",
};

/// The Cache class and the member descriptor of each of its slots (what `cache.name = value`
/// goes through, here without looking the name up every time). Set once; never freed, as a
/// class outlives every handle.
struct CacheClass {
    PyTypeObject* type = nullptr;
    std::array<PyObject*, kSlotNames.size()> slots{};
};

CacheClass& cache_class() {
    static CacheClass* const instance = new CacheClass();  // leaked on purpose: no teardown order issue
    return *instance;
}

void set_slot(PyObject* cache, std::size_t slot, PyObject* value) {
    PyObject* descriptor = cache_class().slots[slot];
    if (Py_TYPE(descriptor)->tp_descr_set(descriptor, cache, value) != 0) {
        throw py::error_already_set();
    }
}

}  // namespace

void set_cache_class(py::handle cls) {
    if (!PyType_Check(cls.ptr())) {
        throw py::type_error("set_cache_class takes a class");
    }
    auto* type = reinterpret_cast<PyTypeObject*>(cls.ptr());
    // Handles are built as object.__new__(cls) builds them, so cls must not have its own __new__.
    if (type->tp_new != PyBaseObject_Type.tp_new || type->tp_dictoffset != 0) {
        throw py::type_error("set_cache_class takes a class with __slots__ and object's __new__");
    }
    // Exactly these slots: one added in Python but not here would be left unset in every handle.
    std::size_t members = 0;
    PyObject* key = nullptr;
    PyObject* value = nullptr;
    for (Py_ssize_t pos = 0; PyDict_Next(type->tp_dict, &pos, &key, &value) != 0;) {
        if (Py_TYPE(value) == &PyMemberDescr_Type) {
            ++members;
        }
    }
    if (members != kSlotNames.size()) {
        throw py::type_error("set_cache_class: the class's slots are not the " + std::to_string(kSlotNames.size()) +
                             " that native/src/cache_handle.cpp sets");
    }
    CacheClass found;
    found.type = type;
    for (std::size_t i = 0; i < kSlotNames.size(); ++i) {
        PyObject* descriptor = PyDict_GetItemString(type->tp_dict, kSlotNames[i]);  // borrowed
        if (descriptor == nullptr || Py_TYPE(descriptor) != &PyMemberDescr_Type) {
            throw py::type_error(std::string("set_cache_class: the class has no slot ") + kSlotNames[i]);
        }
        found.slots[i] = descriptor;
    }
    Py_INCREF(cls.ptr());
    for (PyObject* descriptor : found.slots) {
        Py_INCREF(descriptor);
    }
    cache_class() = found;  // (a second call leaks the first class's references: harmless)
}

py::object new_cache_handle(int64_t cache_id, py::handle cache_desc, py::handle tensor_addrs, py::handle manager,
                            py::handle geometry, bool is_blocks) {
    PyTypeObject* type = cache_class().type;
    if (type == nullptr) {
        throw std::runtime_error("the Cache class is not set (llm_datadist_ref._types sets it on import)");
    }
    py::object cache = py::reinterpret_steal<py::object>(type->tp_alloc(type, 0));
    if (!cache) {
        throw py::error_already_set();
    }
    const py::object id = py::int_(cache_id);
    const py::tuple no_buffers;
    PyObject* const values[] = {
        id.ptr(),  cache_desc.ptr(), tensor_addrs.ptr(), manager.ptr(), Py_False,
        is_blocks ? Py_True : Py_False, Py_True, no_buffers.ptr(), geometry.ptr(),
    };
    for (std::size_t i = 0; i < kSlotNames.size(); ++i) {
        set_slot(cache.ptr(), i, values[i]);
    }
    return cache;
}

}  // namespace llm_datadist_ref
