/*
 * log.h — structured JSON logs on stderr, one object per line. Thread-safe
 * (each line is written with one fwrite on an unbuffered stream).
 */
#ifndef CW_LOG_H
#define CW_LOG_H

#include <jansson.h>

typedef enum { CW_LOG_DEBUG = 0, CW_LOG_INFO, CW_LOG_WARN, CW_LOG_ERROR, CW_LOG_OFF } cw_log_level;

void cw_log_set_level(cw_log_level level);
cw_log_level cw_log_get_level(void);
/* Parses "debug|info|warn|error|off"; returns -1 when unknown. */
int cw_log_parse_level(const char *s);
/* Logs msg with the fields of `fields` (stolen; may be NULL). */
void cw_log(cw_log_level level, const char *msg, json_t *fields);

#endif
