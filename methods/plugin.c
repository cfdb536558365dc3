/* Out-of-tree methods: loads a shared object exporting METHOD_PLUGIN_SYMBOL and checks the
 * descriptor it returns (method.h, "Out-of-tree methods"). */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/base.h"
#include "methods/method.h"

/* 1 if path starts with the ELF magic, 0 if it does not, -1 (err set) if it cannot be read. */
static int is_elf(const char *path, struct lethe_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return lethe_err(err, LETHE_EINPUT, "plug-in '%s': %s", path, lethe_strerror(errno));
    unsigned char magic[4] = {0};
    size_t got = fread(magic, 1, sizeof(magic), f);
    fclose(f);
    return got == 4 && memcmp(magic, "\177ELF", 4) == 0;
}

/* The first missing or malformed field of d, or NULL when it is complete. */
static const char *incomplete(const struct method *d)
{
    if (!d->name || !d->name[0])
        return "no name";
    for (const char *s = d->name; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '_'))
            return "a name that is not snake_case";
    if (!d->summary || !d->summary[0])
        return "no summary";
    if (!d->kinds)
        return "no suite kind";
    if (!d->unlearn_lm)
        return "no unlearn_lm";
    for (const struct param_spec *p = d->params; p && p->name; p++)
        if (!p->help)
            return "a parameter without help";
    return NULL;
}

const struct method *method_plugin_load(const char *path, struct lethe_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        lethe_err(err, LETHE_EINPUT, "plug-in '%s': %s", path,
                  errno == ENOENT ? "no such file" : lethe_strerror(errno));
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        lethe_err(err, LETHE_EINPUT, "plug-in '%s': not a shared object (not a regular file)",
                  path);
        return NULL;
    }
    int elf = is_elf(path, err);
    if (elf < 0)
        return NULL;
    if (!elf) {
        lethe_err(err, LETHE_EINPUT, "plug-in '%s': not a shared object", path);
        return NULL;
    }
    /* a name without a slash would be searched for in the library path */
    struct strbuf full = STRBUF_INIT;
    if (!strchr(path, '/'))
        strbuf_adds(&full, "./");
    strbuf_adds(&full, path);
    dlerror();
    void *h = dlopen(full.buf, RTLD_NOW | RTLD_LOCAL);
    strbuf_release(&full);
    if (!h) {
        const char *why = dlerror();
        lethe_err(err, LETHE_EINPUT, "plug-in '%s': cannot be loaded: %s", path,
                  why ? why : "unknown dlopen error");
        return NULL;
    }
    dlerror();
    void *sym = dlsym(h, METHOD_PLUGIN_SYMBOL);
    if (!sym) {
        dlclose(h);
        lethe_err(err, LETHE_EINPUT, "plug-in '%s': not a Lethe plug-in (no symbol '%s')", path,
                  METHOD_PLUGIN_SYMBOL);
        return NULL;
    }
    method_plugin_fn fn;
    memcpy(&fn, &sym, sizeof(fn));     /* ISO C has no object-to-function pointer cast */
    const struct method *d = fn(METHOD_ABI);
    if (!d) {
        dlclose(h);
        lethe_err(err, LETHE_EINPUT, "plug-in '%s': built for another method ABI, this lethe "
                  "reads ABI %d", path, METHOD_ABI);
        return NULL;
    }
    if (d->abi != METHOD_ABI) {
        unsigned abi = d->abi;
        dlclose(h);
        lethe_err(err, LETHE_EINPUT, "plug-in '%s': built for ABI %u, this lethe reads ABI %d",
                  path, abi, METHOD_ABI);
        return NULL;
    }
    const char *why = incomplete(d);
    if (why) {
        dlclose(h);
        lethe_err(err, LETHE_EINPUT, "plug-in '%s': descriptor incomplete: %s", path, why);
        return NULL;
    }
    if (method_lookup(d->name) == d) {
        dlclose(h);     /* loaded before: the same object, already registered */
        return d;
    }
    if (method_lookup(d->name)) {
        char name[128];
        snprintf(name, sizeof(name), "%s", d->name);
        dlclose(h);
        lethe_err(err, LETHE_EINPUT, "plug-in '%s': method '%s' clashes with a known method",
                  path, name);
        return NULL;
    }
    if (method_register(d) < 0) {
        lethe_err(err, LETHE_EINPUT, "plug-in '%s': too many plug-ins loaded", path);
        return NULL;   /* the object stays loaded: nothing else may hold it, but it is harmless */
    }
    return d;   /* the object stays loaded for the life of the process */
}
