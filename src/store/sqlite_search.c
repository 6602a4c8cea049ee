/*
 * sqlite_search.c — maintenance of the search table. The table is one
 * B-tree clustered by (key, value, entity_id), the order every filter and
 * facet reads it in. Each entity keeps the exact list of rows it owns in
 * entities.search_rows (a compact blob), so an update or delete removes
 * precisely those rows without a second index on entity_id, and an update
 * touches only the rows that changed. Row changes of a write transaction
 * are queued and applied at its end sorted by primary key, so a large
 * import appends to the B-tree instead of inserting at random places.
 * Outgoing relations are queued the same way (the last put of an entity in
 * a batch wins) and inserted in blocks.
 */
#include "store/sqlite_int.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---- arena for queued strings ------------------------------------------------ */

typedef struct chunk {
    struct chunk *next;
    size_t used, cap;
    char data[];
} chunk;

#define CHUNK_SIZE ((size_t)256 << 10)

typedef struct {
    const char *key;       /* interned: one copy per distinct key */
    const char *value;     /* as stored: '' for a null leaf */
    const char *original;  /* NULL when equal to value */
    int64_t id;
    uint32_t seq;          /* queue order: the last op on a row wins */
    uint32_t kidx;         /* index of key in the intern table, then its rank */
    uint8_t del;
    uint8_t is_null;
} sop;

/* Keys repeat across entities (a few dozen distinct ones): interning them
 * lets the sort compare ranks instead of long common prefixes. */
typedef struct {
    const char *s;
    uint64_t hash;
    uint32_t idx;
} kslot;

typedef struct {
    int64_t id;
    uint32_t putseq;       /* which put of the entity queued it */
    const char *type, *inverse_lc, *target_key, *target_ref;
} rop;

struct cw__search_batch {
    chunk *chunks;
    sop *ops;
    size_t len, cap;
    uint32_t seq;
    rop *rops;
    size_t rlen, rcap;
    uint32_t putseq;
    kslot *kslots;         /* open addressing, power-of-two size */
    size_t kcap, kused;
    const char **keys;     /* interned keys by index */
    size_t nkeys, keys_cap;
};

static const char *arena_dup(cw__search_batch *b, const char *s, size_t n)
{
    if (!b->chunks || b->chunks->cap - b->chunks->used < n + 1) {
        size_t cap = n + 1 > CHUNK_SIZE ? n + 1 : CHUNK_SIZE;
        chunk *c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->next = b->chunks;
        c->used = 0;
        c->cap = cap;
        b->chunks = c;
    }
    char *p = b->chunks->data + b->chunks->used;
    memcpy(p, s, n);
    p[n] = '\0';
    b->chunks->used += n + 1;
    return p;
}

cw_err cw__search_batch_new(cw__search_batch **out)
{
    *out = calloc(1, sizeof **out);
    return *out ? CW_OK : CW_ERR_NOMEM;
}

void cw__search_batch_free(cw__search_batch *b)
{
    if (!b)
        return;
    while (b->chunks) {
        chunk *n = b->chunks->next;
        free(b->chunks);
        b->chunks = n;
    }
    free(b->ops);
    free(b->rops);
    free(b->kslots);
    free(b->keys);
    free(b);
}

static uint64_t hash_key(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

/* The index of key in b's intern table, adding it when new; -1 on NOMEM. */
static long intern(cw__search_batch *b, const char *key)
{
    if ((b->kused + 1) * 2 > b->kcap) {
        size_t ncap = b->kcap ? b->kcap * 2 : 64;
        kslot *ns = calloc(ncap, sizeof *ns);
        if (!ns)
            return -1;
        for (size_t i = 0; i < b->kcap; i++) {
            if (!b->kslots[i].s)
                continue;
            size_t j = (size_t)b->kslots[i].hash & (ncap - 1);
            while (ns[j].s)
                j = (j + 1) & (ncap - 1);
            ns[j] = b->kslots[i];
        }
        free(b->kslots);
        b->kslots = ns;
        b->kcap = ncap;
    }
    uint64_t h = hash_key(key);
    size_t j = (size_t)h & (b->kcap - 1);
    while (b->kslots[j].s) {
        if (b->kslots[j].hash == h && !strcmp(b->kslots[j].s, key))
            break;
        j = (j + 1) & (b->kcap - 1);
    }
    if (!b->kslots[j].s) {
        if (b->nkeys == b->keys_cap) {
            size_t nc = b->keys_cap ? b->keys_cap * 2 : 32;
            const char **nk = realloc(b->keys, nc * sizeof *nk);
            if (!nk)
                return -1;
            b->keys = nk;
            b->keys_cap = nc;
        }
        const char *copy = arena_dup(b, key, strlen(key));
        if (!copy)
            return -1;
        b->kslots[j].s = copy;
        b->kslots[j].hash = h;
        b->kslots[j].idx = (uint32_t)b->nkeys;
        b->keys[b->nkeys++] = copy;
        b->kused++;
    }
    return (long)b->kslots[j].idx;
}

static cw_err queue(cw__search_batch *b, int64_t id, const cw__srow *r, bool del)
{
    if (b->len == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        sop *p = realloc(b->ops, cap * sizeof *p);
        if (!p)
            return CW_ERR_NOMEM;
        b->ops = p;
        b->cap = cap;
    }
    sop *o = &b->ops[b->len];
    const char *v = r->value ? r->value : "";
    long ki = intern(b, r->key);
    if (ki < 0)
        return CW_ERR_NOMEM;
    o->key = b->keys[ki];
    o->kidx = (uint32_t)ki;
    o->value = arena_dup(b, v, strlen(v));
    o->original = r->original ? arena_dup(b, r->original, strlen(r->original)) : NULL;
    if (!o->key || !o->value || (r->original && !o->original))
        return CW_ERR_NOMEM;
    o->id = id;
    o->seq = b->seq++;
    o->del = del;
    o->is_null = r->value == NULL;
    b->len++;
    return CW_OK;
}

cw_err cw__search_batch_relations(cw__search_batch *b, int64_t id,
                                  const cw_relation_list *rels)
{
    uint32_t putseq = b->putseq++;
    for (size_t i = 0; i < rels->len; i++) {
        const cw_relation *r = &rels->items[i];
        if (b->rlen == b->rcap) {
            size_t cap = b->rcap ? b->rcap * 2 : 64;
            rop *p = realloc(b->rops, cap * sizeof *p);
            if (!p)
                return CW_ERR_NOMEM;
            b->rops = p;
            b->rcap = cap;
        }
        char inv[64];
        const char *inverse = cw_relation_inverse(r->type);
        size_t il = inverse ? strnlen(inverse, sizeof inv - 1) : 0;
        if (inverse) {
            memcpy(inv, inverse, il);
            inv[il] = '\0';
            cw__lower_ascii(inv);
        }
        rop *o = &b->rops[b->rlen];
        o->id = id;
        o->putseq = putseq;
        o->type = arena_dup(b, r->type, strlen(r->type));
        o->inverse_lc = inverse ? arena_dup(b, inv, il) : NULL;
        o->target_key = arena_dup(b, r->target_key, strlen(r->target_key));
        o->target_ref = arena_dup(b, r->target_ref, strlen(r->target_ref));
        if (!o->type || (inverse && !o->inverse_lc) || !o->target_key || !o->target_ref)
            return CW_ERR_NOMEM;
        b->rlen++;
    }
    return CW_OK;
}

/* ---- the per-entity blob ------------------------------------------------------- *
 * Per row: u16 key length, key, u8 flags (1 = null value, 2 = has original),
 * u16 value length, value, [u16 original length, original]. Little endian.
 */

static cw_err put16(cw_buf *out, size_t n)
{
    unsigned char b[2] = {(unsigned char)(n & 0xff), (unsigned char)(n >> 8)};
    return n > 0xffff ? CW_ERR_TOO_LARGE : cw_buf_append(out, b, 2);
}

cw_err cw__search_blob(const cw__srow *rows, size_t n, cw_buf *out)
{
    cw_err err = CW_OK;
    for (size_t i = 0; i < n && !err; i++) {
        const cw__srow *r = &rows[i];
        const char *v = r->value ? r->value : "";
        unsigned char flags = (unsigned char)((r->value ? 0 : 1) | (r->original ? 2 : 0));
        size_t kl = strlen(r->key), vl = strlen(v);
        if (!(err = put16(out, kl)) && !(err = cw_buf_append(out, r->key, kl)) &&
            !(err = cw_buf_append(out, &flags, 1)) && !(err = put16(out, vl)))
            err = cw_buf_append(out, v, vl);
        if (!err && r->original) {
            size_t ol = strlen(r->original);
            if (!(err = put16(out, ol)))
                err = cw_buf_append(out, r->original, ol);
        }
    }
    return err;
}

typedef struct {
    const unsigned char *p, *end;
} reader;

/* Reads one length-prefixed string; *s points into the blob (not NUL-ended). */
static bool get_str(reader *r, const char **s, size_t *len)
{
    if (r->end - r->p < 2)
        return false;
    size_t n = (size_t)r->p[0] | ((size_t)r->p[1] << 8);
    r->p += 2;
    if ((size_t)(r->end - r->p) < n)
        return false;
    *s = (const char *)r->p;
    *len = n;
    r->p += n;
    return true;
}

cw_err cw__search_blob_match(const void *blob, size_t len, const char *key,
                             char *const *vals, size_t nvals, bool *match)
{
    reader r = {blob, blob ? (const unsigned char *)blob + len : NULL};
    size_t klen = strlen(key);
    *match = false;
    while (r.p < r.end && !*match) {
        const char *k, *v, *o;
        size_t kl, vl, ol;
        if (!get_str(&r, &k, &kl) || r.p >= r.end)
            return CW_ERR_IO;
        unsigned char flags = *r.p++;
        if (!get_str(&r, &v, &vl) || ((flags & 2) && !get_str(&r, &o, &ol)))
            return CW_ERR_IO;
        if (kl != klen || memcmp(k, key, kl) != 0)
            continue;
        *match = nvals == 0;
        for (size_t i = 0; i < nvals && !*match; i++)
            *match = strlen(vals[i]) == vl && !memcmp(vals[i], v, vl) &&
                     !(vl == 0 && (flags & 1));
    }
    return CW_OK;
}

/* ---- diff ------------------------------------------------------------------------ */

static int row_cmp(const void *a, const void *b)
{
    const cw__srow *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (!c)
        c = strcmp(x->value ? x->value : "", y->value ? y->value : "");
    return c;
}

void cw__srows_normalize(cw__srow *rows, size_t *n)
{
    if (*n < 2)
        return;
    bool sorted = true; /* the usual case: rows come sorted from the catalog */
    for (size_t k = 1; k < *n && sorted; k++)
        sorted = row_cmp(&rows[k - 1], &rows[k]) <= 0;
    if (!sorted)
        qsort(rows, *n, sizeof *rows, row_cmp);
    /* two rows with one primary key ('' and null): keep the first */
    size_t w = 1;
    for (size_t k = 1; k < *n; k++)
        if (row_cmp(&rows[w - 1], &rows[k]))
            rows[w++] = rows[k];
    *n = w;
}

static bool same_data(const cw__srow *x, const cw__srow *y)
{
    if ((x->value == NULL) != (y->value == NULL))
        return false;
    if ((x->original == NULL) != (y->original == NULL))
        return false;
    return !x->original || !strcmp(x->original, y->original);
}

/* Decodes a blob into rows whose strings live in b's arena. */
static cw_err decode(cw__search_batch *b, const void *blob, size_t len, cw__srow **out,
                     size_t *n)
{
    reader r = {blob, blob ? (const unsigned char *)blob + len : NULL}; /* NULL + 0 is UB */
    cw__srow *rows = NULL;
    size_t cnt = 0, cap = 0;
    while (r.p < r.end) {
        const char *k, *v, *o = NULL;
        size_t kl, vl, ol = 0;
        if (!get_str(&r, &k, &kl) || r.p >= r.end)
            goto corrupt;
        unsigned char flags = *r.p++;
        if (!get_str(&r, &v, &vl) || ((flags & 2) && !get_str(&r, &o, &ol)))
            goto corrupt;
        if (cnt == cap) {
            cap = cap ? cap * 2 : 32;
            cw__srow *p = realloc(rows, cap * sizeof *p);
            if (!p) {
                free(rows);
                return CW_ERR_NOMEM;
            }
            rows = p;
        }
        cw__srow *row = &rows[cnt++];
        row->key = arena_dup(b, k, kl);
        row->value = flags & 1 ? NULL : arena_dup(b, v, vl);
        row->original = flags & 2 ? arena_dup(b, o, ol) : NULL;
        if (!row->key || (!(flags & 1) && !row->value) || ((flags & 2) && !row->original)) {
            free(rows);
            return CW_ERR_NOMEM;
        }
    }
    *out = rows;
    *n = cnt;
    return CW_OK;
corrupt:
    free(rows);
    return CW_ERR_IO;
}

cw_err cw__search_batch_diff(cw__search_batch *b, int64_t id, const void *old_blob,
                             size_t old_len, cw__srow *rows, size_t n)
{
    cw__srow *old = NULL;
    size_t nold = 0;
    cw_err err = decode(b, old_blob, old_len, &old, &nold);
    if (err)
        return err;
    cw__srows_normalize(old, &nold);
    cw__srows_normalize(rows, &n);
    size_t i = 0, j = 0;
    while (!err && (i < nold || j < n)) {
        int c = i == nold ? 1 : j == n ? -1 : row_cmp(&old[i], &rows[j]);
        if (c < 0) {
            err = queue(b, id, &old[i++], true);
        } else if (c > 0) {
            err = queue(b, id, &rows[j++], false);
        } else {
            if (!same_data(&old[i], &rows[j]))
                err = queue(b, id, &rows[j], false);
            i++;
            j++;
        }
    }
    free(old);
    return err;
}

/* ---- applying -------------------------------------------------------------------- */

/* Rows per multi-row INSERT: executing one statement per block of rows is
 * much cheaper than one per row. */
#define INSERT_BLOCK 64
#define INSERT_ROW "(?,?,?,?,?)"
#define INSERT_HEAD "INSERT OR REPLACE INTO search " \
                    "(key, value, entity_id, is_null, original) VALUES "
#define REL_HEAD "INSERT OR IGNORE INTO relations " \
                 "(entity_id, type, inverse_lc, target_key, target_ref) VALUES "
static char rel_block_sql[sizeof REL_HEAD + INSERT_BLOCK * sizeof INSERT_ROW];

static char block_sql[sizeof INSERT_HEAD + INSERT_BLOCK * sizeof INSERT_ROW];
static pthread_once_t block_once = PTHREAD_ONCE_INIT;

static void build_block_sql(void)
{
    size_t o = sizeof INSERT_HEAD - 1;
    memcpy(block_sql, INSERT_HEAD, o);
    size_t r = sizeof REL_HEAD - 1;
    memcpy(rel_block_sql, REL_HEAD, r);
    for (size_t i = 0; i < INSERT_BLOCK; i++) {
        if (i) {
            block_sql[o++] = ',';
            rel_block_sql[r++] = ',';
        }
        memcpy(block_sql + o, INSERT_ROW, sizeof INSERT_ROW - 1);
        o += sizeof INSERT_ROW - 1;
        memcpy(rel_block_sql + r, INSERT_ROW, sizeof INSERT_ROW - 1);
        r += sizeof INSERT_ROW - 1;
    }
    block_sql[o] = '\0';
    rel_block_sql[r] = '\0';
}

typedef struct {
    const char *s;
    size_t idx;
} ranked;

static int ranked_cmp(const void *a, const void *b)
{
    return strcmp(((const ranked *)a)->s, ((const ranked *)b)->s);
}

static int sop_cmp(const void *a, const void *b)
{
    const sop *x = *(const sop *const *)a, *y = *(const sop *const *)b;
    int c = (x->kidx > y->kidx) - (x->kidx < y->kidx); /* ranks by now */
    if (!c)
        c = strcmp(x->value, y->value);
    if (!c)
        c = (x->id > y->id) - (x->id < y->id);
    if (!c)
        c = (x->seq > y->seq) - (x->seq < y->seq);
    return c;
}

static int rop_cmp(const void *a, const void *b)
{
    const rop *x = *(const rop *const *)a, *y = *(const rop *const *)b;
    int c = (x->id > y->id) - (x->id < y->id);
    if (!c)
        c = (x->putseq > y->putseq) - (x->putseq < y->putseq);
    if (!c)
        c = strcmp(x->type, y->type);
    if (!c)
        c = strcmp(x->target_key, y->target_key);
    return c;
}

/* Inserts rows[0..n) with st, a statement of exactly n rows. */
static cw_err insert_rows(cw__sqlite_conn *c, sqlite3_stmt *st, const sop *const *rows,
                          size_t n, cw_diag *d)
{
    for (size_t i = 0; i < n; i++) {
        int b = (int)i * 5;
        cw__bind_text(st, b + 1, rows[i]->key);
        cw__bind_text(st, b + 2, rows[i]->value);
        cw__bind_int64(st, b + 3, rows[i]->id);
        cw__bind_int64(st, b + 4, rows[i]->is_null);
        cw__bind_text(st, b + 5, rows[i]->original);
    }
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? CW_OK : cw__sqlite_fail(c, rc, d, "search insert");
}

static cw_err insert_relations(cw__sqlite_conn *c, sqlite3_stmt *st, const rop *const *rows,
                               size_t n, cw_diag *d)
{
    for (size_t i = 0; i < n; i++) {
        int b = (int)i * 5;
        cw__bind_int64(st, b + 1, rows[i]->id);
        cw__bind_text(st, b + 2, rows[i]->type);
        cw__bind_text(st, b + 3, rows[i]->inverse_lc);
        cw__bind_text(st, b + 4, rows[i]->target_key);
        cw__bind_text(st, b + 5, rows[i]->target_ref);
    }
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? CW_OK : cw__sqlite_fail(c, rc, d, "relation insert");
}

/* Inserts the queued relations of each entity's last put, in key order. */
static cw_err apply_relations(cw__search_batch *b, cw__sqlite_conn *c, cw_diag *d)
{
    if (b->rlen == 0)
        return CW_OK;
    pthread_once(&block_once, build_block_sql);
    const rop **order = malloc(b->rlen * sizeof *order);
    if (!order)
        return cw_fail(d, CW_ERR_NOMEM, "relations: out of memory");
    for (size_t i = 0; i < b->rlen; i++)
        order[i] = &b->rops[i];
    qsort(order, b->rlen, sizeof *order, rop_cmp);
    sqlite3_stmt *one = NULL, *block = NULL;
    const rop *pending[INSERT_BLOCK];
    size_t npending = 0;
    cw_err err = cw__sqlite_stmt(c, REL_HEAD INSERT_ROW, &one, d);
    if (!err)
        err = cw__sqlite_stmt(c, rel_block_sql, &block, d);
    for (size_t i = 0; !err && i < b->rlen; i++) {
        /* the group of one entity ends with its last put's rows */
        size_t end = i;
        while (end + 1 < b->rlen && order[end + 1]->id == order[i]->id)
            end++;
        uint32_t last = order[end]->putseq;
        for (size_t k = i; k <= end && !err; k++) {
            if (order[k]->putseq != last)
                continue;
            pending[npending++] = order[k];
            if (npending == INSERT_BLOCK) {
                err = insert_relations(c, block, pending, npending, d);
                npending = 0;
            }
        }
        i = end;
    }
    for (size_t i = 0; !err && i < npending; i++)
        err = insert_relations(c, one, &pending[i], 1, d);
    cw__sqlite_done(c, one);
    cw__sqlite_done(c, block);
    free(order);
    b->rlen = 0;
    return err;
}

cw_err cw__search_batch_apply(cw__search_batch *b, cw__sqlite_conn *c, cw_diag *d)
{
    if (b->len == 0)
        return apply_relations(b, c, d);
    pthread_once(&block_once, build_block_sql);
    const sop **order = malloc(b->len * sizeof *order);
    size_t *rank = malloc((b->nkeys ? b->nkeys : 1) * sizeof *rank);
    size_t *start = calloc(b->nkeys + 1, sizeof *start);
    ranked *sorted = malloc((b->nkeys ? b->nkeys : 1) * sizeof *sorted);
    if (!order || !rank || !start || !sorted) {
        free(order);
        free(rank);
        free(start);
        free(sorted);
        return cw_fail(d, CW_ERR_NOMEM, "search: out of memory");
    }
    /* rank the distinct keys in string order */
    for (size_t i = 0; i < b->nkeys; i++) {
        sorted[i].s = b->keys[i];
        sorted[i].idx = i;
    }
    qsort(sorted, b->nkeys, sizeof *sorted, ranked_cmp);
    for (size_t r = 0; r < b->nkeys; r++)
        rank[sorted[r].idx] = r;
    free(sorted);
    /* group the ops by key rank (a counting sort, keeping queue order), then
     * order each group by (value, id, seq): queue order is often that order
     * already (one value for many entities, as for kind), and sorting
     * pointers moves far less memory than sorting the ops */
    for (size_t i = 0; i < b->len; i++) {
        b->ops[i].kidx = (uint32_t)rank[b->ops[i].kidx];
        start[b->ops[i].kidx + 1]++;
    }
    for (size_t r = 0; r < b->nkeys; r++)
        start[r + 1] += start[r];
    for (size_t i = 0; i < b->len; i++)
        order[start[b->ops[i].kidx]++] = &b->ops[i];
    /* start[r] is now the end of group r, which begins where r - 1 ends */
    for (size_t r = 0, from = 0; r < b->nkeys; from = start[r++]) {
        size_t n = start[r] - from;
        bool in_order = true;
        for (size_t i = from + 1; i < start[r] && in_order; i++)
            in_order = sop_cmp(&order[i - 1], &order[i]) < 0;
        if (!in_order)
            qsort(order + from, n, sizeof *order, sop_cmp);
    }
    free(rank);
    free(start);
    sqlite3_stmt *one = NULL, *block = NULL, *del = NULL;
    const sop *pending[INSERT_BLOCK];
    size_t npending = 0;
    cw_err err = cw__sqlite_stmt(c, INSERT_HEAD INSERT_ROW, &one, d);
    if (!err)
        err = cw__sqlite_stmt(c, block_sql, &block, d);
    if (!err)
        err = cw__sqlite_stmt(c,
                              "DELETE FROM search "
                              "WHERE key = ? AND value = ? AND entity_id = ?",
                              &del, d);
    for (size_t i = 0; !err && i < b->len; i++) {
        const sop *o = order[i];
        if (i + 1 < b->len && o->id == order[i + 1]->id &&
            !strcmp(o->key, order[i + 1]->key) && !strcmp(o->value, order[i + 1]->value))
            continue; /* a later op on the same row wins */
        if (!o->del) {
            pending[npending++] = o;
            if (npending == INSERT_BLOCK) {
                err = insert_rows(c, block, pending, npending, d);
                npending = 0;
            }
            continue;
        }
        cw__bind_text(del, 1, o->key);
        cw__bind_text(del, 2, o->value);
        cw__bind_int64(del, 3, o->id);
        int rc = sqlite3_step(del);
        if (rc != SQLITE_DONE)
            err = cw__sqlite_fail(c, rc, d, "search delete");
        sqlite3_reset(del);
    }
    /* rows are distinct, so inserting the tail after the deletes is safe */
    for (size_t i = 0; !err && i < npending; i++)
        err = insert_rows(c, one, &pending[i], 1, d);
    cw__sqlite_done(c, one);
    cw__sqlite_done(c, block);
    cw__sqlite_done(c, del);
    free(order);
    b->len = 0;
    /* kidx now holds ranks: forget the interned keys (their strings stay in
     * the arena until the batch is freed) */
    b->nkeys = 0;
    b->kused = 0;
    if (b->kslots)
        memset(b->kslots, 0, b->kcap * sizeof *b->kslots);
    if (!err)
        err = apply_relations(b, c, d);
    return err;
}
