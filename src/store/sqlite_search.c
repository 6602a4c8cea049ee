/*
 * sqlite_search.c — maintenance of the search table. The table is one
 * B-tree clustered by (key, value, entity_id), the order every filter and
 * facet reads it in. Each entity keeps the exact list of rows it owns in
 * entities.search_rows (a compact blob), so an update or delete removes
 * precisely those rows without a second index on entity_id, and an update
 * touches only the rows that changed. Row changes of a write transaction
 * are queued and applied at its end sorted by primary key, so a large
 * import appends to the B-tree instead of inserting at random places.
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
    const char *key;
    const char *value;     /* as stored: '' for a null leaf */
    const char *original;  /* NULL when equal to value */
    int64_t id;
    uint32_t seq;          /* queue order: the last op on a row wins */
    uint8_t del;
    uint8_t is_null;
} sop;

struct cw__search_batch {
    chunk *chunks;
    sop *ops;
    size_t len, cap;
    uint32_t seq;
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
    free(b);
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
    o->key = arena_dup(b, r->key, strlen(r->key));
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
    reader r = {blob, (const unsigned char *)blob + len};
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

static int sop_cmp(const void *a, const void *b)
{
    const sop *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    if (!c)
        c = strcmp(x->value, y->value);
    if (!c)
        c = (x->id > y->id) - (x->id < y->id);
    if (!c)
        c = (x->seq > y->seq) - (x->seq < y->seq);
    return c;
}

/* Rows per multi-row INSERT: executing one statement per block of rows is
 * much cheaper than one per row. */
#define INSERT_BLOCK 64
#define INSERT_HEAD "INSERT OR REPLACE INTO search (key, value, entity_id, is_null, original) VALUES "
#define INSERT_ROW "(?,?,?,?,?)"

static char block_sql[sizeof INSERT_HEAD + INSERT_BLOCK * sizeof INSERT_ROW];
static pthread_once_t block_once = PTHREAD_ONCE_INIT;

static void build_block_sql(void)
{
    size_t o = sizeof INSERT_HEAD - 1;
    memcpy(block_sql, INSERT_HEAD, o);
    for (size_t i = 0; i < INSERT_BLOCK; i++) {
        if (i)
            block_sql[o++] = ',';
        memcpy(block_sql + o, INSERT_ROW, sizeof INSERT_ROW - 1);
        o += sizeof INSERT_ROW - 1;
    }
    block_sql[o] = '\0';
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

cw_err cw__search_batch_apply(cw__search_batch *b, cw__sqlite_conn *c, cw_diag *d)
{
    if (b->len == 0)
        return CW_OK;
    pthread_once(&block_once, build_block_sql);
    qsort(b->ops, b->len, sizeof *b->ops, sop_cmp);
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
        const sop *o = &b->ops[i];
        if (i + 1 < b->len && o->id == b->ops[i + 1].id &&
            !strcmp(o->key, b->ops[i + 1].key) && !strcmp(o->value, b->ops[i + 1].value))
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
    b->len = 0;
    return err;
}
