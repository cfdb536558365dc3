/* One injectable log sink for the whole program. */
#include "base.h"

#include <stdio.h>

static lethe_log_fn log_fn;
static void *log_ctx;

void lethe_log_set(lethe_log_fn fn, void *ctx)
{
    log_fn = fn;
    log_ctx = ctx;
}

void lethe_log(int level, const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (log_fn)
        log_fn(level, msg, log_ctx);
    else if (level >= LETHE_LOG_WARN)
        fprintf(stderr, "lethe: warning: %s\n", msg);
}
