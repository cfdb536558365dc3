/* Error values returned through the library, and programmer-error aborts. */
#include "base.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int lethe_err(struct lethe_error *err, int code, const char *fmt, ...)
{
    LETHE_ASSERT(code > 0 && code < LETHE_ERRCODE_COUNT);
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return -code;
}

void lethe_err_prefix(struct lethe_error *err, const char *fmt, ...)
{
    if (!err)
        return;
    char prefix[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    size_t np = strlen(prefix), nm = strlen(err->msg);
    if (np + 2 >= sizeof(err->msg))
        np = sizeof(err->msg) - 3;
    if (np + 2 + nm >= sizeof(err->msg))
        nm = sizeof(err->msg) - 3 - np;
    memmove(err->msg + np + 2, err->msg, nm);
    memcpy(err->msg, prefix, np);
    err->msg[np] = ':';
    err->msg[np + 1] = ' ';
    err->msg[np + 2 + nm] = '\0';
}

const char *lethe_strerror(int errnum)
{
    static const struct { int e; const char *msg; } known[] = {
        {ENOENT, "no such file"}, {EACCES, "permission denied"}, {EPERM, "not permitted"},
        {EISDIR, "is a folder"}, {ENOTDIR, "a part of the path is not a folder"},
        {ENOSPC, "no space left on the device"}, {EROFS, "read-only file system"},
        {EEXIST, "already exists"}, {EFBIG, "file too large"}, {EIO, "input/output error"},
        {ENOMEM, "out of memory"}, {ENAMETOOLONG, "name too long"}, {EXDEV, "crosses devices"},
    };
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (known[i].e == errnum)
            return known[i].msg;
    return strerror(errnum);
}

int lethe_exit_code(const struct lethe_error *err)
{
    if (!err || err->code == LETHE_OK)
        return 0;
    switch (err->code) {
    case LETHE_EINPUT:
    case LETHE_EUSAGE:
    case LETHE_ENOTYET:
        return 2;
    default:
        return 1;
    }
}

void lethe_bug_impl(const char *file, int line, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "lethe: BUG: %s:%d: ", file, line);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    abort();
}
