/* crypto.c — SHA-256, random bytes, base64url, constant-time compare. */
#include "util/crypto.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cw_sha256_hex(const void *data, size_t len, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned int mdlen = 0;
    EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

cw_err cw_hmac_sha256_hex(const void *key, size_t key_len, const void *data, size_t len,
                          char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    out[0] = '\0';
    if (key_len > INT32_MAX ||
        !HMAC(EVP_sha256(), key, (int)key_len, data, len, md, &mdlen) || mdlen != 32)
        return CW_ERR_INTERNAL;
    for (unsigned i = 0; i < 32; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
    return CW_OK;
}

cw_err cw_random_bytes(void *buf, size_t len)
{
    return RAND_bytes(buf, (int)len) == 1 ? CW_OK : CW_ERR_INTERNAL;
}

bool cw_consttime_equal(const char *a, const char *b, size_t len)
{
    return CRYPTO_memcmp(a, b, len) == 0;
}

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *cw_base64url_encode(const void *data, size_t len)
{
    const unsigned char *p = data;
    char *out = malloc(len / 3 * 4 + 5);
    if (!out)
        return NULL;
    size_t o = 0, i = 0;
    for (; i + 2 < len; i += 3) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
        out[o++] = b64url[v >> 18];
        out[o++] = b64url[(v >> 12) & 63];
        out[o++] = b64url[(v >> 6) & 63];
        out[o++] = b64url[v & 63];
    }
    if (len - i == 1) {
        unsigned v = (unsigned)p[i] << 16;
        out[o++] = b64url[v >> 18];
        out[o++] = b64url[(v >> 12) & 63];
    } else if (len - i == 2) {
        unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
        out[o++] = b64url[v >> 18];
        out[o++] = b64url[(v >> 12) & 63];
        out[o++] = b64url[(v >> 6) & 63];
    }
    out[o] = '\0';
    return out;
}

static int b64_value(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

unsigned char *cw_base64url_decode(const char *text, size_t *len)
{
    size_t n = strlen(text);
    while (n > 0 && text[n - 1] == '=')
        n--;
    if (n % 4 == 1)
        return NULL;
    unsigned char *out = malloc(n / 4 * 3 + 4);
    if (!out)
        return NULL;
    size_t o = 0;
    unsigned acc = 0;
    int bits = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value(text[i]);
        if (v < 0) {
            free(out);
            return NULL;
        }
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out[o++] = (unsigned char)(acc >> bits);
            acc &= (1u << bits) - 1;
        }
    }
    out[o] = '\0';
    *len = o;
    return out;
}

cw_err cw_token_secret_new(char secret[CW_TOKEN_SECRET_TEXT], char hash[65])
{
    unsigned char raw[32];
    secret[0] = hash[0] = '\0';
    if (cw_random_bytes(raw, sizeof raw))
        return CW_ERR_INTERNAL;
    char *enc = cw_base64url_encode(raw, sizeof raw);
    memset(raw, 0, sizeof raw);
    if (!enc)
        return CW_ERR_NOMEM;
    snprintf(secret, CW_TOKEN_SECRET_TEXT, "cw_%s", enc);
    memset(enc, 0, strlen(enc));
    free(enc);
    cw_sha256_hex(secret, strlen(secret), hash);
    return CW_OK;
}
