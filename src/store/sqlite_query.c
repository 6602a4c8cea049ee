/*
 * sqlite_query.c — evaluating entity filters as sorted id sets. Each
 * condition is one range of the search table's primary key (key, value,
 * entity_id); the conditions of an AND are read side by side until the
 * smallest is complete, and the others are then either read on and merged
 * in C (cheaper than SQLite's INTERSECT/UNION temp B-trees) or checked on
 * each remaining candidate's own row (see "one condition as a cursor").
 * A page in key order is cut by sorting the members' keys when the checks
 * brought them, else either by walking the key index and keeping the
 * members of the set (dense sets) or by looking up the members' keys and
 * sorting them (sparse sets), whichever reads fewer entries.
 */
#include "store/sqlite_int.h"
#include "store/store_rows.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Forgets the members' keys (any change to the members must). */
static void drop_keys(cw__idset *s)
{
    for (size_t i = 0; s->keys && i < s->len; i++)
        free(s->keys[i]);
    free(s->keys);
    s->keys = NULL;
}

void cw__idset_free(cw__idset *s)
{
    drop_keys(s);
    free(s->v);
    s->v = NULL;
    s->len = s->cap = 0;
}

static cw_err push(cw__idset *s, int64_t id)
{
    if (s->len == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        int64_t *p = realloc(s->v, cap * sizeof *p);
        if (!p)
            return CW_ERR_NOMEM;
        s->v = p;
        s->cap = cap;
    }
    s->v[s->len++] = id;
    return CW_OK;
}

static int cmp_id(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Sorts (when needed) and removes repeats. */
static void normalize(cw__idset *s)
{
    bool sorted = true;
    for (size_t i = 1; i < s->len && sorted; i++)
        sorted = s->v[i - 1] <= s->v[i];
    if (!sorted)
        qsort(s->v, s->len, sizeof *s->v, cmp_id);
    size_t w = 0;
    for (size_t i = 0; i < s->len; i++)
        if (!w || s->v[w - 1] != s->v[i])
            s->v[w++] = s->v[i];
    s->len = w;
}

/* a := a ∩ b */
static void intersect(cw__idset *a, const cw__idset *b)
{
    size_t i = 0, j = 0, w = 0;
    while (i < a->len && j < b->len) {
        if (a->v[i] < b->v[j])
            i++;
        else if (a->v[i] > b->v[j])
            j++;
        else {
            a->v[w++] = a->v[i];
            i++;
            j++;
        }
    }
    a->len = w;
}

/* a := a ∪ b */
static cw_err unite(cw__idset *a, const cw__idset *b)
{
    for (size_t j = 0; j < b->len; j++)
        if (push(a, b->v[j]))
            return CW_ERR_NOMEM;
    normalize(a);
    return CW_OK;
}

/* Appends ",?" n times after a first "?" (a bound value list). */
static cw_err value_list(cw_buf *sql, size_t n)
{
    cw_err err = cw_buf_puts(sql, "(?");
    for (size_t i = 1; i < n && !err; i++)
        err = cw_buf_puts(sql, ",?");
    if (!err)
        err = cw_buf_putc(sql, ')');
    return err;
}

/* Runs sql (no parameters) and appends column 0. */
static cw_err run_ids(cw__sqlite_conn *c, const char *sql, cw__idset *out, cw_diag *d)
{
    sqlite3_stmt *st = NULL;
    cw_err err = cw__sqlite_stmt(c, sql, &st, d);
    if (err)
        return err;
    int rc = SQLITE_DONE;
    while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW)
        if (push(out, sqlite3_column_int64(st, 0)))
            err = cw_fail(d, CW_ERR_NOMEM, "query: out of memory");
    if (!err && rc != SQLITE_DONE)
        err = cw__sqlite_fail(c, rc, d, "filter");
    cw__sqlite_done(c, st);
    return err;
}

static bool member(const cw__idset *s, int64_t id)
{
    size_t lo = 0, hi = s->len;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s->v[mid] < id)
            lo = mid + 1;
        else if (s->v[mid] > id)
            hi = mid;
        else
            return true;
    }
    return false;
}

/* ---- one condition as a cursor ------------------------------------------------ *
 * The conditions of a clause (an AND) are read side by side, a few rows of
 * each in turn, until the smallest one is complete; its ids are the
 * candidates. The others go on being read side by side for a while (one
 * that completes is merged exactly), and whatever is still incomplete then
 * is checked on each candidate instead: one read of the candidate's own
 * search rows (entities.search_rows) answers all of them, plus an index
 * probe for the incoming side of a relations.* condition. So "kind=component
 * AND spec.type=service AND owner=team-7" costs about what team-7's rows
 * cost, not every component's and every service's.
 */

/* Rows each condition reads per turn. */
#define STEP_ROWS 32
/* What checking one candidate costs, in rows of a range scan (callgrind,
 * 10,000 entities: a scanned row ~1,000 instructions, a check ~3,000). */
#define CHECK_ROWS 3

typedef struct {
    char *key;            /* lower-cased */
    char **vals;          /* lower-cased, nvals of them */
    size_t nvals;
    bool empty_value;     /* one of vals is '': null leaves must stay out */
    bool relation;        /* relations.* key: the inverse source comes second */
    int slot;             /* position in the clause, see cursor_sql */
    int phase;            /* 0 search rows, 1 inverse relations, 2 complete */
    bool merged;          /* complete and intersected into the candidates */
    sqlite3_stmt *st;     /* running statement of the phase, or NULL */
    sqlite3_stmt *probe;  /* incoming relations of one entity, while checking */
    cw__idset ids;        /* read so far */
} cursor;

static void cursor_free(cw__sqlite_conn *c, cursor *cu)
{
    cw__sqlite_done(c, cu->st);
    cw__sqlite_done(c, cu->probe);
    cu->st = cu->probe = NULL;
    for (size_t i = 0; cu->vals && i < cu->nvals; i++)
        free(cu->vals[i]);
    free(cu->vals);
    free(cu->key);
    cw__idset_free(&cu->ids);
}

static cw_err cursor_init(cursor *cu, const cw_filter_cond *k, int slot)
{
    memset(cu, 0, sizeof *cu);
    cu->slot = slot;
    cu->nvals = k->nvalues;
    cu->key = cw__dup_lower(k->key);
    cu->vals = calloc(k->nvalues ? k->nvalues : 1, sizeof *cu->vals);
    if (!cu->key || !cu->vals)
        return CW_ERR_NOMEM;
    for (size_t i = 0; i < k->nvalues; i++) {
        if (!(cu->vals[i] = cw__dup_lower(k->values[i])))
            return CW_ERR_NOMEM;
        if (!cu->vals[i][0])
            cu->empty_value = true;
    }
    cu->relation = !strncmp(cu->key, "relations.", 10) && cu->key[10];
    return CW_OK;
}

/*
 * The SQL of the scan of a phase, or (probe) of the incoming relations of
 * one entity whose key is bound first. Several cursors of one clause are
 * open at once on one connection, and a statement text in use cannot be
 * handed out twice from the connection's cache: a comment naming the slot
 * keeps the texts of "kind = ?" and "spec.type = ?" apart.
 */
static cw_err cursor_sql(const cursor *cu, int phase, bool probe, cw_buf *sql)
{
    cw_err err;
    if (probe) {
        err = cw_buf_puts(sql, cu->nvals ? "SELECT 1 FROM relations r "
                                           "JOIN entities s ON s.id = r.entity_id "
                                           "WHERE r.target_key = ? AND r.inverse_lc = ? "
                                           "AND s.key IN "
                                         : "SELECT 1 FROM relations "
                                           "WHERE target_key = ? AND inverse_lc = ?");
        if (!err && cu->nvals)
            err = value_list(sql, cu->nvals);
    } else if (phase == 0) {
        err = cw_buf_puts(sql, "SELECT entity_id FROM search WHERE key = ?");
        if (!err && cu->nvals) {
            err = cw_buf_puts(sql, " AND value IN ");
            if (!err)
                err = value_list(sql, cu->nvals);
            /* '' is also how a null leaf is stored: keep those out */
            if (!err && cu->empty_value)
                err = cw_buf_puts(sql, " AND NOT is_null");
        }
    } else if (cu->nvals) {
        /* plus the inverse of others' outgoing relations: ownerOf from ownedBy */
        err = cw_buf_puts(sql, "SELECT t.id FROM entities s "
                               "JOIN relations r ON r.entity_id = s.id "
                               "JOIN entities t ON t.key = r.target_key "
                               "WHERE s.key IN ");
        if (!err)
            err = value_list(sql, cu->nvals);
        if (!err)
            err = cw_buf_puts(sql, " AND r.inverse_lc = ?");
    } else {
        err = cw_buf_puts(sql, "SELECT t.id FROM relations r "
                               "JOIN entities t ON t.key = r.target_key "
                               "WHERE r.inverse_lc = ?");
    }
    if (!err && cu->slot)
        err = cw_buf_printf(sql, " /* %d */", cu->slot);
    return err;
}

/* Prepares the statement of a phase (or the probe) with everything but
 * the probed key bound. */
static cw_err cursor_stmt(cw__sqlite_conn *c, const cursor *cu, int phase, bool probe,
                          sqlite3_stmt **st, cw_diag *d)
{
    cw_buf sql;
    cw_buf_init(&sql, 0);
    cw_err err = cursor_sql(cu, phase, probe, &sql);
    if (err) {
        cw_buf_free(&sql);
        return cw_fail(d, err, "query: out of memory");
    }
    err = cw__sqlite_stmt(c, cw_buf_cstr(&sql), st, d);
    cw_buf_free(&sql);
    if (err)
        return err;
    int idx = 1;
    if (probe) {
        idx++; /* the key */
        cw__bind_text(*st, idx++, cu->key + 10);
        for (size_t i = 0; i < cu->nvals; i++)
            cw__bind_text(*st, idx++, cu->vals[i]);
    } else if (phase == 0) {
        cw__bind_text(*st, idx++, cu->key);
        for (size_t i = 0; i < cu->nvals; i++)
            cw__bind_text(*st, idx++, cu->vals[i]);
    } else {
        for (size_t i = 0; i < cu->nvals; i++)
            cw__bind_text(*st, idx++, cu->vals[i]);
        cw__bind_text(*st, idx, cu->key + 10);
    }
    return CW_OK;
}

/* Reads up to max more ids into cu->ids (adding the count to *nread);
 * phase 2 once all are read. */
static cw_err cursor_read(cw__sqlite_conn *c, cursor *cu, size_t max, size_t *nread,
                          cw_diag *d)
{
    size_t n = 0;
    cw_err err = CW_OK;
    while (cu->phase < 2 && n < max) {
        if (!cu->st && (err = cursor_stmt(c, cu, cu->phase, false, &cu->st, d)))
            break;
        int rc = sqlite3_step(cu->st);
        if (rc == SQLITE_ROW) {
            if (push(&cu->ids, sqlite3_column_int64(cu->st, 0))) {
                err = cw_fail(d, CW_ERR_NOMEM, "query: out of memory");
                break;
            }
            n++;
            continue;
        }
        if (rc != SQLITE_DONE) {
            err = cw__sqlite_fail(c, rc, d, "filter");
            break;
        }
        cw__sqlite_done(c, cu->st);
        cu->st = NULL;
        cu->phase = cu->relation && cu->phase == 0 ? 1 : 2;
    }
    *nread += n;
    return err;
}

/* Whether entity (id, key) with search rows blob matches cu. cu->ids
 * holds (sorted) some of its matches already. */
static cw_err cursor_check(cw__sqlite_conn *c, cursor *cu, int64_t id, const char *key,
                           const void *blob, size_t len, bool *hit, cw_diag *d)
{
    if (member(&cu->ids, id)) {
        *hit = true;
        return CW_OK;
    }
    if (cw__search_blob_match(blob, len, cu->key, cu->vals, cu->nvals, hit))
        return cw__sqlite_fail(c, SQLITE_CORRUPT, d, "entity search rows");
    if (*hit || !cu->relation)
        return CW_OK;
    cw_err err;
    if (!cu->probe && (err = cursor_stmt(c, cu, 1, true, &cu->probe, d)))
        return err;
    cw__bind_text(cu->probe, 1, key);
    int rc = sqlite3_step(cu->probe);
    sqlite3_reset(cu->probe);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return cw__sqlite_fail(c, rc, d, "filter probe");
    *hit = rc == SQLITE_ROW;
    return CW_OK;
}

/* Candidates read per statement when checking them. */
#define CHECK_CHUNK 512

/* Appends "[id,id,...]" for ids[0..n) to out. */
static cw_err id_array(const int64_t *ids, size_t n, cw_buf *out)
{
    cw_err err = cw_buf_putc(out, '[');
    for (size_t i = 0; i < n && !err; i++) {
        char num[24];
        size_t o = sizeof num;
        uint64_t v = ids[i] < 0 ? 0u - (uint64_t)ids[i] : (uint64_t)ids[i];
        do {
            num[--o] = (char)('0' + v % 10);
            v /= 10;
        } while (v);
        if (ids[i] < 0)
            num[--o] = '-';
        if (i)
            err = cw_buf_putc(out, ',');
        if (!err)
            err = cw_buf_append(out, num + o, sizeof num - o);
    }
    return err ? err : cw_buf_putc(out, ']');
}

/* Keeps the candidates that match every incomplete condition, checked on
 * each candidate's own row; the survivors' keys come along (cand->keys).
 * The rows are read a chunk of ids per statement (json_each drives rowid
 * lookups in the given order): one execution per candidate costs more in
 * statement start and reset than the lookup itself. */
static cw_err check_candidates(cw__sqlite_conn *c, cursor *cu, size_t n, cw__idset *cand,
                               cw_diag *d)
{
    for (size_t j = 0; j < n; j++)
        if (!cu[j].merged)
            normalize(&cu[j].ids);
    sqlite3_stmt *st = NULL;
    cw_buf ids;
    cw_buf_init(&ids, 0);
    drop_keys(cand);
    char **keys = calloc(cand->len ? cand->len : 1, sizeof *keys);
    cw_err err = keys ? cw__sqlite_stmt(c,
                                        "SELECT e.id, e.key, e.search_rows "
                                        "FROM json_each(?) AS j CROSS JOIN entities AS e "
                                        "ON e.id = j.value",
                                        &st, d)
                      : cw_fail(d, CW_ERR_NOMEM, "query: out of memory");
    size_t w = 0;
    for (size_t from = 0; !err && from < cand->len; from += CHECK_CHUNK) {
        size_t to = cand->len - from > CHECK_CHUNK ? from + CHECK_CHUNK : cand->len;
        cw_buf_reset(&ids);
        if (id_array(cand->v + from, to - from, &ids)) {
            err = cw_fail(d, CW_ERR_NOMEM, "query: out of memory");
            break;
        }
        /* the text is complete before the first step: rewriting cand->v
         * below (w <= the row being read) does not change it */
        sqlite3_bind_text(st, 1, cw_buf_cstr(&ids), (int)ids.len, SQLITE_STATIC);
        int rc = SQLITE_DONE;
        while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            int64_t id = sqlite3_column_int64(st, 0);
            const char *key = cw__col_text(st, 1);
            const void *blob = sqlite3_column_blob(st, 2);
            size_t len = (size_t)sqlite3_column_bytes(st, 2);
            bool hit = true;
            for (size_t j = 0; j < n && hit && !err; j++)
                if (!cu[j].merged)
                    err = cursor_check(c, &cu[j], id, key, blob, len, &hit, d);
            if (err || !hit)
                continue;
            size_t kl = strlen(key) + 1;
            if (!(keys[w] = malloc(kl))) {
                err = cw_fail(d, CW_ERR_NOMEM, "query: out of memory");
                break;
            }
            memcpy(keys[w], key, kl);
            cand->v[w++] = id;
        }
        if (!err && rc != SQLITE_DONE)
            err = cw__sqlite_fail(c, rc, d, "filter check");
        sqlite3_reset(st);
    }
    cw__sqlite_done(c, st);
    cw_buf_free(&ids);
    if (err) {
        for (size_t i = 0; keys && i < w; i++)
            free(keys[i]);
        free(keys);
        return err;
    }
    cand->len = w;
    cand->keys = keys;
    return CW_OK;
}

/* The ids of the entities matching every condition of cl (n > 0). */
static cw_err clause_ids(cw__sqlite_conn *c, const cw_filter_clause *cl, cw__idset *out,
                         cw_diag *d)
{
    cursor *cu = calloc(cl->n, sizeof *cu);
    if (!cu)
        return cw_fail(d, CW_ERR_NOMEM, "query: out of memory");
    cw_err err = CW_OK;
    size_t n = 0, spent = 0;
    for (; n < cl->n && !err; n++)
        if (cursor_init(&cu[n], &cl->conds[n], (int)n))
            err = cw_fail(d, CW_ERR_NOMEM, "query: out of memory");
    /* side by side until the smallest condition is complete */
    size_t win = cl->n;
    while (!err && win == cl->n) {
        for (size_t j = 0; j < cl->n && !err; j++) {
            err = cursor_read(c, &cu[j], cl->n == 1 ? SIZE_MAX : STEP_ROWS, &spent, d);
            if (!err && cu[j].phase == 2) {
                win = j;
                break;
            }
        }
    }
    if (err)
        goto out;
    normalize(&cu[win].ids);
    cw__idset_free(out);
    *out = cu[win].ids;
    memset(&cu[win].ids, 0, sizeof cu[win].ids);
    cu[win].merged = true;
    /* reading on pays while it costs less than checking every candidate */
    size_t open = cl->n - 1;
    spent = 0;
    while (!err && open && out->len && spent < out->len * CHECK_ROWS) {
        for (size_t j = 0; j < cl->n && !err; j++) {
            if (cu[j].merged)
                continue;
            err = cursor_read(c, &cu[j], STEP_ROWS, &spent, d);
            if (!err && cu[j].phase == 2) {
                normalize(&cu[j].ids);
                intersect(out, &cu[j].ids);
                cu[j].merged = true;
                open--;
            }
        }
    }
    if (!err && open && out->len)
        err = check_candidates(c, cu, cl->n, out, d);
out:
    for (size_t j = 0; j < n; j++)
        cursor_free(c, &cu[j]);
    free(cu);
    return err;
}

cw_err cw__sqlite_filter_ids(cw__sqlite_conn *c, const cw_filter *f, cw__idset *out,
                             cw_diag *d)
{
    cw__idset clause = {0};
    cw_err err = CW_OK;
    out->len = 0;
    for (size_t i = 0; i < f->n && !err; i++) {
        const cw_filter_clause *cl = &f->clauses[i];
        clause.len = 0;
        if (cl->n == 0)
            err = run_ids(c, "SELECT id FROM entities", &clause, d);
        else
            err = clause_ids(c, cl, &clause, d);
        if (!err && f->n == 1) {
            /* the one clause is the answer, with its members' keys if known */
            cw__idset_free(out);
            *out = clause;
            memset(&clause, 0, sizeof clause);
            break;
        }
        drop_keys(&clause);
        if (!err && unite(out, &clause))
            err = cw_fail(d, CW_ERR_NOMEM, "query: out of memory");
    }
    cw__idset_free(&clause);
    if (err) {
        drop_keys(out);
        out->len = 0;
    }
    return err;
}

static cw_err keyed_push(cw__keyed **arr, size_t *n, size_t *cap, int64_t id,
                         const char *key)
{
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 64;
        cw__keyed *p = realloc(*arr, nc * sizeof *p);
        if (!p)
            return CW_ERR_NOMEM;
        *arr = p;
        *cap = nc;
    }
    size_t kl = strlen(key) + 1;
    char *k = malloc(kl);
    if (!k)
        return CW_ERR_NOMEM;
    memcpy(k, key, kl);
    (*arr)[*n].id = id;
    (*arr)[*n].key = k;
    (*n)++;
    return CW_OK;
}

void cw__keyed_free(cw__keyed *arr, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(arr[i].key);
    free(arr);
}

static int cmp_key_asc(const void *a, const void *b)
{
    return strcmp(((const cw__keyed *)a)->key, ((const cw__keyed *)b)->key);
}

static int cmp_key_desc(const void *a, const void *b) { return cmp_key_asc(b, a); }

typedef struct {
    int64_t id;
    const char *key;     /* borrowed from the set */
} known;

static int known_asc(const void *a, const void *b)
{
    return strcmp(((const known *)a)->key, ((const known *)b)->key);
}

static int known_desc(const void *a, const void *b) { return known_asc(b, a); }

/* The page when every member's key is known: sort them, no lookups. */
static cw_err page_known_keys(const cw__idset *m, const char *after, bool desc, size_t offset,
                              size_t limit, cw__keyed **out, size_t *nout, cw_diag *d)
{
    known *all = malloc(m->len * sizeof *all);
    cw__keyed *arr = NULL;
    size_t n = 0, cap = 0, k = 0;
    if (!all)
        return cw_fail(d, CW_ERR_NOMEM, "query: out of memory");
    for (size_t i = 0; i < m->len; i++) {
        bool keep = !after || (desc ? strcmp(m->keys[i], after) < 0
                                    : strcmp(m->keys[i], after) > 0);
        if (keep) {
            all[k].id = m->v[i];
            all[k].key = m->keys[i];
            k++;
        }
    }
    if (k > 1)
        qsort(all, k, sizeof *all, desc ? known_desc : known_asc);
    cw_err err = CW_OK;
    for (size_t i = offset; i < k && n < limit && !err; i++)
        if (keyed_push(&arr, &n, &cap, all[i].id, all[i].key))
            err = cw_fail(d, CW_ERR_NOMEM, "query: out of memory");
    free(all);
    if (err) {
        cw__keyed_free(arr, n);
        return err;
    }
    *out = arr;
    *nout = n;
    return CW_OK;
}

cw_err cw__sqlite_page_ids(cw__sqlite_conn *c, const cw__idset *m, const char *after_key,
                           bool desc, size_t offset, size_t limit, cw__keyed **out,
                           size_t *nout, cw_diag *d)
{
    *out = NULL;
    *nout = 0;
    if (m->len == 0 || limit == 0)
        return CW_OK;
    cw__keyed *arr = NULL;
    size_t n = 0, cap = 0;
    sqlite3_stmt *st = NULL;
    char *after = after_key ? cw__dup_lower(after_key) : NULL;
    cw_err err = after_key && !after ? cw_fail(d, CW_ERR_NOMEM, "query: out of memory")
                                     : CW_OK;
    int64_t span = 0;
    if (!err && m->keys) {
        err = page_known_keys(m, after, desc, offset, limit, &arr, &n, d);
        goto out;
    }
    if (!err)
        err = cw__sqlite_stmt(c, "SELECT max(id) FROM entities", &st, d);
    if (!err && sqlite3_step(st) == SQLITE_ROW)
        span = sqlite3_column_int64(st, 0);
    cw__sqlite_done(c, st);
    st = NULL;
    if (err)
        goto out;

    /* entries a key-order walk is expected to read vs. lookups of all members */
    size_t need = offset > SIZE_MAX - limit ? SIZE_MAX : offset + limit;
    double walk = (double)need * ((double)span / (double)m->len);
    bool walk_index = walk < 4.0 * (double)m->len;
    if (walk_index) {
        const char *sql =
            desc ? (after ? "SELECT id, key FROM entities WHERE key < ? ORDER BY key DESC"
                          : "SELECT id, key FROM entities ORDER BY key DESC")
                 : (after ? "SELECT id, key FROM entities WHERE key > ? ORDER BY key"
                          : "SELECT id, key FROM entities ORDER BY key");
        if ((err = cw__sqlite_stmt(c, sql, &st, d)))
            goto out;
        if (after)
            cw__bind_text(st, 1, after);
        size_t skipped = 0;
        int rc = SQLITE_DONE;
        while (n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            int64_t id = sqlite3_column_int64(st, 0);
            if (!member(m, id))
                continue;
            if (skipped < offset) {
                skipped++;
                continue;
            }
            if (keyed_push(&arr, &n, &cap, id, cw__col_text(st, 1))) {
                err = cw_fail(d, CW_ERR_NOMEM, "query: out of memory");
                goto out;
            }
        }
        if (n < limit && rc != SQLITE_DONE)
            err = cw__sqlite_fail(c, rc, d, "query page");
        goto out;
    }

    /* sparse: every member's key (a chunk of ids per statement, as in
     * check_candidates), then sort and cut */
    if ((err = cw__sqlite_stmt(c,
                               "SELECT e.id, e.key FROM json_each(?) AS j "
                               "CROSS JOIN entities AS e ON e.id = j.value",
                               &st, d)))
        goto out;
    cw_buf idtext;
    cw_buf_init(&idtext, 0);
    for (size_t from = 0; from < m->len && !err; from += CHECK_CHUNK) {
        size_t to = m->len - from > CHECK_CHUNK ? from + CHECK_CHUNK : m->len;
        cw_buf_reset(&idtext);
        if (id_array(m->v + from, to - from, &idtext)) {
            err = cw_fail(d, CW_ERR_NOMEM, "query: out of memory");
            break;
        }
        sqlite3_bind_text(st, 1, cw_buf_cstr(&idtext), (int)idtext.len, SQLITE_STATIC);
        int rc = SQLITE_DONE;
        while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            const char *key = cw__col_text(st, 1);
            bool keep = !after || (desc ? strcmp(key, after) < 0 : strcmp(key, after) > 0);
            if (keep && keyed_push(&arr, &n, &cap, sqlite3_column_int64(st, 0), key))
                err = cw_fail(d, CW_ERR_NOMEM, "query: out of memory");
        }
        if (!err && rc != SQLITE_DONE)
            err = cw__sqlite_fail(c, rc, d, "query page");
        sqlite3_reset(st);
    }
    cw_buf_free(&idtext);
    if (err)
        goto out;
    if (n > 1) /* qsort(NULL, 0) is undefined */
        qsort(arr, n, sizeof *arr, desc ? cmp_key_desc : cmp_key_asc);
    size_t from = offset < n ? offset : n;
    size_t to = n - from > limit ? from + limit : n;
    for (size_t i = 0; i < from; i++)
        free(arr[i].key);
    for (size_t i = to; i < n; i++)
        free(arr[i].key);
    if (from > 0 && to > from)
        memmove(arr, arr + from, (to - from) * sizeof *arr);
    n = to - from;
out:
    cw__sqlite_done(c, st);
    free(after);
    if (err) {
        cw__keyed_free(arr, n);
        return err;
    }
    *out = arr;
    *nout = n;
    return CW_OK;
}

/* ---- facets ------------------------------------------------------------------------ *
 * Rows of one key come out of the search table's primary key sorted by
 * (value, entity_id), so counting entities per value is one pass; for
 * relations.* keys a second sorted stream (the inverse of others' outgoing
 * relations) is merged in, an entity counted once per value. As in
 * Backstage, facets are grouped by the original value: case variants of one
 * lower-cased value are separate facets. They arrive interleaved within the
 * lower-cased group, which holds few variants, so each row looks its
 * variant up among the group's facets.
 */

typedef struct {
    sqlite3_stmt *st;
    bool done;
} stream;

static cw_err stream_next(cw__sqlite_conn *c, stream *s, cw_diag *d)
{
    if (s->done)
        return CW_OK;
    int rc = sqlite3_step(s->st);
    if (rc == SQLITE_ROW)
        return CW_OK;
    s->done = true;
    return rc == SQLITE_DONE ? CW_OK : cw__sqlite_fail(c, rc, d, "facets");
}

typedef struct {
    char *value;     /* shown: original case */
    int64_t count;
    int64_t last_id; /* the last entity counted (rows come by entity id) */
} facet;

static int facet_cmp(const void *a, const void *b)
{
    const facet *x = a, *y = b;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    return strcmp(x->value, y->value);
}

/* Compares the current rows of two streams by (value, entity id). */
static int row_order(stream *a, stream *b)
{
    if (a->done || b->done)
        return a->done - b->done; /* a finished stream sorts last */
    int c = strcmp(cw__col_text(a->st, 0), cw__col_text(b->st, 0));
    if (!c) {
        int64_t x = sqlite3_column_int64(a->st, 1), y = sqlite3_column_int64(b->st, 1);
        c = (x > y) - (x < y);
    }
    return c;
}

cw_err cw__sqlite_facet(cw__sqlite_conn *c, const char *key, const cw__idset *filter,
                        json_t *arr, cw_diag *d)
{
    stream s[2] = {{NULL, true}, {NULL, true}};
    facet *fs = NULL;
    size_t nf = 0, cap = 0;
    char *lkey = cw__dup_lower(key);
    char *cur = NULL;          /* the open lower-cased group */
    size_t first = 0;          /* its first facet in fs */
    cw_err err = lkey ? CW_OK : cw_fail(d, CW_ERR_NOMEM, "facets: out of memory");
    if (!err)
        err = cw__sqlite_stmt(c,
                              "SELECT value, entity_id, coalesce(original, value) "
                              "FROM search WHERE key = ? AND NOT is_null",
                              &s[0].st, d);
    if (!err) {
        cw__bind_text(s[0].st, 1, lkey);
        s[0].done = false;
        err = stream_next(c, &s[0], d);
    }
    if (!err && !strncmp(lkey, "relations.", 10) && lkey[10]) {
        err = cw__sqlite_stmt(c,
                              "SELECT src.key, t.id, src.ref FROM relations r "
                              "JOIN entities src ON src.id = r.entity_id "
                              "JOIN entities t ON t.key = r.target_key "
                              "WHERE r.inverse_lc = ? ORDER BY src.key, t.id",
                              &s[1].st, d);
        if (!err) {
            cw__bind_text(s[1].st, 1, lkey + 10);
            s[1].done = false;
            err = stream_next(c, &s[1], d);
        }
    }
    while (!err && !(s[0].done && s[1].done)) {
        stream *in = row_order(&s[0], &s[1]) <= 0 ? &s[0] : &s[1];
        const char *value = cw__col_text(in->st, 0);
        int64_t id = sqlite3_column_int64(in->st, 1);
        if (!filter || member(filter, id)) {
            if (!cur || strcmp(cur, value) != 0) {
                free(cur);
                if (!(cur = cw__dup_lower(value))) {
                    err = cw_fail(d, CW_ERR_NOMEM, "facets: out of memory");
                    break;
                }
                first = nf;
            }
            const char *shown = cw__col_text(in->st, 2);
            size_t k = first;
            while (k < nf && strcmp(fs[k].value, shown) != 0)
                k++;
            if (k == nf) {
                if (nf == cap) {
                    size_t ncap = cap ? cap * 2 : 32;
                    facet *p = realloc(fs, ncap * sizeof *p);
                    if (p) {
                        fs = p;
                        cap = ncap;
                    }
                }
                size_t sl = strlen(shown) + 1;
                char *copy = nf < cap ? malloc(sl) : NULL;
                if (!copy) {
                    err = cw_fail(d, CW_ERR_NOMEM, "facets: out of memory");
                    break;
                }
                memcpy(copy, shown, sl);
                fs[nf] = (facet){.value = copy, .count = 0, .last_id = -1};
                nf++;
            }
            if (fs[k].last_id != id) {
                fs[k].count++;
                fs[k].last_id = id;
            }
        }
        err = stream_next(c, in, d);
    }
    if (!err && nf > 1)
        qsort(fs, nf, sizeof *fs, facet_cmp);
    for (size_t i = 0; !err && i < nf; i++) {
        json_t *o = json_pack("{s:s, s:I}", "value", fs[i].value, "count",
                              (json_int_t)fs[i].count);
        if (!o || json_array_append_new(arr, o))
            err = cw_fail(d, CW_ERR_NOMEM, "facets: out of memory");
    }
    for (size_t i = 0; i < nf; i++)
        free(fs[i].value);
    free(fs);
    free(cur);
    free(lkey);
    cw__sqlite_done(c, s[0].st);
    cw__sqlite_done(c, s[1].st);
    return err;
}
