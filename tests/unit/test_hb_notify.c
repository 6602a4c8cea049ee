/* test_hb_notify.c — heartbeat notifications (src/insights/hb_notify.c):
 * which status changes are notified, the payload with its Slack text, the
 * X-Conway-Signature value (checked against an HMAC computed with Python's
 * hmac module), verification with its replay window, the retry schedule
 * dependsOn suppression, and the signed POST through the outgoing-address
 * policy (ingest/fetch.h) to a receiver on a local socket: refused without
 * a prefix, refused for loopback through a generic prefix, delivered when
 * the prefix names 127.0.0.1, a 500 an error carrying its status; and which
 * System the notifier reads for a target's accountable
 * (cw_hb_accountable_system). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ingest/fetch.h"

#include "insights/hb_notify.h"
#include "insights/heartbeat_findings.h"
#include "util/timeutil.h"

static void test_types(void **state)
{
    (void)state;
    assert_string_equal(cw_notify_type(CW_HB_UP, CW_HB_DOWN), "heartbeat.down");
    assert_string_equal(cw_notify_type(CW_HB_NEW, CW_HB_DOWN), "heartbeat.down");
    assert_string_equal(cw_notify_type(CW_HB_DOWN, CW_HB_UP), "heartbeat.up");
    assert_null(cw_notify_type(CW_HB_NEW, CW_HB_UP));      /* first ping: no news */
    assert_null(cw_notify_type(CW_HB_UP, CW_HB_PAUSED));
    assert_null(cw_notify_type(CW_HB_PAUSED, CW_HB_NEW));
    assert_null(cw_notify_type(CW_HB_DOWN, CW_HB_DOWN));
}

static void test_payload(void **state)
{
    (void)state;
    const char *acc[] = {"group:default/dba", "group:default/platform"};
    int64_t at;
    assert_true(cw_time_parse_rfc3339("2026-12-07T03:10:00Z", &at));
    cw_notify_event ev = {.ref = "heartbeat:default/orders-db-backup",
                          .owner = "group:default/payments",
                          .target = "resource:default/orders-db",
                          .purpose = CW_HB_PURPOSE_BACKUP,
                          .from = CW_HB_UP, .to = CW_HB_DOWN, .reason = "timeout",
                          .at_ms = at, .accountable = acc, .naccountable = 2};
    json_t *p = cw_notify_payload(&ev);
    assert_non_null(p);
    assert_string_equal(json_string_value(json_object_get(p, "type")), "heartbeat.down");
    assert_string_equal(json_string_value(json_object_get(p, "at")), "2026-12-07T03:10:00.000Z");
    json_t *hb = json_object_get(p, "heartbeat");
    assert_string_equal(json_string_value(json_object_get(hb, "target")),
                        "resource:default/orders-db");
    assert_string_equal(json_string_value(json_object_get(hb, "purpose")), "backup");
    assert_string_equal(json_string_value(json_object_get(p, "status")), "down");
    assert_string_equal(json_string_value(json_object_get(p, "previous")), "up");
    assert_int_equal(json_array_size(json_object_get(p, "accountable")), 2);
    assert_string_equal(json_string_value(json_object_get(p, "text")),
                        ":red_circle: Heartbeat heartbeat:default/orders-db-backup (backup) is "
                        "DOWN (no ping in time); it protects resource:default/orders-db. "
                        "Owner: group:default/payments; accountable for data durability: "
                        "group:default/dba, group:default/platform. Since "
                        "2026-12-07T03:10:00.000Z.");
    json_decref(p);

    ev = (cw_notify_event){.ref = "heartbeat:default/nightly", .owner = "group:default/ops",
                           .purpose = CW_HB_PURPOSE_JOB, .from = CW_HB_DOWN, .to = CW_HB_UP,
                           .reason = "ping", .at_ms = at};
    p = cw_notify_payload(&ev);
    assert_string_equal(json_string_value(json_object_get(p, "type")), "heartbeat.up");
    assert_string_equal(json_string_value(json_object_get(p, "text")),
                        ":large_green_circle: Heartbeat heartbeat:default/nightly (job) is up "
                        "again. Owner: group:default/ops. Since 2026-12-07T03:10:00.000Z.");
    assert_int_equal(json_array_size(json_object_get(p, "accountable")), 0);
    json_decref(p);
}

static void test_signature(void **state)
{
    (void)state;
    const char *body = "{\"a\":1}", *secret = "whsec_test";
    char sig[CW_NOTIFY_SIG_MAX];
    cw_diag d = {{0}};
    assert_int_equal(cw_notify_sign(secret, strlen(secret), 1765000000, body, strlen(body), sig,
                                    &d),
                     CW_OK);
    /* python3: hmac.new(b'whsec_test', b'1765000000.{"a":1}', sha256).hexdigest() */
    assert_string_equal(sig, "t=1765000000,v1=bff821b803d16fd6792090a808f6943d2c920f931b611f5bc0"
                             "a3299fb108c453");
    assert_true(cw_notify_verify(secret, strlen(secret), sig, body, strlen(body), 1765000000, 300));
    assert_true(cw_notify_verify(secret, strlen(secret), sig, body, strlen(body), 1765000299, 300));
    /* replayed later, or another body, secret or timestamp: refused */
    assert_false(cw_notify_verify(secret, strlen(secret), sig, body, strlen(body), 1765000301, 300));
    assert_false(cw_notify_verify(secret, strlen(secret), sig, "{\"a\":2}", 7, 1765000000, 300));
    assert_false(cw_notify_verify("other", 5, sig, body, strlen(body), 1765000000, 300));
    char forged[CW_NOTIFY_SIG_MAX];
    memcpy(forged, sig, sizeof forged);
    forged[9] = '1'; /* t=1765000010 with the old MAC */
    assert_false(cw_notify_verify(secret, strlen(secret), forged, body, strlen(body), 1765000000,
                                  300));
    assert_false(cw_notify_verify(secret, strlen(secret), "", body, strlen(body), 0, 300));
    assert_false(cw_notify_verify(secret, strlen(secret), "t=,v1=", body, strlen(body), 0, 300));
    assert_false(cw_notify_verify(secret, strlen(secret), "t=1765000000,v1=abc", body,
                                  strlen(body), 1765000000, 300));
    assert_false(cw_notify_verify(secret, strlen(secret), NULL, body, strlen(body), 0, 300));
}

static void test_backoff_and_suppression(void **state)
{
    (void)state;
    assert_int_equal(cw_notify_backoff_ms(1), 10000);
    assert_int_equal(cw_notify_backoff_ms(2), 30000);
    assert_int_equal(cw_notify_backoff_ms(3), 90000);
    assert_int_equal(cw_notify_backoff_ms(7), 3600000); /* capped at an hour */
    assert_int_equal(cw_notify_backoff_ms(CW_NOTIFY_MAX_ATTEMPTS), -1);
    int64_t total = 0;
    for (int i = 1; i < CW_NOTIFY_MAX_ATTEMPTS; i++)
        total += cw_notify_backoff_ms(i);
    assert_true(total < 3 * 3600000); /* dead-lettered within three hours */
    assert_true(cw_notify_suppressed(true, CW_HB_DOWN));
    assert_false(cw_notify_suppressed(true, CW_HB_UP));
    assert_false(cw_notify_suppressed(false, CW_HB_DOWN));
}

/* ---- a one-request receiver ------------------------------------------------------------ */

typedef struct {
    int lfd;
    int status;          /* to answer */
    char req[8192];      /* what arrived */
    size_t len;
} receiver;

static void *serve_one(void *arg)
{
    receiver *r = arg;
    int fd = accept(r->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    /* read until the headers and a body of Content-Length have arrived */
    for (;;) {
        ssize_t n = read(fd, r->req + r->len, sizeof r->req - 1 - r->len);
        if (n <= 0)
            break;
        r->len += (size_t)n;
        r->req[r->len] = '\0';
        char *end = strstr(r->req, "\r\n\r\n");
        char *cl = strstr(r->req, "Content-Length: ");
        if (end && cl && r->len >= (size_t)(end + 4 - r->req) + strtoul(cl + 16, NULL, 10))
            break;
    }
    char ans[128];
    int al = snprintf(ans, sizeof ans, "HTTP/1.1 %d X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
                      r->status);
    if (write(fd, ans, (size_t)al) < 0)
        r->status = -1;
    close(fd);
    return NULL;
}

static int listen_local(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 4), 0);
    socklen_t al = sizeof a;
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void test_signed_post(void **state)
{
    (void)state;
    int port;
    receiver r = {.status = 500};
    r.lfd = listen_local(&port);
    char url[64], exact[64];
    snprintf(url, sizeof url, "http://127.0.0.1:%d/hook", port);
    snprintf(exact, sizeof exact, "http://127.0.0.1:%d/", port);
    const char *body = "{\"text\":\"down\"}", *secret = "s3cret";
    char sig[CW_NOTIFY_SIG_MAX], hdr[CW_NOTIFY_SIG_MAX + 32];
    cw_diag d = {{0}};
    assert_int_equal(cw_notify_sign(secret, strlen(secret), 1765000000, body, strlen(body), sig,
                                    &d),
                     CW_OK);
    snprintf(hdr, sizeof hdr, CW_NOTIFY_SIG_HEADER ": %s", sig);
    const char *hdrs[] = {hdr};
    int status = -1;

    /* no prefix admits it */
    cw_fetch_policy none = {0};
    assert_int_equal(cw_fetch_post(&none, url, hdrs, 1, body, strlen(body), &status, &d),
                     CW_ERR_FORBIDDEN);
    assert_string_equal(d.msg, CW_FETCH_NOT_ALLOWED);
    /* a generic prefix does not reach loopback (checked on the connected address) */
    const char *generic[] = {"http://"};
    cw_fetch_policy gen = {.allow = generic, .nallow = 1, .timeout_ms = 5000};
    assert_int_equal(cw_fetch_post(&gen, url, hdrs, 1, body, strlen(body), &status, &d),
                     CW_ERR_FORBIDDEN);
    assert_non_null(strstr(d.msg, "127.0.0.1 is loopback"));

    /* listed by address: delivered; the receiver's 500 is an error with its status */
    const char *listed[] = {exact};
    cw_fetch_policy pol = {.allow = listed, .nallow = 1, .timeout_ms = 5000};
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, serve_one, &r), 0);
    assert_int_equal(cw_fetch_post(&pol, url, hdrs, 1, body, strlen(body), &status, &d),
                     CW_ERR_IO);
    pthread_join(th, NULL);
    assert_int_equal(status, 500);
    assert_string_equal(d.msg, "HTTP 500");
    assert_non_null(strstr(r.req, "POST /hook HTTP/1.1\r\n"));
    assert_non_null(strstr(r.req, "Content-Type: application/json\r\n"));
    char *h = strstr(r.req, CW_NOTIFY_SIG_HEADER ": ");
    assert_non_null(h);
    char got[CW_NOTIFY_SIG_MAX];
    h += strlen(CW_NOTIFY_SIG_HEADER ": ");
    size_t hl = strcspn(h, "\r");
    assert_true(hl < sizeof got);
    memcpy(got, h, hl);
    got[hl] = '\0';
    const char *rb = strstr(r.req, "\r\n\r\n") + 4;
    assert_string_equal(rb, body);
    assert_true(cw_notify_verify(secret, strlen(secret), got, rb, strlen(rb), 1765000010, 300));

    /* and a 2xx is a delivery */
    r = (receiver){.lfd = r.lfd, .status = 204};
    assert_int_equal(pthread_create(&th, NULL, serve_one, &r), 0);
    assert_int_equal(cw_fetch_post(&pol, url, hdrs, 1, body, strlen(body), &status, &d), CW_OK);
    pthread_join(th, NULL);
    assert_int_equal(status, 204);
    close(r.lfd);
}

/* The System a target's accountable falls back to: a bare name in the
 * target's own namespace, a full ref as written, none without one. */
static void test_accountable_system(void **state)
{
    (void)state;
    char key[CW_REF_MAX];
    json_t *bare = json_loads("{\"kind\":\"Resource\",\"metadata\":{\"name\":\"ledger-db\","
                              "\"namespace\":\"finance\"},\"spec\":{\"system\":\"Billing\"}}",
                              0, NULL);
    json_t *full = json_loads("{\"kind\":\"Resource\",\"metadata\":{\"name\":\"x\","
                              "\"namespace\":\"finance\"},\"spec\":{\"system\":"
                              "\"system:default/payments\"}}",
                              0, NULL);
    json_t *none = json_loads("{\"kind\":\"Resource\",\"metadata\":{\"name\":\"y\"},"
                              "\"spec\":{\"type\":\"database\"}}",
                              0, NULL);
    assert_non_null(bare);
    assert_non_null(full);
    assert_non_null(none);
    assert_true(cw_hb_accountable_system(bare, key));
    assert_string_equal(key, "system:finance/billing");
    assert_true(cw_hb_accountable_system(full, key));
    assert_string_equal(key, "system:default/payments");
    assert_false(cw_hb_accountable_system(none, key));
    assert_false(cw_hb_accountable_system(NULL, key));
    json_decref(bare);
    json_decref(full);
    json_decref(none);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_payload),
        cmocka_unit_test(test_signature),
        cmocka_unit_test(test_backoff_and_suppression),
        cmocka_unit_test(test_signed_post),
        cmocka_unit_test(test_accountable_system),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
