/* Whole-file reads, atomic writes (temporary name + rename) and path helpers. */
#include "base.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int file_read_all(const char *path, char **out, size_t *len, struct lethe_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return lethe_err(err, errno == ENOENT ? LETHE_EINPUT : LETHE_EIO,
                         "cannot open '%s': %s", path, lethe_strerror(errno));
    struct strbuf sb = STRBUF_INIT;
    char buf[65536];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        strbuf_add(&sb, buf, n);
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        strbuf_release(&sb);
        return lethe_err(err, LETHE_EIO, "cannot read '%s'", path);
    }
    if (len)
        *len = sb.len;
    *out = strbuf_detach(&sb);
    return 0;
}

int file_write_atomic(const char *path, const void *data, size_t n, struct lethe_error *err)
{
    struct strbuf tmp = STRBUF_INIT;
    strbuf_addf(&tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp.buf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        int rc = lethe_err(err, LETHE_EIO, "cannot write '%s': %s", path, lethe_strerror(errno));
        strbuf_release(&tmp);
        return rc;
    }
    const char *p = data;
    size_t left = n;
    while (left > 0) {
        ssize_t w = write(fd, p, left);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        p += w;
        left -= (size_t)w;
    }
    int e = left ? errno : 0;
    if (!e && fsync(fd) < 0)
        e = errno;
    if (close(fd) < 0 && !e)
        e = errno;
    if (!e && rename(tmp.buf, path) < 0)
        e = errno;
    if (e) {
        unlink(tmp.buf);
        strbuf_release(&tmp);
        return lethe_err(err, LETHE_EIO, "cannot write '%s': %s", path, lethe_strerror(e));
    }
    strbuf_release(&tmp);
    return 0;
}

int file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int dir_make(const char *path, struct lethe_error *err)
{
    char *p = xstrdup(path);
    for (char *s = p + 1; ; s++) {
        if (*s == '/' || *s == '\0') {
            char c = *s;
            *s = '\0';
            if (mkdir(p, 0755) < 0 && errno != EEXIST) {
                int rc = lethe_err(err, LETHE_EIO, "cannot create folder '%s': %s", p, lethe_strerror(errno));
                free(p);
                return rc;
            }
            *s = c;
            if (!c)
                break;
        }
    }
    free(p);
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return lethe_err(err, LETHE_EIO, "'%s' is not a folder", path);
    return 0;
}

char *path_dirname(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return xstrdup(".");
    if (slash == path)
        return xstrdup("/");
    return xstrndup(path, (size_t)(slash - path));
}

char *path_join(const char *dir, const char *name)
{
    if (name[0] == '/' || !dir || !*dir || strcmp(dir, ".") == 0)
        return xstrdup(name);
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "%s/%s", dir, name);
    return strbuf_detach(&sb);
}

char *lethe_cache_dir(void)
{
    const char *env = getenv("LETHE_CACHE");
    if (env && *env)
        return xstrdup(env);
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *dir = path_dirname(exe);
        for (int up = 0; up <= 3; up++) {
            char *cand = path_join(dir, "data/cache");
            struct stat st;
            if (stat(cand, &st) == 0 && S_ISDIR(st.st_mode)) {
                free(dir);
                return cand;
            }
            free(cand);
            char *parent = path_dirname(dir);
            free(dir);
            dir = parent;
        }
        free(dir);
    }
    return xstrdup("data/cache");
}
