/*
 * C speed-ups for the two hottest places of an explicit-state search, each with a Python twin
 * that is used when this optional extension is not built (and that the tests compare with it):
 *
 * - RecordBase.set and put, the record updates every action performs (models/types.py);
 * - fingerprint, the 64-bit name of a state in the visited set (models/fingerprint.py);
 * - expand, the per-state inner loop of the search (checkers/explicit.py);
 * - permute, canonical and representative, the renaming of states and their canonical
 *   representative under symmetry, and the fingerprints of both computed without building them
 *   (permute_fingerprint, representative_fingerprint: models/symmetry.py);
 * - probe_states and probe_steps, the transposition probe's first pass (checkers/
 *   symmetry_check.py);
 * - Reads, a property remembered by the values of the fields it declares it reads
 *   (models/fingerprint.py's reads);
 * - first_bad_field, the TypeOK check of a state's fields (models/system.py);
 * - reach_into and strongly_connected_into, the two passes over the state graph of a liveness
 *   check (checkers/liveness.py).
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
#include <structmember.h>
#include <stdint.h>
#include <string.h>

static PyObject *field_index_attr; /* "_field_index": {field name: position} on each class */

static PyObject *
record_set(PyObject *self, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    PyTypeObject *type = Py_TYPE(self);
    Py_ssize_t n = PyTuple_GET_SIZE(self);
    Py_ssize_t nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames);
    if (nargs != 0) { /* the messages are Python's for the twin's def set(self, *, ...) */
        PyErr_Format(PyExc_TypeError, "set() takes 1 positional argument but %zd were given",
                     nargs + 1);
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
                PyErr_Format(PyExc_TypeError, "set() got an unexpected keyword argument %R",
                             name);
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
 * Fingerprints (models/fingerprint.py has the Python twin and the documentation).
 *
 * fingerprint(v): a Merkle tree of SipHash-1-3 (Aumasson and Bernstein, 2012) hashes with a fixed
 * key. Every value is hashed as a sequence of 64-bit words that starts with a word naming its
 * type, so -1 and -2, 0 and 0.0 and False, True and 1, a record and a plain tuple with the same
 * items, and two record classes with equal fields, are different inputs. A container's words
 * are its length and its items' fingerprints (a frozenset's sorted, so they do not depend on the
 * set's memory layout).
 */
#define FP_NONE 0x6b726b0000000001ULL
#define FP_BOOL 0x6b726b0000000002ULL
#define FP_INT 0x6b726b0000000003ULL
#define FP_BIGINT 0x6b726b0000000004ULL
#define FP_FLOAT 0x6b726b0000000005ULL
#define FP_STR 0x6b726b0000000006ULL
#define FP_TUPLE 0x6b726b0000000007ULL
#define FP_RECORD 0x6b726b0000000008ULL
#define FP_FROZENSET 0x6b726b0000000009ULL
#define FP_TYPE 0x6b726b000000000bULL

/* The key: fixed, so that fingerprints are the same in every run and process. */
#define FP_K0 0x0706050403020100ULL
#define FP_K1 0x0f0e0d0c0b0a0908ULL

typedef struct {
    uint64_t v0, v1, v2, v3, n;
} sip_t;

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))
#define SIPROUND(h)                                                          \
    do {                                                                     \
        (h)->v0 += (h)->v1; (h)->v1 = ROTL((h)->v1, 13); (h)->v1 ^= (h)->v0; \
        (h)->v0 = ROTL((h)->v0, 32);                                         \
        (h)->v2 += (h)->v3; (h)->v3 = ROTL((h)->v3, 16); (h)->v3 ^= (h)->v2; \
        (h)->v0 += (h)->v3; (h)->v3 = ROTL((h)->v3, 21); (h)->v3 ^= (h)->v0; \
        (h)->v2 += (h)->v1; (h)->v1 = ROTL((h)->v1, 17); (h)->v1 ^= (h)->v2; \
        (h)->v2 = ROTL((h)->v2, 32);                                         \
    } while (0)

static inline void
sip_init(sip_t *h)
{
    h->v0 = FP_K0 ^ 0x736f6d6570736575ULL;
    h->v1 = FP_K1 ^ 0x646f72616e646f6dULL;
    h->v2 = FP_K0 ^ 0x6c7967656e657261ULL;
    h->v3 = FP_K1 ^ 0x7465646279746573ULL;
    h->n = 0;
}

static inline void
sip_word(sip_t *h, uint64_t m)
{
    h->v3 ^= m;
    SIPROUND(h);
    h->v0 ^= m;
    h->n++;
}

/* The final block of SipHash for a message of 8 * n bytes (no bytes left over). */
static inline uint64_t
sip_final(sip_t *h)
{
    uint64_t b = ((h->n * 8) & 0xff) << 56;
    h->v3 ^= b;
    SIPROUND(h);
    h->v0 ^= b;
    h->v2 ^= 0xff;
    SIPROUND(h);
    SIPROUND(h);
    SIPROUND(h);
    return h->v0 ^ h->v1 ^ h->v2 ^ h->v3;
}

/* Bytes as little-endian words, the last one zero-padded (the length is hashed before them). */
static void
sip_bytes(sip_t *h, const unsigned char *p, Py_ssize_t len)
{
    sip_word(h, (uint64_t)len);
    for (Py_ssize_t i = 0; i < len; i += 8) {
        uint64_t w = 0;
        for (Py_ssize_t j = 0; j < 8 && i + j < len; j++) {
            w |= (uint64_t)p[i + j] << (8 * j);
        }
        sip_word(h, w);
    }
}

/* The fingerprint of a scalar: SipHash of (tag, value). */
static uint64_t
fp_scalar(uint64_t tag, uint64_t value)
{
    sip_t h;
    sip_init(&h);
    sip_word(&h, tag);
    sip_word(&h, value);
    return sip_final(&h);
}

/* Fingerprints of None, False, True and the ints SMALL_MIN .. SMALL_MAX, computed once. */
#define SMALL_MIN (-8)
#define SMALL_MAX 1023
static uint64_t fp_none, fp_bool[2], fp_small[SMALL_MAX - SMALL_MIN + 1];

static void
fp_init_tables(void)
{
    fp_none = fp_scalar(FP_NONE, 0);
    fp_bool[0] = fp_scalar(FP_BOOL, 0);
    fp_bool[1] = fp_scalar(FP_BOOL, 1);
    for (int64_t i = SMALL_MIN; i <= SMALL_MAX; i++) {
        fp_small[i - SMALL_MIN] = fp_scalar(FP_INT, (uint64_t)i);
    }
}

/* A direct-mapped cache of fingerprints by object identity (tuples: by their items' identity).
 * It holds a reference to each object it stores, so an address cannot be reused by another
 * object while it is in the cache. Small: what it must find again is the fields a successor
 * shares with the state just expanded; with 2048 entries raft runs about 6% faster than with
 * 8192 (fewer cache misses, fewer objects kept alive), two-phase alike. */
#define FP_CACHE_SIZE 2048
static struct {
    PyObject *obj;
    uint64_t fp;
} fp_cache[FP_CACHE_SIZE];

static inline size_t
fp_slot(PyObject *v)
{
    uintptr_t p = (uintptr_t)v;
    return (size_t)((p >> 4) ^ (p >> 17)) & (FP_CACHE_SIZE - 1);
}

/* A tuple's slot is found from its class and its items' addresses, so that a new tuple with
 * the very same items (a state's array rebuilt by put()) finds the fingerprint of an earlier
 * one: the cache holds that tuple, hence its items, so equal addresses are the same values. */
static inline size_t
tuple_slot(PyObject *v)
{
    uint64_t h = (uint64_t)(uintptr_t)Py_TYPE(v);
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(v); i++) {
        h = (h ^ (uint64_t)(uintptr_t)PyTuple_GET_ITEM(v, i)) * 0x9e3779b97f4a7c15ULL;
    }
    return (size_t)(h >> 40) & (FP_CACHE_SIZE - 1);
}

/* Does the cached object a have b's class and b's items, item for item the same objects? */
static inline int
same_items(PyObject *a, PyObject *b)
{
    if (a == b) {
        return 1;
    }
    if (a == NULL || Py_TYPE(a) != Py_TYPE(b) || PyTuple_GET_SIZE(a) != PyTuple_GET_SIZE(b)) {
        return 0;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(b); i++) {
        if (PyTuple_GET_ITEM(a, i) != PyTuple_GET_ITEM(b, i)) {
            return 0;
        }
    }
    return 1;
}

static inline void
fp_remember_at(size_t i, PyObject *v, uint64_t fp)
{
    PyObject *old = fp_cache[i].obj;
    Py_INCREF(v);
    fp_cache[i].obj = v;
    fp_cache[i].fp = fp;
    Py_XDECREF(old);
}

static inline void
fp_remember(PyObject *v, uint64_t fp)
{
    fp_remember_at(fp_slot(v), v, fp);
}

static int fp_compute(PyObject *v, uint64_t *out);

static int
fp_compare(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* The fingerprint of any value: scalars from the tables or hashed on the spot, strings, tuples,
 * records and frozensets from the identity cache or computed (and remembered). */
static int
fp_value(PyObject *v, uint64_t *out)
{
    PyTypeObject *t = Py_TYPE(v);
    if (v == Py_None) {
        *out = fp_none;
        return 0;
    }
    if (t == &PyBool_Type) {
        *out = fp_bool[v == Py_True];
        return 0;
    }
    if (t == &PyLong_Type) {
        int overflow;
        long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
        if (!overflow) {
            if (x == -1 && PyErr_Occurred()) {
                return -1;
            }
            *out = x >= SMALL_MIN && x <= SMALL_MAX ? fp_small[x - SMALL_MIN]
                                                    : fp_scalar(FP_INT, (uint64_t)x);
            return 0;
        }
        return fp_compute(v, out); /* beyond 64 bits */
    }
    if (t == &PyFloat_Type) {
        double d = PyFloat_AS_DOUBLE(v);
        uint64_t bits;
        if (d == 0.0) {
            d = 0.0; /* -0.0 == 0.0: one value */
        }
        memcpy(&bits, &d, 8);
        *out = fp_scalar(FP_FLOAT, bits);
        return 0;
    }
    int tuple = PyTuple_Check(v);
    size_t i = tuple ? tuple_slot(v) : fp_slot(v);
    if (tuple ? same_items(fp_cache[i].obj, v) : fp_cache[i].obj == v) {
        *out = fp_cache[i].fp;
        return 0;
    }
    if (Py_EnterRecursiveCall(" while fingerprinting a state")) {
        return -1;
    }
    int err = fp_compute(v, out);
    Py_LeaveRecursiveCall();
    if (err == 0) {
        fp_remember_at(i, v, *out);
    }
    return err;
}

/* The fingerprint of a type's name: what tells record classes apart. */
static int
fp_type(PyTypeObject *type, uint64_t *out)
{
    size_t i = fp_slot((PyObject *)type);
    if (fp_cache[i].obj == (PyObject *)type) {
        *out = fp_cache[i].fp;
        return 0;
    }
    PyObject *name = PyObject_GetAttrString((PyObject *)type, "__name__");
    Py_ssize_t len;
    const char *utf8 = name == NULL ? NULL : PyUnicode_AsUTF8AndSize(name, &len);
    if (utf8 == NULL) {
        Py_XDECREF(name);
        return -1;
    }
    sip_t h;
    sip_init(&h);
    sip_word(&h, FP_TYPE);
    sip_bytes(&h, (const unsigned char *)utf8, len);
    Py_DECREF(name);
    *out = sip_final(&h);
    fp_remember((PyObject *)type, *out);
    return 0;
}

/* The header of a tuple or record: (FP_TUPLE, n) or (FP_RECORD, type fingerprint, n). */
static int
fp_tuple_head(sip_t *h, PyObject *v)
{
    sip_init(h);
    if (PyTuple_CheckExact(v)) {
        sip_word(h, FP_TUPLE);
    }
    else {
        uint64_t tf;
        if (fp_type(Py_TYPE(v), &tf) < 0) {
            return -1;
        }
        sip_word(h, FP_RECORD);
        sip_word(h, tf);
    }
    sip_word(h, (uint64_t)PyTuple_GET_SIZE(v));
    return 0;
}

/* The fingerprint of a string, a tuple, a record, a frozenset or an int beyond 64 bits. */
static int
fp_compute(PyObject *v, uint64_t *out)
{
    PyTypeObject *t = Py_TYPE(v);
    sip_t h;
    if (PyTuple_Check(v)) {
        if (fp_tuple_head(&h, v) < 0) {
            return -1;
        }
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(v); i++) {
            uint64_t item;
            if (fp_value(PyTuple_GET_ITEM(v, i), &item) < 0) {
                return -1;
            }
            sip_word(&h, item);
        }
        *out = sip_final(&h);
        return 0;
    }
    sip_init(&h);
    if (t == &PyUnicode_Type) {
        Py_ssize_t len;
        const char *utf8 = PyUnicode_AsUTF8AndSize(v, &len);
        if (utf8 == NULL) {
            return -1;
        }
        sip_word(&h, FP_STR);
        sip_bytes(&h, (const unsigned char *)utf8, len);
    }
    else if (t == &PyLong_Type) { /* beyond 64 bits: its two's-complement bytes */
        PyObject *nbits = PyObject_CallMethod(v, "bit_length", NULL);
        if (nbits == NULL) {
            return -1;
        }
        Py_ssize_t len = PyLong_AsSsize_t(nbits) / 8 + 1;
        Py_DECREF(nbits);
        PyObject *to_bytes = PyObject_GetAttrString(v, "to_bytes");
        PyObject *args = Py_BuildValue("(ns)", len, "little");
        PyObject *kwargs = Py_BuildValue("{sO}", "signed", Py_True);
        PyObject *bytes = to_bytes == NULL || args == NULL || kwargs == NULL ? NULL
                          : PyObject_Call(to_bytes, args, kwargs);
        Py_XDECREF(to_bytes);
        Py_XDECREF(args);
        Py_XDECREF(kwargs);
        if (bytes == NULL) {
            return -1;
        }
        sip_word(&h, FP_BIGINT);
        sip_bytes(&h, (const unsigned char *)PyBytes_AS_STRING(bytes), len);
        Py_DECREF(bytes);
    }
    else if (t == &PyFrozenSet_Type) { /* its elements' fingerprints, sorted */
        Py_ssize_t n = PySet_GET_SIZE(v), i = 0;
        uint64_t small[16];
        uint64_t *fps = n <= 16 ? small : PyMem_Malloc(n * sizeof(uint64_t));
        int err = fps == NULL ? -1 : 0;
#if PY_VERSION_HEX < 0x030D0000
        Py_ssize_t pos = 0;
        PyObject *item;
        Py_hash_t ignored;
        while (err == 0 && _PySet_NextEntry(v, &pos, &item, &ignored)) {
            err = fp_value(item, &fps[i++]); /* item is borrowed */
        }
#else
        PyObject *it = fps == NULL ? NULL : PyObject_GetIter(v), *item;
        err = it == NULL ? -1 : 0;
        while (err == 0 && i < n && (item = PyIter_Next(it)) != NULL) {
            err = fp_value(item, &fps[i++]);
            Py_DECREF(item);
        }
        Py_XDECREF(it);
#endif
        if (err == 0 && !PyErr_Occurred()) {
            if (n <= 16) { /* insertion sort: sets in states are small */
                for (Py_ssize_t j = 1; j < n; j++) {
                    uint64_t key = fps[j];
                    Py_ssize_t m = j;
                    for (; m > 0 && fps[m - 1] > key; m--) {
                        fps[m] = fps[m - 1];
                    }
                    fps[m] = key;
                }
            }
            else {
                qsort(fps, (size_t)n, sizeof(uint64_t), fp_compare);
            }
            sip_word(&h, FP_FROZENSET);
            sip_word(&h, (uint64_t)n);
            for (i = 0; i < n; i++) {
                sip_word(&h, fps[i]);
            }
        }
        else if (fps == NULL) {
            PyErr_NoMemory();
        }
        if (fps != small && fps != NULL) {
            PyMem_Free(fps);
        }
        if (PyErr_Occurred()) {
            return -1;
        }
    }
    else {
        PyErr_Format(PyExc_TypeError,
                     "cannot fingerprint a value of type %.100s (%.60R): states are built from "
                     "records, tuples, frozensets, str, int, bool, float and None", t->tp_name, v);
        return -1;
    }
    *out = sip_final(&h);
    return 0;
}

static PyObject *
speedups_fingerprint(PyObject *module, PyObject *v)
{
    uint64_t fp;
    if (fp_value(v, &fp) < 0) {
        return NULL;
    }
    return PyLong_FromUnsignedLongLong(fp);
}

/* part_fingerprint(indices, s): the fingerprint of s's items at ``indices`` (a tuple of ints):
 * of the item itself for one index, else of the plain tuple of them, built without building the
 * tuple (checkers/partition.py's key; models/fingerprint.py has the Python twin). The items
 * were fingerprinted with s a moment before, so they are found in the identity cache. */
static PyObject *
speedups_part_fingerprint(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 2 || !PyTuple_Check(args[0]) || !PyTuple_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "part_fingerprint(indices, s): two tuples");
        return NULL;
    }
    PyObject *indices = args[0], *s = args[1];
    Py_ssize_t n = PyTuple_GET_SIZE(indices);
    uint64_t fp = 0;
    sip_t h;
    if (n != 1) {
        sip_init(&h);
        sip_word(&h, FP_TUPLE);
        sip_word(&h, (uint64_t)n);
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        Py_ssize_t i = PyLong_AsSsize_t(PyTuple_GET_ITEM(indices, k));
        if (i == -1 && PyErr_Occurred()) {
            return NULL;
        }
        if (i < 0 || i >= PyTuple_GET_SIZE(s)) {
            PyErr_Format(PyExc_IndexError, "part_fingerprint: no item %zd in a state of %zd",
                         i, PyTuple_GET_SIZE(s));
            return NULL;
        }
        if (fp_value(PyTuple_GET_ITEM(s, i), &fp) < 0) {
            return NULL;
        }
        if (n != 1) {
            sip_word(&h, fp);
        }
    }
    return PyLong_FromUnsignedLongLong(n == 1 ? fp : sip_final(&h));
}

/*
 * expand(s, calls, fired, seen, fingerprint, checks, type_checks, known) -> (n, found)
 *
 * The inner loop of checkers/explicit.py for one state s: call every action of ``calls`` (a list
 * of (fn, arg), called as fn(s, arg), or (fn, args, None), called as fn(s, *args); a call returns
 * a state, None, or a list of states) and, for each successor t,
 *
 * 1. count it in ``fired`` (a writable buffer of uint64, one per call);
 * 2. check its declared types (``type_checks``: one predicate per field of s's record, or None):
 *    t must be a record of s's class whose changed fields pass their predicates (a value that
 *    passed is remembered in ``known``, a writable uint64 buffer the search owns, by the
 *    fingerprint of its field and encoding, so the predicate runs once per distinct value);
 * 3. fingerprint it (the fields t shares with s by identity are not encoded again);
 * 4. check the step with ``checks``: a refinement's (image, a, allowed), allowed when image(t) == a
 *    or image(t) in allowed; or a predicate called with t, which is skipped when t equals s (a
 *    stuttering step: TLA+'s [][A]_vars allows it);
 * 5. collect it if its fingerprint (``fingerprint(t)`` when given: the canonical one under
 *    symmetry) is not in ``seen`` (a FingerprintTable, a dict, or anything with ``in``; a
 *    shard's table also holds the successors it sent to another shard).
 *
 * Returns (number of successors, [(call index, t, fingerprint), ...] for the unseen ones), or
 * (-1, (check index, call index, t)) for a step that fails a check, or (-2, (field index, call
 * index, t)) for a successor outside its declared types (field -1: not a record of s's class).
 * An exception raised by the model propagates; the caller finds the action that raised by
 * calling them again. checkers/explicit.py has the same function in Python.
 */

typedef struct {
    PyObject *s, *seen, *fingerprint, *checks, *type_checks, *found, *violation;
    uint64_t *fired, *sfps, sfp, *known; /* sfps: the fingerprints of s's fields */
    sip_t *mid; /* mid[i]: the hash of s's header and first i fields, where successors resume */
    Py_ssize_t nknown;
} expansion_t;

/* Does item k of a successor, whose fingerprint is fp, pass its declared type? The answer for a
 * value is remembered in x->known (a direct-mapped table owned by the search) under its
 * fingerprint salted with k: fingerprints keep types apart, so 1 and True are different entries. */
static int
type_ok_item(expansion_t *x, Py_ssize_t k, PyObject *v, uint64_t fp)
{
    uint64_t key = (fp ^ ((uint64_t)(k + 1) * 0x9e3779b97f4a7c15ULL)) | 1; /* 0: empty */
    uint64_t *slot = x->nknown ? &x->known[key % (uint64_t)x->nknown] : NULL;
    if (slot != NULL && *slot == key) {
        return 1;
    }
    PyObject *ok = PyObject_CallOneArg(PyList_GET_ITEM(x->type_checks, k), v);
    int truth = ok == NULL ? -1 : PyObject_IsTrue(ok);
    Py_XDECREF(ok);
    if (truth > 0 && slot != NULL) {
        *slot = key;
    }
    return truth;
}

/* The fingerprint of successor t, reusing the encoding of the fields it shares with s; with
 * type checks, *bad is set to the first field outside its type (-1: t is not a record of s's
 * class), and the fingerprint is then not computed. */
static int
fp_successor(expansion_t *x, PyObject *t, uint64_t *out, Py_ssize_t *bad)
{
    PyObject *s = x->s;
    int typed = x->type_checks != Py_None;
    *bad = -2;
    if (x->sfps == NULL || Py_TYPE(t) != Py_TYPE(s)
            || PyTuple_GET_SIZE(t) != PyTuple_GET_SIZE(s)) {
        if (typed) {
            *bad = -1;
            return 0;
        }
        return fp_value(t, out);
    }
    Py_ssize_t n = PyTuple_GET_SIZE(t), first = 0;
    while (first < n && PyTuple_GET_ITEM(t, first) == PyTuple_GET_ITEM(s, first)) {
        first++;
    }
    if (first == n) {
        *out = x->sfp;
        return 0;
    }
    sip_t h = x->mid[first];
    for (Py_ssize_t i = first; i < n; i++) {
        PyObject *v = PyTuple_GET_ITEM(t, i);
        if (v == PyTuple_GET_ITEM(s, i)) {
            sip_word(&h, x->sfps[i]);
            continue;
        }
        uint64_t item;
        if (fp_value(v, &item) < 0) {
            return -1;
        }
        if (typed) {
            int ok = type_ok_item(x, i, v, item);
            if (ok <= 0) {
                *bad = i;
                return ok;
            }
        }
        sip_word(&h, item);
    }
    *out = sip_final(&h);
    return 0;
}

/* One successor t of call k. Returns 0, 1 when a check fails (x->violation is set), -1 on
 * error. */
static int
visit(expansion_t *x, PyObject *t, Py_ssize_t k)
{
    x->fired[k]++;
    uint64_t raw;
    Py_ssize_t bad;
    if (fp_successor(x, t, &raw, &bad) < 0) {
        return -1;
    }
    if (bad != -2) {
        x->violation = Py_BuildValue("(n(nnO))", (Py_ssize_t)-2, bad, k, t);
        return x->violation == NULL ? -1 : 1;
    }
    int stutter = -1; /* not known yet: only step predicates need it */
    Py_ssize_t nref = PyList_GET_SIZE(x->checks);
    for (Py_ssize_t r = 0; r < nref; r++) {
        PyObject *check = PyList_GET_ITEM(x->checks, r);
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
        else { /* a predicate of the step's target, but for a stuttering step */
            if (stutter < 0) {
                stutter = raw == x->sfp ? PyObject_RichCompareBool(t, x->s, Py_EQ) : 0;
                if (stutter < 0) {
                    return -1;
                }
            }
            if (stutter) {
                continue;
            }
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
            x->violation = Py_BuildValue("(n(nnO))", (Py_ssize_t)-1, r, k, t);
            return x->violation == NULL ? -1 : 1;
        }
    }
    PyObject *fp;
    if (x->fingerprint == Py_None) {
        fp = PyLong_FromUnsignedLongLong(raw);
    }
    else {
        fp = PyObject_CallOneArg(x->fingerprint, t);
    }
    if (fp == NULL) {
        return -1;
    }
    int known = PySequence_Contains(x->seen, fp); /* a FingerprintTable, or a dict */
    if (known != 0) {
        Py_DECREF(fp);
        return known < 0 ? -1 : 0;
    }
    PyObject *entry = Py_BuildValue("(nON)", k, t, fp); /* steals fp */
    if (entry == NULL) {
        return -1;
    }
    int err = PyList_Append(x->found, entry);
    Py_DECREF(entry);
    return err;
}

static PyObject *
speedups_expand(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 8 || !PyList_Check(args[1])
            || !PyList_Check(args[5]) || (args[6] != Py_None && !PyList_Check(args[6]))) {
        PyErr_SetString(PyExc_TypeError,
                        "expand(s, calls: list, fired, seen, fingerprint, checks: list, "
                        "type_checks: list | None, known)");
        return NULL;
    }
    expansion_t x = {.s = args[0], .seen = args[3], .fingerprint = args[4], .checks = args[5],
                     .type_checks = args[6]};
    PyObject *s = x.s, *calls = args[1];
    if (x.type_checks != Py_None
            && (!PyTuple_Check(s) || PyTuple_GET_SIZE(s) != PyList_GET_SIZE(x.type_checks))) {
        PyErr_SetString(PyExc_TypeError, "expand: type_checks need one predicate per field of s");
        return NULL;
    }
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
    x.fired = (uint64_t *)buf.buf;
    Py_buffer known = {.buf = NULL, .len = 0};
    if (args[7] != Py_None && PyObject_GetBuffer(args[7], &known, PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&buf);
        return NULL;
    }
    x.known = (uint64_t *)known.buf;
    x.nknown = known.len / 8;
    /* The encoding of s's fields, and the hash of each prefix of them, shared with the
     * successors that keep them. */
    uint64_t small[32];
    sip_t small_mid[33];
    Py_ssize_t width = PyTuple_Check(s) ? PyTuple_GET_SIZE(s) : 0;
    int status = 0;
    if (PyTuple_Check(s)) {
        if (width <= 32) {
            x.sfps = small;
            x.mid = small_mid;
        }
        else {
            x.sfps = PyMem_Malloc(width * sizeof(uint64_t));
            x.mid = PyMem_Malloc((width + 1) * sizeof(sip_t));
        }
        sip_t h;
        if (x.sfps == NULL || x.mid == NULL) {
            PyErr_NoMemory();
            status = -1;
        }
        else if (fp_tuple_head(&h, s) < 0) {
            status = -1;
        }
        for (Py_ssize_t i = 0; i < width && status == 0; i++) {
            x.mid[i] = h;
            status = fp_value(PyTuple_GET_ITEM(s, i), &x.sfps[i]);
            if (status == 0) {
                sip_word(&h, x.sfps[i]);
            }
        }
        if (status == 0) {
            x.sfp = sip_final(&h);
        }
    }
    else {
        status = fp_value(s, &x.sfp);
    }
    x.found = status < 0 ? NULL : PyList_New(0);
    Py_ssize_t n = 0;
    if (x.found == NULL) {
        status = -1;
    }
    for (Py_ssize_t k = 0; k < ncalls && status == 0; k++) {
        PyObject *call = PyList_GET_ITEM(calls, k);
        PyObject *out;
        if (PyTuple_GET_SIZE(call) == 3) {  /* (fn, args, None): fn(s, *args) */
            PyObject *args = PyTuple_GET_ITEM(call, 1);
            Py_ssize_t nargs = PyTuple_GET_SIZE(args);
            PyObject *argv[9];
            if (nargs > 8) {
                PyErr_SetString(PyExc_TypeError, "expand: an action takes at most 8 arguments");
                out = NULL;
            }
            else {
                argv[0] = s;
                for (Py_ssize_t a = 0; a < nargs; a++) {
                    argv[a + 1] = PyTuple_GET_ITEM(args, a);
                }
                out = PyObject_Vectorcall(PyTuple_GET_ITEM(call, 0), argv, nargs + 1, NULL);
            }
        }
        else {
            PyObject *argv[2] = {s, PyTuple_GET_ITEM(call, 1)};
            out = PyObject_Vectorcall(PyTuple_GET_ITEM(call, 0), argv, 2, NULL);
        }
        if (out == NULL) {
            status = -1;
        }
        else if (PyList_CheckExact(out)) {
            for (Py_ssize_t j = 0; j < PyList_GET_SIZE(out) && status == 0; j++) {
                n++;
                status = visit(&x, PyList_GET_ITEM(out, j), k);
            }
        }
        else if (out != Py_None) {
            n++;
            status = visit(&x, out, k);
        }
        Py_XDECREF(out);
    }
    PyBuffer_Release(&buf);
    if (known.buf != NULL) {
        PyBuffer_Release(&known);
    }
    if (x.sfps != small) {
        PyMem_Free(x.mid);
        PyMem_Free(x.sfps);
    }
    if (status < 0) {
        Py_XDECREF(x.found);
        return NULL;
    }
    if (status == 1) {
        Py_DECREF(x.found);
        return x.violation;
    }
    return Py_BuildValue("(nN)", n, x.found);
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

/* ---- the state graph of a liveness check (checkers/liveness.py) ----------------------------
 * The graph is flat: the out-edges of state i are dst[start[i] : start[i] + count[i]] (start
 * and count int64 arrays, dst and the edges' fairness labels int32); mask (one byte per
 * state) selects the states a pass may visit. */

typedef struct {
    Py_buffer start, count, dst, mask;
    int64_t n;
} graph_t;

static int
int_buffer(PyObject *o, Py_buffer *b, int writable, const char *what, Py_ssize_t size)
{
    if (PyObject_GetBuffer(o, b, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS
                           | (writable ? PyBUF_WRITABLE : 0)) < 0) {
        return -1;
    }
    int ok = b->itemsize == size && b->format != NULL
             && (size == 8 ? strcmp(b->format, "q") == 0 || strcmp(b->format, "l") == 0
                           : strcmp(b->format, "i") == 0);
    if (!ok) {
        PyBuffer_Release(b);
        PyErr_Format(PyExc_TypeError, "%s must be an array of int%d ('%s')", what,
                     (int)(8 * size), size == 8 ? "q" : "i");
        return -1;
    }
    return 0;
}

#define i64_buffer(o, b, w, what) int_buffer(o, b, w, what, 8)
#define i32_buffer(o, b, w, what) int_buffer(o, b, w, what, 4)

static void
graph_release(graph_t *g, int got)
{
    Py_buffer *bufs[4] = {&g->start, &g->count, &g->dst, &g->mask};
    for (int k = 0; k < got; k++) {
        PyBuffer_Release(bufs[k]);
    }
}

/* Reads the four graph arguments and checks every edge stays inside the graph. */
static int
graph_get(PyObject *const *args, graph_t *g)
{
    if (i64_buffer(args[0], &g->start, 0, "start") < 0) {
        return -1;
    }
    if (i64_buffer(args[1], &g->count, 0, "count") < 0) {
        graph_release(g, 1);
        return -1;
    }
    if (i32_buffer(args[2], &g->dst, 0, "dst") < 0) {
        graph_release(g, 2);
        return -1;
    }
    if (PyObject_GetBuffer(args[3], &g->mask, PyBUF_C_CONTIGUOUS) < 0) {
        graph_release(g, 3);
        return -1;
    }
    g->n = g->mask.len;
    const int64_t *start = g->start.buf, *count = g->count.buf;
    const int32_t *dst = g->dst.buf;
    int64_t edges = g->dst.len / 4;
    int bad = g->start.len / 8 != g->n || g->count.len / 8 != g->n;
    for (int64_t i = 0; !bad && i < g->n; i++) {
        if (count[i] == 0) {
            continue;
        }
        bad = count[i] < 0 || start[i] < 0 || start[i] + count[i] > edges;
        for (int64_t e = start[i]; !bad && e < start[i] + count[i]; e++) {
            bad = dst[e] < 0 || dst[e] >= g->n;
        }
    }
    if (bad) {
        graph_release(g, 4);
        PyErr_SetString(PyExc_ValueError, "the graph's arrays do not fit together");
        return -1;
    }
    return 0;
}

/* reach_into(start, count, dst, mask, roots, parent, order, region) -> number of states in
 * order: breadth-first from the states where the byte mask roots is set, through the states
 * where mask is set; parent (-1 for a root, -2 for a state not reached), order and region (a
 * byte mask of the states reached) are written. */
static PyObject *
speedups_reach_into(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 8) {
        PyErr_SetString(PyExc_TypeError,
                        "reach_into(start, count, dst, mask, roots, parent, order, region)");
        return NULL;
    }
    graph_t g;
    if (graph_get(args, &g) < 0) {
        return NULL;
    }
    Py_buffer roots, parent_b, order_b, region_b;
    if (PyObject_GetBuffer(args[4], &roots, PyBUF_C_CONTIGUOUS) < 0) {
        graph_release(&g, 4);
        return NULL;
    }
    if (i64_buffer(args[5], &parent_b, 1, "parent") < 0) {
        PyBuffer_Release(&roots);
        graph_release(&g, 4);
        return NULL;
    }
    if (i64_buffer(args[6], &order_b, 1, "order") < 0) {
        PyBuffer_Release(&parent_b);
        PyBuffer_Release(&roots);
        graph_release(&g, 4);
        return NULL;
    }
    if (PyObject_GetBuffer(args[7], &region_b, PyBUF_C_CONTIGUOUS | PyBUF_WRITABLE) < 0) {
        PyBuffer_Release(&order_b);
        PyBuffer_Release(&parent_b);
        PyBuffer_Release(&roots);
        graph_release(&g, 4);
        return NULL;
    }
    int64_t n = g.n, tail = 0;
    PyObject *result = NULL;
    if (parent_b.len / 8 != n || order_b.len / 8 != n || roots.len != n || region_b.len != n) {
        PyErr_SetString(PyExc_ValueError, "roots, parent, order and region need one entry per "
                                          "state");
        goto done;
    }
    const int64_t *start = g.start.buf, *count = g.count.buf;
    const int32_t *dst = g.dst.buf;
    const unsigned char *root = roots.buf, *mask = g.mask.buf;
    unsigned char *region = region_b.buf;
    int64_t *parent = parent_b.buf, *order = order_b.buf;
    for (int64_t i = 0; i < n; i++) {
        parent[i] = -2;
        region[i] = 0;
    }
    for (int64_t r = 0; r < n; r++) {
        if (root[r] && mask[r]) {
            parent[r] = -1;
            order[tail++] = r;
        }
    }
    for (int64_t head = 0; head < tail; head++) {
        int64_t i = order[head];
        region[i] = 1;
        for (int64_t e = start[i]; e < start[i] + count[i]; e++) {
            int64_t j = dst[e];
            if (mask[j] && parent[j] == -2) {
                parent[j] = i;
                order[tail++] = j;
            }
        }
    }
    result = PyLong_FromLongLong(tail);
done:
    PyBuffer_Release(&region_b);
    PyBuffer_Release(&order_b);
    PyBuffer_Release(&parent_b);
    PyBuffer_Release(&roots);
    graph_release(&g, 4);
    return result;
}

/* strongly_connected_into(start, count, dst, mask, comp, sizes) -> number of components:
 * Tarjan's algorithm without recursion, as the Python twin (checkers/liveness.py) runs it;
 * comp[i] is state i's component (-1 outside the mask), sizes[c] the size of component c. */
static PyObject *
speedups_strongly_connected_into(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6) {
        PyErr_SetString(PyExc_TypeError,
                        "strongly_connected_into(start, count, dst, mask, comp, sizes)");
        return NULL;
    }
    graph_t g;
    if (graph_get(args, &g) < 0) {
        return NULL;
    }
    Py_buffer comp_b, sizes_b;
    if (i64_buffer(args[4], &comp_b, 1, "comp") < 0) {
        graph_release(&g, 4);
        return NULL;
    }
    if (i64_buffer(args[5], &sizes_b, 1, "sizes") < 0) {
        PyBuffer_Release(&comp_b);
        graph_release(&g, 4);
        return NULL;
    }
    int64_t n = g.n, components = 0, counter = 0;
    PyObject *result = NULL;
    int64_t *number = NULL, *low = NULL, *stack = NULL, *work_node = NULL, *work_edge = NULL;
    unsigned char *on_stack = NULL;
    if (comp_b.len / 8 != n || sizes_b.len / 8 != n) {
        PyErr_SetString(PyExc_ValueError, "comp and sizes need one entry per state");
        goto done;
    }
    size_t size = (size_t)(n ? n : 1) * sizeof(int64_t);
    number = PyMem_Malloc(size);
    low = PyMem_Malloc(size);
    stack = PyMem_Malloc(size);
    work_node = PyMem_Malloc(size);
    work_edge = PyMem_Malloc(size);
    on_stack = PyMem_Calloc((size_t)(n ? n : 1), 1);
    if (!number || !low || !stack || !work_node || !work_edge || !on_stack) {
        PyErr_NoMemory();
        goto done;
    }
    const int64_t *start = g.start.buf, *count = g.count.buf;
    const int32_t *dst = g.dst.buf;
    const unsigned char *mask = g.mask.buf;
    int64_t *comp = comp_b.buf, *sizes = sizes_b.buf;
    int64_t top = 0, depth = 0;
    for (int64_t i = 0; i < n; i++) {
        comp[i] = -1;
        number[i] = -1;
    }
    for (int64_t root = 0; root < n; root++) {
        if (!mask[root] || number[root] >= 0) {
            continue;
        }
        number[root] = low[root] = counter++;
        stack[top++] = root;
        on_stack[root] = 1;
        work_node[0] = root;
        work_edge[0] = start[root];
        depth = 1;
        while (depth > 0) {
            int64_t i = work_node[depth - 1], e = work_edge[depth - 1];
            int64_t end = start[i] + count[i];
            int descended = 0;
            while (e < end) {
                int64_t j = dst[e++];
                if (!mask[j]) {
                    continue;
                }
                if (number[j] < 0) {
                    work_edge[depth - 1] = e;
                    number[j] = low[j] = counter++;
                    stack[top++] = j;
                    on_stack[j] = 1;
                    work_node[depth] = j;
                    work_edge[depth] = start[j];
                    depth++;
                    descended = 1;
                    break;
                }
                if (on_stack[j] && number[j] < low[i]) {
                    low[i] = number[j];
                }
            }
            if (descended) {
                continue;
            }
            depth--;
            if (depth > 0 && low[i] < low[work_node[depth - 1]]) {
                low[work_node[depth - 1]] = low[i];
            }
            if (low[i] == number[i]) {
                int64_t j;
                sizes[components] = 0;
                do {
                    j = stack[--top];
                    on_stack[j] = 0;
                    comp[j] = components;
                    sizes[components]++;
                } while (j != i);
                components++;
            }
        }
    }
    result = PyLong_FromLongLong(components);
done:
    PyMem_Free(number);
    PyMem_Free(low);
    PyMem_Free(stack);
    PyMem_Free(work_node);
    PyMem_Free(work_edge);
    PyMem_Free(on_stack);
    PyBuffer_Release(&sizes_b);
    PyBuffer_Release(&comp_b);
    graph_release(&g, 4);
    return result;
}

/* graph_edges(found, own, index, units, dst, label, pos) -> (new pos, moves): the out-edges of
 * one state, written at dst[pos:] and label[pos:] (int32 arrays the caller has made long
 * enough): for each successor (k, t, f) in found (expand's list) with f != own and f a key of
 * index, index[f] and units[k]; moves says whether some edge has a fair label (>= 0). */
static PyObject *
speedups_graph_edges(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7 || !PyList_Check(args[0]) || !PyDict_Check(args[2])
        || !PyList_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "graph_edges(found: list, own, index: dict, "
                                         "units: list, dst, label, pos)");
        return NULL;
    }
    PyObject *found = args[0], *own = args[1], *index = args[2], *units = args[3];
    Py_ssize_t pos = PyLong_AsSsize_t(args[6]);
    if (pos == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_buffer dst_b, label_b;
    if (i32_buffer(args[4], &dst_b, 1, "dst") < 0) {
        return NULL;
    }
    if (i32_buffer(args[5], &label_b, 1, "label") < 0) {
        PyBuffer_Release(&dst_b);
        return NULL;
    }
    PyObject *result = NULL;
    int32_t *dst = dst_b.buf, *label = label_b.buf;
    Py_ssize_t n = PyList_GET_SIZE(found), capacity = dst_b.len / 4;
    int moves = 0;
    if (label_b.len / 4 < capacity) {
        capacity = label_b.len / 4;
    }
    if (pos < 0 || pos + n > capacity) {
        PyErr_SetString(PyExc_ValueError, "graph_edges: dst and label are too short");
        goto done;
    }
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *item = PyList_GET_ITEM(found, k);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != 3) {
            PyErr_SetString(PyExc_TypeError, "graph_edges: found holds (call, t, f) tuples");
            goto done;
        }
        PyObject *f = PyTuple_GET_ITEM(item, 2);
        int same = PyObject_RichCompareBool(f, own, Py_EQ);
        if (same < 0) {
            goto done;
        }
        if (same) {
            continue;
        }
        PyObject *j = PyDict_GetItemWithError(index, f);
        if (j == NULL) {
            if (PyErr_Occurred()) {
                goto done;
            }
            continue;
        }
        Py_ssize_t call = PyLong_AsSsize_t(PyTuple_GET_ITEM(item, 0));
        if (call == -1 && PyErr_Occurred()) {
            goto done;
        }
        if (call < 0 || call >= PyList_GET_SIZE(units)) {
            PyErr_SetString(PyExc_IndexError, "graph_edges: a call has no unit");
            goto done;
        }
        long state = PyLong_AsLong(j), unit = PyLong_AsLong(PyList_GET_ITEM(units, call));
        if ((state == -1 || unit == -1) && PyErr_Occurred()) {
            goto done;
        }
        dst[pos] = (int32_t)state;
        label[pos] = (int32_t)unit;
        moves |= unit >= 0;
        pos++;
    }
    result = Py_BuildValue("(ni)", pos, moves);
done:
    PyBuffer_Release(&label_b);
    PyBuffer_Release(&dst_b);
    return result;
}

/*
 * permute(desc, v, perm): v with every id i of a symmetric domain renamed to perm[i]; the C twin
 * of models/symmetry.py's permute_value, which documents the descriptor ``desc`` (built once per
 * model from its typed declarations, so a state is rebuilt in one pass instead of through a
 * closure per field and element: issue 13, item 1).
 *
 * permute_fingerprint(desc, v, perm): fingerprint(permute(desc, v, perm)), computed without
 * building the renamed value (but for a Bag of two or more items, whose order needs its Python
 * sort key, and a type's own permuter): what the search of a representative compares.
 */
enum { P_ID, P_OPT, P_ARRIDX, P_TUPLE, P_FSET, P_BAG, P_REC, P_ONEOF, P_CALL };

/* A renaming of the ids 0 .. n-1: id i becomes img[i]. Held in C, so that trying a renaming
 * allocates nothing. */
#define CANON_MAX_IDS 64
typedef struct {
    Py_ssize_t n;
    Py_ssize_t img[CANON_MAX_IDS];
} perm_t;

/* The renaming as Python code takes it: a tuple of ints. */
static PyObject *
perm_tuple(const perm_t *p)
{
    PyObject *t = PyTuple_New(p->n);
    for (Py_ssize_t i = 0; t != NULL && i < p->n; i++) {
        PyObject *v = PyLong_FromSsize_t(p->img[i]);
        if (v == NULL) {
            Py_CLEAR(t);
            break;
        }
        PyTuple_SET_ITEM(t, i, v);
    }
    return t;
}

static int
perm_is_identity(const perm_t *p)
{
    for (Py_ssize_t i = 0; i < p->n; i++) {
        if (p->img[i] != i) {
            return 0;
        }
    }
    return 1;
}

static int
perm_from_tuple(PyObject *o, perm_t *p)
{
    if (!PyTuple_Check(o) || PyTuple_GET_SIZE(o) > CANON_MAX_IDS) {
        PyErr_Format(PyExc_TypeError, "permute: perm is a tuple of at most %d ids",
                     CANON_MAX_IDS);
        return -1;
    }
    p->n = PyTuple_GET_SIZE(o);
    char hit[CANON_MAX_IDS] = {0};
    for (Py_ssize_t i = 0; i < p->n; i++) {
        p->img[i] = PyLong_AsSsize_t(PyTuple_GET_ITEM(o, i));
        if (p->img[i] == -1 && PyErr_Occurred()) {
            return -1;
        }
        if (p->img[i] < 0 || p->img[i] >= p->n || hit[p->img[i]]++) {
            /* (an array renamed by it would have holes) */
            PyErr_SetString(PyExc_ValueError, "permute: perm is not a permutation of 0 .. n-1");
            return -1;
        }
    }
    return 0;
}

/* The image of array position i, or -1 with an IndexError when perm does not fit the array. */
static inline Py_ssize_t
perm_slot(const perm_t *p, Py_ssize_t i, Py_ssize_t size)
{
    Py_ssize_t j = i < p->n ? p->img[i] : -1;
    if (j < 0 || j >= size) {
        PyErr_SetString(PyExc_IndexError, "permute: perm does not fit the array");
        return -1;
    }
    return j;
}

/* The image of the id v, as perm[v] gives it in Python (a negative id counts from the end):
 * 0 with *out set, or -1 when v is not an int in range (nothing is raised: the caller asks
 * Python for its error). */
static inline int
perm_id(const perm_t *p, PyObject *v, Py_ssize_t *out)
{
    if (!PyLong_Check(v)) {
        return -1;
    }
    Py_ssize_t i = PyLong_AsSsize_t(v);
    if (i == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return -1;
    }
    if (i < 0) {
        i += p->n;
    }
    if (i < 0 || i >= p->n) {
        return -1;
    }
    *out = p->img[i];
    return 0;
}

static PyObject *perm_value(PyObject *desc, PyObject *v, const perm_t *p);

/* v itself when its renaming out (a tuple, or a record of v's class) holds the very same items:
   a renaming leaves much of a state as it is (an array whose entries are all equal, a set the
   renaming maps onto itself), and a state that shares them with the original is quicker to
   fingerprint and compare. Steals out. */
static PyObject *
perm_same(PyObject *v, PyObject *out)
{
    if (out == NULL || Py_TYPE(out) != Py_TYPE(v) || PyTuple_GET_SIZE(out) != PyTuple_GET_SIZE(v)) {
        return out;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(v); i++) {
        if (PyTuple_GET_ITEM(out, i) != PyTuple_GET_ITEM(v, i)) {
            return out;
        }
    }
    Py_DECREF(out);
    Py_INCREF(v);
    return v;
}

/* A frozenset renamed: itself when the renaming maps it onto itself (its n renamed elements
   are distinct, so they are its elements when each is one), else a new one. */
static PyObject *
perm_frozenset(PyObject *inner, PyObject *v, const perm_t *p)
{
    Py_ssize_t n = PySet_GET_SIZE(v), i = 0;
    if (n == 0) {
        Py_INCREF(v);
        return v;
    }
    PyObject *out = PyTuple_New(n), *x;
    if (out == NULL) {
        return NULL;
    }
    int same = 1;
#if PY_VERSION_HEX < 0x030D0000
    Py_ssize_t pos = 0;
    Py_hash_t ignored;
    while (_PySet_NextEntry(v, &pos, &x, &ignored)) { /* x is borrowed */
#else
    PyObject *it = PyObject_GetIter(v);
    if (it == NULL) {
        Py_DECREF(out);
        return NULL;
    }
    while (i < n && (x = PyIter_Next(it)) != NULL) {
        Py_DECREF(x); /* (v holds it) */
#endif
        PyObject *y = perm_value(inner, x, p);
        if (y == NULL) {
            same = -1;
            break;
        }
        PyTuple_SET_ITEM(out, i++, y);
        if (same == 1 && y != x) {
            same = PySet_Contains(v, y);
        }
        if (same < 0) {
            break;
        }
    }
#if PY_VERSION_HEX >= 0x030D0000
    Py_DECREF(it);
    if (PyErr_Occurred()) {
        same = -1;
    }
#endif
    PyObject *r = same < 0 ? NULL : same ? (Py_INCREF(v), v) : PyFrozenSet_New(out);
    Py_DECREF(out);
    return r;
}

static PyObject *
perm_items(PyObject *inner, PyObject *v, const perm_t *p, int indexed)
{
    /* A tuple of v's items, each permuted by inner (None: kept), at perm[i] when indexed. */
    Py_ssize_t n = PyTuple_GET_SIZE(v);
    PyObject *out = PyTuple_New(n);
    if (out == NULL) {
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *x = PyTuple_GET_ITEM(v, i);
        Py_ssize_t j = indexed ? perm_slot(p, i, n) : i;
        if (j < 0) {
            Py_DECREF(out);
            return NULL;
        }
        PyObject *y;
        if (inner == Py_None) {
            Py_INCREF(x);
            y = x;
        } else if ((y = perm_value(inner, x, p)) == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyTuple_SET_ITEM(out, j, y); /* out starts full of NULLs; j is a permutation of i */
    }
    return perm_same(v, out);
}

static PyObject *
perm_value(PyObject *desc, PyObject *v, const perm_t *p)
{
    if (!PyTuple_Check(desc) || PyTuple_GET_SIZE(desc) < 1) {
        PyErr_SetString(PyExc_TypeError, "permute: a descriptor is a non-empty tuple");
        return NULL;
    }
    long kind = PyLong_AsLong(PyTuple_GET_ITEM(desc, 0));
    PyObject *a = PyTuple_GET_SIZE(desc) > 1 ? PyTuple_GET_ITEM(desc, 1) : Py_None;
    switch (kind) {
    case P_ID: {
        Py_ssize_t j;
        if (perm_id(p, v, &j) == 0) {
            return PyLong_FromSsize_t(j);
        }
        PyObject *t = perm_tuple(p); /* the error Python gives */
        PyObject *r = t == NULL ? NULL : PyObject_GetItem(t, v);
        Py_XDECREF(t);
        return r;
    }
    case P_OPT:
        if (v == Py_None) {
            Py_RETURN_NONE;
        }
        return perm_value(a, v, p);
    case P_ARRIDX:
    case P_TUPLE:
        if (!PyTuple_Check(v)) {
            PyErr_SetString(PyExc_TypeError, "permute: expected a tuple");
            return NULL;
        }
        return perm_items(a, v, p, kind == P_ARRIDX);
    case P_FSET:
    case P_BAG: {
        if (kind == P_FSET && PyFrozenSet_CheckExact(v)) {
            return perm_frozenset(a, v, p);
        }
        if (PyObject_Length(v) == 0) { /* nothing to rename (and no allocation) */
            if (PyErr_Occurred()) {
                return NULL;
            }
            Py_INCREF(v);
            return v;
        }
        PyObject *items = PySequence_Fast(v, "permute: expected a collection");
        if (items == NULL) {
            return NULL;
        }
        Py_ssize_t n = PySequence_Fast_GET_SIZE(items);
        PyObject *list = PyList_New(n);
        if (list == NULL) {
            Py_DECREF(items);
            return NULL;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *y = perm_value(a, PySequence_Fast_GET_ITEM(items, i), p);
            if (y == NULL) {
                Py_DECREF(items);
                Py_DECREF(list);
                return NULL;
            }
            PyList_SET_ITEM(list, i, y);
        }
        Py_DECREF(items);
        PyObject *r;
        if (kind == P_FSET) {
            r = PyFrozenSet_New(list);
        } else if (n < 2) { /* one element is in order */
            r = perm_same(v, PyList_AsTuple(list));
        } else {
            /* The Bag's canonical order: list.sort(key=desc[2]), stable like sorted(). */
            PyObject *sort = PyObject_GetAttrString(list, "sort");
            PyObject *kw = sort == NULL ? NULL : Py_BuildValue("{sO}", "key",
                                                              PyTuple_GET_ITEM(desc, 2));
            PyObject *empty = kw == NULL ? NULL : PyTuple_New(0);
            PyObject *done = empty == NULL ? NULL : PyObject_Call(sort, empty, kw);
            Py_XDECREF(sort);
            Py_XDECREF(kw);
            Py_XDECREF(empty);
            r = done == NULL ? NULL : perm_same(v, PyList_AsTuple(list));
            Py_XDECREF(done);
        }
        Py_DECREF(list);
        return r;
    }
    case P_REC: {
        /* (P_REC, cls, ((position, desc), ...)): a copy of the record, the listed fields permuted */
        PyTypeObject *type = (PyTypeObject *)a;
        PyObject *parts = PyTuple_GET_ITEM(desc, 2);
        if (!PyTuple_Check(v)) {
            PyErr_SetString(PyExc_TypeError, "permute: expected a record");
            return NULL;
        }
        Py_ssize_t n = PyTuple_GET_SIZE(v);
        PyObject *out = type->tp_alloc(type, n);
        if (out == NULL) {
            return NULL;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *x = PyTuple_GET_ITEM(v, i);
            Py_INCREF(x);
            PyTuple_SET_ITEM(out, i, x);
        }
        for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(parts); k++) {
            PyObject *part = PyTuple_GET_ITEM(parts, k);
            Py_ssize_t i = PyLong_AsSsize_t(PyTuple_GET_ITEM(part, 0));
            if (i < 0 || i >= n) {
                if (!PyErr_Occurred()) {
                    PyErr_SetString(PyExc_IndexError, "permute: field position out of range");
                }
                Py_DECREF(out);
                return NULL;
            }
            PyObject *y = perm_value(PyTuple_GET_ITEM(part, 1), PyTuple_GET_ITEM(v, i), p);
            if (y == NULL) {
                Py_DECREF(out);
                return NULL;
            }
            PyObject *old = PyTuple_GET_ITEM(out, i);
            PyTuple_SET_ITEM(out, i, y);
            Py_DECREF(old);
        }
        return perm_same(v, out);
    }
    case P_ONEOF: {
        /* (P_ONEOF, {cls: desc or None}) */
        PyObject *inner = PyDict_GetItemWithError(a, (PyObject *)Py_TYPE(v));
        if (inner == NULL) {
            if (!PyErr_Occurred()) {
                PyErr_Format(PyExc_TypeError, "permute: %R is none of the alternatives", v);
            }
            return NULL;
        }
        if (inner == Py_None) {
            Py_INCREF(v);
            return v;
        }
        return perm_value(inner, v, p);
    }
    case P_CALL: { /* (P_CALL, fn): fn(v, perm), for the types with no code here (Map) */
        PyObject *t = perm_tuple(p);
        PyObject *r = t == NULL ? NULL : PyObject_CallFunctionObjArgs(a, v, t, NULL);
        Py_XDECREF(t);
        return r;
    }
    default:
        if (!PyErr_Occurred()) {
            PyErr_Format(PyExc_ValueError, "permute: unknown descriptor kind %ld", kind);
        }
        return NULL;
    }
}

static PyObject *
speedups_permute(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    perm_t p;
    if (nargs != 3 || !PyTuple_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "permute(desc, v, perm) takes perm as a tuple");
        return NULL;
    }
    if (perm_from_tuple(args[2], &p) < 0) {
        return NULL;
    }
    return perm_value(args[0], args[1], &p);
}

/* The fingerprint of an int that fits a machine word (fp_value's encoding). */
static inline uint64_t
fp_word(Py_ssize_t x)
{
    return x >= SMALL_MIN && x <= SMALL_MAX ? fp_small[x - SMALL_MIN]
                                            : fp_scalar(FP_INT, (uint64_t)x);
}

static void
fp_sort(uint64_t *fps, Py_ssize_t n)
{
    if (n > 16) {
        qsort(fps, (size_t)n, sizeof(uint64_t), fp_compare);
        return;
    }
    for (Py_ssize_t j = 1; j < n; j++) { /* insertion sort: sets in states are small */
        uint64_t key = fps[j];
        Py_ssize_t m = j;
        for (; m > 0 && fps[m - 1] > key; m--) {
            fps[m] = fps[m - 1];
        }
        fps[m] = key;
    }
}

static int fp_perm(PyObject *desc, PyObject *v, const perm_t *p, uint64_t *out);

/* The slow way, and the one that raises what permute raises: build the renaming. */
static int
fp_perm_built(PyObject *desc, PyObject *v, const perm_t *p, uint64_t *out)
{
    PyObject *y = perm_value(desc, v, p);
    if (y == NULL) {
        return -1;
    }
    int err = fp_value(y, out);
    Py_DECREF(y);
    return err;
}

/* The fingerprint of perm_items(inner, v, p, indexed), an exact tuple, from its items'. */
static int
fp_perm_items(PyObject *inner, PyObject *v, const perm_t *p, int indexed, uint64_t *out)
{
    Py_ssize_t n = PyTuple_GET_SIZE(v);
    uint64_t small[CANON_MAX_IDS];
    uint64_t *fps = n <= CANON_MAX_IDS ? small : PyMem_Malloc(n * sizeof(uint64_t));
    if (fps == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    int err = 0;
    for (Py_ssize_t i = 0; i < n && err == 0; i++) { /* (indexed: perm fits, see fp_perm) */
        err = fp_perm(inner, PyTuple_GET_ITEM(v, i), p, &fps[indexed ? p->img[i] : i]);
    }
    if (err == 0) {
        sip_t h;
        sip_init(&h);
        sip_word(&h, FP_TUPLE);
        sip_word(&h, (uint64_t)n);
        for (Py_ssize_t i = 0; i < n; i++) {
            sip_word(&h, fps[i]);
        }
        *out = sip_final(&h);
    }
    if (fps != small) {
        PyMem_Free(fps);
    }
    return err;
}

static int
fp_perm(PyObject *desc, PyObject *v, const perm_t *p, uint64_t *out)
{
    if (desc == Py_None) {
        return fp_value(v, out);
    }
    if (!PyTuple_Check(desc) || PyTuple_GET_SIZE(desc) < 1) {
        return fp_perm_built(desc, v, p, out);
    }
    long kind = PyLong_AsLong(PyTuple_GET_ITEM(desc, 0));
    PyObject *a = PyTuple_GET_SIZE(desc) > 1 ? PyTuple_GET_ITEM(desc, 1) : Py_None;
    switch (kind) {
    case P_ID: {
        Py_ssize_t j;
        if (perm_id(p, v, &j) < 0) {
            return fp_perm_built(desc, v, p, out);
        }
        *out = fp_word(j);
        return 0;
    }
    case P_OPT:
        if (v == Py_None) {
            *out = fp_none;
            return 0;
        }
        return fp_perm(a, v, p, out);
    case P_ARRIDX:
    case P_TUPLE:
        if (!PyTuple_Check(v)) {
            break;
        }
        if (kind == P_ARRIDX) {
            for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(v); i++) {
                if (i >= p->n || p->img[i] < 0 || p->img[i] >= PyTuple_GET_SIZE(v)) {
                    return fp_perm_built(desc, v, p, out); /* permute's IndexError */
                }
            }
        }
        return fp_perm_items(a, v, p, kind == P_ARRIDX, out);
    case P_FSET: {
        if (!PyFrozenSet_CheckExact(v)) {
            break;
        }
        Py_ssize_t n = PySet_GET_SIZE(v), i = 0;
        if (n == 0) { /* permute returns it as it is */
            return fp_value(v, out);
        }
        /* The renamings of distinct elements are distinct (a renaming is one to one), so the
           renamed set has n elements: their fingerprints, sorted. */
        uint64_t small[16];
        uint64_t *fps = n <= 16 ? small : PyMem_Malloc(n * sizeof(uint64_t));
        if (fps == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        int err = 0;
#if PY_VERSION_HEX < 0x030D0000
        Py_ssize_t pos = 0;
        PyObject *item;
        Py_hash_t ignored;
        while (err == 0 && _PySet_NextEntry(v, &pos, &item, &ignored)) {
            err = fp_perm(a, item, p, &fps[i++]); /* item is borrowed */
        }
#else
        PyObject *it = PyObject_GetIter(v), *item;
        err = it == NULL ? -1 : 0;
        while (err == 0 && i < n && (item = PyIter_Next(it)) != NULL) {
            err = fp_perm(a, item, p, &fps[i++]);
            Py_DECREF(item);
        }
        Py_XDECREF(it);
        if (err == 0 && PyErr_Occurred()) {
            err = -1;
        }
#endif
        if (err == 0) {
            fp_sort(fps, n);
            sip_t h;
            sip_init(&h);
            sip_word(&h, FP_FROZENSET);
            sip_word(&h, (uint64_t)n);
            for (i = 0; i < n; i++) {
                sip_word(&h, fps[i]);
            }
            *out = sip_final(&h);
        }
        if (fps != small) {
            PyMem_Free(fps);
        }
        return err;
    }
    case P_BAG:
        if (!PyTuple_Check(v) || PyTuple_GET_SIZE(v) > 1) {
            break; /* two or more: sorted by the Bag's key, in Python */
        }
        if (PyTuple_GET_SIZE(v) == 0) { /* permute returns it as it is */
            return fp_value(v, out);
        }
        return fp_perm_items(a, v, p, 0, out); /* one item: an exact tuple of its renaming */
    case P_REC: {
        PyTypeObject *type = (PyTypeObject *)a;
        PyObject *parts = PyTuple_GET_ITEM(desc, 2);
        if (!PyTuple_Check(v) || !PyType_Check(a) || type == &PyTuple_Type
                || !PyType_IsSubtype(type, &PyTuple_Type)) {
            break;
        }
        Py_ssize_t n = PyTuple_GET_SIZE(v), np = PyTuple_GET_SIZE(parts), k = 0;
        uint64_t tf;
        sip_t h;
        if (fp_type(type, &tf) < 0) {
            return -1;
        }
        sip_init(&h);
        sip_word(&h, FP_RECORD);
        sip_word(&h, tf);
        sip_word(&h, (uint64_t)n);
        for (Py_ssize_t i = 0; i < n; i++) {
            /* parts list the permuted fields in the order of their positions */
            PyObject *part = k < np ? PyTuple_GET_ITEM(parts, k) : NULL;
            PyObject *d = Py_None;
            uint64_t item;
            if (part != NULL && PyLong_AsSsize_t(PyTuple_GET_ITEM(part, 0)) == i) {
                d = PyTuple_GET_ITEM(part, 1);
                k++;
            }
            if (fp_perm(d, PyTuple_GET_ITEM(v, i), p, &item) < 0) {
                return -1;
            }
            sip_word(&h, item);
        }
        if (k < np || PyErr_Occurred()) { /* a position out of order or out of range */
            PyErr_Clear();
            return fp_perm_built(desc, v, p, out);
        }
        *out = sip_final(&h);
        return 0;
    }
    case P_ONEOF: {
        PyObject *inner = PyDict_GetItemWithError(a, (PyObject *)Py_TYPE(v));
        if (inner == NULL) {
            if (PyErr_Occurred()) {
                return -1;
            }
            break;
        }
        return fp_perm(inner, v, p, out);
    }
    default:
        break;
    }
    return fp_perm_built(desc, v, p, out);
}

static PyObject *
speedups_permute_fingerprint(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    perm_t p;
    uint64_t fp;
    if (nargs != 3 || !PyTuple_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "permute_fingerprint(desc, v, perm) takes perm as a tuple");
        return NULL;
    }
    if (perm_from_tuple(args[2], &p) < 0 || fp_perm(args[0], args[1], &p, &fp) < 0) {
        return NULL;
    }
    return PyLong_FromUnsignedLongLong(fp);
}

/* perm_equals(desc, x, perm, y): 1 when permute(desc, x, perm) == y, 0 when not, -1 on error;
   tuples and records are compared item by item without being rebuilt, stopping at the first
   difference (the swap checks of canonical, where most swaps change the state early). */
static int
perm_equals(PyObject *desc, PyObject *x, const perm_t *p, PyObject *y)
{
    if (desc == Py_None) {
        return PyObject_RichCompareBool(x, y, Py_EQ);
    }
    long kind = PyLong_AsLong(PyTuple_GET_ITEM(desc, 0));
    PyObject *a = PyTuple_GET_SIZE(desc) > 1 ? PyTuple_GET_ITEM(desc, 1) : Py_None;
    if (kind == P_OPT && (x == Py_None || y == Py_None)) {
        return x == y;
    }
    if (kind == P_OPT) {
        return perm_equals(a, x, p, y);
    }
    if (kind == P_ID) {
        Py_ssize_t j;
        if (perm_id(p, x, &j) == 0 && PyLong_CheckExact(y)) {
            Py_ssize_t k = PyLong_AsSsize_t(y);
            if (!(k == -1 && PyErr_Occurred())) {
                return j == k;
            }
            PyErr_Clear();
        }
    }
    if ((kind == P_ARRIDX || kind == P_TUPLE) && PyTuple_Check(x) && PyTuple_Check(y)) {
        Py_ssize_t n = PyTuple_GET_SIZE(x);
        if (PyTuple_GET_SIZE(y) != n) {
            return 0;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            Py_ssize_t j = kind == P_ARRIDX ? perm_slot(p, i, n) : i;
            if (j < 0) {
                return -1;
            }
            int r = perm_equals(a, PyTuple_GET_ITEM(x, i), p, PyTuple_GET_ITEM(y, j));
            if (r != 1) {
                return r;
            }
        }
        return 1;
    }
    if (kind == P_REC && PyTuple_Check(x) && PyTuple_Check(y)) {
        Py_ssize_t n = PyTuple_GET_SIZE(x);
        if (Py_TYPE(y) != (PyTypeObject *)a || Py_TYPE(x) != (PyTypeObject *)a
                || PyTuple_GET_SIZE(y) != n) {
            return 0;
        }
        PyObject *parts = PyTuple_GET_ITEM(desc, 2);
        Py_ssize_t np = PyTuple_GET_SIZE(parts), k = 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *part = k < np ? PyTuple_GET_ITEM(parts, k) : NULL;
            PyObject *d = Py_None;
            if (part != NULL && PyLong_AsSsize_t(PyTuple_GET_ITEM(part, 0)) == i) {
                d = PyTuple_GET_ITEM(part, 1);
                k++;
            }
            int r = perm_equals(d, PyTuple_GET_ITEM(x, i), p, PyTuple_GET_ITEM(y, i));
            if (r != 1) {
                return r;
            }
        }
        return PyErr_Occurred() ? -1 : 1;
    }
    if (kind == P_ONEOF) {
        if (Py_TYPE(x) != Py_TYPE(y)) {
            return 0;
        }
        PyObject *inner = PyDict_GetItemWithError(a, (PyObject *)Py_TYPE(x));
        if (inner == NULL) {
            if (!PyErr_Occurred()) {
                PyErr_Format(PyExc_TypeError, "permute: %R is none of the alternatives", x);
            }
            return -1;
        }
        return perm_equals(inner, x, p, y);
    }
    /* Everything else (a set, a bag, a call, an odd id): built and compared. */
    PyObject *u = perm_value(desc, x, p);
    if (u == NULL) {
        return -1;
    }
    int r = PyObject_RichCompareBool(u, y, Py_EQ);
    Py_DECREF(u);
    return r;
}

/*
 * The canonical representative of a state under renamings of a symmetric domain
 * (models/symmetry.py documents the method and has the Python twins):
 *
 * canonical(desc, views, s, n) -> (t, unfixed): each id's signature (the tuple of its views),
 * the ids sorted by the fingerprints of their signatures, s renamed into that order as t, and
 * the runs of ids whose signatures have equal fingerprints and whose adjacent swaps do not all
 * fix t, as (start, stop) pairs (usually none: then t is the representative).
 *
 * representative(desc, views, n, fallback, s): the least by fingerprint of the candidates, the
 * renamings of t that permute the ids within those runs; fallback(s) decides when two
 * different candidates share the least fingerprint, and when the runs would give too many
 * candidates.
 *
 * representative_fingerprint(desc, views, n, fallback, s): fingerprint(representative(...)),
 * the name of s's orbit in the visited set, computed without building the representative (nor
 * the signatures, the sorted state or the candidates): the least fingerprint of the candidates
 * is the representative's. Everything is a fingerprint, so the name does not depend on the
 * process (Python's hash of a string does).
 */
enum { V_ID, V_IDSET, V_MENTIONS, V_ARRAY, V_POINTS_OPT, V_POINTS_SET, V_DIAG };
#define REP_MAX_CANDIDATES 40320

typedef struct {
    perm_t sort;                      /* id i goes to position sort.img[i] */
    Py_ssize_t order[CANON_MAX_IDS];  /* the id at each position */
    uint64_t key[CANON_MAX_IDS];      /* the fingerprint of each id's signature */
    Py_ssize_t nruns, lo[CANON_MAX_IDS], hi[CANON_MAX_IDS]; /* the runs left to search */
} canon_t;

static int
canon_array(PyObject *x, Py_ssize_t n)
{
    if (!PyTuple_Check(x) || PyTuple_GET_SIZE(x) != n) {
        PyErr_SetString(PyExc_TypeError, "canonical: an array of the wrong size");
        return -1;
    }
    return 0;
}

/* Call each(item, ctx) for every item of a tuple, a frozenset or any iterable (borrowed items;
   tuples and sets are walked without an iterator object). Returns 0, or -1 with an error. */
typedef int (*item_fn)(PyObject *item, void *ctx);

static int
for_each_item(PyObject *x, item_fn each, void *ctx)
{
    if (PyTuple_Check(x)) {
        for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(x); i++) {
            if (each(PyTuple_GET_ITEM(x, i), ctx) < 0) {
                return -1;
            }
        }
        return 0;
    }
#if PY_VERSION_HEX < 0x030D0000
    if (PyAnySet_Check(x)) {
        Py_ssize_t pos = 0;
        PyObject *item;
        Py_hash_t ignored;
        while (_PySet_NextEntry(x, &pos, &item, &ignored)) {
            if (each(item, ctx) < 0) {
                return -1;
            }
        }
        return 0;
    }
#endif
    PyObject *it = PyObject_GetIter(x), *item;
    if (it == NULL) {
        return -1;
    }
    while ((item = PyIter_Next(it)) != NULL) {
        int err = each(item, ctx);
        Py_DECREF(item);
        if (err < 0) {
            Py_DECREF(it);
            return -1;
        }
    }
    Py_DECREF(it);
    return PyErr_Occurred() ? -1 : 0;
}

/* An id named by an entry of an array of ids or of sets of ids (V_POINTS_*): 2 points, and
   one more when the entry is the id's own. */
typedef struct {
    Py_ssize_t *pts, n, own;
} points_t;

static int
canon_point(PyObject *m, void *ctx)
{
    points_t *p = ctx;
    Py_ssize_t id = PyLong_AsSsize_t(m);
    if (id == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (id >= 0 && id < p->n) {
        p->pts[id] += 2 + (id == p->own);
    }
    return 0;
}

/* How many times an element of a set or bag names each id, per class of spots (V_MENTIONS). */
typedef struct {
    PyObject *spots;
    Py_ssize_t *counts, n, ncls;
} mentions_t;

static int
canon_mention(PyObject *m, void *ctx)
{
    mentions_t *c = ctx;
    for (Py_ssize_t j = 0; j < c->ncls; j++) {
        PyObject *spot = PyTuple_GET_ITEM(c->spots, j);
        if ((PyObject *)Py_TYPE(m) != PyTuple_GET_ITEM(spot, 0)) {
            continue;
        }
        PyObject *pos = PyTuple_GET_ITEM(spot, 1);
        for (Py_ssize_t q = 0; q < PyTuple_GET_SIZE(pos); q++) {
            Py_ssize_t at = PyLong_AsSsize_t(PyTuple_GET_ITEM(pos, q));
            Py_ssize_t id = (at >= 0 && at < PyTuple_GET_SIZE(m))
                ? PyLong_AsSsize_t(PyTuple_GET_ITEM(m, at)) : -1;
            if (id >= 0 && id < c->n) {
                c->counts[id * c->ncls + j]++;
            }
        }
        break;
    }
    return PyErr_Occurred() ? -1 : 0;
}

/* Feed view k of every id into its signature's hash (h[i]): the fingerprint of the entry
   canonical_sort puts in the signature tuple. */
static int
canon_view(PyObject *view, PyObject *s, Py_ssize_t n, sip_t *h)
{
    long kind = PyLong_AsLong(PyTuple_GET_ITEM(view, 0));
    Py_ssize_t f = PyLong_AsSsize_t(PyTuple_GET_ITEM(view, 1));
    if (PyErr_Occurred() || f < 0 || f >= PyTuple_GET_SIZE(s)) {
        if (!PyErr_Occurred()) {
            PyErr_SetString(PyExc_IndexError, "canonical: field out of range");
        }
        return -1;
    }
    PyObject *x = PyTuple_GET_ITEM(s, f);
    uint64_t fp;
    switch (kind) {
    case V_ID:
    case V_IDSET:
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *id = PyLong_FromSsize_t(i);
            int r = id == NULL ? -1 : kind == V_ID ? PyObject_RichCompareBool(x, id, Py_EQ)
                                                   : PySequence_Contains(x, id);
            Py_XDECREF(id);
            if (r < 0) {
                return -1;
            }
            sip_word(&h[i], fp_bool[r]);
        }
        return 0;
    case V_ARRAY:
        if (canon_array(x, n) < 0) {
            return -1;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            if (fp_value(PyTuple_GET_ITEM(x, i), &fp) < 0) {
                return -1;
            }
            sip_word(&h[i], fp);
        }
        return 0;
    case V_DIAG: /* an array of arrays, both indexed by the domain: x[i][i] */
        if (canon_array(x, n) < 0) {
            return -1;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *row = PyTuple_GET_ITEM(x, i);
            if (canon_array(row, n) < 0 || fp_value(PyTuple_GET_ITEM(row, i), &fp) < 0) {
                return -1;
            }
            sip_word(&h[i], fp);
        }
        return 0;
    case V_POINTS_OPT:
    case V_POINTS_SET: {
        /* An array of ids (or None) or of sets of ids: for id i, 2 * how many entries name it
           + whether its own entry does. */
        Py_ssize_t pts[CANON_MAX_IDS] = {0};
        points_t points = {.pts = pts, .n = n};
        if (canon_array(x, n) < 0) {
            return -1;
        }
        for (Py_ssize_t j = 0; j < n; j++) {
            PyObject *e = PyTuple_GET_ITEM(x, j);
            points.own = j;
            if (kind == V_POINTS_OPT ? e != Py_None && canon_point(e, &points) < 0
                                     : for_each_item(e, canon_point, &points) < 0) {
                return -1;
            }
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            sip_word(&h[i], fp_word(pts[i]));
        }
        return 0;
    }
    case V_MENTIONS: {
        /* For id i, the tuple of how many times, per class of spots, an element of x names it
           in one of its positions. */
        PyObject *spots = PyTuple_GET_ITEM(view, 2);
        Py_ssize_t ncls = PyTuple_GET_SIZE(spots), small[256];
        mentions_t c = {.spots = spots, .n = n, .ncls = ncls, .counts = small};
        if (n * ncls > 256 && (c.counts = PyMem_Calloc((size_t)(n * ncls), sizeof(Py_ssize_t)))
                == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        if (c.counts == small) {
            memset(small, 0, sizeof(small));
        }
        int err = for_each_item(x, canon_mention, &c);
        for (Py_ssize_t i = 0; i < n && err == 0; i++) {
            sip_t row;
            sip_init(&row);
            sip_word(&row, FP_TUPLE);
            sip_word(&row, (uint64_t)ncls);
            for (Py_ssize_t j = 0; j < ncls; j++) {
                sip_word(&row, fp_word(c.counts[i * ncls + j]));
            }
            sip_word(&h[i], sip_final(&row));
        }
        if (c.counts != small) {
            PyMem_Free(c.counts);
        }
        return err;
    }
    default:
        PyErr_Format(PyExc_ValueError, "canonical: unknown view kind %ld", kind);
        return -1;
    }
}

/* The part of a representative that needs no search: the signatures, the order of the ids and
   the runs of tied ids that some swap changes. */
static int
canon_prepare(PyObject *desc, PyObject *views, PyObject *s, Py_ssize_t n, canon_t *c)
{
    if (n < 0 || n > CANON_MAX_IDS) {
        PyErr_Format(PyExc_ValueError, "canonical: at most %d ids", CANON_MAX_IDS);
        return -1;
    }
    if (!PyTuple_Check(views) || !PyTuple_Check(s)) {
        PyErr_SetString(PyExc_TypeError, "canonical: views and s are tuples");
        return -1;
    }
    Py_ssize_t nv = PyTuple_GET_SIZE(views);
    sip_t h[CANON_MAX_IDS];
    for (Py_ssize_t i = 0; i < n; i++) { /* each signature is a tuple of nv entries */
        sip_init(&h[i]);
        sip_word(&h[i], FP_TUPLE);
        sip_word(&h[i], (uint64_t)nv);
    }
    for (Py_ssize_t k = 0; k < nv; k++) {
        if (canon_view(PyTuple_GET_ITEM(views, k), s, n, h) < 0) {
            return -1;
        }
    }
    /* The ids in the order of their keys (stable: insertion sort, n is small). */
    c->sort.n = n;
    for (Py_ssize_t i = 0; i < n; i++) {
        c->key[i] = sip_final(&h[i]);
        Py_ssize_t j = i;
        for (; j > 0 && c->key[c->order[j - 1]] > c->key[i]; j--) {
            c->order[j] = c->order[j - 1];
        }
        c->order[j] = i;
    }
    for (Py_ssize_t pos = 0; pos < n; pos++) {
        c->sort.img[c->order[pos]] = pos;
    }
    /* Runs of equal keys whose adjacent swaps do not all fix the sorted state t. Swapping the
       ids at positions a and a + 1 of t fixes t when swapping ids order[a] and order[a + 1]
       fixes s, which is checked on s itself. */
    c->nruns = 0;
    Py_ssize_t start = 0;
    for (Py_ssize_t k = 1; k <= n; k++) {
        if (k < n && c->key[c->order[k]] == c->key[c->order[start]]) {
            continue;
        }
        for (Py_ssize_t a = start; a + 1 < k && desc != Py_None; a++) {
            perm_t swap = {.n = n};
            for (Py_ssize_t i = 0; i < n; i++) {
                swap.img[i] = i;
            }
            swap.img[c->order[a]] = c->order[a + 1];
            swap.img[c->order[a + 1]] = c->order[a];
            int same = perm_equals(desc, s, &swap, s);
            if (same < 0) {
                return -1;
            }
            if (!same) {
                c->lo[c->nruns] = start;
                c->hi[c->nruns] = k;
                c->nruns++;
                break;
            }
        }
        start = k;
    }
    return 0;
}

static PyObject *
canon_rename(PyObject *desc, PyObject *s, const perm_t *p)
{
    if (desc == Py_None) {
        Py_INCREF(s);
        return s;
    }
    return perm_value(desc, s, p);
}

static PyObject *
speedups_canonical(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    canon_t c;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "canonical(desc, views, s, n)");
        return NULL;
    }
    Py_ssize_t n = PyLong_AsSsize_t(args[3]);
    if ((n == -1 && PyErr_Occurred()) || canon_prepare(args[0], args[1], args[2], n, &c) < 0) {
        return NULL;
    }
    PyObject *t;
    if (perm_is_identity(&c.sort)) {
        Py_INCREF(args[2]);
        t = args[2];
    } else {
        t = canon_rename(args[0], args[2], &c.sort);
    }
    PyObject *unfixed = t == NULL ? NULL : PyList_New(c.nruns);
    for (Py_ssize_t g = 0; unfixed != NULL && g < c.nruns; g++) {
        PyObject *run = Py_BuildValue("(nn)", c.lo[g], c.hi[g]);
        if (run == NULL) {
            Py_CLEAR(unfixed);
            break;
        }
        PyList_SET_ITEM(unfixed, g, run);
    }
    PyObject *result = unfixed == NULL ? NULL : PyTuple_Pack(2, t, unfixed);
    Py_XDECREF(t);
    Py_XDECREF(unfixed);
    return result;
}

static int
rep_next_permutation(Py_ssize_t *a, Py_ssize_t len)
{
    /* The next permutation of a[0..len) in lexicographic order; 0 after the last. */
    Py_ssize_t i = len - 2;
    while (i >= 0 && a[i] >= a[i + 1]) {
        i--;
    }
    if (i < 0) { /* the last: back to the first (ascending), and say so */
        for (Py_ssize_t l = 0, r = len - 1; l < r; l++, r--) {
            Py_ssize_t x = a[l];
            a[l] = a[r];
            a[r] = x;
        }
        return 0;
    }
    Py_ssize_t j = len - 1;
    while (a[j] <= a[i]) {
        j--;
    }
    Py_ssize_t x = a[i];
    a[i] = a[j];
    a[j] = x;
    for (Py_ssize_t l = i + 1, r = len - 1; l < r; l++, r--) {
        x = a[l];
        a[l] = a[r];
        a[r] = x;
    }
    return 1;
}

/* The candidates' least fingerprint (*best) and a renaming of s that has it (*best_perm). With
   ties != NULL, *ties says whether another candidate with that fingerprint is a different
   state (two states sharing a fingerprint: the caller's fallback decides); the same state is
   common (a renaming that some swaps fix). Returns 0, -1 on error, or 1 when the runs give
   more than REP_MAX_CANDIDATES candidates (the caller falls back to Python). */
static int
canon_least(PyObject *desc, PyObject *s, const canon_t *c, uint64_t *best, perm_t *best_perm,
            int *ties)
{
    Py_ssize_t n = c->sort.n;
    if (ties != NULL) {
        *ties = 0;
    }
    if (c->nruns == 0) {
        *best_perm = c->sort;
        return fp_perm(desc, s, &c->sort, best);
    }
    double count = 1;
    for (Py_ssize_t g = 0; g < c->nruns; g++) {
        for (Py_ssize_t k = c->hi[g] - c->lo[g]; k > 1; k--) {
            count *= (double)k;
        }
    }
    if (count > REP_MAX_CANDIDATES) {
        return 1;
    }
    Py_ssize_t img[CANON_MAX_IDS]; /* the position each position of t goes to */
    for (Py_ssize_t i = 0; i < n; i++) {
        img[i] = i;
    }
    int first = 1;
    perm_t p = {.n = n};
    for (;;) {
        for (Py_ssize_t i = 0; i < n; i++) {
            p.img[i] = img[c->sort.img[i]];
        }
        uint64_t fp;
        if (fp_perm(desc, s, &p, &fp) < 0) {
            return -1;
        }
        if (first || fp < *best) {
            first = 0;
            *best = fp;
            *best_perm = p;
            if (ties != NULL) {
                *ties = 0;
            }
        } else if (fp == *best && ties != NULL && !*ties) {
            /* p s == best s exactly when best^-1 p fixes s: compared without building. */
            perm_t inv = {.n = n}, q = {.n = n};
            for (Py_ssize_t i = 0; i < n; i++) {
                inv.img[best_perm->img[i]] = i;
            }
            for (Py_ssize_t i = 0; i < n; i++) {
                q.img[i] = inv.img[p.img[i]];
            }
            int same = perm_equals(desc, s, &q, s);
            if (same < 0) {
                return -1;
            }
            *ties = !same;
        }
        /* The next choice: like an odometer over the runs, each run's images in
           lexicographic order (the order does not matter: the least is taken). */
        Py_ssize_t g = c->nruns - 1;
        while (g >= 0 && !rep_next_permutation(img + c->lo[g], c->hi[g] - c->lo[g])) {
            g--; /* this run wrapped around to its first (sorted) permutation */
        }
        if (g < 0) {
            return 0;
        }
    }
}

static PyObject *
speedups_representative(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    canon_t c;
    perm_t best_perm;
    uint64_t best;
    int ties;
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "representative(desc, views, n, fallback, s)");
        return NULL;
    }
    PyObject *desc = args[0], *s = args[4];
    Py_ssize_t n = PyLong_AsSsize_t(args[2]);
    if ((n == -1 && PyErr_Occurred()) || canon_prepare(desc, args[1], s, n, &c) < 0) {
        return NULL;
    }
    if (c.nruns == 0) {
        best_perm = c.sort;
    } else {
        int r = canon_least(desc, s, &c, &best, &best_perm, &ties);
        if (r < 0) {
            return NULL;
        }
        if (r == 1 || ties) {
            return PyObject_CallOneArg(args[3], s);
        }
    }
    if (perm_is_identity(&best_perm)) {
        Py_INCREF(s);
        return s;
    }
    return canon_rename(desc, s, &best_perm);
}

static PyObject *
speedups_representative_fingerprint(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    canon_t c;
    perm_t best_perm;
    uint64_t best;
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "representative_fingerprint(desc, views, n, fallback, s)");
        return NULL;
    }
    PyObject *desc = args[0], *s = args[4];
    Py_ssize_t n = PyLong_AsSsize_t(args[2]);
    if ((n == -1 && PyErr_Occurred()) || canon_prepare(desc, args[1], s, n, &c) < 0) {
        return NULL;
    }
    int r = canon_least(desc, s, &c, &best, &best_perm, NULL);
    if (r < 0) {
        return NULL;
    }
    if (r == 1) {
        PyObject *rep = PyObject_CallOneArg(args[3], s);
        if (rep == NULL) {
            return NULL;
        }
        PyObject *fp = speedups_fingerprint(self, rep);
        Py_DECREF(rep);
        return fp;
    }
    return PyLong_FromUnsignedLongLong(best);
}

/*
 * The transposition probe's comparisons (checkers/symmetry_check.py's TranspositionProbe, which
 * finds and words the reason when these report a difference): a fast first pass, in C, over
 * what the probe compares between a state t and its renaming pt, so that probing every state of
 * a symmetric search costs little beside the search (issue 13, item 1).
 *
 * probe_states(t, pt, checks, known) -> -1, or the index of the first check whose outcome
 * differs on t and pt. A check is called fn(s); its outcome is its truth, or "raised" (an
 * Exception: raising on both is symmetric); known[k] True means check k is known to hold on t,
 * which is then not evaluated.
 *
 * probe_steps(calls, desc, perm, t, pt, checks) -> True when the successors of pt (every call
 * of ``calls``, as expand makes them) are the renamings of t's, compared as sets of
 * fingerprints (permute_fingerprint: nothing is rebuilt), and every step check, called
 * fn(s, u), has the same truth on each step t -> u and its renaming pt -> pi u; False when
 * something differs, or raises (the Python comparison then decides, and says why).
 */
static int
probe_outcome(PyObject *fn, PyObject *s, PyObject *u)
{
    /* fn(s) or fn(s, u): 1 true, 0 false, 2 raised an Exception, -1 anything else raised
       (propagated) */
    PyObject *argv[2] = {s, u};
    PyObject *r = PyObject_Vectorcall(fn, argv, u == NULL ? 1 : 2, NULL);
    int truth = r == NULL ? -1 : PyObject_IsTrue(r);
    Py_XDECREF(r);
    if (truth < 0) {
        if (!PyErr_ExceptionMatches(PyExc_Exception)) {
            return -1;
        }
        PyErr_Clear();
        return 2;
    }
    return truth;
}

static PyObject *
speedups_probe_states(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || !PyTuple_Check(args[2]) || !PyTuple_Check(args[3])
            || PyTuple_GET_SIZE(args[2]) != PyTuple_GET_SIZE(args[3])) {
        PyErr_SetString(PyExc_TypeError,
                        "probe_states(t, pt, checks: tuple, known: tuple of as many bools)");
        return NULL;
    }
    PyObject *checks = args[2], *known = args[3];
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(checks); k++) {
        PyObject *check = PyTuple_GET_ITEM(checks, k);
        int a = PyTuple_GET_ITEM(known, k) == Py_True ? 1 : probe_outcome(check, args[0], NULL);
        int b = a < 0 ? -1 : probe_outcome(check, args[1], NULL);
        if (a < 0 || b < 0) {
            return NULL;
        }
        if (a != b) {
            return PyLong_FromSsize_t(k);
        }
    }
    return PyLong_FromLong(-1);
}

/* Every successor of s: each call of calls (as expand makes them) appended to out (a list).
   -1 on error (an action raised). */
static int
probe_successors(PyObject *calls, PyObject *s, PyObject *out)
{
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(calls); k++) {
        PyObject *call = PyList_GET_ITEM(calls, k), *r;
        if (!PyTuple_Check(call) || PyTuple_GET_SIZE(call) < 2) {
            PyErr_SetString(PyExc_TypeError, "probe_steps: a call is (fn, arg) or (fn, args, None)");
            return -1;
        }
        if (PyTuple_GET_SIZE(call) == 3) {  /* (fn, args, None): fn(s, *args) */
            PyObject *a = PyTuple_GET_ITEM(call, 1), *argv[9];
            Py_ssize_t na = PyTuple_GET_SIZE(a);
            if (na > 8) {
                PyErr_SetString(PyExc_TypeError, "probe_steps: an action takes at most 8 arguments");
                return -1;
            }
            argv[0] = s;
            for (Py_ssize_t i = 0; i < na; i++) {
                argv[i + 1] = PyTuple_GET_ITEM(a, i);
            }
            r = PyObject_Vectorcall(PyTuple_GET_ITEM(call, 0), argv, na + 1, NULL);
        } else {
            PyObject *argv[2] = {s, PyTuple_GET_ITEM(call, 1)};
            r = PyObject_Vectorcall(PyTuple_GET_ITEM(call, 0), argv, 2, NULL);
        }
        if (r == NULL) {
            return -1;
        }
        int err = 0;
        if (PyList_CheckExact(r)) {
            for (Py_ssize_t j = 0; j < PyList_GET_SIZE(r) && err == 0; j++) {
                err = PyList_Append(out, PyList_GET_ITEM(r, j));
            }
        } else if (r != Py_None) {
            err = PyList_Append(out, r);
        }
        Py_DECREF(r);
        if (err < 0) {
            return -1;
        }
    }
    return 0;
}

static PyObject *
speedups_probe_steps(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 6 || !PyList_Check(args[0]) || !PyTuple_Check(args[5])) {
        PyErr_SetString(PyExc_TypeError, "probe_steps(calls: list, desc, perm, t, pt, checks: tuple)");
        return NULL;
    }
    PyObject *calls = args[0], *desc = args[1], *t = args[3], *pt = args[4], *checks = args[5];
    perm_t p;
    if (perm_from_tuple(args[2], &p) < 0) {
        return NULL;
    }
    PyObject *mine = PyList_New(0), *theirs = PyList_New(0), *result = NULL;
    uint64_t *a = NULL, *b = NULL, *sa = NULL, *sb = NULL;
    int same = 0;
    if (mine == NULL || theirs == NULL) {
        goto done;
    }
    if (probe_successors(calls, t, mine) < 0 || probe_successors(calls, pt, theirs) < 0) {
        goto differ; /* an action raised: the Python comparison decides */
    }
    Py_ssize_t na = PyList_GET_SIZE(mine), nb = PyList_GET_SIZE(theirs);
    a = PyMem_Malloc((na + 1) * sizeof(uint64_t));
    b = PyMem_Malloc((nb + 1) * sizeof(uint64_t));
    sa = PyMem_Malloc((na + 1) * sizeof(uint64_t));
    sb = PyMem_Malloc((nb + 1) * sizeof(uint64_t));
    if (a == NULL || b == NULL || sa == NULL || sb == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < na; i++) {
        if (fp_perm(desc, PyList_GET_ITEM(mine, i), &p, &a[i]) < 0) {
            goto differ;
        }
    }
    for (Py_ssize_t j = 0; j < nb; j++) {
        if (fp_value(PyList_GET_ITEM(theirs, j), &b[j]) < 0) {
            goto differ;
        }
    }
    /* The renamed successors of t and the successors of pt, as sets. */
    memcpy(sa, a, na * sizeof(uint64_t));
    memcpy(sb, b, nb * sizeof(uint64_t));
    qsort(sa, (size_t)na, sizeof(uint64_t), fp_compare);
    qsort(sb, (size_t)nb, sizeof(uint64_t), fp_compare);
    Py_ssize_t i = 0, j = 0;
    while (i < na || j < nb) {
        if (i == na || j == nb || sa[i] != sb[j]) {
            goto differ;
        }
        uint64_t x = sa[i];
        while (i < na && sa[i] == x) {
            i++;
        }
        while (j < nb && sb[j] == x) {
            j++;
        }
    }
    /* Each step check on t -> u and on pt -> (the successor of pt that is pi u). */
    for (Py_ssize_t k = 0; k < PyTuple_GET_SIZE(checks); k++) {
        PyObject *check = PyTuple_GET_ITEM(checks, k);
        for (i = 0; i < na; i++) {
            for (j = 0; b[j] != a[i]; j++) {
            }
            int x = probe_outcome(check, t, PyList_GET_ITEM(mine, i));
            int y = x < 0 ? -1 : probe_outcome(check, pt, PyList_GET_ITEM(theirs, j));
            if (x < 0 || y < 0) {
                goto done;
            }
            if (x != y || x == 2) {
                goto differ;
            }
        }
    }
    same = 1;
differ:
    if (PyErr_Occurred()) {
        if (!PyErr_ExceptionMatches(PyExc_Exception)) {
            goto done;
        }
        PyErr_Clear();
    }
    result = PyBool_FromLong(same);
done:
    Py_XDECREF(mine);
    Py_XDECREF(theirs);
    PyMem_Free(a);
    PyMem_Free(b);
    PyMem_Free(sa);
    PyMem_Free(sb);
    return result;
}

/*
 * Reads(fn, fields, arity): a property that declares the fields it reads, remembered by their
 * values (models/fingerprint.py's ``reads`` documents it and is the front door). Called as
 * fn(model, s) (arity 1: an invariant, a sometimes-property) or fn(model, s, t) (arity 2: a step
 * property), it looks the fields of s (and t) up in a direct-mapped table keyed by their
 * fingerprints and, on a hit whose values are the same (equal fingerprints and equal values:
 * models.fingerprint.same_value), returns the answer fn gave for them; else it calls fn and
 * remembers the answer (not an exception). The table holds answers for one model object at a
 * time (a property may read parameters): another model empties it. A call with other arguments,
 * or a state that is not a record with these fields, or a field that cannot be fingerprinted (a
 * symbolic engine's values), goes straight to fn.
 */
#define MEMO_MAX_FIELDS 8
#define MEMO_SLOTS 4096

typedef struct {
    uint64_t fps[2 * MEMO_MAX_FIELDS];
    PyObject *vals[2 * MEMO_MAX_FIELDS];
    PyObject *result; /* NULL: an empty slot */
} memo_entry_t;

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *fn, *fields, *dict, *model;
    PyObject *last; /* the state of the previous call, whose fields' fingerprints are last_fps */
    uint64_t last_fps[MEMO_MAX_FIELDS];
    PyTypeObject *cls; /* the record class whose field positions are pos */
    Py_ssize_t nfields, arity, pos[MEMO_MAX_FIELDS];
    Py_ssize_t hits, misses;
    memo_entry_t *table;
} memo_t;

static void
memo_entry_clear(memo_entry_t *e, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_CLEAR(e->vals[i]);
    }
    Py_CLEAR(e->result);
}

static void
memo_forget(memo_t *self)
{
    for (Py_ssize_t k = 0; self->table != NULL && k < MEMO_SLOTS; k++) {
        memo_entry_clear(&self->table[k], self->nfields * self->arity);
    }
}

/* Are the field positions of s's class known (found now if need be)? 0: not a record with
   these fields. */
static int
memo_positions(memo_t *self, PyObject *s)
{
    PyTypeObject *type = Py_TYPE(s);
    if (type == self->cls) {
        return 1;
    }
    if (!PyTuple_Check(s)) {
        return 0;
    }
    PyObject *index = _PyType_Lookup(type, field_index_attr); /* borrowed */
    if (index == NULL || !PyDict_Check(index)) {
        return 0;
    }
    Py_ssize_t pos[MEMO_MAX_FIELDS];
    for (Py_ssize_t f = 0; f < self->nfields; f++) {
        PyObject *at = PyDict_GetItemWithError(index, PyTuple_GET_ITEM(self->fields, f));
        if (at == NULL || (pos[f] = PyLong_AsSsize_t(at)) < 0) {
            PyErr_Clear();
            return 0;
        }
    }
    memcpy(self->pos, pos, sizeof(pos));
    Py_INCREF(type);
    Py_XSETREF(self->cls, type);
    return 1;
}

static PyObject *
memo_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    memo_t *self = (memo_t *)callable;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf), nf = self->nfields, nv = 0;
    uint64_t fps[2 * MEMO_MAX_FIELDS];
    PyObject *vals[2 * MEMO_MAX_FIELDS];
    if (kwnames != NULL || nargs != 1 + self->arity) {
        return PyObject_Vectorcall(self->fn, args, nargsf, kwnames);
    }
    for (Py_ssize_t k = 1; k <= self->arity; k++) {
        PyObject *s = args[k];
        if (Py_TYPE(s) != Py_TYPE(args[1]) || !memo_positions(self, s)) {
            return PyObject_Vectorcall(self->fn, args, nargsf, NULL);
        }
        for (Py_ssize_t f = 0; f < nf; f++, nv++) {
            if (self->pos[f] >= PyTuple_GET_SIZE(s)) {
                return PyObject_Vectorcall(self->fn, args, nargsf, NULL);
            }
            vals[nv] = PyTuple_GET_ITEM(s, self->pos[f]);
            if (k == 1 && s == self->last) { /* the state of the previous call, fingerprinted */
                fps[nv] = self->last_fps[f];
            } else if (k == 2 && vals[nv] == vals[f]) { /* a field the step leaves as it is */
                fps[nv] = fps[f];
            } else if (fp_value(vals[nv], &fps[nv]) < 0) { /* not a value kripke fingerprints */
                PyErr_Clear();
                return PyObject_Vectorcall(self->fn, args, nargsf, NULL);
            }
        }
        if (k == 1 && s != self->last) {
            /* A step property is asked about every step from a state in a row. */
            memcpy(self->last_fps, fps, nf * sizeof(uint64_t));
            Py_INCREF(s);
            Py_XSETREF(self->last, s);
        }
    }
    if (args[0] != self->model) {
        memo_forget(self);
        Py_INCREF(args[0]);
        Py_XSETREF(self->model, args[0]);
    }
    sip_t h;
    sip_init(&h);
    for (Py_ssize_t i = 0; i < nv; i++) {
        sip_word(&h, fps[i]);
    }
    size_t slot = (size_t)sip_final(&h) & (MEMO_SLOTS - 1);
    memo_entry_t *e = &self->table[slot];
    int hit = e->result != NULL;
    for (Py_ssize_t i = 0; i < nv && hit; i++) {
        hit = e->fps[i] == fps[i]
              && (e->vals[i] == vals[i] || PyObject_RichCompareBool(e->vals[i], vals[i], Py_EQ) == 1);
    }
    if (PyErr_Occurred()) { /* (values that cannot be compared: not a hit) */
        PyErr_Clear();
        hit = 0;
    }
    if (hit) {
        self->hits++;
        Py_INCREF(e->result);
        return e->result;
    }
    self->misses++;
    PyObject *result = PyObject_Vectorcall(self->fn, args, nargsf, NULL);
    if (result == NULL) {
        return NULL;
    }
    e = &self->table[slot];
    memo_entry_clear(e, nv);
    for (Py_ssize_t i = 0; i < nv; i++) {
        e->fps[i] = fps[i];
        Py_INCREF(vals[i]);
        e->vals[i] = vals[i];
    }
    Py_INCREF(result);
    e->result = result;
    return result;
}

static PyObject *
memo_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *fn, *fields;
    Py_ssize_t arity;
    if (!PyArg_ParseTuple(args, "OO!n:Reads", &fn, &PyTuple_Type, &fields, &arity)) {
        return NULL;
    }
    Py_ssize_t nf = PyTuple_GET_SIZE(fields);
    if (!PyCallable_Check(fn) || nf < 1 || nf > MEMO_MAX_FIELDS || arity < 1 || arity > 2) {
        PyErr_Format(PyExc_ValueError, "Reads(fn, fields, arity): a callable, 1 to %d field "
                     "names and arity 1 (a state) or 2 (a step)", MEMO_MAX_FIELDS);
        return NULL;
    }
    for (Py_ssize_t f = 0; f < nf; f++) {
        if (!PyUnicode_Check(PyTuple_GET_ITEM(fields, f))) {
            PyErr_SetString(PyExc_TypeError, "Reads: field names are strings");
            return NULL;
        }
    }
    memo_t *self = PyObject_GC_New(memo_t, type);
    if (self == NULL) {
        return NULL;
    }
    self->vectorcall = memo_vectorcall;
    Py_INCREF(fn);
    self->fn = fn;
    Py_INCREF(fields);
    self->fields = fields;
    self->dict = self->model = self->last = NULL;
    self->cls = NULL;
    self->nfields = nf;
    self->arity = arity;
    self->hits = self->misses = 0;
    self->table = PyMem_Calloc(MEMO_SLOTS, sizeof(memo_entry_t));
    if (self->table == NULL) {
        Py_DECREF(self);
        return PyErr_NoMemory();
    }
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static int
memo_traverse(memo_t *self, visitproc visit, void *arg)
{
    Py_VISIT(self->fn);
    Py_VISIT(self->fields);
    Py_VISIT(self->dict);
    Py_VISIT(self->model);
    Py_VISIT(self->last);
    Py_VISIT(self->cls);
    for (Py_ssize_t k = 0; self->table != NULL && k < MEMO_SLOTS; k++) {
        for (Py_ssize_t i = 0; i < self->nfields * self->arity; i++) {
            Py_VISIT(self->table[k].vals[i]);
        }
        Py_VISIT(self->table[k].result);
    }
    return 0;
}

static int
memo_clear(memo_t *self)
{
    memo_forget(self);
    Py_CLEAR(self->fn);
    Py_CLEAR(self->fields);
    Py_CLEAR(self->dict);
    Py_CLEAR(self->model);
    Py_CLEAR(self->last);
    Py_CLEAR(self->cls);
    return 0;
}

static void
memo_dealloc(memo_t *self)
{
    PyObject_GC_UnTrack(self);
    memo_clear(self);
    PyMem_Free(self->table);
    PyObject_GC_Del(self);
}

static PyObject *
memo_reduce(memo_t *self, PyObject *unused)
{
    return Py_BuildValue("(O(OOn))", (PyObject *)Py_TYPE(self), self->fn, self->fields,
                         self->arity);
}

static PyMethodDef memo_methods[] = {
    {"__reduce__", (PyCFunction)memo_reduce, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef memo_members[] = {
    {"reads", T_OBJECT, offsetof(memo_t, fields), READONLY, "the fields the property reads"},
    {"hits", T_PYSSIZET, offsetof(memo_t, hits), READONLY, "calls answered from the table"},
    {"misses", T_PYSSIZET, offsetof(memo_t, misses), READONLY, "calls that ran the property"},
    {NULL, 0, 0, 0, NULL},
};

static PyGetSetDef memo_getset[] = {
    {"__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL, NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

static PyTypeObject MemoType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kripke._speedups.Reads",
    .tp_doc = PyDoc_STR("Reads(fn, fields, arity): fn remembered by the values of the fields "
                        "it reads (models.fingerprint.reads)"),
    .tp_basicsize = sizeof(memo_t),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_new = memo_new,
    .tp_dealloc = (destructor)memo_dealloc,
    .tp_traverse = (traverseproc)memo_traverse,
    .tp_clear = (inquiry)memo_clear,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(memo_t, vectorcall),
    .tp_dictoffset = offsetof(memo_t, dict),
    .tp_methods = memo_methods,
    .tp_members = memo_members,
    .tp_getset = memo_getset,
};

/*
 * LastState(fn, cls): fn(s), computed once for the latest state s of class cls (the same object:
 * a reference is kept) and given again: what several actions ask of the same state one after
 * the other (a network's deliverable messages, asked by every message handler: models/
 * network.py). A state of another class (a symbolic engine's, whose answer depends on the
 * path) is always computed.
 *
 * OverEach(method, over, args): one engine call of an action over a state-dependent domain, as
 * models/system.py's _over_each makes it in Python: called with s (and anything after, ignored),
 * method(s, *args, v) for each v of over(s), the successors in a list (a call may return None,
 * a state, or a list of states).
 */
typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *fn, *cls, *last, *result;
} last_t;

static PyObject *
last_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    last_t *self = (last_t *)callable;
    Py_ssize_t nargs = PyVectorcall_NARGS(nargsf);
    if (kwnames == NULL && nargs == 1 && args[0] == self->last && self->result != NULL) {
        Py_INCREF(self->result);
        return self->result;
    }
    PyObject *r = PyObject_Vectorcall(self->fn, args, nargsf, kwnames);
    if (r != NULL && kwnames == NULL && nargs == 1 && (PyObject *)Py_TYPE(args[0]) == self->cls) {
        Py_INCREF(args[0]);
        Py_XSETREF(self->last, args[0]);
        Py_INCREF(r);
        Py_XSETREF(self->result, r);
    }
    return r;
}

static PyObject *
last_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *fn, *cls;
    if (!PyArg_ParseTuple(args, "OO:LastState", &fn, &cls)) {
        return NULL;
    }
    last_t *self = PyObject_GC_New(last_t, type);
    if (self == NULL) {
        return NULL;
    }
    self->vectorcall = last_vectorcall;
    Py_INCREF(fn);
    self->fn = fn;
    Py_INCREF(cls);
    self->cls = cls;
    self->last = self->result = NULL;
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static int
last_traverse(last_t *self, visitproc visit, void *arg)
{
    Py_VISIT(self->fn);
    Py_VISIT(self->cls);
    Py_VISIT(self->last);
    Py_VISIT(self->result);
    return 0;
}

static int
last_clear(last_t *self)
{
    Py_CLEAR(self->fn);
    Py_CLEAR(self->cls);
    Py_CLEAR(self->last);
    Py_CLEAR(self->result);
    return 0;
}

static void
last_dealloc(last_t *self)
{
    PyObject_GC_UnTrack(self);
    last_clear(self);
    PyObject_GC_Del(self);
}

static PyTypeObject LastStateType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kripke._speedups.LastState",
    .tp_doc = PyDoc_STR("LastState(fn, cls): fn(s), computed once for the latest state of class cls"),
    .tp_basicsize = sizeof(last_t),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_new = last_new,
    .tp_dealloc = (destructor)last_dealloc,
    .tp_traverse = (traverseproc)last_traverse,
    .tp_clear = (inquiry)last_clear,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(last_t, vectorcall),
};

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;
    PyObject *method, *over, *args;
} over_t;

static PyObject *
over_vectorcall(PyObject *callable, PyObject *const *args, size_t nargsf, PyObject *kwnames)
{
    over_t *self = (over_t *)callable;
    if (PyVectorcall_NARGS(nargsf) < 1) {
        PyErr_SetString(PyExc_TypeError, "OverEach: called with the state");
        return NULL;
    }
    PyObject *s = args[0];
    Py_ssize_t na = PyTuple_GET_SIZE(self->args);
    PyObject *argv[10];
    if (na > 8) {
        PyErr_SetString(PyExc_TypeError, "OverEach: an action takes at most 8 arguments");
        return NULL;
    }
    argv[0] = s;
    for (Py_ssize_t a = 0; a < na; a++) {
        argv[a + 1] = PyTuple_GET_ITEM(self->args, a);
    }
    PyObject *domain = PyObject_Vectorcall(self->over, &s, 1, NULL);
    if (domain == NULL) {
        return NULL;
    }
    PyObject *out = PyList_New(0);
    PyObject *items = out == NULL ? NULL : PySequence_Fast(domain, "OverEach: a domain is iterable");
    Py_DECREF(domain);
    if (items == NULL) {
        Py_XDECREF(out);
        return NULL;
    }
    for (Py_ssize_t i = 0; i < PySequence_Fast_GET_SIZE(items); i++) {
        argv[na + 1] = PySequence_Fast_GET_ITEM(items, i);
        PyObject *t = PyObject_Vectorcall(self->method, argv, na + 2, NULL);
        int err = 0;
        if (t == NULL) {
            err = -1;
        } else if (PyList_CheckExact(t)) {
            err = PyList_SetSlice(out, PY_SSIZE_T_MAX, PY_SSIZE_T_MAX, t);
        } else if (t != Py_None) {
            err = PyList_Append(out, t);
        }
        Py_XDECREF(t);
        if (err < 0) {
            Py_DECREF(items);
            Py_DECREF(out);
            return NULL;
        }
    }
    Py_DECREF(items);
    return out;
}

static PyObject *
over_new(PyTypeObject *type, PyObject *args, PyObject *kwargs)
{
    PyObject *method, *over, *fixed;
    if (!PyArg_ParseTuple(args, "OOO!:OverEach", &method, &over, &PyTuple_Type, &fixed)) {
        return NULL;
    }
    over_t *self = PyObject_GC_New(over_t, type);
    if (self == NULL) {
        return NULL;
    }
    self->vectorcall = over_vectorcall;
    Py_INCREF(method);
    self->method = method;
    Py_INCREF(over);
    self->over = over;
    Py_INCREF(fixed);
    self->args = fixed;
    PyObject_GC_Track(self);
    return (PyObject *)self;
}

static int
over_traverse(over_t *self, visitproc visit, void *arg)
{
    Py_VISIT(self->method);
    Py_VISIT(self->over);
    Py_VISIT(self->args);
    return 0;
}

static int
over_clear(over_t *self)
{
    Py_CLEAR(self->method);
    Py_CLEAR(self->over);
    Py_CLEAR(self->args);
    return 0;
}

static void
over_dealloc(over_t *self)
{
    PyObject_GC_UnTrack(self);
    over_clear(self);
    PyObject_GC_Del(self);
}

static PyTypeObject OverEachType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kripke._speedups.OverEach",
    .tp_doc = PyDoc_STR("OverEach(method, over, args): every method(s, *args, v) for v in over(s)"),
    .tp_basicsize = sizeof(over_t),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_new = over_new,
    .tp_dealloc = (destructor)over_dealloc,
    .tp_traverse = (traverseproc)over_traverse,
    .tp_clear = (inquiry)over_clear,
    .tp_call = PyVectorcall_Call,
    .tp_vectorcall_offset = offsetof(over_t, vectorcall),
};

/*
 * The vectorised engine's deduplication (checkers/vector.py): a level's successors, sorted as
 * uint64 keys (a state above tag_bits, the number of the path that made it below), are cut to
 * the first key of each state not in the sorted visited states, and the new states are merged
 * into the visited ones. numpy needs five passes and three temporary arrays for the first (a
 * shift, a compare, a compaction, a binary search per key, a second compaction) and a sort for
 * the second; these are one pass each, with the GIL released so that the two halves of a large
 * level run on two threads.
 */

static int
u64_buffer(PyObject *o, Py_buffer *b, int writable, const char *what)
{
    if (PyObject_GetBuffer(o, b, PyBUF_FORMAT | PyBUF_C_CONTIGUOUS
                           | (writable ? PyBUF_WRITABLE : 0)) < 0) {
        return -1;
    }
    if (b->itemsize != 8 || b->format == NULL
        || (strcmp(b->format, "Q") != 0 && strcmp(b->format, "L") != 0)) {
        PyBuffer_Release(b);
        PyErr_Format(PyExc_TypeError, "%s must be an array of uint64 ('Q')", what);
        return -1;
    }
    return 0;
}

/* The first index at or after j of the sorted v[0 .. m) whose value is at least s: galloping
 * (1, 2, 4, ... ahead), then a binary search, so that a walk over v that skips long stretches
 * costs their logarithm. */
static Py_ssize_t
gallop(const uint64_t *v, Py_ssize_t m, Py_ssize_t j, uint64_t s)
{
    if (j >= m || v[j] >= s) {
        return j;
    }
    Py_ssize_t lo = j, step = 1;  /* v[lo] < s */
    while (lo + step < m && v[lo + step] < s) {
        lo += step;
        step <<= 1;
    }
    Py_ssize_t hi = lo + step < m ? lo + step : m;  /* v[hi] >= s, or hi == m */
    while (hi - lo > 1) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (v[mid] < s) {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    return hi;
}

/* fresh_firsts(keyed, visited, tag_bits) -> n: the sorted keys keyed are compacted in place to
 * their first n: of each state (key >> tag_bits) its first key, for the states not in the
 * sorted visited. */
static PyObject *
speedups_fresh_firsts(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "fresh_firsts(keyed, visited, tag_bits)");
        return NULL;
    }
    long tag = PyLong_AsLong(args[2]);
    if (tag == -1 && PyErr_Occurred()) {
        return NULL;
    }
    if (tag < 0 || tag > 63) {
        PyErr_SetString(PyExc_ValueError, "tag_bits must be in 0 .. 63");
        return NULL;
    }
    Py_buffer keyed, visited;
    if (u64_buffer(args[0], &keyed, 1, "keyed") < 0) {
        return NULL;
    }
    if (u64_buffer(args[1], &visited, 0, "visited") < 0) {
        PyBuffer_Release(&keyed);
        return NULL;
    }
    uint64_t *k = keyed.buf;
    const uint64_t *v = visited.buf;
    Py_ssize_t n = keyed.len / 8, m = visited.len / 8, out = 0, j = 0;
    Py_BEGIN_ALLOW_THREADS
    uint64_t previous = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t state = k[i] >> tag;
        if (i > 0 && state == previous) {
            continue;
        }
        previous = state;
        j = gallop(v, m, j, state);
        if (j < m && v[j] == state) {
            continue;
        }
        k[out++] = k[i];
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&keyed);
    PyBuffer_Release(&visited);
    return PyLong_FromSsize_t(out);
}

/* emit_keys(rows, keep, set, tag, tag_bits, out, at) -> at: the successors of rows by a path that
 * writes constants ((row & keep) | set), those that differ from their row, written to out from
 * position at as keys ((successor << tag_bits) | tag); the position after the last. */
static PyObject *
speedups_emit_keys(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7) {
        PyErr_SetString(PyExc_TypeError, "emit_keys(rows, keep, set, tag, tag_bits, out, at)");
        return NULL;
    }
    uint64_t keep = PyLong_AsUnsignedLongLong(args[1]);
    uint64_t bits = PyLong_AsUnsignedLongLong(args[2]);
    uint64_t tag = PyLong_AsUnsignedLongLong(args[3]);
    long shift = PyLong_AsLong(args[4]);
    Py_ssize_t at = PyLong_AsSsize_t(args[6]);
    if (PyErr_Occurred()) {
        return NULL;
    }
    if (shift < 0 || shift > 63 || at < 0) {
        PyErr_SetString(PyExc_ValueError, "tag_bits must be in 0 .. 63 and at at least 0");
        return NULL;
    }
    Py_buffer rows, out;
    if (u64_buffer(args[0], &rows, 0, "rows") < 0) {
        return NULL;
    }
    if (u64_buffer(args[5], &out, 1, "out") < 0) {
        PyBuffer_Release(&rows);
        return NULL;
    }
    Py_ssize_t n = rows.len / 8;
    if (at + n > out.len / 8) {
        PyBuffer_Release(&rows);
        PyBuffer_Release(&out);
        PyErr_SetString(PyExc_ValueError, "out has no room for every row's successor");
        return NULL;
    }
    const uint64_t *r = rows.buf;
    uint64_t *o = out.buf;
    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t i = 0; i < n; i++) {
        uint64_t t = (r[i] & keep) | bits;
        o[at] = (t << shift) | tag;
        at += t != r[i];
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&rows);
    PyBuffer_Release(&out);
    return PyLong_FromSsize_t(at);
}

/* merge_into(a, b, out): the sorted uint64 arrays a and b merged into out (len(a) + len(b)). */
static PyObject *
speedups_merge_into(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3) {
        PyErr_SetString(PyExc_TypeError, "merge_into(a, b, out)");
        return NULL;
    }
    Py_buffer a, b, out;
    if (u64_buffer(args[0], &a, 0, "a") < 0) {
        return NULL;
    }
    if (u64_buffer(args[1], &b, 0, "b") < 0) {
        PyBuffer_Release(&a);
        return NULL;
    }
    if (u64_buffer(args[2], &out, 1, "out") < 0) {
        PyBuffer_Release(&a);
        PyBuffer_Release(&b);
        return NULL;
    }
    Py_ssize_t n = a.len / 8, m = b.len / 8;
    if (out.len / 8 != n + m) {
        PyBuffer_Release(&a);
        PyBuffer_Release(&b);
        PyBuffer_Release(&out);
        PyErr_SetString(PyExc_ValueError, "out must hold len(a) + len(b) items");
        return NULL;
    }
    const uint64_t *x = a.buf, *y = b.buf;
    uint64_t *z = out.buf;
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t i = 0, j = 0, o = 0;
    while (i < n && j < m) {
        z[o++] = y[j] < x[i] ? y[j++] : x[i++];
    }
    memcpy(z + o, x + i, (size_t)(n - i) * 8);
    memcpy(z + o + (n - i), y + j, (size_t)(m - j) * 8);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&a);
    PyBuffer_Release(&b);
    PyBuffer_Release(&out);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"first_bad_field", (PyCFunction)(void (*)(void))speedups_first_bad_field, METH_FASTCALL,
     PyDoc_STR("first_bad_field(t, checks, parent) -> index of the first ill-typed field, or -1")},
    {"expand", (PyCFunction)(void (*)(void))speedups_expand, METH_FASTCALL,
     PyDoc_STR("expand(s, calls, fired, seen, fingerprint, checks, type_checks, known) -> (n, found)")},
    {"fingerprint", (PyCFunction)speedups_fingerprint, METH_O,
     PyDoc_STR("fingerprint(v) -> the 64-bit fingerprint of a value (models/fingerprint.py)")},
    {"part_fingerprint", (PyCFunction)(void (*)(void))speedups_part_fingerprint, METH_FASTCALL,
     PyDoc_STR("part_fingerprint(indices, s) -> fingerprint of s's items at indices")},
    {"permute", (PyCFunction)(void (*)(void))speedups_permute, METH_FASTCALL,
     PyDoc_STR("permute(desc, v, perm) -> v with its ids renamed (models/symmetry.py)")},
    {"canonical", (PyCFunction)(void (*)(void))speedups_canonical, METH_FASTCALL,
     PyDoc_STR("canonical(desc, views, s, n) -> (t, unfixed) (models/symmetry.py)")},
    {"representative", (PyCFunction)(void (*)(void))speedups_representative, METH_FASTCALL,
     PyDoc_STR("representative(desc, views, n, fallback, s) -> the canonical representative")},
    {"permute_fingerprint", (PyCFunction)(void (*)(void))speedups_permute_fingerprint,
     METH_FASTCALL,
     PyDoc_STR("permute_fingerprint(desc, v, perm) -> fingerprint(permute(desc, v, perm))")},
    {"probe_states", (PyCFunction)(void (*)(void))speedups_probe_states, METH_FASTCALL,
     PyDoc_STR("probe_states(t, pt, checks, known) -> -1 or the first check that differs")},
    {"probe_steps", (PyCFunction)(void (*)(void))speedups_probe_steps, METH_FASTCALL,
     PyDoc_STR("probe_steps(calls, desc, perm, t, pt, checks) -> are the steps renamings?")},
    {"representative_fingerprint",
     (PyCFunction)(void (*)(void))speedups_representative_fingerprint, METH_FASTCALL,
     PyDoc_STR("representative_fingerprint(desc, views, n, fallback, s) -> its fingerprint")},
    {"put", (PyCFunction)(void (*)(void))speedups_put, METH_FASTCALL,
     PyDoc_STR("put(t, i, value): a copy of tuple t with item i replaced")},
    {"graph_edges", (PyCFunction)(void (*)(void))speedups_graph_edges, METH_FASTCALL,
     PyDoc_STR("graph_edges(found, own, index, units, dst, label, pos) -> (pos, moves)")},
    {"reach_into", (PyCFunction)(void (*)(void))speedups_reach_into, METH_FASTCALL,
     PyDoc_STR("reach_into(start, count, dst, mask, roots, parent, order) -> states reached")},
    {"strongly_connected_into", (PyCFunction)(void (*)(void))speedups_strongly_connected_into,
     METH_FASTCALL,
     PyDoc_STR("strongly_connected_into(start, count, dst, mask, comp) -> components")},
    {"fresh_firsts", (PyCFunction)(void (*)(void))speedups_fresh_firsts, METH_FASTCALL,
     PyDoc_STR("fresh_firsts(keyed, visited, tag_bits) -> n: keyed cut to each new state's "
               "first key")},
    {"emit_keys", (PyCFunction)(void (*)(void))speedups_emit_keys, METH_FASTCALL,
     PyDoc_STR("emit_keys(rows, keep, set, tag, tag_bits, out, at) -> at: a path's keys")},
    {"merge_into", (PyCFunction)(void (*)(void))speedups_merge_into, METH_FASTCALL,
     PyDoc_STR("merge_into(a, b, out): the sorted uint64 arrays a and b merged into out")},
    {NULL, NULL, 0, NULL},
};

static PyMethodDef record_methods[] = {
    {"set", (PyCFunction)(void (*)(void))record_set, METH_FASTCALL | METH_KEYWORDS,
     PyDoc_STR("set(**changes): a copy of the record with the named fields replaced")},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject RecordBaseType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "kripke._speedups.RecordBase",
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
    if (PyType_Ready(&RecordBaseType) < 0 || PyType_Ready(&MemoType) < 0
            || PyType_Ready(&LastStateType) < 0 || PyType_Ready(&OverEachType) < 0) {
        return NULL;
    }
    fp_init_tables();
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
    PyTypeObject *types[] = {&MemoType, &LastStateType, &OverEachType};
    const char *names[] = {"Reads", "LastState", "OverEach"};
    for (int k = 0; k < 3; k++) {
        Py_INCREF(types[k]);
        if (PyModule_AddObject(m, names[k], (PyObject *)types[k]) < 0) {
            Py_DECREF(types[k]);
            Py_DECREF(m);
            return NULL;
        }
    }
    return m;
}
