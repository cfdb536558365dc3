/* The results store: opening and checking a database file, the schema, write steps with
 * failure injection, and the models table. Runs and their results are in store_run.c. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "results/store_impl.h"

#define STORE_BUSY_MS 30000

static const char store_schema[] =
    "CREATE TABLE runs ("
    " id INTEGER PRIMARY KEY,"
    " grid TEXT,"
    " suite TEXT NOT NULL,"
    " split TEXT NOT NULL,"
    " method TEXT NOT NULL,"
    " method_config_json TEXT NOT NULL,"
    " seed INTEGER NOT NULL,"
    " config_hash TEXT NOT NULL,"
    " status TEXT NOT NULL CHECK (status IN ('running', 'done', 'failed')),"
    " error TEXT,"
    " started_at TEXT NOT NULL,"
    " finished_at TEXT,"
    " wall_s REAL,"
    " lethe_version TEXT,"
    " git_rev TEXT,"
    " host TEXT,"
    " threads INTEGER,"
    " UNIQUE (config_hash, seed));"
    "CREATE INDEX runs_by_name ON runs(suite, split, method, seed);"
    "CREATE INDEX runs_by_status ON runs(status);"
    "CREATE TABLE metrics ("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " variant TEXT NOT NULL,"
    " split TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " value REAL,"
    " ci_low REAL,"
    " ci_high REAL,"
    " n INTEGER,"
    " PRIMARY KEY (run_id, variant, name));"
    "CREATE INDEX metrics_by_name ON metrics(name, variant);"
    "CREATE TABLE sample_scores ("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " variant TEXT NOT NULL,"
    " split TEXT NOT NULL,"
    " name TEXT NOT NULL,"
    " idx INTEGER NOT NULL,"
    " value REAL);"
    "CREATE INDEX sample_scores_by_run ON sample_scores(run_id, variant, name, idx);"
    "CREATE TABLE curves ("
    " run_id INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,"
    " name TEXT NOT NULL,"
    " step INTEGER NOT NULL,"
    " x REAL,"
    " y REAL);"
    "CREATE INDEX curves_by_run ON curves(run_id, name, step);"
    "CREATE TABLE models ("
    " hash TEXT PRIMARY KEY,"
    " path TEXT NOT NULL,"
    " role TEXT,"
    " suite TEXT,"
    " seed INTEGER,"
    " created_at TEXT NOT NULL,"
    " train_s REAL);";

int store_sqlite_err(struct store *st, int code, const char *what, struct lethe_error *err)
{
    const char *path = st && st->path ? st->path : "?";
    if (st && st->injected) {
        st->injected = 0;   /* reported once; a later error is a real one */
        return lethe_err(err, LETHE_EIO, "%s in '%s': disk I/O error (injected failure at write step %ld)",
                         what, path, st->writes);
    }
    int ec = st && st->db ? sqlite3_errcode(st->db) : SQLITE_ERROR;
    const char *msg = st && st->db ? sqlite3_errmsg(st->db) : "no connection";
    if (ec == SQLITE_CORRUPT || ec == SQLITE_NOTADB)
        return lethe_err(err, LETHE_EINPUT, "%s in '%s': the file is damaged: %s", what, path, msg);
    return lethe_err(err, code, "%s in '%s': %s", what, path, msg);
}

int store_step(struct store *st, sqlite3_stmt *stmt)
{
    if (st->fail_at > 0 && ++st->writes == st->fail_at) {
        st->fail_at = 0;    /* one shot */
        st->injected = 1;
        sqlite3_reset(stmt);
        return SQLITE_IOERR;
    }
    st->injected = 0;
    return sqlite3_step(stmt);
}

int store_exec(struct store *st, const char *sql)
{
    if (st->fail_at > 0 && ++st->writes == st->fail_at) {
        st->fail_at = 0;
        st->injected = 1;
        return SQLITE_IOERR;
    }
    st->injected = 0;
    return sqlite3_exec(st->db, sql, NULL, NULL, NULL);
}

sqlite3_stmt *store_prepare(struct store *st, const char *sql, struct lethe_error *err)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        st->injected = 0;
        store_sqlite_err(st, LETHE_EFAIL, "cannot prepare a query", err);
        sqlite3_finalize(stmt);
        return NULL;
    }
    return stmt;
}

void store_now_iso(char out[32])
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void store_inject_failure(struct store *st, long nth_write)
{
    if (!st)
        return;
    st->fail_at = nth_write > 0 ? nth_write : 0;
    st->writes = 0;
    st->injected = 0;
}

const char *store_path(const struct store *st)
{
    return st ? st->path : NULL;
}

static uint32_t be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

int store_check_header(const char *path, struct lethe_error *err)
{
    static const char magic[16] = "SQLite format 3";   /* with its NUL */
    struct stat sb;
    if (stat(path, &sb) < 0) {
        if (errno == ENOENT)
            return 1;
        return lethe_err(err, LETHE_EINPUT, "cannot open '%s': %s", path, lethe_strerror(errno));
    }
    if (S_ISDIR(sb.st_mode))
        return lethe_err(err, LETHE_EINPUT, "'%s' is a folder, not a results database", path);
    if (!S_ISREG(sb.st_mode))
        return lethe_err(err, LETHE_EINPUT, "'%s' is not a regular file", path);
    if (sb.st_size == 0)
        return 1;
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return lethe_err(err, LETHE_EINPUT, "cannot open '%s': %s", path, lethe_strerror(errno));
    unsigned char h[100];
    size_t got = 0;
    while (got < sizeof(h)) {
        ssize_t r = read(fd, h + got, sizeof(h) - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    size_t cmp = got < sizeof(magic) ? got : sizeof(magic);
    if (memcmp(h, magic, cmp) != 0)
        return lethe_err(err, LETHE_EINPUT, "'%s' is not a SQLite database (not a lethe results database)",
                         path);
    if (got < sizeof(h))
        return lethe_err(err, LETHE_EINPUT, "'%s' is truncated: %zu bytes, shorter than a SQLite header",
                         path, got);
    uint32_t page = (uint32_t)h[16] << 8 | h[17];
    if (page == 1)
        page = 65536;
    if (page < 512 || (page & (page - 1)) != 0)
        return lethe_err(err, LETHE_EINPUT, "'%s' is damaged: bad page size %u in its header", path, page);
    uint64_t size = (uint64_t)sb.st_size;
    uint32_t change = be32(h + 24), npages = be32(h + 28), valid_for = be32(h + 92);
    /* The in-header page count is valid when version-valid-for matches the change counter
     * (SQLite file format, section 1.3.7). A WAL file beside the database can legitimately
     * hold pages that a crashed checkpoint had not yet copied, so it then proves nothing. */
    char *wal = xmalloc(strlen(path) + 5);
    sprintf(wal, "%s-wal", path);
    struct stat wb;
    int has_wal = stat(wal, &wb) == 0 && wb.st_size > 0;
    free(wal);
    if (!has_wal) {
        if (npages > 0 && valid_for == change && size < (uint64_t)npages * page)
            return lethe_err(err, LETHE_EINPUT,
                             "'%s' is truncated: %llu bytes, its header says %u pages of %u bytes",
                             path, (unsigned long long)size, npages, page);
        if (size % page != 0)
            return lethe_err(err, LETHE_EINPUT,
                             "'%s' is truncated or damaged: %llu bytes is not a whole number of %u-byte pages",
                             path, (unsigned long long)size, page);
    }
    return 0;
}

static int pragma_int(sqlite3 *db, const char *sql, long *out)
{
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &stmt, NULL);
    if (rc == SQLITE_OK) {
        rc = sqlite3_step(stmt);
        if (rc == SQLITE_ROW) {
            *out = (long)sqlite3_column_int64(stmt, 0);
            rc = SQLITE_OK;
        } else if (rc == SQLITE_DONE) {
            rc = SQLITE_ERROR;
        }
    }
    sqlite3_finalize(stmt);
    return rc;
}

/* What the file holds, read through a read-only connection that never writes to it.
 * Returns 0 for a Lethe database of our version, 1 for an empty SQLite database (no tables,
 * no Lethe id), negative with err otherwise. */
static int store_check_content(const char *path, struct lethe_error *err)
{
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    long app = 0, ver = 0, ntab = 0;
    if (rc == SQLITE_OK) {
        sqlite3_busy_timeout(db, STORE_BUSY_MS);
        sqlite3_db_config(db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
        rc = pragma_int(db, "PRAGMA application_id", &app);
        if (rc == SQLITE_OK)
            rc = pragma_int(db, "PRAGMA user_version", &ver);
        if (rc == SQLITE_OK)
            rc = pragma_int(db, "SELECT count(*) FROM sqlite_schema", &ntab);
    }
    if (rc != SQLITE_OK) {
        int ec = db ? sqlite3_errcode(db) : rc;
        int r = lethe_err(err, ec == SQLITE_NOTADB || ec == SQLITE_CORRUPT ? LETHE_EINPUT : LETHE_EIO,
                          "cannot read '%s': %s", path, db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return r;
    }
    sqlite3_close(db);
    if (app == 0 && ntab == 0 && ver == 0)
        return 1;
    if (app != STORE_APPLICATION_ID)
        return lethe_err(err, LETHE_EINPUT,
                         "'%s' is a SQLite database of another application (application_id %ld), "
                         "not a lethe results database", path, app);
    if (ver != STORE_SCHEMA_VERSION)
        return lethe_err(err, LETHE_EINPUT, "'%s' has schema version %ld; this lethe reads version %d",
                         path, ver, STORE_SCHEMA_VERSION);
    return 0;
}

/* Creates the schema in an empty database, unless another process just did. */
static int store_init_schema(struct store *st, struct lethe_error *err)
{
    if (sqlite3_exec(st->db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK)
        return store_sqlite_err(st, LETHE_EIO, "cannot set WAL mode", err);
    if (store_exec(st, "BEGIN IMMEDIATE") != SQLITE_OK)
        return store_sqlite_err(st, LETHE_EIO, "cannot create the schema", err);
    long ver = 0, app = 0, ntab = 0;
    if (pragma_int(st->db, "PRAGMA user_version", &ver) != SQLITE_OK ||
        pragma_int(st->db, "PRAGMA application_id", &app) != SQLITE_OK ||
        pragma_int(st->db, "SELECT count(*) FROM sqlite_schema", &ntab) != SQLITE_OK)
        goto fail;
    if (app == STORE_APPLICATION_ID && ver == STORE_SCHEMA_VERSION) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return 0;
    }
    if (app != 0 || ver != 0 || ntab != 0) {
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
        return lethe_err(err, LETHE_EINPUT, "'%s' changed while it was opened; not a lethe results database",
                         st->path);
    }
    char pragmas[128];
    snprintf(pragmas, sizeof(pragmas), "PRAGMA application_id=%d; PRAGMA user_version=%d;",
             STORE_APPLICATION_ID, STORE_SCHEMA_VERSION);
    if (store_exec(st, store_schema) != SQLITE_OK || store_exec(st, pragmas) != SQLITE_OK ||
        store_exec(st, "COMMIT") != SQLITE_OK)
        goto fail;
    return 0;
fail:;
    int rc = store_sqlite_err(st, LETHE_EIO, "cannot create the schema", err);
    sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

struct store *store_open(const char *path, int flags, struct lethe_error *err)
{
    int create = (flags & STORE_CREATE) != 0;
    int h = store_check_header(path, err);
    if (h < 0)
        return NULL;
    if (h == 1 && !create) {
        if (file_exists(path))
            lethe_err(err, LETHE_EINPUT, "'%s' is empty, not a lethe results database", path);
        else
            lethe_err(err, LETHE_EINPUT, "cannot open '%s': no such file", path);
        return NULL;
    }
    int fresh = h == 1;
    if (!fresh) {
        int c = store_check_content(path, err);
        if (c < 0)
            return NULL;
        if (c == 1 && !create) {
            lethe_err(err, LETHE_EINPUT, "'%s' is an empty SQLite database, not a lethe results database",
                      path);
            return NULL;
        }
        fresh = c == 1;
    }
    if (fresh && !file_exists(path)) {
        char *dir = path_dirname(path);
        int rc = dir_make(dir, err);
        free(dir);
        if (rc < 0)
            return NULL;
    }
    struct store *st = xcalloc(1, sizeof(*st));
    st->path = xstrdup(path);
    st->readonly = !create;
    int oflags = create ? SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE : SQLITE_OPEN_READONLY;
    if (sqlite3_open_v2(path, &st->db, oflags, NULL) != SQLITE_OK) {
        store_sqlite_err(st, LETHE_EIO, "cannot open the database", err);
        store_close(st);
        return NULL;
    }
    sqlite3_extended_result_codes(st->db, 0);
    sqlite3_busy_timeout(st->db, STORE_BUSY_MS);
    if (!create)
        sqlite3_db_config(st->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
    if (sqlite3_exec(st->db, "PRAGMA foreign_keys=ON", NULL, NULL, NULL) != SQLITE_OK) {
        store_sqlite_err(st, LETHE_EIO, "cannot open the database", err);
        store_close(st);
        return NULL;
    }
    if (create && sqlite3_exec(st->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL) != SQLITE_OK) {
        store_sqlite_err(st, LETHE_EIO, "cannot open the database", err);
        store_close(st);
        return NULL;
    }
    const char *env = getenv("LETHE_STORE_FAIL_AT");
    if (env && *env) {
        char *end;
        long n = strtol(env, &end, 10);
        if (*end == '\0' && n > 0)
            store_inject_failure(st, n);
    }
    if (fresh && store_init_schema(st, err) < 0) {
        store_close(st);
        return NULL;
    }
    return st;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    sqlite3_close_v2(st->db);
    free(st->path);
    free(st->git_rev);
    free(st);
}

int store_put_model(struct store *st, const char *hash, const char *path, const char *role,
                    const char *suite, long seed, double train_s, struct lethe_error *err)
{
    if (st->readonly)
        return lethe_err(err, LETHE_EFAIL, "'%s' is open read-only", st->path);
    sqlite3_stmt *stmt = store_prepare(st,
        "INSERT OR REPLACE INTO models(hash, path, role, suite, seed, created_at, train_s) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)", err);
    if (!stmt)
        return -LETHE_EFAIL;
    char now[32];
    store_now_iso(now);
    sqlite3_bind_text(stmt, 1, hash, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 2, path, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 3, role, -1, SQLITE_STATIC);
    sqlite3_bind_text(stmt, 4, suite, -1, SQLITE_STATIC);
    sqlite3_bind_int64(stmt, 5, seed);
    sqlite3_bind_text(stmt, 6, now, -1, SQLITE_STATIC);
    if (train_s == train_s)
        sqlite3_bind_double(stmt, 7, train_s);
    int rc = store_step(st, stmt) == SQLITE_DONE ? 0
             : store_sqlite_err(st, LETHE_EIO, "cannot record a model", err);
    sqlite3_finalize(stmt);
    return rc;
}
