/*
 * judge.h — the pure parts of judging a request by its head, before any of
 * its body is read: whether its Host header names this server (the guard
 * against DNS rebinding of a server bound to loopback), and how its body is
 * framed (Content-Length, Transfer-Encoding). No I/O: the server (server.c)
 * feeds them header values; unit-tested and fuzzed directly.
 */
#ifndef CW_HTTP_JUDGE_H
#define CW_HTTP_JUDGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Splits a Host header value ("name", "name:port", "[v6]", "[v6]:port")
 * into its name (lower-cased, one trailing dot dropped, brackets kept for
 * IPv6 literals) in name[0..cap). False when it is not of that form or the
 * name does not fit. */
bool cw_host_name(const char *host, char *name, size_t cap);

/* True when the Host value names the loopback interface whatever DNS says:
 * "localhost" and names under ".localhost" (RFC 6761: clients resolve them
 * to loopback themselves), IPv4 literals in 127.0.0.0/8, "[::1]" — with or
 * without a port. */
bool cw_host_is_loopback(const char *host);

/* The Host check of a server bound to loopback: a loopback name, or one
 * whose name equals an entry of allowed[] (case-insensitive, port ignored);
 * an entry "*" accepts any. A request without Host (HTTP/1.0) passes: a
 * browser, the only client DNS rebinding can steer, always sends one. */
bool cw_host_allowed(const char *host, const char *const *allowed, size_t nallowed);

/* How a request's body is framed, from every Content-Length and
 * Transfer-Encoding header it carries. */
typedef struct {
    bool has_length;     /* Content-Length given */
    uint64_t length;
    bool chunked;        /* Transfer-Encoding: chunked */
} cw_framing;

/* Judges the framing: ncl Content-Length values and nte Transfer-Encoding
 * values as received. Returns 0 and fills *out, or the status to answer
 * (400: both headers, values that differ or are not numbers — the
 * ambiguities request smuggling lives on — or a transfer coding other than
 * chunked, which RFC 9112 would answer with 501, but it is the client's
 * doing) with the reason in why[0..cap). */
int cw_framing_judge(const char *const *cl, size_t ncl, const char *const *te, size_t nte,
                     cw_framing *out, char *why, size_t cap);

#endif
