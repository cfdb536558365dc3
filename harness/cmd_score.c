/* lethe score: each token's log-probability under a GPT-2 checkpoint, given the tokens before it
 * (METRICS.md 0.2: lp_i = log_softmax(z_{i-1})[y_i]). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness/harness.h"
#include "nn/nn.h"

/* Writes s as a JSON string (for token texts in the human-readable output, escaping is enough). */
static void print_escaped_impl(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\\' || c == '"')
            printf("\\%c", c);
        else if (c == '\n')
            fputs("\\n", stdout);
        else if (c == '\t')
            fputs("\\t", stdout);
        else if (c < 0x20 || c == 0x7f)
            printf("\\x%02x", c);
        else
            putchar(c);
    }
}

static int score_impl(const char *model_path, const char *vocab, const char *text,
                      const char *tokens, int json, struct lethe_error *err)
{
    struct gpt *m = NULL;
    struct tokenizer *tok = NULL;
    int *ids = NULL;
    size_t n = 0, cap = 0;
    float *lp = NULL;
    int *targets = NULL;
    int rc = safetensors_load_gpt(model_path, &m, NULL, err);
    if (rc < 0)
        goto out;
    const struct gpt_config *cfg = gpt_cfg(m);
    if (!vocab && (text || !json) && cfg->vocab == 50257)
        vocab = "gpt2";   /* GPT-2's vocabulary size: the GPT-2 tokenizer, unless told otherwise */
    if (vocab) {
        tok = tokenizer_load(vocab, err);
        if (!tok) {
            rc = -err->code;
            goto out;
        }
        if (tokenizer_vocab_size(tok) > cfg->vocab) {
            rc = lethe_err(err, LETHE_EINPUT, "vocabulary '%s' has %d tokens; the model '%s' has %d",
                           vocab, tokenizer_vocab_size(tok), model_path, cfg->vocab);
            goto out;
        }
    } else if (text) {
        rc = lethe_err(err, LETHE_EUSAGE, "--text needs --vocab DIR (the model's vocabulary has %d "
                       "tokens, not GPT-2's 50257)", cfg->vocab);
        goto out;
    }
    if (text) {
        xgrow(&ids, &cap, 1, sizeof(*ids));
        ids[n++] = tokenizer_eot(tok);   /* BOS, as every sequence Lethe scores */
        if ((rc = tokenizer_encode(tok, text, strlen(text), &ids, &n, &cap, err)) < 0)
            goto out;
    } else if ((rc = cli_parse_ids(tokens, &ids, &n, &cap, err)) < 0) {
        goto out;
    }
    if (n < 1) {
        rc = lethe_err(err, LETHE_EUSAGE, "nothing to score: no tokens");
        goto out;
    }
    if (n > (size_t)cfg->n_ctx) {
        rc = lethe_err(err, LETHE_EINPUT, "%zu tokens do not fit the model's context of %d", n,
                       cfg->n_ctx);
        goto out;
    }
    for (size_t i = 0; i < n; i++)
        if (ids[i] < 0 || ids[i] >= cfg->vocab) {
            rc = lethe_err(err, LETHE_EINPUT, "token id %d is outside the model's vocabulary (0..%d)",
                           ids[i], cfg->vocab - 1);
            goto out;
        }
    int T = (int)n;
    targets = xmalloc(n * sizeof(*targets));
    lp = xcalloc(n, sizeof(*lp));
    for (int t = 0; t < T; t++)
        targets[t] = t + 1 < T ? ids[t + 1] : -1;   /* position t predicts token t+1 */
    gpt_forward(m, ids, NULL, 1, T);
    gpt_logprobs(m, targets, lp);
    if (json) {
        printf("{\"tokens\": [");
        for (int i = 0; i < T; i++)
            printf("%s%d", i ? ", " : "", ids[i]);
        printf("], \"logprobs\": [");
        for (int i = 1; i < T; i++)
            printf("%s%.9g", i > 1 ? ", " : "", (double)lp[i - 1]);
        printf("]}\n");
    } else {
        double sum = 0;
        printf("%5s %7s  %-20s %s\n", "pos", "id", "token", "logprob");
        for (int i = 0; i < T; i++) {
            printf("%5d %7d  \"", i, ids[i]);
            size_t len = 0;
            const char *s = tok ? tokenizer_token(tok, ids[i], &len) : NULL;
            if (s)
                print_escaped_impl(s, len);
            printf("\"%*s", len < 18 ? (int)(18 - len) : 0, "");
            if (i == 0) {
                printf(" -\n");
            } else {
                printf(" %.6f\n", (double)lp[i - 1]);
                sum += lp[i - 1];
            }
        }
        printf("sum %.6f over %d tokens, mean %.6f\n", sum, T - 1, T > 1 ? sum / (T - 1) : 0.0);
    }
    rc = 0;
out:
    free(lp);
    free(targets);
    free(ids);
    tokenizer_free(tok);
    gpt_free(m);
    return rc;
}

int cmd_score(int argc, char **argv)
{
    const char *model = NULL, *vocab = NULL, *text = NULL, *tokens = NULL;
    int json = 0;
    const struct cli_opt opts[] = {
        {"model", CLI_STR, &model, NULL}, {"vocab", CLI_STR, &vocab, NULL},
        {"text", CLI_STR, &text, NULL}, {"tokens", CLI_STR, &tokens, NULL},
        {"json", CLI_FLAG, NULL, &json}, {NULL, CLI_STR, NULL, NULL},
    };
    char **pos = NULL;
    int npos = 0, rc;
    if (cli_parse_args(argc, argv, opts, &pos, &npos, &rc))
        return rc;
    free(pos);
    if (npos)
        return cli_usage_error("unexpected argument (see 'lethe score --help')");
    if (!model)
        return cli_usage_error("--model FILE is required (see 'lethe score --help')");
    if (!text == !tokens)
        return cli_usage_error("give one of --text TEXT or --tokens \"ID ...\"");
    struct lethe_error err = {0};
    if (score_impl(model, vocab, text, tokens, json, &err) < 0) {
        cli_error(&err);
        return lethe_exit_code(&err);
    }
    return 0;
}
