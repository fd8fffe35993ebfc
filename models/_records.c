/*
 * RecordBase: the base of kripke's state and message records (see models/types.py).
 *
 * A record is a tuple subclass with named fields. Successor states are built with
 * ``s.set(field=value, ...)`` once per generated state, which makes it the hottest call of an
 * explicit-state search; written in Python it costs a frame, keyword binding and
 * tuple.__new__'s argument parsing (measured: about 250 ns, against 40 ns for a plain tuple).
 * Here it copies the items into a new instance of the same class and replaces the named ones.
 * models/types.py falls back to a Python ``set`` when this extension is not built.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *field_index_attr; /* "_field_index": {field name: position} on each class */

static PyObject *
record_set(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyTypeObject *type = Py_TYPE(self);
    Py_ssize_t n = PyTuple_GET_SIZE(self);
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    if (nargs != 0) {
        PyErr_SetString(PyExc_TypeError, "set() takes keyword arguments only");
        return NULL;
    }
    /* Looked up through the type's attribute cache; borrowed, kept alive by the class. */
    PyObject *index = _PyType_Lookup(type, field_index_attr);
    if (index == NULL || !PyDict_Check(index)) {
        PyErr_Format(PyExc_TypeError, "%s has no _field_index dict", type->tp_name);
        return NULL;
    }
    PyObject *result = type->tp_alloc(type, n);
    if (result == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PyTuple_GET_ITEM(self, i);
        Py_INCREF(item);
        PyTuple_SET_ITEM(result, i, item);
    }
    for (Py_ssize_t k = 0; k < nkw; k++) {
        PyObject *name = PyTuple_GET_ITEM(kwnames, k);
        PyObject *pos = PyDict_GetItemWithError(index, name); /* borrowed */
        if (pos == NULL) {
            if (!PyErr_Occurred()) {
                PyErr_Format(PyExc_TypeError, "%s has no field %R", type->tp_name, name);
            }
            Py_DECREF(result);
            return NULL;
        }
        Py_ssize_t j = PyLong_AsSsize_t(pos);
        if (j < 0 || j >= n) {
            if (!PyErr_Occurred()) {
                PyErr_SetString(PyExc_IndexError, "_field_index out of range");
            }
            Py_DECREF(result);
            return NULL;
        }
        PyObject *old = PyTuple_GET_ITEM(result, j);
        PyObject *value = args[k];
        Py_INCREF(value);
        PyTuple_SET_ITEM(result, j, value);
        Py_DECREF(old);
    }
    return result;
}

/* put(t, i, value): TLA+'s [t EXCEPT ![i] = value] for a tuple t. */
static PyObject *
records_put(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyTuple_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "put(t, i, value) takes a tuple, an index and a value");
        return NULL;
    }
    PyObject *t = args[0];
    Py_ssize_t n = PyTuple_GET_SIZE(t);
    Py_ssize_t i = PyNumber_AsSsize_t(args[1], PyExc_IndexError);
    if (i == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (i < 0) {
        i += n;
    }
    if (i < 0 || i >= n) {
        PyErr_SetString(PyExc_IndexError, "put: index out of range");
        return NULL;
    }
    PyObject *result = PyTuple_New(n);
    if (result == NULL) {
        return NULL;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *item = k == i ? args[2] : PyTuple_GET_ITEM(t, k);
        Py_INCREF(item);
        PyTuple_SET_ITEM(result, k, item);
    }
    return result;
}

static PyMethodDef module_methods[] = {
    {"put", (PyCFunction)(void (*)(void))records_put, METH_FASTCALL,
     PyDoc_STR("put(t, i, value): a copy of tuple t with item i replaced")},
    {NULL, NULL, 0, NULL},
};

static PyMethodDef record_methods[] = {
    {"set", (PyCFunction)(void (*)(void))record_set, METH_FASTCALL | METH_KEYWORDS,
     PyDoc_STR("set(**changes): a copy of the record with the named fields replaced")},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject RecordBaseType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "models._records.RecordBase",
    .tp_doc = PyDoc_STR("Base of kripke's records: a tuple with a C-speed set()."),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_methods = record_methods,
};

static struct PyModuleDef records_module = {
    PyModuleDef_HEAD_INIT, "_records", "C-speed record updates for kripke.", -1, module_methods,
};

PyMODINIT_FUNC
PyInit__records(void)
{
    RecordBaseType.tp_base = &PyTuple_Type;
    if (PyType_Ready(&RecordBaseType) < 0) {
        return NULL;
    }
    field_index_attr = PyUnicode_InternFromString("_field_index");
    if (field_index_attr == NULL) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&records_module);
    if (m == NULL) {
        return NULL;
    }
    Py_INCREF(&RecordBaseType);
    if (PyModule_AddObject(m, "RecordBase", (PyObject *)&RecordBaseType) < 0) {
        Py_DECREF(&RecordBaseType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
