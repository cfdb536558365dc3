/* Tests for the engine's small JSON reader (nn/json.c): values, escapes, and every error form. */
#include <stdlib.h>

#include "nn/nn.h"
#include "tests/test.h"

static struct nn_json *parse_ok(const char *text)
{
    struct nn_json *j = NULL;
    struct lethe_error err = {0};
    if (nn_json_parse(text, strlen(text), &j, &err) < 0)
        printf("# unexpected error on %s: %s\n", text, err.msg);
    return j;
}

static void test_values(void)
{
    struct nn_json *j = parse_ok(" {\"a\": [1, -2.5e3, true, false, null, \"x\"], \"b\": {}, \"c\": []}\n");
    CHECK(j && j->type == NN_JSON_OBJECT && j->n == 3);
    if (!j)
        return;
    const struct nn_json *a = nn_json_get(j, "a");
    CHECK(a && a->type == NN_JSON_ARRAY && a->n == 6);
    if (a && a->n == 6) {
        CHECK(a->items[0].is_int && a->items[0].inum == 1);
        CHECK(!a->items[1].is_int && a->items[1].num == -2500.0);
        CHECK(a->items[2].type == NN_JSON_BOOL && a->items[2].boolean);
        CHECK(a->items[3].type == NN_JSON_BOOL && !a->items[3].boolean);
        CHECK(a->items[4].type == NN_JSON_NULL);
        CHECK_STREQ(a->items[5].str, "x");
    }
    CHECK(nn_json_get(j, "b")->type == NN_JSON_OBJECT);
    CHECK(nn_json_get(j, "zz") == NULL);
    CHECK(nn_json_get(a, "a") == NULL);
    nn_json_free(j);
    j = parse_ok("9007199254740993");  /* 2^53 + 1: exact as an integer */
    CHECK(j && j->is_int && j->inum == 9007199254740993LL);
    nn_json_free(j);
    nn_json_free(NULL);
}

static void test_strings(void)
{
    /* escapes, a BMP character, a surrogate pair (U+1F600), raw UTF-8 kept as is, and NUL */
    struct nn_json *j = parse_ok("\"a\\\"b\\\\c\\/d\\n\\t\\u00e9\\ud83d\\ude00\xc4\x8a\\u0000z\"");
    CHECK(j && j->type == NN_JSON_STRING);
    if (!j)
        return;
    const char want[] = "a\"b\\c/d\n\t\xc3\xa9\xf0\x9f\x98\x80\xc4\x8a\0z";
    CHECK_EQ_INT(j->len, sizeof(want) - 1);
    CHECK(memcmp(j->str, want, sizeof(want) - 1) == 0);
    nn_json_free(j);
}

static void test_errors(void)
{
    static const struct { const char *text, *msg; } cases[] = {
        {"", "line 1, column 1: unexpected end of text"},
        {"{\"a\" 1}", "line 1, column 6: expected ':'"},
        {"{\"a\": 1,\n \"a\": 2}", "line 2, column 5: duplicate key 'a'"},
        {"[1, 2", "line 1, column 6: expected ',' or ']'"},
        {"[01]", "line 1, column 3: expected ',' or ']'"},
        {"1.", "line 1, column 3: bad number: digits expected after '.'"},
        {"\"abc", "line 1, column 5: unterminated string"},
        {"\"\\x\"", "line 1, column 3: bad escape in string"},
        {"\"\\ud800\"", "line 1, column 8: unpaired surrogate in \\u escape"},
        {"{1: 2}", "line 1, column 2: expected a string key"},
        {"tru", "line 1, column 1: unexpected character"},
        {"{} x", "line 1, column 4: text after the JSON value"},
        {"1e999", "line 1, column 1: number out of range"},
        {"\"a\nb\"", "line 1, column 3: control character in string"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct nn_json *j = NULL;
        struct lethe_error err = {0};
        CHECK_EQ_INT(nn_json_parse(cases[i].text, strlen(cases[i].text), &j, &err), -LETHE_EINPUT);
        CHECK(j == NULL);
        CHECK_STREQ(err.msg, cases[i].msg);
    }
    /* too deep */
    char deep[200];
    memset(deep, '[', sizeof(deep) - 1);
    deep[sizeof(deep) - 1] = '\0';
    struct nn_json *j = NULL;
    struct lethe_error err = {0};
    CHECK(nn_json_parse(deep, strlen(deep), &j, &err) < 0);
    CHECK_CONTAINS(err.msg, "nested too deeply");
}

static void test_large_object(void)
{
    /* 5000 keys (past several rehashes of the duplicate-key set), then one repeated */
    struct strbuf sb = STRBUF_INIT;
    strbuf_adds(&sb, "{");
    for (int i = 0; i < 5000; i++)
        strbuf_addf(&sb, "\"k%d\": %d,", i, i);
    size_t good_len = sb.len;
    strbuf_adds(&sb, "\"k1234\": 0}");
    struct nn_json *j = NULL;
    struct lethe_error err = {0};
    CHECK(nn_json_parse(sb.buf, sb.len, &j, &err) < 0);
    CHECK_CONTAINS(err.msg, "duplicate key 'k1234'");
    sb.buf[good_len - 1] = '}';
    CHECK_EQ_INT(nn_json_parse(sb.buf, good_len, &j, &err), 0);
    CHECK(j && j->n == 5000 && nn_json_get(j, "k4999")->inum == 4999);
    nn_json_free(j);
    strbuf_release(&sb);
}

int main(void)
{
    RUN(test_large_object);
    RUN(test_values);
    RUN(test_strings);
    RUN(test_errors);
    return test_done();
}
