/* The prompt guard's term lookup in C: an ASCII text's words, and the vocabulary rows of its
 * distinct words and word pairs, in one pass with no Python string made per word pair.
 *
 * Why C: on a 4,000-token prompt the guard reads a 1,300-character window, about 220 words and
 * 220 word pairs. In Python each pair is a new string, hashed, put in a set and looked up in a
 * dictionary; that is most of the call's time and issue 15 gives the whole call 0.3 ms. Here a
 * pair is hashed from the two words' bytes in place. lookup.py keeps the Python path, which
 * gives the same rows (tests/guardrails/test_guard_native.py holds the two paths to each other),
 * for non-ASCII texts and for a machine where this file could not be compiled.
 *
 * Words follow features._WORD for ASCII text: [0-9A-Za-z]+ with at most one inner apostrophe
 * followed by more letters or digits ("don't"), exactly what re.findall cuts. The table holds
 * the vocabulary's words and pairs (features without a space or with one); other features
 * (concepts, "x:...") are not terms and are left to the caller.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* A slot is 8 bytes, so the table of a 43,000-feature vocabulary (65,536 slots, 512 KB) stays in
 * a server core's L2 cache: most of a lookup's cost is memory, not hashing. */
typedef struct {
    uint32_t tag; /* the hash's high half */
    uint32_t row; /* 0: empty slot */
} Slot;

typedef struct {
    PyObject_HEAD
    Slot *slots;
    uint64_t mask;
    char *bytes;      /* every term's bytes, one after another */
    uint32_t *offset; /* per row: where its bytes start */
    uint32_t *length; /* per row: how many */
    uint64_t *seen;   /* a bit per row, set while a call runs: rows come out once each and ascending */
    uint32_t rows;
} Table;

static uint64_t fnv(uint64_t h, const char *s, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

#define FNV_START 14695981039346656037ULL

static int is_alnum(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static void release(Table *self) {
    PyMem_Free(self->slots);
    PyMem_Free(self->bytes);
    PyMem_Free(self->offset);
    PyMem_Free(self->length);
    PyMem_Free(self->seen);
    self->slots = NULL;
    self->bytes = NULL;
    self->offset = self->length = NULL;
    self->seen = NULL;
}

static void Table_dealloc(Table *self) {
    release(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The row of the term whose bytes are a (and, when b is not NULL, a space and b) and whose hash
 * is h, or 0. */
static uint32_t find_hashed(Table *self, uint64_t h, const char *a, Py_ssize_t na, const char *b, Py_ssize_t nb) {
    Py_ssize_t length = b == NULL ? na : na + 1 + nb;
    uint32_t tag = (uint32_t)(h >> 32);
    for (uint64_t j = h & self->mask; self->slots[j].row; j = (j + 1) & self->mask) {
        uint32_t row = self->slots[j].row;
        if (self->slots[j].tag != tag || self->length[row] != length) continue;
        const char *t = self->bytes + self->offset[row];
        if (memcmp(t, a, na) == 0 && (b == NULL || (t[na] == ' ' && memcmp(t + na + 1, b, nb) == 0))) return row;
    }
    return 0;
}

/* Table(features): features[i] is row i + 1. */
static int Table_init(Table *self, PyObject *args, PyObject *kwds) {
    PyObject *features;
    if (!PyArg_ParseTuple(args, "O", &features)) return -1;
    PyObject *seq = PySequence_Fast(features, "Table() needs a sequence of feature strings");
    if (seq == NULL) return -1;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    Py_ssize_t total = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (!PyUnicode_Check(items[i])) {
            PyErr_Format(PyExc_TypeError, "feature %zd is not a string", i);
            Py_DECREF(seq);
            return -1;
        }
        if (PyUnicode_IS_ASCII(items[i])) total += PyUnicode_GET_LENGTH(items[i]);
    }
    if (n >= UINT32_MAX / 2 || total >= UINT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "the vocabulary is too large for the term table");
        Py_DECREF(seq);
        return -1;
    }
    uint64_t capacity = 16;
    while (capacity < (uint64_t)n + (uint64_t)n / 2) capacity <<= 1;
    release(self);
    self->slots = PyMem_Calloc(capacity, sizeof(Slot));
    self->bytes = PyMem_Malloc(total + 1);
    self->offset = PyMem_Calloc(n + 1, sizeof(uint32_t));
    self->length = PyMem_Calloc(n + 1, sizeof(uint32_t));
    self->seen = PyMem_Calloc(n / 64 + 1, sizeof(uint64_t));
    if (self->slots == NULL || self->bytes == NULL || self->offset == NULL || self->length == NULL
        || self->seen == NULL) {
        release(self);
        Py_DECREF(seq);
        PyErr_NoMemory();
        return -1;
    }
    self->mask = capacity - 1;
    self->rows = (uint32_t)n;
    uint32_t at = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        /* A text this table reads is ASCII, so a feature with another character never matches. */
        if (!PyUnicode_IS_ASCII(items[i])) continue;
        Py_ssize_t length = PyUnicode_GET_LENGTH(items[i]);
        const char *text = (const char *)PyUnicode_1BYTE_DATA(items[i]);
        if (memchr(text, ':', length) != NULL) continue; /* a concept, not a term */
        uint64_t h = fnv(FNV_START, text, length);
        uint32_t row = (uint32_t)(i + 1);
        uint32_t earlier = find_hashed(self, h, text, length, NULL, 0);
        uint64_t j = h & self->mask;
        /* A feature listed twice takes its last row, as a dict built from the list does. */
        while (self->slots[j].row && self->slots[j].row != earlier) j = (j + 1) & self->mask;
        memcpy(self->bytes + at, text, length);
        self->offset[row] = at;
        self->length[row] = (uint32_t)length;
        self->slots[j] = (Slot){(uint32_t)(h >> 32), row};
        at += (uint32_t)length;
    }
    Py_DECREF(seq);
    return 0;
}

/* Marks a found row (0: none) in the call's bit map, counting rows marked for the first time. */
static inline void mark(Table *self, uint32_t row, Py_ssize_t *count) {
    uint64_t bit = 1ULL << (row % 64);
    if (row && !(self->seen[row / 64] & bit)) {
        self->seen[row / 64] |= bit;
        (*count)++;
    }
}

/* rows(text) -> (rows, words): the rows of the text's distinct words and word pairs that are in
 * the vocabulary, ascending, and the text's words in order. text must be ASCII. */
static PyObject *Table_rows(Table *self, PyObject *text) {
    if (!PyUnicode_Check(text) || !PyUnicode_IS_ASCII(text)) {
        PyErr_SetString(PyExc_ValueError, "rows() reads ASCII text only");
        return NULL;
    }
    if (self->slots == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "the Table was not initialised with a vocabulary");
        return NULL;
    }
    const char *s = (const char *)PyUnicode_1BYTE_DATA(text);
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    /* At most one word per two characters, each with one pair. */
    Py_ssize_t most = n / 2 + 1;
    Py_ssize_t *starts = PyMem_Malloc(sizeof(Py_ssize_t) * most * 2);
    uint32_t *found = PyMem_Malloc(sizeof(uint32_t) * most * 2);
    if (starts == NULL || found == NULL) {
        PyMem_Free(starts);
        PyMem_Free(found);
        return PyErr_NoMemory();
    }
    Py_ssize_t *lengths = starts + most;
    Py_ssize_t words = 0;
    for (Py_ssize_t i = 0; i < n;) {
        if (!is_alnum((unsigned char)s[i])) {
            i++;
            continue;
        }
        Py_ssize_t start = i;
        while (i < n && is_alnum((unsigned char)s[i])) i++;
        if (i + 1 < n && s[i] == '\'' && is_alnum((unsigned char)s[i + 1])) {
            i++;
            while (i < n && is_alnum((unsigned char)s[i])) i++;
        }
        starts[words] = start;
        lengths[words] = i - start;
        words++;
    }
    Py_ssize_t count = 0;
    for (Py_ssize_t w = 0; w < words; w++) {
        const char *a = s + starts[w];
        uint64_t h = fnv(FNV_START, a, lengths[w]);
        uint32_t row = find_hashed(self, h, a, lengths[w], NULL, 0);
        mark(self, row, &count);
        if (w + 1 < words) { /* FNV reads bytes in order: the pair's hash goes on from the word's */
            const char *b = s + starts[w + 1];
            row = find_hashed(self, fnv(fnv(h, " ", 1), b, lengths[w + 1]), a, lengths[w], b, lengths[w + 1]);
            mark(self, row, &count);
        }
    }
    /* The marked rows, ascending, read off the bit map (which is left clear for the next call). */
    Py_ssize_t k = 0;
    for (uint32_t i = 0; k < count && i <= self->rows / 64; i++) {
        uint64_t bits = self->seen[i];
        self->seen[i] = 0;
        while (bits) {
            found[k++] = i * 64 + (uint32_t)__builtin_ctzll(bits);
            bits &= bits - 1;
        }
    }
    PyObject *rows = PyList_New(count);
    PyObject *tokens = PyList_New(words);
    if (rows == NULL || tokens == NULL) goto fail;
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *v = PyLong_FromUnsignedLong(found[k]);
        if (v == NULL) goto fail;
        PyList_SET_ITEM(rows, k, v);
    }
    for (Py_ssize_t w = 0; w < words; w++) {
        PyObject *v = PyUnicode_FromStringAndSize(s + starts[w], lengths[w]);
        if (v == NULL) goto fail;
        PyList_SET_ITEM(tokens, w, v);
    }
    PyMem_Free(starts);
    PyMem_Free(found);
    return Py_BuildValue("(NN)", rows, tokens);
fail:
    PyMem_Free(starts);
    PyMem_Free(found);
    Py_XDECREF(rows);
    Py_XDECREF(tokens);
    return NULL;
}

static PyMethodDef Table_methods[] = {
    {"rows", (PyCFunction)Table_rows, METH_O,
     "rows(text) -> (rows, words): ascending vocabulary rows of an ASCII text's distinct words and word pairs, "
     "and its words in order"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject TableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "clearance.guardrails._terms.Table",
    .tp_doc = "Table(features): a vocabulary's words and word pairs (feature i is row i + 1), found in ASCII text",
    .tp_basicsize = sizeof(Table),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Table_init,
    .tp_dealloc = (destructor)Table_dealloc,
    .tp_methods = Table_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_terms", "The prompt guard's term lookup in C (see lookup.py).", -1, NULL,
};

PyMODINIT_FUNC PyInit__terms(void) {
    if (PyType_Ready(&TableType) < 0) return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    Py_INCREF(&TableType);
    if (PyModule_AddObject(m, "Table", (PyObject *)&TableType) < 0) {
        Py_DECREF(&TableType);
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
