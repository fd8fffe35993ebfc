/*
 * FingerprintTable: the visited set of the explicit-state search (checkers/explicit.py,
 * _Search.seen), a map from a state's 64-bit fingerprint to its parent's in at most about 24 bytes
 * a state (issue 13, item 3). The dict it replaces costs 100-170 bytes a state (an int object per
 * key, a dict entry and index slot), so two-phase with 9 RMs (10,340,352 states) would not fit in
 * 600 MB. TLC keeps its fingerprints in a flat FPSet for the same reason. checkers/visited.py
 * holds the Python twin and documents the interface.
 *
 * Layout: the entries, in insertion order, as two arrays, ``fps[e]`` (uint64) and ``parents[e]``
 * (uint32: the parent's entry number, NO_PARENT for an initial state), 12 bytes an entry, grown
 * 1.25x with realloc; and an index, open addressing over uint32 slots holding 1 + an entry number
 * (0 is empty, so a fresh index is calloc'd), linear probing from a home slot computed from the
 * fingerprint's mixed high bits, kept at most 80% full, grown 1.5x and rebuilt from the entries.
 * So a table takes 17 bytes an entry just before a resize and 22.5 at worst, right after both
 * arrays grew (12 * 1.25 + 4 * 1.5 / 0.8). The home slot is scaled from the hash (Lemire's
 * fastrange) rather than masked so that the index can grow by 1.5x: a power-of-two index is 40%
 * full after doubling, 10 bytes an entry on its own.
 *
 * The bits of a slot that its entry number does not need (7 or 8 at 10 M states) hold a tag, low
 * bits of the mixed fingerprint: a probe reads an entry's fingerprint, a cache miss in a large
 * table, only when the tags agree. Without tags a lookup that missed read about four of them and
 * was twice as slow as a dict's; with them the table is faster than a dict at 10 M states.
 *
 * Parents are entry numbers, not fingerprints (4 bytes instead of 8), so at most 2**32 - 2
 * entries: more is an OverflowError.
 *
 * A shard of the partitioned search (checkers/parallel.py) also *notes* fingerprints it does not
 * own: the successors it sent to their owner (so that it sends each once) and the parents, owned
 * by other shards, of the states it received. A noted entry has the parent NOTED; ``in`` finds it
 * (the C search loop then skips the successor, with the one lookup a stored state costs), but it
 * is not a stored state: ``len``, iteration and ``t[fp]`` leave it out. to_bytes and from_bytes write and read the two arrays as
 * little-endian bytes for checkpoints; from_bytes reads files a user hands back (--resume), so it
 * checks every entry and refuses a corrupt one with a ValueError.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>

#define NO_PARENT UINT32_MAX
#define NOTED (UINT32_MAX - 1) /* the parent of a noted entry: a fingerprint stored elsewhere */
#define MAX_ENTRIES (UINT32_MAX - 1) /* 2**32 - 2: entry numbers, NOTED and NO_PARENT fit */

typedef struct {
    PyObject_HEAD
    uint64_t *fps;    /* fingerprints in insertion order */
    uint32_t *parents; /* the parent's entry number, or NO_PARENT */
    uint32_t *slots;  /* the index: tag | (1 + entry number), 0 = empty */
    uint64_t n;       /* entries, stored and noted */
    uint64_t noted;   /* entries noted */
    uint64_t cap;     /* entries allocated */
    uint64_t nslots;  /* index slots allocated */
    unsigned ebits;   /* the low bits of a slot that hold 1 + entry number: nslots's length */
    uint32_t emask;   /* (1 << ebits) - 1 */
} Table;

static PyTypeObject TableType;

/* murmur3's 64-bit finalizer: fingerprints are SipHash outputs, already uniform, but keys with
 * structure (equal low or high bits) must not pile up in one run of the index either. */
static inline uint64_t
mix(uint64_t x)
{
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    return x ^ (x >> 33);
}

/* The high 64 bits of h * m: a slot in [0, m) taken from h's high bits, for any m. */
static inline uint64_t
mulhi(uint64_t h, uint64_t m)
{
#ifdef __SIZEOF_INT128__
    return (uint64_t)(((unsigned __int128)h * m) >> 64);
#else
    uint64_t hh = h >> 32, hl = h & 0xffffffff, mh = m >> 32, ml = m & 0xffffffff;
    uint64_t mid = ((hl * ml) >> 32) + (hh * ml & 0xffffffff) + (hl * mh & 0xffffffff);
    return hh * mh + (hh * ml >> 32) + (hl * mh >> 32) + (mid >> 32);
#endif
}

/* The slot that holds ``fp``, or the empty slot where it would go (the index is never full);
 * ``*tag`` is the tag of ``fp``, the bits above ebits of what its slot holds. */
static inline uint64_t
probe(const Table *t, uint64_t fp, uint32_t *tag)
{
    uint64_t h = mix(fp), i = mulhi(h, t->nslots);
    uint32_t v;
    *tag = (uint32_t)(h << t->ebits); /* h's low 32 - ebits bits (none when ebits is 32) */
    while ((v = t->slots[i]) != 0
           && ((v & ~t->emask) != *tag || t->fps[(v & t->emask) - 1] != fp)) {
        if (++i == t->nslots) {
            i = 0;
        }
    }
    return i;
}

/* The entry number of ``fp``, or -1. */
static inline int64_t
find(const Table *t, uint64_t fp)
{
    if (t->n == 0) {
        return -1;
    }
    uint32_t tag, v = t->slots[probe(t, fp, &tag)];
    return v == 0 ? -1 : (int64_t)(v & t->emask) - 1;
}

/* ``*p`` reallocated to ``count`` items of ``size`` bytes; on failure a MemoryError, *p kept. */
static int
resize_array(void **p, uint64_t count, size_t size)
{
    void *q = count > (uint64_t)PY_SSIZE_T_MAX / size ? NULL : PyMem_RawRealloc(*p, count * size);
    if (q == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *p = q;
    return 0;
}

/* Room for ``n`` entries: the entries grown 1.25x at a time, the index kept at most 80% full
 * (grown 1.5x, or to what ``n`` needs, and rebuilt). On failure the table is unchanged. */
static int
reserve(Table *t, uint64_t n)
{
    if (n > t->cap) {
        uint64_t cap = Py_MIN(Py_MAX(n, t->cap + t->cap / 4 + 16), (uint64_t)MAX_ENTRIES);
        if (resize_array((void **)&t->fps, cap, sizeof(uint64_t)) < 0 ||
            resize_array((void **)&t->parents, cap, sizeof(uint32_t)) < 0) {
            return -1;
        }
        t->cap = cap;
    }
    if (5 * n > 4 * t->nslots) {
        uint64_t nslots = Py_MAX(5 * n / 4 + 1, t->nslots + t->nslots / 2 + 16);
        uint32_t *slots = nslots > (uint64_t)PY_SSIZE_T_MAX / sizeof(uint32_t) ? NULL
                          : PyMem_RawCalloc(nslots, sizeof(uint32_t));
        if (slots == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        PyMem_RawFree(t->slots);
        t->slots = slots;
        t->nslots = nslots;
        for (t->ebits = 0; t->ebits < 32 && nslots >> t->ebits; t->ebits++) {
        }
        t->emask = (uint32_t)((1ULL << t->ebits) - 1);
        for (uint64_t e = 0; e < t->n; e++) {
            uint32_t tag;
            uint64_t i = probe(t, t->fps[e], &tag);
            t->slots[i] = tag | (uint32_t)(e + 1);
        }
    }
    return 0;
}

/* ``x`` (an int, or anything with __index__) as a fingerprint in ``*fp``; ``what`` names it in
 * the TypeError or OverflowError (the messages are the Python twin's). */
static int
as_fingerprint(PyObject *x, const char *what, uint64_t *fp)
{
    if (!PyIndex_Check(x)) {
        PyErr_Format(PyExc_TypeError, "a %s is an int in [0, 2**64), not %.100s", what,
                     Py_TYPE(x)->tp_name);
        return -1;
    }
    PyObject *i = PyNumber_Index(x);
    if (i == NULL) {
        return -1;
    }
    *fp = PyLong_AsUnsignedLongLong(i);
    if (*fp == (uint64_t)-1 && PyErr_Occurred()) {
        if (PyErr_ExceptionMatches(PyExc_OverflowError)) {
            PyErr_Format(PyExc_OverflowError, "%s %S is outside [0, 2**64)", what, i);
        }
        Py_DECREF(i);
        return -1;
    }
    Py_DECREF(i);
    return 0;
}

static PyObject *
table_new(PyTypeObject *type, PyObject *args, PyObject *kwds)
{
    if (PyTuple_GET_SIZE(args) != 0 || (kwds != NULL && PyDict_GET_SIZE(kwds) != 0)) {
        PyErr_SetString(PyExc_TypeError, "FingerprintTable() takes no arguments");
        return NULL;
    }
    return type->tp_alloc(type, 0); /* zeroed: no entries, no index */
}

static void
table_dealloc(Table *t)
{
    PyMem_RawFree(t->fps);
    PyMem_RawFree(t->parents);
    PyMem_RawFree(t->slots);
    Py_TYPE(t)->tp_free((PyObject *)t);
}

static Py_ssize_t
table_len(Table *t)
{
    return (Py_ssize_t)(t->n - t->noted);
}

/* ``fp in t``, stored or noted: PySequence_Contains calls this directly from the C search
 * loop. */
static int
table_contains(Table *t, PyObject *key)
{
    uint64_t fp;
    if (as_fingerprint(key, "fingerprint", &fp) < 0) {
        return -1;
    }
    return find(t, fp) >= 0;
}

/* The parent of entry ``e``: its fingerprint, or None for an initial state. */
static PyObject *
parent_of(Table *t, int64_t e)
{
    uint32_t p = t->parents[e];
    return p == NO_PARENT ? Py_NewRef(Py_None) : PyLong_FromUnsignedLongLong(t->fps[p]);
}

static PyObject *
table_subscript(Table *t, PyObject *key)
{
    uint64_t fp;
    if (as_fingerprint(key, "fingerprint", &fp) < 0) {
        return NULL;
    }
    int64_t e = find(t, fp);
    if (e < 0 || t->parents[e] == NOTED) {
        PyErr_SetObject(PyExc_KeyError, key);
        return NULL;
    }
    return parent_of(t, e);
}

/* ``t[fp] = parent``: append an entry. The checks run in the Python twin's order. */
static int
table_ass_subscript(Table *t, PyObject *key, PyObject *value)
{
    uint64_t fp, parent_fp;
    if (value == NULL) {
        PyErr_SetString(PyExc_TypeError, "FingerprintTable does not support item deletion");
        return -1;
    }
    if (as_fingerprint(key, "fingerprint", &fp) < 0 ||
        (value != Py_None && as_fingerprint(value, "parent", &parent_fp) < 0)) {
        return -1;
    }
    if (t->n >= MAX_ENTRIES) {
        PyErr_Format(PyExc_OverflowError,
                     "FingerprintTable is full: it holds at most %llu fingerprints",
                     (unsigned long long)MAX_ENTRIES);
        return -1;
    }
    int64_t parent = value == Py_None ? NO_PARENT : find(t, parent_fp);
    if (parent < 0) {
        PyObject *msg = PyUnicode_FromFormat("parent %llu is not in the table",
                                             (unsigned long long)parent_fp);
        if (msg != NULL) {
            PyErr_SetObject(PyExc_KeyError, msg);
            Py_DECREF(msg);
        }
        return -1;
    }
    if (reserve(t, t->n + 1) < 0) { /* before probing: growing rebuilds the index */
        return -1;
    }
    uint32_t tag;
    uint64_t i = probe(t, fp, &tag);
    if (t->slots[i] != 0) {
        PyErr_Format(PyExc_ValueError, "fingerprint %llu is already in the table",
                     (unsigned long long)fp);
        return -1;
    }
    t->fps[t->n] = fp;
    t->parents[t->n] = (uint32_t)parent;
    t->slots[i] = tag | (uint32_t)(t->n + 1);
    t->n++;
    return 0;
}

/* ``t.note(fp)``: add ``fp`` as noted, unless it is in the table already. */
static PyObject *
table_note(Table *t, PyObject *key)
{
    uint64_t fp;
    if (as_fingerprint(key, "fingerprint", &fp) < 0) {
        return NULL;
    }
    if (find(t, fp) >= 0) {
        Py_RETURN_NONE;
    }
    if (t->n >= MAX_ENTRIES) {
        PyErr_Format(PyExc_OverflowError,
                     "FingerprintTable is full: it holds at most %llu fingerprints",
                     (unsigned long long)MAX_ENTRIES);
        return NULL;
    }
    if (reserve(t, t->n + 1) < 0) {
        return NULL;
    }
    uint32_t tag;
    uint64_t i = probe(t, fp, &tag);
    t->fps[t->n] = fp;
    t->parents[t->n] = NOTED;
    t->slots[i] = tag | (uint32_t)(t->n + 1);
    t->n++;
    t->noted++;
    Py_RETURN_NONE;
}

static PyObject *
table_get(Table *t, PyObject *const *args, Py_ssize_t nargs)
{
    uint64_t fp;
    if (nargs < 1 || nargs > 2) {
        PyErr_Format(PyExc_TypeError, "get expected 1 or 2 arguments, got %zd", nargs);
        return NULL;
    }
    if (as_fingerprint(args[0], "fingerprint", &fp) < 0) {
        return NULL;
    }
    int64_t e = find(t, fp);
    if (e >= 0 && t->parents[e] != NOTED) {
        return parent_of(t, e);
    }
    return Py_NewRef(nargs == 2 ? args[1] : Py_None);
}

static inline void
store_le(unsigned char *p, uint64_t v, int nbytes)
{
    for (int k = 0; k < nbytes; k++) {
        p[k] = (unsigned char)(v >> (8 * k));
    }
}

static inline uint64_t
load_le(const unsigned char *p, int nbytes)
{
    uint64_t v = 0;
    for (int k = 0; k < nbytes; k++) {
        v |= (uint64_t)p[k] << (8 * k);
    }
    return v;
}

static PyObject *
table_to_bytes(Table *t, PyObject *Py_UNUSED(ignored))
{
    PyObject *fps = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(8 * t->n));
    PyObject *parents = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)(4 * t->n));
    if (fps == NULL || parents == NULL) {
        Py_XDECREF(fps);
        Py_XDECREF(parents);
        return NULL;
    }
    unsigned char *f = (unsigned char *)PyBytes_AS_STRING(fps);
    unsigned char *p = (unsigned char *)PyBytes_AS_STRING(parents);
    for (uint64_t e = 0; e < t->n; e++) {
        store_le(f + 8 * e, t->fps[e], 8);
        store_le(p + 4 * e, t->parents[e], 4);
    }
    return Py_BuildValue("(NN)", fps, parents);
}

/* Fill the empty table ``t`` from the arrays of to_bytes, checking every entry. */
static int
load(Table *t, const Py_buffer *fps, const Py_buffer *parents)
{
    if (fps->len % 8 != 0 || parents->len % 4 != 0) {
        PyErr_Format(PyExc_ValueError, "corrupt FingerprintTable: %zd bytes of fingerprints "
                     "and %zd of parents are not whole 8- and 4-byte entries",
                     fps->len, parents->len);
        return -1;
    }
    uint64_t n = (uint64_t)fps->len / 8;
    if ((uint64_t)parents->len / 4 != n) {
        PyErr_Format(PyExc_ValueError, "corrupt FingerprintTable: %llu fingerprints but %zd "
                     "parents", (unsigned long long)n, parents->len / 4);
        return -1;
    }
    if (n > MAX_ENTRIES) {
        PyErr_Format(PyExc_ValueError, "corrupt FingerprintTable: %llu entries, more than "
                     "%llu", (unsigned long long)n, (unsigned long long)MAX_ENTRIES);
        return -1;
    }
    if (reserve(t, n) < 0) {
        return -1;
    }
    const unsigned char *f = fps->buf, *p = parents->buf;
    for (uint64_t e = 0; e < n; e++) {
        uint64_t fp = load_le(f + 8 * e, 8);
        uint32_t parent = (uint32_t)load_le(p + 4 * e, 4);
        if (parent != NO_PARENT && parent != NOTED && parent >= e) {
            PyErr_Format(PyExc_ValueError, "corrupt FingerprintTable: entry %llu has parent "
                         "%lu, not an earlier entry", (unsigned long long)e,
                         (unsigned long)parent);
            return -1;
        }
        uint32_t tag;
        uint64_t i = probe(t, fp, &tag);
        if (t->slots[i] != 0) {
            PyErr_Format(PyExc_ValueError, "corrupt FingerprintTable: entry %llu repeats the "
                         "fingerprint %llu of entry %lu", (unsigned long long)e,
                         (unsigned long long)fp, (unsigned long)((t->slots[i] & t->emask) - 1));
            return -1;
        }
        t->fps[e] = fp;
        t->parents[e] = parent;
        t->slots[i] = tag | (uint32_t)(e + 1);
        t->n = e + 1;
        t->noted += parent == NOTED;
    }
    return 0;
}

static PyObject *
table_from_bytes(PyTypeObject *type, PyObject *const *args, Py_ssize_t nargs)
{
    Py_buffer fps, parents;
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "from_bytes expected 2 arguments, got %zd", nargs);
        return NULL;
    }
    if (PyObject_GetBuffer(args[0], &fps, PyBUF_SIMPLE) < 0) {
        return NULL;
    }
    if (PyObject_GetBuffer(args[1], &parents, PyBUF_SIMPLE) < 0) {
        PyBuffer_Release(&fps);
        return NULL;
    }
    Table *t = (Table *)type->tp_alloc(type, 0);
    if (t != NULL && load(t, &fps, &parents) < 0) {
        Py_CLEAR(t);
    }
    PyBuffer_Release(&fps);
    PyBuffer_Release(&parents);
    return (PyObject *)t;
}

static PyObject *
table_nbytes(Table *t, void *Py_UNUSED(closure))
{
    return PyLong_FromUnsignedLongLong(12 * t->cap + 4 * t->nslots);
}

static PyObject *
table_noted(Table *t, void *Py_UNUSED(closure))
{
    return PyLong_FromUnsignedLongLong(t->noted);
}

static PyObject *
table_sizeof(Table *t, PyObject *Py_UNUSED(ignored))
{
    return PyLong_FromUnsignedLongLong(sizeof(Table) + 12 * t->cap + 4 * t->nslots);
}

/* Iteration over the stored fingerprints in insertion order; like a dict's, it refuses to go on after
 * the table grew. */
typedef struct {
    PyObject_HEAD
    Table *table;
    uint64_t next, n;
} TableIter;

static PyTypeObject TableIterType;

static PyObject *
table_iter(Table *t)
{
    TableIter *it = PyObject_New(TableIter, &TableIterType);
    if (it != NULL) {
        it->table = (Table *)Py_NewRef(t);
        it->next = 0;
        it->n = t->n;
    }
    return (PyObject *)it;
}

static void
iter_dealloc(TableIter *it)
{
    Py_DECREF(it->table);
    PyObject_Free(it);
}

static PyObject *
iter_next(TableIter *it)
{
    if (it->table->n != it->n) {
        PyErr_SetString(PyExc_RuntimeError, "FingerprintTable changed size during iteration");
        return NULL;
    }
    while (it->next < it->n && it->table->parents[it->next] == NOTED) {
        it->next++;
    }
    if (it->next == it->n) {
        return NULL;
    }
    return PyLong_FromUnsignedLongLong(it->table->fps[it->next++]);
}

static PySequenceMethods table_as_sequence = {
    .sq_contains = (objobjproc)table_contains,
};

static PyMappingMethods table_as_mapping = {
    .mp_length = (lenfunc)table_len,
    .mp_subscript = (binaryfunc)table_subscript,
    .mp_ass_subscript = (objobjargproc)table_ass_subscript,
};

static PyMethodDef table_methods[] = {
    {"note", (PyCFunction)table_note, METH_O,
     PyDoc_STR("note(fp): add fp as stored elsewhere (another shard's), unless it is in the table")},
    {"get", (PyCFunction)(void (*)(void))table_get, METH_FASTCALL,
     PyDoc_STR("get(fp, default=None): the parent of fp (None for an initial state), or default")},
    {"to_bytes", (PyCFunction)table_to_bytes, METH_NOARGS,
     PyDoc_STR("to_bytes() -> (fps, parents): little-endian uint64 and uint32 arrays")},
    {"from_bytes", (PyCFunction)(void (*)(void))table_from_bytes, METH_FASTCALL | METH_CLASS,
     PyDoc_STR("from_bytes(fps, parents): the table to_bytes wrote; ValueError if corrupt")},
    {"__sizeof__", (PyCFunction)table_sizeof, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef table_getset[] = {
    {"nbytes", (getter)table_nbytes, NULL,
     PyDoc_STR("bytes allocated for the entries and the index"), NULL},
    {"noted", (getter)table_noted, NULL, PyDoc_STR("the number of noted fingerprints"), NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject TableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kripke._visited.FingerprintTable",
    .tp_doc = PyDoc_STR("fingerprint -> parent fingerprint (None for an initial state), in "
                        "insertion order, in at most about 24 bytes an entry"),
    .tp_basicsize = sizeof(Table),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = table_new,
    .tp_dealloc = (destructor)table_dealloc,
    .tp_as_sequence = &table_as_sequence,
    .tp_as_mapping = &table_as_mapping,
    .tp_iter = (getiterfunc)table_iter,
    .tp_methods = table_methods,
    .tp_getset = table_getset,
};

static PyTypeObject TableIterType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kripke._visited.FingerprintTableIterator",
    .tp_basicsize = sizeof(TableIter),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)iter_dealloc,
    .tp_iter = PyObject_SelfIter,
    .tp_iternext = (iternextfunc)iter_next,
};

static struct PyModuleDef visited_module = {
    PyModuleDef_HEAD_INIT, "_visited", "The compact visited set of kripke's explicit search.", -1,
    NULL,
};

PyMODINIT_FUNC
PyInit__visited(void)
{
    if (PyType_Ready(&TableType) < 0 || PyType_Ready(&TableIterType) < 0) {
        return NULL;
    }
    PyObject *m = PyModule_Create(&visited_module);
    if (m != NULL && PyModule_AddObjectRef(m, "FingerprintTable", (PyObject *)&TableType) < 0) {
        Py_CLEAR(m);
    }
    return m;
}
