/* lethe tokenize: token ids of a text under GPT-2's or a trained vocabulary, ids back to
 * text, and training a vocabulary from files (nn/tokenizer.c and nn/bpe_train.c do the work). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/harness.h"
#include "nn/nn.h"

static int read_stdin_impl(struct strbuf *sb, struct lethe_error *err)
{
    char buf[65536];
    size_t k;
    while ((k = fread(buf, 1, sizeof(buf), stdin)) > 0)
        strbuf_add(sb, buf, k);
    if (ferror(stdin))
        return lethe_err(err, LETHE_EIO, "cannot read standard input: %s", lethe_strerror(errno));
    if (!sb->buf)
        strbuf_add(sb, "", 0);
    return 0;
}

static int train_impl(const char *size_s, const char *out, char **files, int nfiles)
{
    struct lethe_error err = {0};
    long size = 0;
    if (!out)
        return cli_usage_error("--train needs --out DIR (see 'lethe tokenize --help')");
    if (nfiles < 1)
        return cli_usage_error("--train needs at least one corpus FILE (see 'lethe tokenize --help')");
    if (cli_long("--train", size_s, &size, &err) < 0 || size < 257 || size > (1L << 24)) {
        if (!err.code)
            lethe_err(&err, LETHE_EUSAGE, "--train: vocabulary size %ld is out of range: 257 to "
                      "16777216", size);
        cli_error(&err);
        return lethe_exit_code(&err);
    }
    struct bpe_trainer *tr = bpe_trainer_new();
    struct tokenizer *t = NULL;
    int rc = 0;
    for (int i = 0; i < nfiles && rc == 0; i++) {
        char *text = NULL;
        size_t len = 0;
        rc = file_read_all(files[i], &text, &len, &err);
        if (rc == 0)
            rc = bpe_trainer_add(tr, text, len, &err);
        free(text);
    }
    if (rc == 0 && !(t = bpe_trainer_finish(tr, (int)size, &err)))
        rc = -1;
    if (rc == 0)
        rc = tokenizer_save(t, out, &err);
    if (rc == 0)
        printf("wrote '%s/vocab.json' and '%s/merges.txt': %d tokens, %d merges\n", out, out,
               tokenizer_vocab_size(t), tokenizer_n_merges(t));
    tokenizer_free(t);
    bpe_trainer_free(tr);
    if (rc < 0) {
        cli_error(&err);
        return lethe_exit_code(&err);
    }
    return 0;
}

int cmd_tokenize(int argc, char **argv)
{
    const char *vocab = NULL, *train = NULL, *out = NULL;
    int decode = 0;
    const struct cli_opt opts[] = {
        {"vocab", CLI_STR, &vocab, NULL},
        {"decode", CLI_FLAG, NULL, &decode},
        {"train", CLI_STR, &train, NULL},
        {"out", CLI_STR, &out, NULL},
        {NULL, CLI_STR, NULL, NULL},
    };
    char **pos = NULL;
    int npos = 0, rc;
    if (cli_parse_args(argc, argv, opts, &pos, &npos, &rc))
        return rc;
    if (train) {
        rc = vocab || decode ? cli_usage_error("--train does not go with --vocab or --decode")
                             : train_impl(train, out, pos, npos);
        free(pos);
        return rc;
    }
    if (out) {
        free(pos);
        return cli_usage_error("--out goes with --train");
    }
    if (!vocab) {
        free(pos);
        return cli_usage_error("--vocab DIR|gpt2 is needed (see 'lethe tokenize --help')");
    }
    if (npos != 1) {
        free(pos);
        return cli_usage_error("expected one TEXT (or - for standard input), got %d arguments", npos);
    }
    struct lethe_error err = {0};
    struct strbuf in = STRBUF_INIT, text = STRBUF_INIT;
    int *ids = NULL;
    size_t n = 0, cap = 0;
    struct tokenizer *t = NULL;
    rc = 0;
    if (strcmp(pos[0], "-") == 0)
        rc = read_stdin_impl(&in, &err);
    else
        strbuf_adds(&in, pos[0]);
    if (rc == 0 && !(t = tokenizer_load(vocab, &err)))
        rc = -1;
    if (rc == 0 && decode) {
        rc = cli_parse_ids(in.buf, &ids, &n, &cap, &err);
        if (rc == 0)
            rc = tokenizer_decode(t, ids, n, &text, &err);
        if (rc == 0) {
            fwrite(text.buf, 1, text.len, stdout);
            putchar('\n');
        }
    } else if (rc == 0) {
        rc = tokenizer_encode(t, in.buf, in.len, &ids, &n, &cap, &err);
        for (size_t i = 0; rc == 0 && i < n; i++)
            printf("%s%d", i ? " " : "", ids[i]);
        if (rc == 0)
            putchar('\n');
    }
    if (rc < 0) {
        cli_error(&err);
        rc = lethe_exit_code(&err);
    }
    if (rc == 0 && fflush(stdout) != 0)
        rc = 1;
    free(ids);
    strbuf_release(&in);
    strbuf_release(&text);
    tokenizer_free(t);
    free(pos);
    return rc;
}
