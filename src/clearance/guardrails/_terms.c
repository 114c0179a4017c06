/* The prompt guard's hot loops in C: a text's words, and the vocabulary rows of its distinct
 * words and word pairs, in one pass with no Python string made per word or word pair.
 *
 * Why C: on a 4,000-token prompt the guard reads a 1,300-character window, about 220 words and
 * 220 word pairs. In Python each pair is a new string, hashed, put in a set and looked up in a
 * dictionary; that is most of the call's time and issue 15 gives the whole call 0.3 ms. Here a
 * word or pair is hashed from the text's UTF-8 bytes in place. lookup.py keeps the Python path,
 * which gives the same rows (tests/guardrails/test_guard_native.py holds the two paths to each
 * other), for a machine where this file could not be compiled and for a text that has no UTF-8
 * form (a lone surrogate).
 *
 * Words follow features._WORD, [^\W_]+(?:'[^\W_]+)?: letters and digits (what str.isalnum
 * calls so, which is what the re module's [^\W_] matches) with at most one inner apostrophe
 * followed by more ("don't"), exactly what re.findall cuts. The table holds the vocabulary's
 * words and pairs (features without a space or with one) as UTF-8; other features (concepts,
 * "x:...") are not terms.
 *
 * Given the lexicon too (lookup.native_lexicon), features() also finds the text's harm concepts,
 * lexicon.families read in C: after the term lookup, the family search was the largest part of a
 * long prompt's call left in Python (a set of the words, a cached family per word, the phrases
 * and the person a harmful act is done to), and it needs nothing the word cut here has not
 * already hashed: a stem ("kill*") is looked up by the hash of the word's first bytes, which FNV
 * gives on the way to the whole word's. The lexicon is ASCII, so a byte prefix is a prefix.
 *
 * Given the guard's weights (weigh()), scores() also sums each label's logit, so a reading crosses into Python
 * once. And the module's functions are the scans a long prompt pays for besides its words (round 9 in
 * docs/guardrails.md): the encoded runs of normalize.payloads over the whole prompt, normalize's leetspeak
 * triggers and replaced characters. Each has a Python path that gives the same answer, held to it by
 * tests/guardrails/test_guard_native.py.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <math.h>
#include <string.h>

/* A slot is 8 bytes, so the table of a 43,000-feature vocabulary (65,536 slots, 512 KB) stays in
 * a server core's L2 cache: most of a lookup's cost is memory, not hashing. */
typedef struct {
    uint32_t tag;   /* the hash's high half */
    uint32_t entry; /* 0: empty slot */
} Slot;

static uint64_t fnv(uint64_t h, const char *s, Py_ssize_t n) {
    for (Py_ssize_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

#define FNV_START 14695981039346656037ULL

/* A key: where its bytes start, how many, and the number it maps to. One struct, so that a lookup that
 * finds its key reads one cache line for the three, not one per array. */
typedef struct {
    uint32_t offset;
    uint32_t length;
    uint32_t value;
} Entry;

/* Strings to numbers (1 and up; 0 is "not found"), by FNV-1a hash with linear probing. */
typedef struct {
    Slot *slots;      /* the hash's high half and the entry (from 1; 0: an empty slot) */
    uint64_t mask;
    char *bytes;      /* every key's bytes, one after another */
    Entry *entry;     /* entry[0] maps to 0 */
    uint32_t entries;
    uint32_t used;    /* bytes taken */
} Map;

static void map_release(Map *m) {
    PyMem_Free(m->slots);
    PyMem_Free(m->bytes);
    PyMem_Free(m->entry);
    memset(m, 0, sizeof(Map));
}

/* Room for n keys of total bytes in all; 0, or -1 with MemoryError set. */
static int map_alloc(Map *m, Py_ssize_t n, Py_ssize_t total) {
    uint64_t capacity = 16;
    while (capacity < (uint64_t)n + (uint64_t)n / 2) capacity <<= 1;
    map_release(m);
    m->slots = PyMem_Calloc(capacity, sizeof(Slot));
    m->bytes = PyMem_Malloc(total + 1);
    m->entry = PyMem_Calloc(n + 1, sizeof(Entry));
    if (m->slots == NULL || m->bytes == NULL || m->entry == NULL) {
        map_release(m);
        PyErr_NoMemory();
        return -1;
    }
    m->mask = capacity - 1;
    return 0;
}

/* The entry whose key is a (and, when b is not NULL, a space and b) and whose hash is h, or 0. */
static uint32_t map_entry(const Map *m, uint64_t h, const char *a, Py_ssize_t na, const char *b, Py_ssize_t nb) {
    Py_ssize_t length = b == NULL ? na : na + 1 + nb;
    uint32_t tag = (uint32_t)(h >> 32);
    for (uint64_t j = h & m->mask; m->slots[j].entry; j = (j + 1) & m->mask) {
        uint32_t e = m->slots[j].entry;
        if (m->slots[j].tag != tag || m->entry[e].length != length) continue;
        const char *t = m->bytes + m->entry[e].offset;
        if (memcmp(t, a, na) == 0 && (b == NULL || (t[na] == ' ' && memcmp(t + na + 1, b, nb) == 0))) return e;
    }
    return 0;
}

static inline uint32_t map_get(const Map *m, uint64_t h, const char *a, Py_ssize_t na, const char *b,
                               Py_ssize_t nb) {
    return m->entry[map_entry(m, h, a, na, b, nb)].value; /* entry[0] maps to 0 */
}

/* Maps the key to value; a key put twice keeps its last value, or its first with keep_first. */
static void map_put(Map *m, const char *key, Py_ssize_t n, uint32_t value, int keep_first) {
    uint64_t h = fnv(FNV_START, key, n);
    uint32_t e = map_entry(m, h, key, n, NULL, 0);
    if (e) {
        if (!keep_first) m->entry[e].value = value;
        return;
    }
    uint64_t j = h & m->mask;
    while (m->slots[j].entry) j = (j + 1) & m->mask;
    e = ++m->entries;
    memcpy(m->bytes + m->used, key, n);
    m->entry[e] = (Entry){m->used, (uint32_t)n, value};
    m->slots[j] = (Slot){(uint32_t)(h >> 32), e};
    m->used += (uint32_t)n;
}

/* What the lexicon says of one word (lexicon.py): its family, whether it names a person or is a
 * stopword, and the phrases it can start (phrase[start .. start + count)). */
typedef struct {
    uint8_t family; /* 1 + the family's index, 0 for none */
    uint8_t person;
    uint8_t stopword;
    uint16_t start;
    uint16_t count;
} Word;

typedef struct {
    uint32_t offset; /* the second word (without its "*") in Table.phrase_bytes */
    uint32_t length;
    uint8_t prefix;  /* the second word may go on ("password*") */
    uint8_t family;
} Phrase;

#define MAX_FAMILIES 63 /* families are bits of a uint64_t */
#define MAX_OUTPUTS 8   /* a guard's logistic outputs (five today) */

typedef struct {
    PyObject_HEAD
    Map terms;        /* the vocabulary's words and pairs: row (feature i is row i + 1) */
    uint64_t *seen;   /* a bit per row, set while a call runs: rows come out once each and ascending */
    uint32_t rows;
    /* The lexicon, when given (``lexicon`` is 0 otherwise). */
    int lexicon;
    Map words;        /* word -> index into word (from 1) */
    Word *word;
    Map stems;        /* stem -> its rank in the lexicon's order (from 1): of several, the first wins */
    uint8_t *stem_family; /* per rank */
    uint32_t stem_lengths[32];
    int n_lengths;
    uint64_t stem_starts[1024]; /* a bit per first two bytes of some stem: most words are turned away by it */
    Phrase *phrase;
    char *phrase_bytes;
    uint64_t acts;    /* the families of a harmful act (lexicon.ACTS), as bits */
    uint8_t harm_person;
    uint32_t concept_row[MAX_FAMILIES + 1]; /* per family: the row of its concept feature, 0 if none */
    /* The guard's weights, when given (weigh()): outputs numbers per row, row 0 all zeros, and the biases. */
    double *weights;
    int outputs;
    double bias[MAX_OUTPUTS];
} Table;

static int is_alnum(unsigned char c) {
    return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

/* is_alnum for every byte, filled when the module loads: one load per character where the tests above are
 * up to six branches, on the path every byte of every text takes. */
static uint8_t alnum_byte[256];

/* Whether the character that starts at s[i] (valid UTF-8, as Python makes it) is a word character,
 * and its length in bytes. */
static inline int word_char(const unsigned char *s, Py_ssize_t i, Py_ssize_t *length) {
    unsigned char c = s[i];
    if (c < 0x80) {
        *length = 1;
        return alnum_byte[c];
    }
    Py_UCS4 ch;
    if (c < 0xE0) {
        *length = 2;
        ch = ((Py_UCS4)(c & 0x1F) << 6) | (s[i + 1] & 0x3F);
    } else if (c < 0xF0) {
        *length = 3;
        ch = ((Py_UCS4)(c & 0x0F) << 12) | ((Py_UCS4)(s[i + 1] & 0x3F) << 6) | (s[i + 2] & 0x3F);
    } else {
        *length = 4;
        ch = ((Py_UCS4)(c & 0x07) << 18) | ((Py_UCS4)(s[i + 1] & 0x3F) << 12) | ((Py_UCS4)(s[i + 2] & 0x3F) << 6)
             | (s[i + 3] & 0x3F);
    }
    return Py_UNICODE_ISALNUM(ch);
}

/* The UTF-8 form of a str (Python keeps it with the str), or NULL with ValueError when it has none. */
static const char *utf8(PyObject *text, Py_ssize_t *n) {
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "the text must be a str");
        return NULL;
    }
    if (PyUnicode_IS_ASCII(text)) {
        *n = PyUnicode_GET_LENGTH(text);
        return (const char *)PyUnicode_1BYTE_DATA(text);
    }
    const char *s = PyUnicode_AsUTF8AndSize(text, n);
    if (s == NULL && PyErr_ExceptionMatches(PyExc_UnicodeEncodeError)) {
        PyErr_Clear();
        PyErr_SetString(PyExc_ValueError, "the text has no UTF-8 form (a lone surrogate)");
    }
    return s;
}

static void release_lexicon(Table *self) {
    map_release(&self->words);
    map_release(&self->stems);
    PyMem_Free(self->word);
    PyMem_Free(self->stem_family);
    PyMem_Free(self->phrase);
    PyMem_Free(self->phrase_bytes);
    self->word = NULL;
    self->stem_family = NULL;
    self->phrase = NULL;
    self->phrase_bytes = NULL;
    self->lexicon = 0;
}

static void release(Table *self) {
    map_release(&self->terms);
    PyMem_Free(self->seen);
    self->seen = NULL;
    PyMem_Free(self->weights);
    self->weights = NULL;
    self->outputs = 0;
    release_lexicon(self);
}

static void Table_dealloc(Table *self) {
    release(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* An unsigned number from a Python int, at most most; -1 with an error naming what on failure. */
static long small(PyObject *o, long most, const char *what) {
    long v = PyLong_Check(o) ? PyLong_AsLong(o) : -1;
    if (v < 0 || v > most) {
        if (!PyErr_Occurred() || PyErr_ExceptionMatches(PyExc_OverflowError)) {
            PyErr_Clear();
            PyErr_Format(PyExc_ValueError, "lexicon: %s must be a number from 0 to %ld", what, most);
        }
        return -1;
    }
    return v;
}

/* An ASCII str's bytes and length, or NULL with an error naming what. */
static const char *ascii(PyObject *o, Py_ssize_t *n, const char *what) {
    if (!PyUnicode_Check(o) || !PyUnicode_IS_ASCII(o)) {
        PyErr_Format(PyExc_ValueError, "lexicon: %s must be an ASCII str", what);
        return NULL;
    }
    *n = PyUnicode_GET_LENGTH(o);
    return (const char *)PyUnicode_1BYTE_DATA(o);
}

/* The bytes of the keys of a list of tuples of size items, each starting with an ASCII str (the key): their
 * total, or -1 with an error saying what an item must be. */
static Py_ssize_t key_bytes(PyObject *list, Py_ssize_t size, const char *what, const char *shape) {
    Py_ssize_t total = 0, n;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); i++) {
        PyObject *item = PyList_GET_ITEM(list, i);
        if (!PyTuple_Check(item) || PyTuple_GET_SIZE(item) != size
            || ascii(PyTuple_GET_ITEM(item, 0), &n, what) == NULL) {
            if (!PyErr_Occurred()) PyErr_Format(PyExc_ValueError, "lexicon: %s is %s", what, shape);
            return -1;
        }
        total += n;
    }
    return total;
}

/* The lexicon from lookup.native_lexicon: (words, stems, phrases, acts, concept_rows, harm_person) with
 *   words: [(word, family, person, stopword, first phrase, phrase count)],
 *   stems: [(stem, family)] in the lexicon's order, phrases: [(second word, prefix, family)],
 *   acts: [family], concept_rows: [row of family f's concept, for f = 0 .. families], harm_person: family.
 * Families are numbered from 1 (0: none). 0, or -1 with an error set. */
static int read_lexicon(Table *self, PyObject *lexicon) {
    PyObject *words, *stems, *phrases, *acts, *concept_rows;
    long harm_person;
    if (!PyArg_ParseTuple(lexicon, "O!O!O!O!O!l", &PyList_Type, &words, &PyList_Type, &stems, &PyList_Type,
                          &phrases, &PyList_Type, &acts, &PyList_Type, &concept_rows, &harm_person))
        return -1;
    Py_ssize_t nw = PyList_GET_SIZE(words), ns = PyList_GET_SIZE(stems), np = PyList_GET_SIZE(phrases);
    Py_ssize_t nc = PyList_GET_SIZE(concept_rows);
    if (nc > MAX_FAMILIES + 1 || harm_person < 1 || harm_person >= nc || nw > 60000 || ns > 60000 || np > 60000) {
        PyErr_SetString(PyExc_ValueError, "lexicon: too many entries, or harm_person not a family");
        return -1;
    }
    self->harm_person = (uint8_t)harm_person;
    memset(self->concept_row, 0, sizeof(self->concept_row));
    for (Py_ssize_t f = 0; f < nc; f++) {
        long row = small(PyList_GET_ITEM(concept_rows, f), (long)self->rows, "a concept row");
        if (row < 0) return -1;
        self->concept_row[f] = (uint32_t)row;
    }
    self->acts = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(acts); i++) {
        long f = small(PyList_GET_ITEM(acts, i), nc - 1, "an act's family");
        if (f < 0) return -1;
        self->acts |= 1ULL << f;
    }
    Py_ssize_t n, total = key_bytes(words, 6, "a word", "(word, family, person, stopword, first phrase, "
                                                           "phrase count)");
    if (total < 0) return -1;
    self->word = PyMem_Calloc(nw + 1, sizeof(Word));
    if (self->word == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    if (map_alloc(&self->words, nw, total) < 0) return -1;
    for (Py_ssize_t i = 0; i < nw; i++) {
        PyObject *item = PyList_GET_ITEM(words, i);
        const char *text = ascii(PyTuple_GET_ITEM(item, 0), &n, "a word");
        long family = small(PyTuple_GET_ITEM(item, 1), nc - 1, "a word's family");
        long person = small(PyTuple_GET_ITEM(item, 2), 1, "a word's person flag");
        long stopword = small(PyTuple_GET_ITEM(item, 3), 1, "a word's stopword flag");
        long start = small(PyTuple_GET_ITEM(item, 4), np, "a word's first phrase");
        long count = small(PyTuple_GET_ITEM(item, 5), np, "a word's phrase count");
        if (family < 0 || person < 0 || stopword < 0 || start < 0 || count < 0) return -1;
        if (start + count > np) {
            PyErr_SetString(PyExc_ValueError, "lexicon: a word's phrases run past the list of phrases");
            return -1;
        }
        self->word[i + 1] = (Word){(uint8_t)family, (uint8_t)person, (uint8_t)stopword, (uint16_t)start,
                                   (uint16_t)count};
        map_put(&self->words, text, n, (uint32_t)(i + 1), 0);
    }
    total = key_bytes(stems, 2, "a stem", "(stem, family)");
    if (total < 0) return -1;
    self->stem_family = PyMem_Calloc(ns + 1, 1);
    if (self->stem_family == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    if (map_alloc(&self->stems, ns, total) < 0) return -1;
    self->n_lengths = 0;
    memset(self->stem_starts, 0, sizeof(self->stem_starts));
    for (Py_ssize_t i = 0; i < ns; i++) {
        PyObject *item = PyList_GET_ITEM(stems, i);
        const char *text = ascii(PyTuple_GET_ITEM(item, 0), &n, "a stem");
        long family = small(PyTuple_GET_ITEM(item, 1), nc - 1, "a stem's family");
        if (family < 0) return -1;
        if (n == 0) {
            PyErr_SetString(PyExc_ValueError, "lexicon: an empty stem");
            return -1;
        }
        if (n == 1) { /* the filter below reads a stem's first two bytes */
            PyErr_SetString(PyExc_ValueError, "lexicon: a stem of one letter");
            return -1;
        }
        self->stem_family[i + 1] = (uint8_t)family;
        map_put(&self->stems, text, n, (uint32_t)(i + 1), 1);
        unsigned start = (unsigned char)text[0] << 8 | (unsigned char)text[1];
        self->stem_starts[start / 64] |= 1ULL << (start % 64);
        int k = 0; /* the stem's length among the distinct lengths, kept ascending */
        while (k < self->n_lengths && self->stem_lengths[k] < (uint32_t)n) k++;
        if (k == self->n_lengths || self->stem_lengths[k] != (uint32_t)n) {
            if (self->n_lengths == 32) {
                PyErr_SetString(PyExc_ValueError, "lexicon: stems of more than 32 lengths");
                return -1;
            }
            memmove(self->stem_lengths + k + 1, self->stem_lengths + k, (self->n_lengths - k) * sizeof(uint32_t));
            self->stem_lengths[k] = (uint32_t)n;
            self->n_lengths++;
        }
    }
    total = key_bytes(phrases, 3, "a phrase", "(second word, prefix, family)");
    if (total < 0) return -1;
    self->phrase = PyMem_Calloc(np + 1, sizeof(Phrase));
    self->phrase_bytes = PyMem_Malloc(total + 1);
    if (self->phrase == NULL || self->phrase_bytes == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    uint32_t at = 0;
    for (Py_ssize_t i = 0; i < np; i++) {
        PyObject *item = PyList_GET_ITEM(phrases, i);
        const char *text = ascii(PyTuple_GET_ITEM(item, 0), &n, "a phrase");
        long prefix = small(PyTuple_GET_ITEM(item, 1), 1, "a phrase's prefix flag");
        long family = small(PyTuple_GET_ITEM(item, 2), nc - 1, "a phrase's family");
        if (prefix < 0 || family < 0) return -1;
        memcpy(self->phrase_bytes + at, text, n);
        self->phrase[i] = (Phrase){at, (uint32_t)n, (uint8_t)prefix, (uint8_t)family};
        at += (uint32_t)n;
    }
    self->lexicon = 1;
    return 0;
}

/* Table(features, lexicon=None): features[i] is row i + 1; with the lexicon, features() finds concepts too. */
static int Table_init(Table *self, PyObject *args, PyObject *kwds) {
    static char *names[] = {"features", "lexicon", NULL};
    PyObject *features, *lexicon = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "O|O", names, &features, &lexicon)) return -1;
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
        Py_ssize_t length;
        if (utf8(items[i], &length) == NULL) {
            PyErr_Clear(); /* no UTF-8 form: no text this table reads can hold it */
            continue;
        }
        total += length;
    }
    if (n >= UINT32_MAX / 2 || total >= UINT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "the vocabulary is too large for the term table");
        Py_DECREF(seq);
        return -1;
    }
    release(self);
    self->seen = PyMem_Calloc(n / 64 + 1, sizeof(uint64_t));
    if (self->seen == NULL || map_alloc(&self->terms, n, total) < 0) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        release(self);
        Py_DECREF(seq);
        return -1;
    }
    self->rows = (uint32_t)n;
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t length;
        const char *text = utf8(items[i], &length);
        if (text == NULL) {
            PyErr_Clear();
            continue;
        }
        if (memchr(text, ':', length) != NULL) continue; /* a concept, not a term */
        /* A feature listed twice takes its last row, as a dict built from the list does. */
        map_put(&self->terms, text, length, (uint32_t)(i + 1), 0);
    }
    Py_DECREF(seq);
    if (lexicon != Py_None) {
        if (!PyTuple_Check(lexicon)) {
            PyErr_SetString(PyExc_TypeError, "lexicon: a tuple from lookup.native_lexicon, or None");
            release(self);
            return -1;
        }
        if (read_lexicon(self, lexicon) < 0) {
            release(self);
            return -1;
        }
    }
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

/* A text's words (starts and lengths) and the rows of its words and word pairs, marked in the bit map. */
typedef struct {
    Py_ssize_t words;
    Py_ssize_t *starts;
    Py_ssize_t *lengths;
    uint64_t *hashes;  /* each word's hash */
    uint32_t *entry;   /* each word's entry in the lexicon's words (0: none), filled by families() */
    uint8_t *family;   /* each word's family (0: none), filled by families() */
    uint32_t *found;   /* room for the rows: at most a word and a pair per word, and the concepts */
    Py_ssize_t count;  /* rows marked */
} Cut;

static void cut_release(Cut *c) {
    PyMem_Free(c->starts);
    PyMem_Free(c->hashes);
    PyMem_Free(c->entry);
    PyMem_Free(c->family);
    PyMem_Free(c->found);
}

/* Cuts a text's words (its n UTF-8 bytes) and marks the rows of its terms: 0, or -1 with an error set. */
static int cut_terms(Table *self, const char *text, Py_ssize_t n, Cut *c) {
    const unsigned char *s = (const unsigned char *)text;
    memset(c, 0, sizeof(Cut));
    if (self->seen == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "the Table was not initialised with a vocabulary");
        return -1;
    }
    /* At most one word per two bytes, each with one pair. */
    Py_ssize_t most = n / 2 + 1;
    c->starts = PyMem_Malloc(sizeof(Py_ssize_t) * most * 2);
    c->hashes = PyMem_Malloc(sizeof(uint64_t) * most);
    c->entry = PyMem_Malloc(sizeof(uint32_t) * most);
    c->family = PyMem_Malloc(most);
    c->found = PyMem_Malloc(sizeof(uint32_t) * (most * 2 + MAX_FAMILIES + 1));
    if (c->starts == NULL || c->hashes == NULL || c->entry == NULL || c->family == NULL || c->found == NULL) {
        cut_release(c);
        PyErr_NoMemory();
        return -1;
    }
    c->lengths = c->starts + most;
    Py_ssize_t length;
    for (Py_ssize_t i = 0; i < n;) {
        if (!word_char(s, i, &length)) {
            i += length;
            continue;
        }
        Py_ssize_t start = i;
        while (i < n && word_char(s, i, &length)) i += length;
        if (i + 1 < n && s[i] == '\'' && word_char(s, i + 1, &length)) {
            i++;
            while (i < n && word_char(s, i, &length)) i += length;
        }
        c->starts[c->words] = start;
        c->lengths[c->words] = i - start;
        c->words++;
    }
    for (Py_ssize_t w = 0; w < c->words; w++) {
        const char *a = text + c->starts[w];
        uint64_t h = c->hashes[w] = fnv(FNV_START, a, c->lengths[w]);
        mark(self, map_get(&self->terms, h, a, c->lengths[w], NULL, 0), &c->count);
        if (w + 1 < c->words) { /* FNV reads bytes in order: the pair's hash goes on from the word's */
            const char *b = text + c->starts[w + 1];
            h = fnv(fnv(h, " ", 1), b, c->lengths[w + 1]);
            mark(self, map_get(&self->terms, h, a, c->lengths[w], b, c->lengths[w + 1]), &c->count);
        }
    }
    return 0;
}

/* The marked rows, ascending, read off the bit map (which is left clear for the next call), into c->found. */
static void take_rows(Table *self, Cut *c) {
    Py_ssize_t k = 0;
    for (uint32_t i = 0; k < c->count && i <= self->rows / 64; i++) {
        uint64_t bits = self->seen[i];
        self->seen[i] = 0;
        while (bits) {
            c->found[k++] = i * 64 + (uint32_t)__builtin_ctzll(bits);
            bits &= bits - 1;
        }
    }
}

static PyObject *row_list(const uint32_t *rows, Py_ssize_t n) {
    PyObject *out = PyList_New(n);
    if (out == NULL) return NULL;
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *v = PyLong_FromUnsignedLong(rows[k]);
        if (v == NULL) {
            Py_DECREF(out);
            return NULL;
        }
        PyList_SET_ITEM(out, k, v);
    }
    return out;
}

/* Cuts a str and takes its terms' rows into c (ascending), *s its UTF-8 form: 0, or -1 with an error set. */
static int cut_text(Table *self, PyObject *text, const char **s, Cut *c) {
    Py_ssize_t n;
    *s = utf8(text, &n);
    if (*s == NULL || cut_terms(self, *s, n, c) < 0) return -1;
    take_rows(self, c);
    return 0;
}

/* rows(text) -> (rows, words): the rows of the text's distinct words and word pairs that are in
 * the vocabulary, ascending, and the text's words in order. */
static PyObject *Table_rows(Table *self, PyObject *text) {
    const char *s;
    Cut c;
    if (cut_text(self, text, &s, &c) < 0) return NULL;
    PyObject *rows = row_list(c.found, c.count);
    PyObject *tokens = PyList_New(c.words);
    if (rows == NULL || tokens == NULL) goto fail;
    for (Py_ssize_t w = 0; w < c.words; w++) {
        PyObject *v = PyUnicode_FromStringAndSize(s + c.starts[w], c.lengths[w]);
        if (v == NULL) goto fail;
        PyList_SET_ITEM(tokens, w, v);
    }
    cut_release(&c);
    return Py_BuildValue("(NN)", rows, tokens);
fail:
    cut_release(&c);
    Py_XDECREF(rows);
    Py_XDECREF(tokens);
    return NULL;
}

/* terms(text) -> rows: rows() without the words, for a caller that only asks which of its words a text holds
 * (ciphers.py: the cipher signatures among a prompt's first words), which would pay more for the word strings
 * than for the search. */
static PyObject *Table_terms(Table *self, PyObject *text) {
    const char *s;
    Cut c;
    if (cut_text(self, text, &s, &c) < 0) return NULL;
    PyObject *rows = row_list(c.found, c.count);
    cut_release(&c);
    return rows;
}

/* The family of word w (1 and up, 0 for none), given the lexicon's entry for it (0 for none): its own,
 * else that of the first stem in the lexicon's order that it starts with (lexicon._word). */
static uint8_t family_of(const Table *self, const char *word, Py_ssize_t n, uint32_t entry) {
    if (entry && self->word[entry].family) return self->word[entry].family;
    if (n < 2) return 0; /* every stem has two letters or more */
    unsigned start = (unsigned char)word[0] << 8 | (unsigned char)word[1];
    if (!(self->stem_starts[start / 64] & (1ULL << (start % 64)))) return 0;
    uint32_t best = 0;
    uint64_t h = FNV_START;
    Py_ssize_t hashed = 0;
    for (int k = 0; k < self->n_lengths && (Py_ssize_t)self->stem_lengths[k] <= n; k++) {
        Py_ssize_t length = self->stem_lengths[k];
        h = fnv(h, word + hashed, length - hashed); /* the hash of the word's first bytes, extended */
        hashed = length;
        uint32_t rank = map_get(&self->stems, h, word, length, NULL, 0);
        if (rank && (!best || rank < best)) best = rank;
    }
    return best ? self->stem_family[best] : 0;
}

/* The families of a cut text's words (lexicon.families): a bit per family. */
static uint64_t families(const Table *self, const char *s, Cut *c) {
    uint32_t *entry = c->entry;
    uint8_t *family = c->family;
    uint64_t found = 0;
    for (Py_ssize_t w = 0; w < c->words; w++) {
        entry[w] = map_get(&self->words, c->hashes[w], s + c->starts[w], c->lengths[w], NULL, 0);
        family[w] = family_of(self, s + c->starts[w], c->lengths[w], entry[w]);
        found |= (uint64_t)(family[w] != 0) << family[w];
    }
    for (Py_ssize_t w = 0; w + 1 < c->words; w++) { /* phrases: of a word's, the first that the next word fits */
        const Word *first = &self->word[entry[w]];
        const char *second = s + c->starts[w + 1];
        Py_ssize_t n = c->lengths[w + 1];
        for (uint16_t p = first->start; p < first->start + first->count; p++) { /* entry 0 starts none */
            const Phrase *ph = &self->phrase[p];
            if ((ph->prefix ? n >= (Py_ssize_t)ph->length : n == (Py_ssize_t)ph->length)
                && memcmp(second, self->phrase_bytes + ph->offset, ph->length) == 0) {
                found |= 1ULL << ph->family;
                break;
            }
        }
    }
    if ((found & self->acts) && !(found & (1ULL << self->harm_person))) {
        /* A harmful act whose next content word names a person ("kill a person", not "kill a process"). */
        for (Py_ssize_t w = 0; w < c->words; w++) {
            if (!(self->acts & (1ULL << family[w])) || !family[w] || self->word[entry[w]].stopword) continue;
            for (Py_ssize_t j = w + 1; j < c->words; j++) {
                const Word *next = &self->word[entry[j]];
                if (next->person) {
                    return found | (1ULL << self->harm_person);
                }
                if (!next->stopword) break;
            }
        }
    }
    return found;
}

/* The rows of a str's features into c->found, terms then concepts, each part ascending; *terms says how many
 * are terms. The count of rows, or -1 with an error set (and nothing left to release). */
static Py_ssize_t feature_rows(Table *self, PyObject *text, Cut *c, Py_ssize_t *terms) {
    if (!self->lexicon) {
        PyErr_SetString(PyExc_RuntimeError, "features() needs a Table made with the lexicon");
        return -1;
    }
    Py_ssize_t n;
    const char *s = utf8(text, &n);
    if (s == NULL || cut_terms(self, s, n, c) < 0) return -1;
    take_rows(self, c);
    uint64_t found = families(self, s, c);
    Py_ssize_t k = *terms = c->count;
    for (int f = 1; f <= MAX_FAMILIES; f++) {
        uint32_t row = (found >> f) & 1 ? self->concept_row[f] : 0;
        if (!row) continue;
        Py_ssize_t at = k++; /* insertion into the concepts' ascending rows (a handful) */
        while (at > *terms && c->found[at - 1] > row) {
            c->found[at] = c->found[at - 1];
            at--;
        }
        c->found[at] = row;
    }
    return k;
}

/* features(text) -> (rows, terms): the rows of a text's features in the vocabulary, its distinct
 * words and word pairs ascending, then its concepts ascending, and how many of the rows are terms
 * (lookup.VocabularyLookup.rows). Needs the lexicon. */
static PyObject *Table_features(Table *self, PyObject *text) {
    Py_ssize_t terms;
    Cut c;
    Py_ssize_t k = feature_rows(self, text, &c, &terms);
    if (k < 0) return NULL;
    PyObject *rows = row_list(c.found, k);
    cut_release(&c);
    if (rows == NULL) return NULL;
    return Py_BuildValue("(Nn)", rows, terms);
}

/* weigh(weights, bias): the guard's weight rows (a C-contiguous float64 array, one row more than the
 * vocabulary, row 0 all zeros) and biases, copied, for scores(). */
static PyObject *Table_weigh(Table *self, PyObject *args) {
    PyObject *array, *bias;
    if (!PyArg_ParseTuple(args, "OO", &array, &bias)) return NULL;
    Py_buffer view;
    if (PyObject_GetBuffer(array, &view, PyBUF_C_CONTIGUOUS | PyBUF_FORMAT) < 0) return NULL;
    int ok = view.ndim == 2 && view.itemsize == 8 && view.format != NULL && strcmp(view.format, "d") == 0
             && view.shape[0] == (Py_ssize_t)self->rows + 1 && view.shape[1] >= 1 && view.shape[1] <= MAX_OUTPUTS;
    if (!ok) {
        PyErr_Format(PyExc_ValueError, "weigh() needs float64 weights of shape (%u, 1 to %d)", self->rows + 1,
                     MAX_OUTPUTS);
        PyBuffer_Release(&view);
        return NULL;
    }
    int outputs = (int)view.shape[1];
    PyObject *seq = PySequence_Fast(bias, "weigh() needs a sequence of biases");
    if (seq == NULL || PySequence_Fast_GET_SIZE(seq) != outputs) {
        if (seq != NULL) PyErr_Format(PyExc_ValueError, "weigh() needs %d biases, one per output", outputs);
        Py_XDECREF(seq);
        PyBuffer_Release(&view);
        return NULL;
    }
    double given[MAX_OUTPUTS];
    for (int j = 0; j < outputs; j++) {
        given[j] = PyFloat_AsDouble(PySequence_Fast_GET_ITEM(seq, j));
        if (given[j] == -1.0 && PyErr_Occurred()) {
            Py_DECREF(seq);
            PyBuffer_Release(&view);
            return NULL;
        }
    }
    Py_DECREF(seq);
    double *copy = PyMem_Malloc((size_t)view.len);
    if (copy == NULL) {
        PyBuffer_Release(&view);
        return PyErr_NoMemory();
    }
    memcpy(copy, view.buf, (size_t)view.len);
    PyBuffer_Release(&view);
    PyMem_Free(self->weights);
    self->weights = copy;
    self->outputs = outputs;
    memcpy(self->bias, given, sizeof(double) * outputs);
    Py_RETURN_NONE;
}

/* scores(text) -> (rows, terms, logits): features() and each output's logit, bias + the concepts' weights +
 * the terms' weights / sqrt(terms). Each sum runs over the rows in ascending order, as numpy's sum over the
 * rows of a C-contiguous array does, and the rest is the same double arithmetic as the Python path's, so the
 * logits agree to the last bit (tests/guardrails/test_guard_fast_path.py). Needs weigh(). */
static PyObject *Table_scores(Table *self, PyObject *text) {
    if (self->weights == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "scores() needs the weights (weigh())");
        return NULL;
    }
    Py_ssize_t terms;
    Cut c;
    Py_ssize_t k = feature_rows(self, text, &c, &terms);
    if (k < 0) return NULL;
    int outputs = self->outputs;
    double concept_sum[MAX_OUTPUTS] = {0}, term_sum[MAX_OUTPUTS] = {0};
    for (Py_ssize_t i = 0; i < k; i++) {
        const double *w = self->weights + (size_t)c.found[i] * outputs;
        double *sum = i < terms ? term_sum : concept_sum;
        for (int j = 0; j < outputs; j++) sum[j] += w[j];
    }
    PyObject *rows = row_list(c.found, k);
    cut_release(&c);
    PyObject *logits = rows == NULL ? NULL : PyTuple_New(outputs);
    if (logits == NULL) {
        Py_XDECREF(rows);
        return NULL;
    }
    double scale = sqrt((double)terms);
    for (int j = 0; j < outputs; j++) {
        double z = self->bias[j] + concept_sum[j];
        if (terms) z = z + term_sum[j] / scale;
        PyObject *v = PyFloat_FromDouble(z);
        if (v == NULL) {
            Py_DECREF(rows);
            Py_DECREF(logits);
            return NULL;
        }
        PyTuple_SET_ITEM(logits, j, v);
    }
    return Py_BuildValue("(NnN)", rows, terms, logits);
}

static PyMethodDef Table_methods[] = {
    {"rows", (PyCFunction)Table_rows, METH_O,
     "rows(text) -> (rows, words): ascending vocabulary rows of a text's distinct words and word pairs, "
     "and its words in order"},
    {"features", (PyCFunction)Table_features, METH_O,
     "features(text) -> (rows, terms): ascending vocabulary rows of a text's distinct words and word pairs, "
     "then of its concepts, and how many are terms (needs the lexicon)"},
    {"terms", (PyCFunction)Table_terms, METH_O,
     "terms(text) -> rows: ascending vocabulary rows of a text's distinct words and word pairs"},
    {"weigh", (PyCFunction)Table_weigh, METH_VARARGS,
     "weigh(weights, bias): the guard's float64 weight rows (row 0 zeros) and biases, for scores()"},
    {"scores", (PyCFunction)Table_scores, METH_O,
     "scores(text) -> (rows, terms, logits): features() and each output's logit (needs weigh())"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject TableType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "clearance.guardrails._terms.Table",
    .tp_doc = "Table(features, lexicon=None): a vocabulary's words and word pairs (feature i is row i + 1), found "
              "in a text, and with the lexicon (lookup.native_lexicon) its concepts",
    .tp_basicsize = sizeof(Table),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)Table_init,
    .tp_dealloc = (destructor)Table_dealloc,
    .tp_methods = Table_methods,
};

/* The classes of the characters encoded_runs looks for, all ASCII: a base64 character (letters, digits,
 * "+", "/"; normalize._BASE64_BYTES) and a Morse character (".", "-", the word gaps "/" and "|", and the
 * space; normalize._MORSE_BYTES). "/" is both, so the two kinds of run are searched for one after the other. */
enum { BASE64 = 1, MORSE = 2 };
static uint8_t ascii_class[128];

static void fill_byte_tables(void) {
    for (int c = 0; c < 256; c++) alnum_byte[c] = (uint8_t)is_alnum((unsigned char)c);
    for (int c = 0; c < 128; c++) {
        ascii_class[c] = (uint8_t)((alnum_byte[c] || c == '+' || c == '/' ? BASE64 : 0)
                                   | (c == '.' || c == '-' || c == '/' || c == '|' || c == ' ' ? MORSE : 0));
    }
}

/* A str's characters as its own storage holds them (one, two or four bytes each): no UTF-8 copy is made, and
 * a lone surrogate is a character like another, outside every class, as its "?" is in the UTF-8 search. */
typedef struct {
    int kind;
    const void *data;
    Py_ssize_t n;
} Chars;

static inline int in_class(const Chars *t, Py_ssize_t i, int cls) {
    Py_UCS4 c = PyUnicode_READ(t->kind, t->data, i);
    return c < 128 && (ascii_class[c] & cls);
}

/* The start and end of the next maximal run of at least least characters of cls that starts at from or
 * later: 1, or 0 where there is none. Only about one character in least is read where runs are short: the
 * character least - 1 after where a run could start is read first, and where it is outside the class no run
 * of least can hold it, so the search moves past it (on prose that skips most of a long prompt). */
static int next_run(const Chars *t, Py_ssize_t from, Py_ssize_t least, int cls, Py_ssize_t *start, Py_ssize_t *end) {
    Py_ssize_t lo = from; /* no run of least starts before lo */
    while (lo + least <= t->n) {
        Py_ssize_t p = lo + least - 1, q = p;
        if (!in_class(t, p, cls)) {
            lo = p + 1;
            continue;
        }
        while (q > lo && in_class(t, q - 1, cls)) q--;
        if (q > lo) { /* q - 1 is outside the class: a run of least must start after it */
            lo = q;
            continue;
        }
        Py_ssize_t e = p + 1;
        while (e < t->n && in_class(t, e, cls)) e++;
        *start = lo;
        *end = e;
        return 1;
    }
    return 0;
}

/* Appends text[start:end] to a list: 0, or -1 with an error set. */
static int append_run(PyObject *list, PyObject *text, Py_ssize_t start, Py_ssize_t end) {
    PyObject *run = PyUnicode_Substring(text, start, end);
    if (run == NULL) return -1;
    int failed = PyList_Append(list, run);
    Py_DECREF(run);
    return failed;
}

/* encoded_runs(text, min_run, min_morse, min_marks, min_dashes, most) -> (base64 runs, Morse runs): the
 * candidates normalize.payloads decodes, in the text's order. Base64: every maximal run of at least min_run
 * base64 characters, the first most of them. Morse, only where the text holds at least min_dashes dashes:
 * every maximal run of at least min_morse Morse characters holding at least min_marks dots and dashes, the
 * first most of them. The same runs as the byte-map search of normalize._payloads, which on a
 * 16,000-character prompt cost a fifth of the guard's call (encoding the text, mapping every byte twice). */
static PyObject *encoded_runs(PyObject *module, PyObject *args) {
    PyObject *text;
    Py_ssize_t min_run, min_morse, min_marks, min_dashes, most;
    if (!PyArg_ParseTuple(args, "Unnnnn", &text, &min_run, &min_morse, &min_marks, &min_dashes, &most)) return NULL;
    if (min_run < 1 || min_morse < 1 || most < 0) {
        PyErr_SetString(PyExc_ValueError, "encoded_runs() needs positive run lengths and a non-negative most");
        return NULL;
    }
    Chars t = {PyUnicode_KIND(text), PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text)};
    PyObject *base = PyList_New(0), *morse = PyList_New(0);
    if (base == NULL || morse == NULL) goto fail;
    Py_ssize_t start, end = 0;
    while (PyList_GET_SIZE(base) < most && next_run(&t, end, min_run, BASE64, &start, &end)) {
        if (append_run(base, text, start, end) < 0) goto fail;
    }
    Py_ssize_t dashes = -1; /* counted once a run needs it: most prompts have no Morse run to check */
    end = 0;
    while (PyList_GET_SIZE(morse) < most && next_run(&t, end, min_morse, MORSE, &start, &end)) {
        if (dashes < 0) {
            dashes = 0;
            for (Py_ssize_t i = 0; i < t.n && dashes < min_dashes; i++) {
                dashes += PyUnicode_READ(t.kind, t.data, i) == '-';
            }
            if (dashes < min_dashes) break;
        }
        Py_ssize_t marks = 0;
        for (Py_ssize_t i = start; i < end; i++) {
            Py_UCS4 c = PyUnicode_READ(t.kind, t.data, i);
            marks += c == '.' || c == '-';
        }
        if (marks >= min_marks && append_run(morse, text, start, end) < 0) goto fail;
    }
    return Py_BuildValue("(NN)", base, morse);
fail:
    Py_XDECREF(base);
    Py_XDECREF(morse);
    return NULL;
}

/* any_of(text, chars) -> bool: whether text holds any character of chars (normalize's test for the characters
 * its table replaces, which a regex class of a hundred characters tested at 60 instructions a character). */
static PyObject *any_of(PyObject *module, PyObject *args) {
    PyObject *text, *chars;
    if (!PyArg_ParseTuple(args, "UU", &text, &chars)) return NULL;
    Chars t = {PyUnicode_KIND(text), PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text)};
    Chars c = {PyUnicode_KIND(chars), PyUnicode_DATA(chars), PyUnicode_GET_LENGTH(chars)};
    Py_UCS4 least = 0x10FFFF, most = 0;
    for (Py_ssize_t j = 0; j < c.n; j++) {
        Py_UCS4 ch = PyUnicode_READ(c.kind, c.data, j);
        least = ch < least ? ch : least;
        most = ch > most ? ch : most;
    }
    for (Py_ssize_t i = 0; i < t.n; i++) {
        Py_UCS4 ch = PyUnicode_READ(t.kind, t.data, i);
        if (ch < least || ch > most) continue; /* most characters: one test */
        for (Py_ssize_t j = 0; j < c.n; j++) {
            if (PyUnicode_READ(c.kind, c.data, j) == ch) Py_RETURN_TRUE;
        }
    }
    Py_RETURN_FALSE;
}

/* A word character as the re module's \w reads one in a str pattern. */
static inline int re_word(const Chars *t, Py_ssize_t i) {
    if (i < 0 || i >= t->n) return 0;
    Py_UCS4 ch = PyUnicode_READ(t->kind, t->data, i);
    return ch == '_' || Py_UNICODE_ISALNUM(ch);
}

static inline int lower_letter(const Chars *t, Py_ssize_t i) {
    if (i < 0 || i >= t->n) return 0;
    Py_UCS4 ch = PyUnicode_READ(t->kind, t->data, i);
    return ch >= 'a' && ch <= 'z';
}

/* leet_starts(text) -> list: where normalize's two leetspeak triggers match, ascending: a stand-in before a
 * letter (_LEET_PAIR, [0134578@$|+9][a-z]) and a digit ending a word of one or two letters (_LEET_SHORT:
 * [0134578] after \b[a-z] or \b[a-z]{2}, then \b). The two regexes, run over a long window that nearly never
 * holds a trigger, were a sixth of the guard's call. */
static PyObject *leet_starts(PyObject *module, PyObject *text) {
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "the text must be a str");
        return NULL;
    }
    Chars t = {PyUnicode_KIND(text), PyUnicode_DATA(text), PyUnicode_GET_LENGTH(text)};
    PyObject *out = PyList_New(0);
    if (out == NULL) return NULL;
    for (Py_ssize_t i = 0; i < t.n; i++) {
        Py_UCS4 ch = PyUnicode_READ(t.kind, t.data, i);
        int digit = ch == '0' || ch == '1' || ch == '3' || ch == '4' || ch == '5' || ch == '7' || ch == '8';
        int stand_in = digit || ch == '@' || ch == '$' || ch == '|' || ch == '+' || ch == '9';
        if (!stand_in) continue;
        int found = lower_letter(&t, i + 1);
        if (!found && digit && !re_word(&t, i + 1) && lower_letter(&t, i - 1)) {
            found = !re_word(&t, i - 2) || (lower_letter(&t, i - 2) && !re_word(&t, i - 3));
        }
        if (found) {
            PyObject *at = PyLong_FromSsize_t(i);
            if (at == NULL || PyList_Append(out, at) < 0) {
                Py_XDECREF(at);
                Py_DECREF(out);
                return NULL;
            }
            Py_DECREF(at);
        }
    }
    return out;
}

static PyMethodDef module_methods[] = {
    {"any_of", any_of, METH_VARARGS, "any_of(text, chars) -> bool: whether text holds any character of chars"},
    {"leet_starts", leet_starts, METH_O, "leet_starts(text) -> list: where normalize's leetspeak triggers match"},
    {"encoded_runs", encoded_runs, METH_VARARGS,
     "encoded_runs(text, min_run, min_morse, min_marks, min_dashes, most) -> (base64 runs, Morse runs)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_terms", "The prompt guard's hot loops in C (see lookup.py and normalize.py).", -1,
    module_methods,
};

PyMODINIT_FUNC PyInit__terms(void) {
    fill_byte_tables();
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
