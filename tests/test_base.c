/* Tests for base/: SHA-256 against FIPS 180-4 vectors, FNV-1a, globs, strbuf, files, paths. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/base.h"
#include "tests/test.h"

static void test_sha256_vectors(void)
{
    /* FIPS 180-4 examples (NIST CSRC "SHA256.pdf") and the empty string. */
    char hex[65];
    sha256_hex("abc", 3, hex);
    CHECK_STREQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha256_hex("", 0, hex);
    CHECK_STREQ(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    const char *two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    sha256_hex(two, strlen(two), hex);
    CHECK_STREQ(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void test_sha256_streaming(void)
{
    /* One million 'a' (FIPS 180-4 third example), fed in uneven pieces. */
    char *a = xmalloc(1000000);
    memset(a, 'a', 1000000);
    struct sha256 s;
    unsigned char d[32];
    sha256_init(&s);
    size_t off = 0, step = 1;
    while (off < 1000000) {
        size_t n = step < 1000000 - off ? step : 1000000 - off;
        sha256_update(&s, a + off, n);
        off += n;
        step = step * 3 % 997 + 1;
    }
    sha256_final(&s, d);
    static const unsigned char want[32] = {
        0xcd, 0xc7, 0x6e, 0x5c, 0x99, 0x14, 0xfb, 0x92, 0x81, 0xa1, 0xc7, 0xe2, 0x84, 0xd7, 0x3e, 0x67,
        0xf1, 0x80, 0x9a, 0x48, 0xa4, 0x97, 0x20, 0x0e, 0x04, 0x6d, 0x39, 0xcc, 0xc7, 0x11, 0x2c, 0xd0};
    CHECK(memcmp(d, want, 32) == 0);
    free(a);
}

static void test_fnv1a64(void)
{
    /* Reference values of the FNV-1a 64-bit test suite (Fowler/Noll/Vo). */
    CHECK(fnv1a64("") == 0xcbf29ce484222325ULL);
    CHECK(fnv1a64("a") == 0xaf63dc4c8601ec8cULL);
    CHECK(fnv1a64("foobar") == 0x85944171f73967e8ULL);
}

static void test_glob(void)
{
    CHECK(str_glob("tofu.*.prob", "tofu.forget.prob"));
    CHECK(str_glob("*", ""));
    CHECK(str_glob("a*b*c", "aXXbYYc"));
    CHECK(!str_glob("a*b*c", "aXXbYY"));
    CHECK(str_glob("q?_g64", "q4_g64"));
    CHECK(!str_glob("tofu.*", "muse.forget.verbmem_f1"));
    CHECK(str_glob("*.auc", "tofu.mia.loss.auc"));
    CHECK(str_starts("forget10", "forget"));
    CHECK(str_ends("x.db", ".db"));
    CHECK(!str_ends("db", "x.db"));
}

static void test_strbuf(void)
{
    struct strbuf sb = STRBUF_INIT;
    for (int i = 0; i < 1000; i++)
        strbuf_addf(&sb, "%d,", i);
    CHECK(str_starts(sb.buf, "0,1,2,"));
    CHECK(str_ends(sb.buf, "998,999,"));
    CHECK_EQ_INT(sb.len, strlen(sb.buf));
    strbuf_reset(&sb);
    CHECK_EQ_INT(sb.len, 0);
    char *s = strbuf_detach(&sb);
    CHECK_STREQ(s, "");
    free(s);
    strbuf_release(&sb);
}

static void test_errors(void)
{
    struct lethe_error err = {0};
    int rc = lethe_err(&err, LETHE_EINPUT, "unknown method '%s'", "npx");
    CHECK_EQ_INT(rc, -LETHE_EINPUT);
    CHECK_STREQ(err.msg, "unknown method 'npx'");
    lethe_err_prefix(&err, "suites.json");
    CHECK_STREQ(err.msg, "suites.json: unknown method 'npx'");
    CHECK_EQ_INT(lethe_exit_code(&err), 2);
    lethe_err(&err, LETHE_EIO, "disk full");
    CHECK_EQ_INT(lethe_exit_code(&err), 1);
    CHECK_EQ_INT(lethe_err(NULL, LETHE_EFAIL, "x"), -LETHE_EFAIL);
}

static void test_files(void)
{
    char dir[] = "/tmp/lethe-test-base-XXXXXX";
    CHECK(mkdtemp(dir) != NULL);
    char *sub = path_join(dir, "a/b/c");
    struct lethe_error err = {0};
    CHECK_EQ_INT(dir_make(sub, &err), 0);
    char *f = path_join(sub, "x.txt");
    CHECK_EQ_INT(file_write_atomic(f, "hello\n", 6, &err), 0);
    char *text;
    size_t len;
    CHECK_EQ_INT(file_read_all(f, &text, &len, &err), 0);
    CHECK_EQ_INT(len, 6);
    CHECK_STREQ(text, "hello\n");
    free(text);
    CHECK(file_read_all("/nonexistent/x", &text, &len, &err) == -LETHE_EINPUT);
    CHECK_CONTAINS(err.msg, "cannot open '/nonexistent/x'");
    /* an atomic write into a missing folder fails and leaves nothing behind */
    char *g = path_join(dir, "missing/y.txt");
    CHECK(file_write_atomic(g, "x", 1, &err) < 0);
    CHECK(!file_exists(g));
    char *d = path_dirname(f);
    CHECK_STREQ(d, sub);
    free(d);
    d = path_dirname("plain");
    CHECK_STREQ(d, ".");
    free(d);
    char *j = path_join("top", "/abs/p");
    CHECK_STREQ(j, "/abs/p");
    free(j);
    unlink(f);
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    CHECK_EQ_INT(system(cmd), 0);
    free(f);
    free(g);
    free(sub);
}

int main(void)
{
    RUN(test_sha256_vectors);
    RUN(test_sha256_streaming);
    RUN(test_fnv1a64);
    RUN(test_glob);
    RUN(test_strbuf);
    RUN(test_errors);
    RUN(test_files);
    return test_done();
}
