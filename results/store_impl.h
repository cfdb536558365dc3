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
    int injected;       /* the last failed write step was an injected failure */
    char *git_rev;      /* cached for store_begin_run; NULL = unknown */
    int git_rev_done;   /* git_rev was looked up */
};

/* Fills err from the connection's last error: "<what> in 'path': <sqlite message>". A damaged
 * file (SQLITE_CORRUPT, SQLITE_NOTADB) is reported as LETHE_EINPUT whatever code says; an
 * injected failure (the last write step) says so, once. Returns -code like lethe_err. */
int store_sqlite_err(struct store *st, int code, const char *what, struct lethe_error *err);

/* Write steps: every statement that changes the database goes through these, so that
 * store_inject_failure can make the n-th one fail with SQLITE_IOERR (the statement is then
 * reset, not run). store_step returns the sqlite3_step code; store_exec runs SQL text (no
 * rows) and returns an SQLite code. Reads use sqlite3_step directly. */
int store_step(struct store *st, sqlite3_stmt *stmt);
int store_exec(struct store *st, const char *sql);

/* Prepares sql on st's connection; on failure NULL and err (LETHE_EFAIL). */
sqlite3_stmt *store_prepare(struct store *st, const char *sql, struct lethe_error *err);

/* Checks an existing file before SQLite touches it: 0 when it looks like a complete SQLite
 * database, 1 when it is missing or empty (0 bytes: treated as new), negative LETHE_EINPUT
 * when it is not SQLite, truncated, or not a regular file. Reads only the header. */
int store_check_header(const char *path, struct lethe_error *err);

/* The current time as ISO-8601 UTC, "2025-01-31T12:34:56Z". */
void store_now_iso(char out[32]);

#endif
