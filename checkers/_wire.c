/*
 * kripke._wire: the binary encoding of the batches of states that kripke's processes hand each
 * other (checkers/parallel.py's workers, the frontier's spill files, Ray actors). It replaces
 * pickle there: pickle cost 5-10 us a state to dump and load (a Python persistent_id call for
 * every object, a Python __getnewargs__ for every record), as much as expanding the state, which
 * left nothing of the speedup that issue 13 asks of two workers. checkers/wire.py holds the
 * Python twin, which writes and reads the same bytes, and describes the format; in short:
 *
 *   a tag byte per value; 0x80 + n for an int n in 0..127; then, by tag, nothing (None, False,
 *   True), a varint (LEB128: ints up to 2**56, negative ints down to -2**63 as -1 - n, lengths,
 *   back-references, class numbers), 8 little-endian bytes (ints up to 2**64, floats), or a
 *   length and UTF-8 bytes (strings) or two's-complement bytes (other ints), or a length and the
 *   items (tuple, frozenset, list; a FrozenMap's keys and values in turn; a record's class
 *   number, field count and fields, without a tagged record's tag).
 *
 * Back-references make a batch compact: a string is written once per call (by equality), a
 * tuple, frozenset, FrozenMap or record once per call (by identity: the messages a record class
 * interns, the fields a successor shares with its parent), then named by its number in the
 * order they were finished (a container after its items). loads rebuilds tagged records with
 * their class's constructor, so a loaded message is the interned one, untagged records (a
 * model's State) with tuple.__new__ as their constructor does, and interns the strings.
 *
 * loads reads bytes from a file, so it treats them as untrusted: it calls nothing but the given
 * record classes, tuple.__new__, frozenset and int.from_bytes; it checks every length against
 * the bytes left before allocating; it stops at MAX_DEPTH levels of nesting; and every
 * malformed input is a ValueError saying what is wrong and at which byte.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* Deep enough for any state (a few levels), shallow enough for the Python twin's frames under
 * Python's default recursion limit of 1000. */
#define MAX_DEPTH 500

enum {
    T_NONE, T_FALSE, T_TRUE, T_UINT, T_NEG, T_U64, T_BIGINT, T_FLOAT, T_STR, T_REF, T_TUPLE,
    T_FROZENSET, T_MAP, T_RECORD, T_LIST,
};
#define T_SMALL 0x80 /* 0x80 + n: the int n, 0 <= n < 128 */

/* kripke.models.types.FrozenMap, imported on first use (that module is above this one). */
static PyObject *frozen_map;

static PyTypeObject *
frozen_map_type(void)
{
    if (frozen_map == NULL) {
        PyObject *types = PyImport_ImportModule("kripke.models.types");
        if (types == NULL) {
            return NULL;
        }
        frozen_map = PyObject_GetAttrString(types, "FrozenMap");
        Py_DECREF(types);
        if (frozen_map != NULL && !PyType_Check(frozen_map)) {
            PyErr_SetString(PyExc_TypeError, "kripke.models.types.FrozenMap is not a class");
            Py_CLEAR(frozen_map);
        }
    }
    return (PyTypeObject *)frozen_map;
}

/* Is a record class tagged (its first item is the tag)? 1, 0, or -1 with an exception. */
static int
is_tagged(PyObject *cls)
{
    PyObject *tag = PyObject_GetAttrString(cls, "_tag");
    if (tag == NULL) {
        return -1;
    }
    int tagged = tag != Py_None;
    Py_DECREF(tag);
    return tagged;
}

/* -- dumps --------------------------------------------------------------------------------- */

/* The memo: an open-addressing table from an object already written to its number. Strings are
 * found by value (their hash), everything else by address; the value being written holds every
 * object in it alive, so the table holds no references. */
typedef struct {
    PyObject *key; /* NULL: empty */
    Py_hash_t hash;
    Py_ssize_t index;
} Slot;

typedef struct {
    PyObject *out;   /* the bytes object being written, resized as it fills */
    Py_ssize_t len;  /* bytes written */
    Slot *slots;
    size_t mask;     /* slots - 1, a power of two minus one */
    size_t used;
    Py_ssize_t next; /* the number of the next object memoized */
    PyObject *ids;   /* {record class: number} */
    signed char *tagged; /* by class number: -1 not looked up yet, else is_tagged */
    Py_ssize_t nids;
    PyTypeObject *map;
} Writer;

static inline size_t
home(Py_hash_t h, size_t mask)
{
    uint64_t x = (uint64_t)h; /* murmur3's finalizer: addresses share their low bits */
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    return (size_t)x & mask;
}

static inline int
same_str(PyObject *a, PyObject *b)
{
    return PyUnicode_CheckExact(a) && PyUnicode_GET_LENGTH(a) == PyUnicode_GET_LENGTH(b)
           && PyUnicode_KIND(a) == PyUnicode_KIND(b)
           && memcmp(PyUnicode_DATA(a), PyUnicode_DATA(b),
                     PyUnicode_GET_LENGTH(a) * PyUnicode_KIND(a)) == 0;
}

static Slot *
memo_find(Writer *w, PyObject *key, Py_hash_t h, int is_str)
{
    size_t i = home(h, w->mask);
    for (;;) {
        Slot *s = &w->slots[i];
        if (s->key == NULL || s->key == key || (is_str && s->hash == h && same_str(s->key, key))) {
            return s;
        }
        i = (i + 1) & w->mask;
    }
}

static int
memo_add(Writer *w, PyObject *key, Py_hash_t h, int is_str)
{
    Slot *s = memo_find(w, key, h, is_str);
    s->key = key;
    s->hash = h;
    s->index = w->next++;
    if (++w->used * 2 <= w->mask + 1) {
        return 0;
    }
    size_t n = (w->mask + 1) * 2;
    Slot *old = w->slots, *slots = PyMem_Calloc(n, sizeof(Slot));
    if (slots == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (size_t j = 0; j <= w->mask; j++) {
        if (old[j].key != NULL) {
            size_t i = home(old[j].hash, n - 1);
            while (slots[i].key != NULL) {
                i = (i + 1) & (n - 1);
            }
            slots[i] = old[j];
        }
    }
    PyMem_Free(old);
    w->slots = slots;
    w->mask = n - 1;
    return 0;
}

/* Room for ``n`` more bytes; the place to write them. */
static unsigned char *
reserve(Writer *w, Py_ssize_t n)
{
    Py_ssize_t cap = PyBytes_GET_SIZE(w->out);
    if (w->len + n > cap) {
        Py_ssize_t want = cap * 2 > w->len + n ? cap * 2 : w->len + n;
        if (_PyBytes_Resize(&w->out, want) < 0) {
            return NULL;
        }
    }
    return (unsigned char *)PyBytes_AS_STRING(w->out) + w->len;
}

static int
put_tag_varint(Writer *w, int tag, uint64_t v)
{
    unsigned char *p = reserve(w, 11), *start = p;
    if (p == NULL) {
        return -1;
    }
    if (tag >= 0) {
        *p++ = (unsigned char)tag;
    }
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    w->len += p - start;
    return 0;
}

static int
put_bytes(Writer *w, int tag, const void *data, Py_ssize_t n)
{
    if (put_tag_varint(w, tag, (uint64_t)n) < 0) {
        return -1;
    }
    unsigned char *p = reserve(w, n);
    if (p == NULL) {
        return -1;
    }
    memcpy(p, data, n);
    w->len += n;
    return 0;
}

static int
put_fixed8(Writer *w, int tag, uint64_t v)
{
    unsigned char *p = reserve(w, 9);
    if (p == NULL) {
        return -1;
    }
    p[0] = (unsigned char)tag;
    for (int i = 1; i <= 8; i++, v >>= 8) {
        p[i] = (unsigned char)v;
    }
    w->len += 9;
    return 0;
}

/* An int beyond the varint and 8-byte forms: its two's-complement bytes, as int.to_bytes
 * writes them (rare: such ints are in no built-in model). */
static int
put_bigint(Writer *w, PyObject *v)
{
    PyObject *bits = PyObject_CallMethod(v, "bit_length", NULL);
    if (bits == NULL) {
        return -1;
    }
    Py_ssize_t n = PyLong_AsSsize_t(bits) / 8 + 1;
    Py_DECREF(bits);
    PyObject *to_bytes = PyObject_GetAttrString(v, "to_bytes");
    PyObject *args = Py_BuildValue("(ns)", n, "little");
    PyObject *kwargs = Py_BuildValue("{sO}", "signed", Py_True);
    PyObject *bytes = to_bytes == NULL || args == NULL || kwargs == NULL ? NULL
                      : PyObject_Call(to_bytes, args, kwargs);
    Py_XDECREF(to_bytes);
    Py_XDECREF(args);
    Py_XDECREF(kwargs);
    if (bytes == NULL) {
        return -1;
    }
    int err = put_bytes(w, T_BIGINT, PyBytes_AS_STRING(bytes), PyBytes_GET_SIZE(bytes));
    Py_DECREF(bytes);
    return err;
}

static int
put_int(Writer *w, PyObject *v)
{
    int overflow;
    long long x = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (x == -1 && PyErr_Occurred()) {
        return -1;
    }
    if (overflow == 0) {
        if (x >= 0 && x < 128) {
            unsigned char *p = reserve(w, 1);
            if (p == NULL) {
                return -1;
            }
            *p = (unsigned char)(T_SMALL + x);
            w->len++;
            return 0;
        }
        if (x >= 0) {
            return x < (1LL << 56) ? put_tag_varint(w, T_UINT, (uint64_t)x)
                                   : put_fixed8(w, T_U64, (uint64_t)x);
        }
        return put_tag_varint(w, T_NEG, (uint64_t)(-1 - x));
    }
    if (overflow > 0) {
        unsigned long long u = PyLong_AsUnsignedLongLong(v);
        if (!(u == (unsigned long long)-1 && PyErr_Occurred())) {
            return put_fixed8(w, T_U64, u);
        }
        if (!PyErr_ExceptionMatches(PyExc_OverflowError)) {
            return -1;
        }
        PyErr_Clear();
    }
    return put_bigint(w, v);
}

static int put(Writer *w, PyObject *v, int depth);

static int
put_items(Writer *w, int tag, PyObject *const *items, Py_ssize_t n, int depth)
{
    if (put_tag_varint(w, tag, (uint64_t)n) < 0) {
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        if (put(w, items[i], depth + 1) < 0) {
            return -1;
        }
    }
    return 0;
}

static int
put_frozenset(Writer *w, PyObject *v, int depth)
{
    if (put_tag_varint(w, T_FROZENSET, (uint64_t)PySet_GET_SIZE(v)) < 0) {
        return -1;
    }
#if PY_VERSION_HEX < 0x030D0000
    Py_ssize_t pos = 0;
    PyObject *item;
    Py_hash_t hash;
    while (_PySet_NextEntry(v, &pos, &item, &hash)) { /* item is borrowed */
        if (put(w, item, depth + 1) < 0) {
            return -1;
        }
    }
    return 0;
#else
    PyObject *it = PyObject_GetIter(v), *item;
    if (it == NULL) {
        return -1;
    }
    while ((item = PyIter_Next(it)) != NULL) {
        int err = put(w, item, depth + 1);
        Py_DECREF(item);
        if (err < 0) {
            Py_DECREF(it);
            return -1;
        }
    }
    Py_DECREF(it);
    return PyErr_Occurred() ? -1 : 0;
#endif
}

static int
put_map(Writer *w, PyObject *v, int depth)
{
    Py_ssize_t n = PyTuple_GET_SIZE(v);
    if (put_tag_varint(w, T_MAP, (uint64_t)n) < 0) {
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *pair = PyTuple_GET_ITEM(v, i);
        if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2) {
            PyErr_SetString(PyExc_TypeError, "cannot write a FrozenMap whose items are not "
                                              "(key, value) pairs");
            return -1;
        }
        if (put(w, PyTuple_GET_ITEM(pair, 0), depth + 1) < 0
                || put(w, PyTuple_GET_ITEM(pair, 1), depth + 1) < 0) {
            return -1;
        }
    }
    return 0;
}

static int
put_record(Writer *w, PyObject *v, Py_ssize_t n, int depth)
{
    if (n < 0 || n >= w->nids) {
        PyErr_Format(PyExc_ValueError, "ids numbers record classes 0..%zd, not %zd",
                     w->nids - 1, n);
        return -1;
    }
    if (w->tagged[n] < 0) {
        int tagged = is_tagged((PyObject *)Py_TYPE(v));
        if (tagged < 0) {
            return -1;
        }
        w->tagged[n] = (signed char)tagged;
    }
    Py_ssize_t off = w->tagged[n], size = PyTuple_GET_SIZE(v);
    if (size < off) {
        PyErr_SetString(PyExc_ValueError, "cannot write a tagged record without its tag");
        return -1;
    }
    if (put_tag_varint(w, T_RECORD, (uint64_t)n) < 0) {
        return -1;
    }
    return put_items(w, -1, &PyTuple_GET_ITEM(v, off), size - off, depth);
}

/* Write ``v`` (at ``depth``: the outermost value is at 1). */
static int
put(Writer *w, PyObject *v, int depth)
{
    if (depth > MAX_DEPTH) {
        PyErr_Format(PyExc_ValueError, "the value is nested deeper than %d levels", MAX_DEPTH);
        return -1;
    }
    PyTypeObject *t = Py_TYPE(v);
    if (t == &PyLong_Type) {
        return put_int(w, v);
    }
    if (v == Py_None || v == Py_False || v == Py_True) {
        unsigned char *p = reserve(w, 1);
        if (p == NULL) {
            return -1;
        }
        *p = v == Py_None ? T_NONE : v == Py_False ? T_FALSE : T_TRUE;
        w->len++;
        return 0;
    }
    if (t == &PyFloat_Type) {
        unsigned char *p = reserve(w, 9);
        if (p == NULL) {
            return -1;
        }
        p[0] = T_FLOAT;
        if (PyFloat_Pack8(PyFloat_AS_DOUBLE(v), (char *)p + 1, 1) < 0) {
            return -1;
        }
        w->len += 9;
        return 0;
    }
    if (t == &PyList_Type) { /* a batch; never memoized (lists are mutable) */
        return put_items(w, T_LIST, PySequence_Fast_ITEMS(v), PyList_GET_SIZE(v), depth);
    }
    int is_str = t == &PyUnicode_Type;
    Py_ssize_t cls = -1; /* the record class's number */
    if (!is_str && t != &PyTuple_Type && t != &PyFrozenSet_Type && t != w->map) {
        PyObject *n = PyDict_GetItemWithError(w->ids, (PyObject *)t);
        if (n == NULL) {
            if (!PyErr_Occurred()) {
                PyObject *name = PyType_GetName(t);
                if (name != NULL) {
                    PyErr_Format(PyExc_TypeError,
                                 "cannot write a %U: a state holds only None, bool, int, float, "
                                 "str, tuple, frozenset, FrozenMap and the model's record "
                                 "classes", name);
                    Py_DECREF(name);
                }
            }
            return -1;
        }
        cls = PyLong_AsSsize_t(n);
        if (cls == -1 && PyErr_Occurred()) {
            return -1;
        }
    }
    else if (!is_str && (t == &PyFrozenSet_Type ? PySet_GET_SIZE(v) : PyTuple_GET_SIZE(v)) == 0) {
        /* an empty container: shorter than a reference to one */
        return put_tag_varint(w, t == &PyTuple_Type ? T_TUPLE
                                 : t == &PyFrozenSet_Type ? T_FROZENSET : T_MAP, 0);
    }
    Py_hash_t h = is_str ? PyObject_Hash(v) : (Py_hash_t)(uintptr_t)v;
    if (h == -1 && is_str) {
        return -1;
    }
    Slot *s = memo_find(w, v, h, is_str);
    if (s->key != NULL) {
        return put_tag_varint(w, T_REF, (uint64_t)s->index);
    }
    int err;
    if (is_str) {
        Py_ssize_t n;
        const char *utf8 = PyUnicode_AsUTF8AndSize(v, &n);
        err = utf8 == NULL ? -1 : put_bytes(w, T_STR, utf8, n);
    }
    else if (t == &PyTuple_Type) {
        err = put_items(w, T_TUPLE, &PyTuple_GET_ITEM(v, 0), PyTuple_GET_SIZE(v), depth);
    }
    else if (t == &PyFrozenSet_Type) {
        err = put_frozenset(w, v, depth);
    }
    else if (t == w->map) {
        err = put_map(w, v, depth);
    }
    else {
        err = put_record(w, v, cls, depth);
    }
    return err < 0 ? -1 : memo_add(w, v, h, is_str);
}

static PyObject *
wire_dumps(PyObject *module, PyObject *args)
{
    PyObject *value, *ids;
    if (!PyArg_ParseTuple(args, "OO!:dumps", &value, &PyDict_Type, &ids)) {
        return NULL;
    }
    Writer w = {.ids = ids, .nids = PyDict_GET_SIZE(ids), .mask = 1023};
    w.map = frozen_map_type();
    if (w.map == NULL) {
        return NULL;
    }
    w.out = PyBytes_FromStringAndSize(NULL, 4096);
    w.slots = PyMem_Calloc(w.mask + 1, sizeof(Slot));
    w.tagged = PyMem_Malloc(w.nids + 1);
    if (w.out == NULL || w.slots == NULL || w.tagged == NULL) {
        if (w.out != NULL) {
            PyErr_NoMemory();
        }
        Py_XDECREF(w.out);
        PyMem_Free(w.slots);
        PyMem_Free(w.tagged);
        return NULL;
    }
    memset(w.tagged, -1, w.nids + 1);
    int err = put(&w, value, 1);
    PyMem_Free(w.slots);
    PyMem_Free(w.tagged);
    if (err < 0 || _PyBytes_Resize(&w.out, w.len) < 0) {
        Py_XDECREF(w.out);
        return NULL;
    }
    return w.out;
}

/* -- loads --------------------------------------------------------------------------------- */

typedef struct {
    const unsigned char *start, *p, *end;
    PyObject *memo;     /* list: the objects that can be referred back to, in order */
    PyObject **classes; /* the record classes, by number */
    Py_ssize_t nclasses;
    Py_ssize_t *nfields; /* by class number: -1 not looked up yet */
    signed char *tagged;
    PyTypeObject *map;
} Reader;

static PyObject *
truncated(Reader *r, Py_ssize_t at)
{
    PyErr_Format(PyExc_ValueError, "truncated data: the value at byte %zd runs past the end "
                 "(%zd bytes)", at, (Py_ssize_t)(r->end - r->start));
    return NULL;
}

/* A varint into *out: 0, or -1 with the ValueError raised (``at``: the value it is part of). */
static int
get_varint(Reader *r, Py_ssize_t at, uint64_t *out)
{
    uint64_t v = 0;
    for (int shift = 0;; shift += 7) {
        if (r->p >= r->end) {
            truncated(r, at);
            return -1;
        }
        unsigned b = *r->p++;
        if (shift == 63) { /* the tenth byte holds bit 63 alone */
            if (b > 1) {
                PyErr_Format(PyExc_ValueError, "a number beyond 64 bits in the value at byte "
                             "%zd", at);
                return -1;
            }
            v |= (uint64_t)b << 63;
            break;
        }
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            break;
        }
    }
    *out = v;
    return 0;
}

/* A length: a varint no larger than the bytes left (every item takes one at least). */
static int
get_length(Reader *r, Py_ssize_t at, Py_ssize_t *out)
{
    uint64_t n;
    if (get_varint(r, at, &n) < 0) {
        return -1;
    }
    if (n > (uint64_t)(r->end - r->p)) {
        truncated(r, at);
        return -1;
    }
    *out = (Py_ssize_t)n;
    return 0;
}

/* A TypeError from hashing or a record constructor, on data that put two wrong values
 * together, as the ValueError of malformed data. */
static PyObject *
unbuildable(Py_ssize_t at)
{
    if (PyErr_ExceptionMatches(PyExc_TypeError)) {
        PyObject *type, *value, *tb;
        PyErr_Fetch(&type, &value, &tb);
        PyErr_Format(PyExc_ValueError, "the value at byte %zd cannot be built: %S", at,
                     value != NULL ? value : Py_None);
        Py_XDECREF(type);
        Py_XDECREF(value);
        Py_XDECREF(tb);
    }
    return NULL;
}

static PyObject *get(Reader *r, int depth);

/* ``int.from_bytes(data, "little", signed=True)``, stealing ``data``. */
static PyObject *
from_bytes(PyObject *data)
{
    PyObject *method = PyObject_GetAttrString((PyObject *)&PyLong_Type, "from_bytes");
    PyObject *args = Py_BuildValue("(Os)", data, "little");
    PyObject *kwargs = Py_BuildValue("{sO}", "signed", Py_True);
    PyObject *out = method == NULL || args == NULL || kwargs == NULL ? NULL
                    : PyObject_Call(method, args, kwargs);
    Py_DECREF(data);
    Py_XDECREF(method);
    Py_XDECREF(args);
    Py_XDECREF(kwargs);
    return out;
}

/* ``n`` values into a new tuple. */
static PyObject *
get_tuple(Reader *r, Py_ssize_t n, int depth)
{
    PyObject *t = PyTuple_New(n);
    for (Py_ssize_t i = 0; t != NULL && i < n; i++) {
        PyObject *item = get(r, depth + 1);
        if (item == NULL) {
            Py_CLEAR(t);
        }
        else {
            PyTuple_SET_ITEM(t, i, item);
        }
    }
    return t;
}

/* ``cls.__new__(cls, items)`` of tuple, for an untagged record or a FrozenMap (what their
 * constructors do, without a Python frame). */
static PyObject *
tuple_new(PyTypeObject *cls, PyObject *items)
{
    if (items == NULL) {
        return NULL;
    }
    PyObject *args = PyTuple_Pack(1, items);
    Py_DECREF(items);
    if (args == NULL) {
        return NULL;
    }
    PyObject *out = PyTuple_Type.tp_new(cls, args, NULL);
    Py_DECREF(args);
    return out;
}

static PyObject *
get_record(Reader *r, Py_ssize_t at, int depth)
{
    uint64_t n, m;
    if (get_varint(r, at, &n) < 0) {
        return NULL;
    }
    if (n >= (uint64_t)r->nclasses) {
        PyErr_Format(PyExc_ValueError, "unknown record class number %llu at byte %zd (%zd "
                     "classes)", (unsigned long long)n, at, r->nclasses);
        return NULL;
    }
    PyObject *cls = r->classes[n];
    if (r->nfields[n] < 0) {
        if (!PyType_Check(cls) || !PyType_IsSubtype((PyTypeObject *)cls, &PyTuple_Type)) {
            PyErr_Format(PyExc_TypeError, "classes[%llu] is not a record class",
                         (unsigned long long)n);
            return NULL;
        }
        PyObject *fields = PyObject_GetAttrString(cls, "_fields");
        Py_ssize_t k = fields == NULL ? -1 : PyObject_Length(fields);
        Py_XDECREF(fields);
        int tagged = k < 0 ? -1 : is_tagged(cls);
        if (tagged < 0) {
            return NULL;
        }
        r->nfields[n] = k;
        r->tagged[n] = (signed char)tagged;
    }
    if (get_varint(r, at, &m) < 0) {
        return NULL;
    }
    if (m != (uint64_t)r->nfields[n]) {
        PyErr_Format(PyExc_ValueError, "a %s record at byte %zd has %llu fields, not %zd",
                     ((PyTypeObject *)cls)->tp_name, at, (unsigned long long)m, r->nfields[n]);
        return NULL;
    }
    PyObject *fields = get_tuple(r, (Py_ssize_t)m, depth);
    if (fields == NULL || !r->tagged[n]) {
        return tuple_new((PyTypeObject *)cls, fields);
    }
    PyObject *out = PyObject_Call(cls, fields, NULL); /* the interned message */
    Py_DECREF(fields);
    return out == NULL ? unbuildable(at) : out;
}

/* The value at the reader's position (at ``depth``: the outermost value is at 1). */
static PyObject *
get(Reader *r, int depth)
{
    Py_ssize_t at = r->p - r->start, n;
    if (depth > MAX_DEPTH) {
        PyErr_Format(PyExc_ValueError, "the value at byte %zd is nested deeper than %d levels",
                     at, MAX_DEPTH);
        return NULL;
    }
    if (r->p >= r->end) {
        return truncated(r, at);
    }
    unsigned tag = *r->p++;
    if (tag >= T_SMALL) {
        return PyLong_FromLong((long)(tag - T_SMALL));
    }
    uint64_t u;
    PyObject *out, *items;
    switch (tag) {
    case T_NONE:
        Py_RETURN_NONE;
    case T_FALSE:
        Py_RETURN_FALSE;
    case T_TRUE:
        Py_RETURN_TRUE;
    case T_UINT:
        return get_varint(r, at, &u) < 0 ? NULL : PyLong_FromUnsignedLongLong(u);
    case T_NEG:
        if (get_varint(r, at, &u) < 0) {
            return NULL;
        }
        if (u <= (uint64_t)LLONG_MAX) {
            return PyLong_FromLongLong(-1 - (long long)u);
        }
        items = PyLong_FromUnsignedLongLong(u);
        out = items == NULL ? NULL : PyNumber_Invert(items); /* -1 - u */
        Py_XDECREF(items);
        return out;
    case T_U64:
    case T_FLOAT:
        if (r->end - r->p < 8) {
            return truncated(r, at);
        }
        if (tag == T_FLOAT) {
            double x = PyFloat_Unpack8((const char *)r->p, 1);
            r->p += 8;
            return x == -1.0 && PyErr_Occurred() ? NULL : PyFloat_FromDouble(x);
        }
        u = 0;
        for (int i = 7; i >= 0; i--) {
            u = u << 8 | r->p[i];
        }
        r->p += 8;
        return PyLong_FromUnsignedLongLong(u);
    case T_BIGINT:
        if (get_length(r, at, &n) < 0) {
            return NULL;
        }
        items = PyBytes_FromStringAndSize((const char *)r->p, n);
        r->p += n;
        return items == NULL ? NULL : from_bytes(items);
    case T_STR:
        if (get_length(r, at, &n) < 0) {
            return NULL;
        }
        out = PyUnicode_DecodeUTF8((const char *)r->p, n, NULL);
        r->p += n;
        if (out == NULL) {
            if (PyErr_ExceptionMatches(PyExc_UnicodeDecodeError)) {
                PyErr_Clear();
                PyErr_Format(PyExc_ValueError, "bad UTF-8 in the string at byte %zd", at);
            }
            return NULL;
        }
        PyUnicode_InternInPlace(&out); /* the model's own strings, not copies of them */
        break;
    case T_REF:
        if (get_varint(r, at, &u) < 0) {
            return NULL;
        }
        if (u >= (uint64_t)PyList_GET_SIZE(r->memo)) {
            PyErr_Format(PyExc_ValueError, "back-reference %llu at byte %zd is out of range "
                         "(%zd values so far)", (unsigned long long)u, at,
                         PyList_GET_SIZE(r->memo));
            return NULL;
        }
        return Py_NewRef(PyList_GET_ITEM(r->memo, (Py_ssize_t)u));
    case T_TUPLE:
        if (get_length(r, at, &n) < 0 || (out = get_tuple(r, n, depth)) == NULL) {
            return NULL;
        }
        if (n == 0) {
            return out;
        }
        break;
    case T_FROZENSET:
        if (get_length(r, at, &n) < 0 || (items = get_tuple(r, n, depth)) == NULL) {
            return NULL;
        }
        out = PyFrozenSet_New(items);
        Py_DECREF(items);
        if (out == NULL) {
            return unbuildable(at);
        }
        if (n == 0) {
            return out;
        }
        break;
    case T_MAP:
        if (get_length(r, at, &n) < 0 || (items = PyTuple_New(n)) == NULL) {
            return NULL;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *pair = get_tuple(r, 2, depth);
            if (pair == NULL) {
                Py_DECREF(items);
                return NULL;
            }
            PyTuple_SET_ITEM(items, i, pair);
        }
        out = tuple_new(r->map, items);
        if (out == NULL || n == 0) {
            return out;
        }
        break;
    case T_RECORD:
        if ((out = get_record(r, at, depth)) == NULL) {
            return NULL;
        }
        break;
    case T_LIST:
        if (get_length(r, at, &n) < 0 || (out = PyList_New(n)) == NULL) {
            return NULL;
        }
        for (Py_ssize_t i = 0; i < n; i++) {
            PyObject *item = get(r, depth + 1);
            if (item == NULL) {
                Py_DECREF(out);
                return NULL;
            }
            PyList_SET_ITEM(out, i, item);
        }
        return out;
    default:
        PyErr_Format(PyExc_ValueError, "unknown tag 0x%02x at byte %zd", tag, at);
        return NULL;
    }
    if (PyList_Append(r->memo, out) < 0) {
        Py_DECREF(out);
        return NULL;
    }
    return out;
}

static PyObject *
wire_loads(PyObject *module, PyObject *args)
{
    Py_buffer data;
    PyObject *classes;
    if (!PyArg_ParseTuple(args, "y*O:loads", &data, &classes)) {
        return NULL;
    }
    PyObject *seq = PySequence_Tuple(classes); /* a copy: constructors run Python code */
    PyTypeObject *map = frozen_map_type();
    if (seq == NULL || map == NULL) {
        Py_XDECREF(seq);
        PyBuffer_Release(&data);
        return NULL;
    }
    Py_ssize_t nclasses = PyTuple_GET_SIZE(seq);
    Reader r = {.start = data.buf, .p = data.buf, .end = (const unsigned char *)data.buf + data.len,
                .memo = PyList_New(0), .classes = &PyTuple_GET_ITEM(seq, 0),
                .nclasses = nclasses, .nfields = PyMem_Malloc((nclasses + 1) * sizeof(Py_ssize_t)),
                .tagged = PyMem_Malloc(nclasses + 1), .map = map};
    PyObject *out = NULL;
    if (r.memo == NULL || r.nfields == NULL || r.tagged == NULL) {
        if (r.memo != NULL) {
            PyErr_NoMemory();
        }
    }
    else {
        for (Py_ssize_t i = 0; i < nclasses; i++) {
            r.nfields[i] = -1;
        }
        out = get(&r, 1);
        if (out != NULL && r.p != r.end) {
            PyErr_Format(PyExc_ValueError, "%zd trailing bytes after the value (at byte %zd)",
                         (Py_ssize_t)(r.end - r.p), (Py_ssize_t)(r.p - r.start));
            Py_CLEAR(out);
        }
    }
    Py_XDECREF(r.memo);
    PyMem_Free(r.nfields);
    PyMem_Free(r.tagged);
    Py_DECREF(seq);
    PyBuffer_Release(&data);
    return out;
}

static PyMethodDef wire_methods[] = {
    {"dumps", wire_dumps, METH_VARARGS,
     PyDoc_STR("dumps(value, ids) -> bytes: value in kripke's wire format (ids: {record class: "
               "number})")},
    {"loads", wire_loads, METH_VARARGS,
     PyDoc_STR("loads(data, classes): the value dumps wrote (classes: the record classes by "
               "number); malformed data is a ValueError")},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef wire_module = {
    PyModuleDef_HEAD_INIT, "_wire", "The binary encoding of the states kripke's processes "
    "exchange (checkers/wire.py).", -1, wire_methods,
};

PyMODINIT_FUNC
PyInit__wire(void)
{
    return PyModule_Create(&wire_module);
}
