/* log.c — JSON line logger (see log.h). */
#include "util/log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/timeutil.h"

static atomic_int log_level = CW_LOG_INFO;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

void cw_log_set_level(cw_log_level level) { atomic_store(&log_level, (int)level); }

cw_log_level cw_log_get_level(void) { return (cw_log_level)atomic_load(&log_level); }

int cw_log_parse_level(const char *s)
{
    for (int i = 0; i <= CW_LOG_OFF; i++)
        if (!strcmp(s, level_names[i]))
            return i;
    return -1;
}

void cw_log(cw_log_level level, const char *msg, json_t *fields)
{
    if ((int)level < atomic_load(&log_level)) {
        json_decref(fields);
        return;
    }
    json_t *line = json_object();
    char ts[40];
    cw_time_format_ms(cw_now_ms(), ts);
    json_object_set_new(line, "time", json_string(ts));
    json_object_set_new(line, "level", json_string(level_names[level]));
    json_object_set_new(line, "msg", json_string(msg));
    if (fields) {
        json_object_update(line, fields);
        json_decref(fields);
    }
    /* 9 significant digits: 0.038377, not 0.038377000000000001 */
    char *text = json_dumps(line, JSON_COMPACT | JSON_REAL_PRECISION(9));
    json_decref(line);
    if (!text)
        return;
    size_t n = strlen(text);
    text[n] = '\n'; /* the NUL becomes the newline: one write per line */
    fwrite(text, 1, n + 1, stderr);
    free(text);
}
