/*
 * bregex.c — the bounded regular expression of bregex.h: a recursive-descent
 * parser into a small syntax tree (depth and size bounded by the pattern's
 * length limit), code generation into a Thompson program (counted
 * repetition expanded, the program size capped) and a Pike-style
 * simulation without captures, which keeps every live thread in one set so
 * no input can make it backtrack.
 */
#include "catalog/bregex.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 32
#define MAX_COUNT 32
#define MAX_NODES (CW_BREGEX_MAX_PATTERN * 2 + 8)
#define MAX_CLASSES 64

typedef enum { N_EMPTY, N_CHAR, N_ANY, N_CLASS, N_BOL, N_EOL, N_CAT, N_ALT, N_REP } node_type;

typedef struct {
    node_type t;
    int a, b;          /* children (CAT, ALT), sub (REP: a) */
    int min, max;      /* REP; max -1 = unbounded */
    unsigned char c;   /* CHAR; CLASS: class index */
} node;

typedef enum { I_CHAR, I_ANY, I_CLASS, I_BOL, I_EOL, I_SPLIT, I_JMP, I_MATCH } op;

typedef struct {
    uint8_t op;
    uint8_t c;
    uint16_t x, y;
} inst;

struct cw_bregex {
    inst *prog;
    int n;
    uint8_t (*classes)[32];
    int nclasses;
};

typedef struct {
    const char *p;
    size_t i, len;
    node nodes[MAX_NODES];
    int nnodes;
    uint8_t classes[MAX_CLASSES][32];
    int nclasses;
    char *why;
    size_t cap;
    bool failed;
} parser;

static int fail(parser *ps, const char *msg)
{
    if (!ps->failed)
        snprintf(ps->why, ps->cap, "%s at offset %zu", msg, ps->i);
    ps->failed = true;
    return -1;
}

static int mk(parser *ps, node_type t)
{
    if (ps->nnodes >= MAX_NODES)
        return fail(ps, "pattern too complex");
    node *n = &ps->nodes[ps->nnodes];
    memset(n, 0, sizeof *n);
    n->t = t;
    n->a = n->b = -1;
    return ps->nnodes++;
}

static void set_bit(uint8_t *set, unsigned c) { set[c >> 3] |= (uint8_t)(1u << (c & 7)); }

static bool is_word(unsigned c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}
static bool is_digit(unsigned c) { return c >= '0' && c <= '9'; }
static bool is_space(unsigned c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/* \d \w \s and their negations into set; false when e is not one of them. */
static bool class_escape(char e, uint8_t *set)
{
    bool (*pred)(unsigned);
    switch (e) {
    case 'd': case 'D': pred = is_digit; break;
    case 'w': case 'W': pred = is_word; break;
    case 's': case 'S': pred = is_space; break;
    default: return false;
    }
    bool neg = e == 'D' || e == 'W' || e == 'S';
    for (unsigned c = 0; c < 256; c++)
        if (pred(c) != neg)
            set_bit(set, c);
    return true;
}

/* A single-character escape after '\' (not a class escape): its byte, or -1. */
static int char_escape(char e)
{
    switch (e) {
    case 'n': return '\n';
    case 't': return '\t';
    case 'r': return '\r';
    case 'f': return '\f';
    case 'v': return '\v';
    default: break;
    }
    unsigned char u = (unsigned char)e;
    if (u > 0x20 && u < 0x7f && !is_word(u))
        return u;   /* escaped punctuation stands for itself */
    return -1;
}

static int new_class(parser *ps)
{
    if (ps->nclasses >= MAX_CLASSES)
        return fail(ps, "too many character classes");
    memset(ps->classes[ps->nclasses], 0, 32);
    return ps->nclasses++;
}

static int parse_class(parser *ps)
{
    /* at '[' */
    ps->i++;
    int ci = new_class(ps);
    if (ci < 0)
        return -1;
    uint8_t *set = ps->classes[ci];
    bool neg = false;
    if (ps->i < ps->len && ps->p[ps->i] == '^') {
        neg = true;
        ps->i++;
    }
    for (;;) {
        if (ps->i >= ps->len)
            return fail(ps, "unterminated '['");
        char ch = ps->p[ps->i];
        if (ch == ']') {
            ps->i++;
            break;
        }
        int lo;
        if (ch == '\\') {
            if (ps->i + 1 >= ps->len)
                return fail(ps, "trailing '\\'");
            char e = ps->p[ps->i + 1];
            ps->i += 2;
            if (class_escape(e, set)) {
                if (ps->i < ps->len && ps->p[ps->i] == '-' && ps->i + 1 < ps->len &&
                    ps->p[ps->i + 1] != ']')
                    return fail(ps, "range from a class escape");
                continue;
            }
            lo = char_escape(e);
            if (lo < 0)
                return fail(ps, "unsupported escape in '[ ]'");
        } else {
            lo = (unsigned char)ch;
            ps->i++;
        }
        int hi = lo;
        if (ps->i + 1 < ps->len && ps->p[ps->i] == '-' && ps->p[ps->i + 1] != ']') {
            ps->i++;
            char h = ps->p[ps->i];
            if (h == '\\') {
                if (ps->i + 1 >= ps->len)
                    return fail(ps, "trailing '\\'");
                hi = char_escape(ps->p[ps->i + 1]);
                if (hi < 0)
                    return fail(ps, "unsupported range end");
                ps->i += 2;
            } else {
                hi = (unsigned char)h;
                ps->i++;
            }
            if (hi < lo)
                return fail(ps, "range out of order");
        }
        for (int c = lo; c <= hi; c++)
            set_bit(set, (unsigned)c);
    }
    if (neg)
        for (int k = 0; k < 32; k++)
            set[k] = (uint8_t)~set[k];
    int n = mk(ps, N_CLASS);
    if (n >= 0)
        ps->nodes[n].c = (unsigned char)ci;
    return n;
}

static int parse_alt(parser *ps, int depth);

static int parse_atom(parser *ps, int depth)
{
    char ch = ps->p[ps->i];
    switch (ch) {
    case '(': {
        if (depth >= MAX_DEPTH)
            return fail(ps, "groups nested too deeply");
        ps->i++;
        if (ps->i < ps->len && ps->p[ps->i] == '?') {
            if (ps->i + 1 < ps->len && ps->p[ps->i + 1] == ':')
                ps->i += 2;
            else
                return fail(ps, "unsupported group (only ( ) and (?: ))");
        }
        int sub = parse_alt(ps, depth + 1);
        if (sub < 0)
            return -1;
        if (ps->i >= ps->len || ps->p[ps->i] != ')')
            return fail(ps, "missing ')'");
        ps->i++;
        return sub;
    }
    case '[':
        return parse_class(ps);
    case '.':
        ps->i++;
        return mk(ps, N_ANY);
    case '^':
        ps->i++;
        return mk(ps, N_BOL);
    case '$':
        ps->i++;
        return mk(ps, N_EOL);
    case '\\': {
        if (ps->i + 1 >= ps->len)
            return fail(ps, "trailing '\\'");
        char e = ps->p[ps->i + 1];
        uint8_t set[32] = {0};
        if (class_escape(e, set)) {
            int ci = new_class(ps);
            if (ci < 0)
                return -1;
            memcpy(ps->classes[ci], set, 32);
            ps->i += 2;
            int n = mk(ps, N_CLASS);
            if (n >= 0)
                ps->nodes[n].c = (unsigned char)ci;
            return n;
        }
        int c = char_escape(e);
        if (c < 0)
            return fail(ps, "unsupported escape");
        ps->i += 2;
        int n = mk(ps, N_CHAR);
        if (n >= 0)
            ps->nodes[n].c = (unsigned char)c;
        return n;
    }
    case '*': case '+': case '?': case '{':
        return fail(ps, "nothing to repeat");
    case ')':
        return fail(ps, "unbalanced ')'");
    case ']': case '}':
        return fail(ps, "unescaped bracket");
    default: {
        ps->i++;
        int n = mk(ps, N_CHAR);
        if (n >= 0)
            ps->nodes[n].c = (unsigned char)ch;
        return n;
    }
    }
}

static bool parse_int(parser *ps, int *out)
{
    if (ps->i >= ps->len || !is_digit((unsigned char)ps->p[ps->i]))
        return false;
    int v = 0;
    while (ps->i < ps->len && is_digit((unsigned char)ps->p[ps->i])) {
        v = v * 10 + (ps->p[ps->i] - '0');
        if (v > 1000)
            v = 1000;
        ps->i++;
    }
    *out = v;
    return true;
}

static int parse_repeat(parser *ps, int depth)
{
    int atom = parse_atom(ps, depth);
    if (atom < 0)
        return -1;
    if (ps->i >= ps->len)
        return atom;
    char q = ps->p[ps->i];
    int min, max;
    if (q == '*') {
        min = 0, max = -1;
        ps->i++;
    } else if (q == '+') {
        min = 1, max = -1;
        ps->i++;
    } else if (q == '?') {
        min = 0, max = 1;
        ps->i++;
    } else if (q == '{') {
        ps->i++;
        if (!parse_int(ps, &min))
            return fail(ps, "'{' without a count (write \\{ for the character)");
        max = min;
        if (ps->i < ps->len && ps->p[ps->i] == ',') {
            ps->i++;
            if (!parse_int(ps, &max))
                max = -1;
        }
        if (ps->i >= ps->len || ps->p[ps->i] != '}')
            return fail(ps, "missing '}'");
        ps->i++;
        if (min > MAX_COUNT || max > MAX_COUNT)
            return fail(ps, "count above 32");
        if (max >= 0 && max < min)
            return fail(ps, "count range out of order");
    } else {
        return atom;
    }
    node_type at = ps->nodes[atom].t;
    if (at == N_BOL || at == N_EOL)
        return fail(ps, "nothing to repeat");
    if (ps->i < ps->len && strchr("*+?{", ps->p[ps->i]))
        return fail(ps, "lazy or repeated quantifier not supported");
    int n = mk(ps, N_REP);
    if (n < 0)
        return -1;
    ps->nodes[n].a = atom;
    ps->nodes[n].min = min;
    ps->nodes[n].max = max;
    return n;
}

static int parse_cat(parser *ps, int depth)
{
    int left = -1;
    while (ps->i < ps->len && ps->p[ps->i] != '|' && ps->p[ps->i] != ')') {
        int r = parse_repeat(ps, depth);
        if (r < 0)
            return -1;
        if (left < 0) {
            left = r;
        } else {
            int c = mk(ps, N_CAT);
            if (c < 0)
                return -1;
            ps->nodes[c].a = left;
            ps->nodes[c].b = r;
            left = c;
        }
    }
    return left >= 0 ? left : mk(ps, N_EMPTY);
}

static int parse_alt(parser *ps, int depth)
{
    int left = parse_cat(ps, depth);
    while (left >= 0 && ps->i < ps->len && ps->p[ps->i] == '|') {
        ps->i++;
        int right = parse_cat(ps, depth);
        if (right < 0)
            return -1;
        int a = mk(ps, N_ALT);
        if (a < 0)
            return -1;
        ps->nodes[a].a = left;
        ps->nodes[a].b = right;
        left = a;
    }
    return left;
}

/* ---- code generation ----------------------------------------------------------- */

typedef struct {
    const parser *ps;
    inst *prog;
    int n;
    bool overflow;
} gen;

static int emit(gen *g, op o, int c, int x, int y)
{
    if (g->n >= CW_BREGEX_MAX_PROG) {
        g->overflow = true;
        return -1;
    }
    g->prog[g->n] = (inst){(uint8_t)o, (uint8_t)c, (uint16_t)x, (uint16_t)y};
    return g->n++;
}

static void patch(gen *g, int at, int x, int y)
{
    if (at >= 0 && at < g->n) {
        g->prog[at].x = (uint16_t)x;
        g->prog[at].y = (uint16_t)y;
    }
}

static void gen_node(gen *g, int ni, int depth)
{
    if (g->overflow || depth > 2 * MAX_DEPTH + CW_BREGEX_MAX_PATTERN)
        return;
    const node *nd = &g->ps->nodes[ni];
    switch (nd->t) {
    case N_EMPTY: break;
    case N_CHAR: emit(g, I_CHAR, nd->c, 0, 0); break;
    case N_ANY: emit(g, I_ANY, 0, 0, 0); break;
    case N_CLASS: emit(g, I_CLASS, nd->c, 0, 0); break;
    case N_BOL: emit(g, I_BOL, 0, 0, 0); break;
    case N_EOL: emit(g, I_EOL, 0, 0, 0); break;
    case N_CAT:
        gen_node(g, nd->a, depth + 1);
        gen_node(g, nd->b, depth + 1);
        break;
    case N_ALT: {
        int s = emit(g, I_SPLIT, 0, 0, 0);
        gen_node(g, nd->a, depth + 1);
        int j = emit(g, I_JMP, 0, 0, 0);
        int second = g->n;
        gen_node(g, nd->b, depth + 1);
        patch(g, s, s + 1, second);
        patch(g, j, g->n, 0);
        break;
    }
    case N_REP:
        for (int k = 0; k < nd->min && !g->overflow; k++)
            gen_node(g, nd->a, depth + 1);
        if (nd->max < 0) {
            int s = emit(g, I_SPLIT, 0, 0, 0);
            gen_node(g, nd->a, depth + 1);
            emit(g, I_JMP, 0, s, 0);
            patch(g, s, s + 1, g->n);
        } else {
            /* each optional copy skips to the end when not taken */
            int splits[MAX_COUNT];
            int ns = 0;
            for (int k = nd->min; k < nd->max && !g->overflow; k++) {
                splits[ns++] = emit(g, I_SPLIT, 0, 0, 0);
                gen_node(g, nd->a, depth + 1);
            }
            for (int k = 0; k < ns; k++)
                patch(g, splits[k], splits[k] + 1, g->n);
        }
        break;
    }
}

cw_bregex *cw_bregex_compile(const char *pattern, char *why, size_t cap)
{
    char dummy[8];
    if (!why || cap == 0) {
        why = dummy;
        cap = sizeof dummy;
    }
    why[0] = '\0';
    size_t len = pattern ? strlen(pattern) : 0;
    if (!pattern || len > CW_BREGEX_MAX_PATTERN) {
        snprintf(why, cap, "pattern longer than %d bytes", CW_BREGEX_MAX_PATTERN);
        return NULL;
    }
    if (memchr(pattern, '\0', len) || strlen(pattern) != len) {
        snprintf(why, cap, "pattern contains NUL");
        return NULL;
    }
    cw_bregex *re = NULL;
    parser *ps = calloc(1, sizeof *ps);
    inst *prog = malloc(sizeof(inst) * CW_BREGEX_MAX_PROG);
    if (!ps || !prog) {
        snprintf(why, cap, "out of memory");
        goto done;
    }
    ps->p = pattern;
    ps->len = len;
    ps->why = why;
    ps->cap = cap;
    int root = parse_alt(ps, 0);
    if (root >= 0 && ps->i < ps->len)
        root = fail(ps, "unbalanced ')'");
    if (root < 0)
        goto done;
    gen g = {ps, prog, 0, false};
    gen_node(&g, root, 0);
    emit(&g, I_MATCH, 0, 0, 0);
    if (g.overflow) {
        snprintf(why, cap, "pattern expands to more than %d instructions", CW_BREGEX_MAX_PROG);
        goto done;
    }
    re = calloc(1, sizeof *re);
    if (!re) {
        snprintf(why, cap, "out of memory");
        goto done;
    }
    re->prog = realloc(prog, sizeof(inst) * (size_t)g.n);
    if (!re->prog)
        re->prog = prog;
    prog = NULL;
    re->n = g.n;
    if (ps->nclasses > 0) {
        re->classes = malloc((size_t)ps->nclasses * 32);
        if (!re->classes) {
            snprintf(why, cap, "out of memory");
            cw_bregex_free(re);
            re = NULL;
            goto done;
        }
        memcpy(re->classes, ps->classes, (size_t)ps->nclasses * 32);
    }
    re->nclasses = ps->nclasses;
done:
    free(prog);
    free(ps);
    return re;
}

void cw_bregex_free(cw_bregex *re)
{
    if (!re)
        return;
    free(re->prog);
    free(re->classes);
    free(re);
}

/* ---- simulation ---------------------------------------------------------------- */

typedef struct {
    uint16_t *dense;    /* pcs in the set */
    uint16_t *sparse;   /* pc -> index in dense */
    int n;
} pcset;

static bool pcset_has(const pcset *s, int pc)
{
    int i = s->sparse[pc];
    return i < s->n && s->dense[i] == pc;
}

/* Adds pc and everything reachable from it without consuming a byte.
 * stack has room for 2 * program size + 1 entries: a pc is expanded once
 * per set and pushes at most two successors. */
static bool add_thread(const cw_bregex *re, pcset *s, uint16_t *stack, int pc, size_t pos,
                       size_t n)
{
    int top = 0;
    stack[top++] = (uint16_t)pc;
    while (top > 0) {
        int p = stack[--top];
        if (pcset_has(s, p))
            continue;
        s->sparse[p] = (uint16_t)s->n;
        s->dense[s->n++] = (uint16_t)p;
        const inst *in = &re->prog[p];
        switch (in->op) {
        case I_JMP: stack[top++] = in->x; break;
        case I_SPLIT:
            stack[top++] = in->y;   /* order is irrelevant: no captures */
            stack[top++] = in->x;
            break;
        case I_BOL:
            if (pos == 0)
                stack[top++] = (uint16_t)(p + 1);
            break;
        case I_EOL:
            if (pos == n)
                stack[top++] = (uint16_t)(p + 1);
            break;
        case I_MATCH: return true;
        default: break;
        }
    }
    return false;
}

bool cw_bregex_match(const cw_bregex *re, const char *s, size_t n)
{
    if (!re || (!s && n) || n > CW_BREGEX_MAX_SUBJECT)
        return false;
    size_t np = (size_t)re->n;
    /* two sets (dense + sparse) and a stack: every marked pc pushes at most
     * two successors, so 2 * np + 1 entries suffice */
    uint16_t small[6 * 256 + 2];   /* most programs are short: no allocation */
    uint16_t *mem = np <= 256 ? small : calloc(np * 6 + 2, sizeof(uint16_t));
    if (!mem)
        return false;
    if (mem == small)   /* valgrind-clean: sparse slots are read before set */
        memset(small, 0, (np * 6 + 2) * sizeof(uint16_t));
    pcset cur = {mem, mem + np, 0}, nxt = {mem + 2 * np, mem + 3 * np, 0};
    uint16_t *stack = mem + 4 * np;
    bool matched = false;
    for (size_t pos = 0;; pos++) {
        if (add_thread(re, &cur, stack, 0, pos, n)) {
            matched = true;
            break;
        }
        if (pos == n)
            break;
        unsigned char c = (unsigned char)s[pos];
        nxt.n = 0;
        for (int k = 0; k < cur.n && !matched; k++) {
            int p = cur.dense[k];
            const inst *in = &re->prog[p];
            bool ok = false;
            switch (in->op) {
            case I_CHAR: ok = in->c == c; break;
            case I_ANY: ok = c != '\n'; break;
            case I_CLASS: ok = (re->classes[in->c][c >> 3] >> (c & 7)) & 1; break;
            default: break;
            }
            if (ok && add_thread(re, &nxt, stack, p + 1, pos + 1, n))
                matched = true;
        }
        if (matched)
            break;
        pcset t = cur;
        cur = nxt;
        nxt = t;
    }
    if (mem != small)
        free(mem);
    return matched;
}
