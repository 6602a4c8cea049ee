/* crypto.h — hashing, secure randomness, encodings and constant-time compare
 * (OpenSSL libcrypto underneath). */
#ifndef CW_CRYPTO_H
#define CW_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

/* Lower-case hex SHA-256 of data; out has 65 bytes. */
void cw_sha256_hex(const void *data, size_t len, char out[65]);
/* Lower-case hex HMAC-SHA256 of data under key (RFC 2104, as GitHub signs
 * webhook deliveries); out has 65 bytes. CW_ERR_INTERNAL if OpenSSL fails. */
cw_err cw_hmac_sha256_hex(const void *key, size_t key_len, const void *data, size_t len,
                          char out[65]);
/* Fills buf with cryptographically secure random bytes. */
cw_err cw_random_bytes(void *buf, size_t len);
/* Compares two equal-length strings without data-dependent timing. No caller
 * yet: kept for comparing shared secrets (webhook and token checks) so that
 * no one reaches for memcmp there. */
bool cw_consttime_equal(const char *a, const char *b, size_t len);
/* base64url without padding. Returns malloc'd text or NULL on OOM. */
char *cw_base64url_encode(const void *data, size_t len);
/* Decodes base64url (padding optional); returns malloc'd bytes NUL-terminated
 * with *len set, or NULL when the text is not valid base64url. */
unsigned char *cw_base64url_decode(const char *text, size_t *len);

/* A new API token's secret: "cw_" and 32 random bytes in base64url (46
 * characters), and the hex SHA-256 the store keeps of it. The one place
 * secrets are made, for `conway token create` and POST /api/v1/tokens.
 * CW_ERR_INTERNAL without secure randomness, CW_ERR_NOMEM. */
#define CW_TOKEN_SECRET_TEXT 80
cw_err cw_token_secret_new(char secret[CW_TOKEN_SECRET_TEXT], char hash[65]);

#endif
