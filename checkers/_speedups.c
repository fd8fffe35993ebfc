/*
 * C speed-ups for the two hottest places of an explicit-state search, each with a Python twin
 * that is used when this optional extension is not built (and that the tests compare with it):
 *
 * - RecordBase.set and put, the record updates every action performs (models/types.py);
 * - expand, the per-state inner loop of the search (checkers/explicit.py);
 * - first_bad_field, the TypeOK check of a state's fields (models/system.py).
 *
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
#include <stdint.h>

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
speedups_put(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
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

/*
 * expand(s, calls, fired, seen, fingerprint, checks) -> (n, found)
 *
 * The inner loop of checkers/explicit.py, for one state s: call every action of ``calls`` (a list
 * of (fn, arg); fn(s, arg) returns a state, None, or a list of states), count each successor in
 * ``fired`` (a writable buffer of uint64, one per call), check every step with the list of
 * checks (a refinement's (image, a, allowed): the step is allowed when image(t) == a or
 * image(t) in allowed; or a predicate called with t), fingerprint each successor (fingerprint(t), or hash(t) when fingerprint
 * is None) and collect those whose fingerprint is not in the dict ``seen``.
 *
 * Returns (number of successors, [(call index, t, fingerprint), ...] for the unseen ones), or,
 * when a step fails a check, (-1, (check index, call index, t)). An exception raised by
 * the model propagates; the caller finds the action that raised by calling them again.
 * checkers/explicit.py has the same function in Python, used when this extension is not built.
 */

/* One successor t of call k: count it, check the step, fingerprint it, collect it if unseen.
 * Returns 0, 1 when a check fails (*violation is set), -1 on error. */
static int
visit(PyObject *t, Py_ssize_t k, uint64_t *fired, PyObject *seen, PyObject *fingerprint,
      PyObject *checks, PyObject *found, PyObject **violation)
{
    fired[k]++;
    Py_ssize_t nref = PyList_GET_SIZE(checks);
    for (Py_ssize_t r = 0; r < nref; r++) {
        PyObject *check = PyList_GET_ITEM(checks, r);
        int ok;
        if (PyTuple_CheckExact(check)) { /* a refinement: image(t) == a or image(t) in allowed */
            PyObject *b = PyObject_CallOneArg(PyTuple_GET_ITEM(check, 0), t);
            if (b == NULL) {
                return -1;
            }
            PyObject *a = PyTuple_GET_ITEM(check, 1);
            ok = b == a ? 1 : PyObject_RichCompareBool(b, a, Py_EQ);
            if (ok == 0) {
                ok = PySequence_Contains(PyTuple_GET_ITEM(check, 2), b);
            }
            Py_DECREF(b);
        }
        else { /* a predicate of the step's target */
            PyObject *res = PyObject_CallOneArg(check, t);
            if (res == NULL) {
                return -1;
            }
            ok = PyObject_IsTrue(res);
            Py_DECREF(res);
        }
        if (ok < 0) {
            return -1;
        }
        if (ok == 0) {
            *violation = Py_BuildValue("(nnO)", r, k, t);
            return *violation == NULL ? -1 : 1;
        }
    }
    PyObject *fp;
    if (fingerprint == Py_None) {
        Py_hash_t h = PyObject_Hash(t);
        if (h == -1 && PyErr_Occurred()) {
            return -1;
        }
        fp = PyLong_FromSsize_t(h);
    }
    else {
        fp = PyObject_CallOneArg(fingerprint, t);
    }
    if (fp == NULL) {
        return -1;
    }
    int known = PyDict_Contains(seen, fp);
    if (known != 0) {
        Py_DECREF(fp);
        return known < 0 ? -1 : 0;
    }
    PyObject *entry = Py_BuildValue("(nON)", k, t, fp); /* steals fp */
    if (entry == NULL) {
        return -1;
    }
    int err = PyList_Append(found, entry);
    Py_DECREF(entry);
    return err;
}

static PyObject *
speedups_expand(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6 || !PyList_Check(args[1]) || !PyDict_Check(args[3])
            || !PyList_Check(args[5])) {
        PyErr_SetString(PyExc_TypeError,
                        "expand(s, calls: list, fired, seen: dict, fingerprint, checks: list)");
        return NULL;
    }
    PyObject *s = args[0], *calls = args[1], *seen = args[3], *fingerprint = args[4];
    PyObject *checks = args[5];
    Py_buffer buf;
    if (PyObject_GetBuffer(args[2], &buf, PyBUF_WRITABLE) < 0) {
        return NULL;
    }
    Py_ssize_t ncalls = PyList_GET_SIZE(calls);
    if (buf.len < ncalls * 8) {
        PyBuffer_Release(&buf);
        PyErr_SetString(PyExc_TypeError, "fired must hold a 64-bit counter per call");
        return NULL;
    }
    uint64_t *fired = (uint64_t *)buf.buf;
    PyObject *found = PyList_New(0);
    PyObject *violation = NULL;
    Py_ssize_t n = 0;
    int status = found == NULL ? -1 : 0;
    for (Py_ssize_t k = 0; k < ncalls && status == 0; k++) {
        PyObject *call = PyList_GET_ITEM(calls, k);
        PyObject *argv[2] = {s, PyTuple_GET_ITEM(call, 1)};
        PyObject *out = PyObject_Vectorcall(PyTuple_GET_ITEM(call, 0), argv, 2, NULL);
        if (out == NULL) {
            status = -1;
        }
        else if (PyList_CheckExact(out)) {
            for (Py_ssize_t j = 0; j < PyList_GET_SIZE(out) && status == 0; j++) {
                n++;
                status = visit(PyList_GET_ITEM(out, j), k, fired, seen, fingerprint,
                               checks, found, &violation);
            }
        }
        else if (out != Py_None) {
            n++;
            status = visit(out, k, fired, seen, fingerprint, checks, found, &violation);
        }
        Py_XDECREF(out);
    }
    PyBuffer_Release(&buf);
    if (status < 0) {
        Py_XDECREF(found);
        return NULL;
    }
    if (status == 1) {
        Py_DECREF(found);
        return Py_BuildValue("(nN)", (Py_ssize_t)-1, violation);
    }
    return Py_BuildValue("(nN)", n, found);
}

/*
 * first_bad_field(t, checks, parent) -> index or -1
 *
 * TypeOK over a record: the index of the first field k for which checks[k](t[k]) is false, or -1.
 * With a parent record (known to be well typed), a field that is the very object of the parent's
 * is skipped: a step usually changes one or two fields. models/system.py has the Python twin.
 */
static PyObject *
speedups_first_bad_field(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyTuple_Check(args[0]) || !PyList_Check(args[1])
            || (args[2] != Py_None && !PyTuple_Check(args[2]))) {
        PyErr_SetString(PyExc_TypeError, "first_bad_field(t: tuple, checks: list, parent)");
        return NULL;
    }
    PyObject *t = args[0], *checks = args[1], *parent = args[2];
    Py_ssize_t n = PyList_GET_SIZE(checks);
    if (PyTuple_GET_SIZE(t) != n || (parent != Py_None && PyTuple_GET_SIZE(parent) != n)) {
        PyErr_SetString(PyExc_ValueError, "first_bad_field: sizes differ");
        return NULL;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *v = PyTuple_GET_ITEM(t, k);
        if (parent != Py_None && PyTuple_GET_ITEM(parent, k) == v) {
            continue;
        }
        PyObject *ok = PyObject_CallOneArg(PyList_GET_ITEM(checks, k), v);
        if (ok == NULL) {
            return NULL;
        }
        int truth = PyObject_IsTrue(ok);
        Py_DECREF(ok);
        if (truth < 0) {
            return NULL;
        }
        if (!truth) {
            return PyLong_FromSsize_t(k);
        }
    }
    return PyLong_FromLong(-1);
}

static PyMethodDef module_methods[] = {
    {"first_bad_field", (PyCFunction)(void (*)(void))speedups_first_bad_field, METH_FASTCALL,
     PyDoc_STR("first_bad_field(t, checks, parent) -> index of the first ill-typed field, or -1")},
    {"expand", (PyCFunction)(void (*)(void))speedups_expand, METH_FASTCALL,
     PyDoc_STR("expand(s, calls, fired, seen, fingerprint, checks) -> (n, found)")},
    {"put", (PyCFunction)(void (*)(void))speedups_put, METH_FASTCALL,
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
    .tp_name = "checkers._speedups.RecordBase",
    .tp_doc = PyDoc_STR("Base of kripke's records: a tuple with a C-speed set()."),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_methods = record_methods,
};

static struct PyModuleDef speedups_module = {
    PyModuleDef_HEAD_INIT, "_speedups", "C-speed records and search loop for kripke.", -1, module_methods,
};

PyMODINIT_FUNC
PyInit__speedups(void)
{
    RecordBaseType.tp_base = &PyTuple_Type;
    if (PyType_Ready(&RecordBaseType) < 0) {
        return NULL;
    }
    field_index_attr = PyUnicode_InternFromString("_field_index");
    if (field_index_attr == NULL) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&speedups_module);
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
