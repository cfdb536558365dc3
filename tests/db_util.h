/* Helpers shared by the store and merge tests: a scratch folder, and an independent reader of
 * SQLite files (a plain connection, not the store's) to check what was written. */
#ifndef LETHE_TESTS_DB_UTIL_H
#define LETHE_TESTS_DB_UTIL_H

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/base.h"

static char tmpdir[256];   /* the test's scratch folder (mkdtemp'ed by main) */

static inline char *tmp_path(const char *name)
{
    return path_join(tmpdir, name);
}

/* Removes a database and its -wal, -shm and -journal files. */
static inline void rm_db(const char *path)
{
    static const char *const sides[] = {"", "-wal", "-shm", "-journal"};
    for (int i = 0; i < 4; i++) {
        char p[1024];
        snprintf(p, sizeof(p), "%s%s", path, sides[i]);
        unlink(p);
    }
}

/* The first column of the first row of sql: -999 when the query fails (with a # line), -998
 * for NULL. */
static inline long long q_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    long long v = -999;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
        v = sqlite3_column_type(stmt, 0) == SQLITE_NULL ? -998 : sqlite3_column_int64(stmt, 0);
    else
        printf("# query failed on %s: %s: %s\n", path, sql, db ? sqlite3_errmsg(db) : "no db");
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return v;
}

/* As q_int for a double: -999 on failure, NAN for NULL. */
static inline double q_double(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    double v = -999;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW)
        v = sqlite3_column_type(stmt, 0) == SQLITE_NULL ? NAN : sqlite3_column_double(stmt, 0);
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return v;
}

/* As q_int for text (returned, the caller frees): NULL on failure or for NULL. */
static inline char *q_text(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *stmt = NULL;
    char *v = NULL;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW &&
        sqlite3_column_type(stmt, 0) != SQLITE_NULL)
        v = xstrdup((const char *)sqlite3_column_text(stmt, 0));
    sqlite3_finalize(stmt);
    sqlite3_close(db);
    return v;
}

/* Runs sql on a read-write plain connection (to damage or alter a file behind the store). */
static inline void exec_sql(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK || sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        printf("# exec failed on %s: %s: %s\n", path, sql, db ? sqlite3_errmsg(db) : "no db");
    sqlite3_close(db);
}

/* The sha256 of a file's bytes, "unreadable" if it cannot be read. */
static inline void file_sha(const char *path, char hex[65])
{
    char *data = NULL;
    size_t len = 0;
    if (file_read_all(path, &data, &len, NULL) < 0) {
        strcpy(hex, "unreadable");
        return;
    }
    sha256_hex(data, len, hex);
    free(data);
}

#endif
