/* Private to results/: the store's insides, shared by store.c and the readers beside it. */
#ifndef LETHE_RESULTS_STORE_IMPL_H
#define LETHE_RESULTS_STORE_IMPL_H

#include <sqlite3.h>

#include "results/results.h"

struct store {
    sqlite3 *db;
    char *path;
    int readonly;
    long fail_at;       /* store_inject_failure: the write step that fails, 0 = none */
    long writes;        /* write steps since the injection was armed */
};

/* Fills err from the connection's last error: "<what> in 'path': <sqlite message>". */
int store_sqlite_err(struct store *st, int code, const char *what, struct lethe_error *err);

#endif
