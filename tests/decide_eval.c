/* Test driver: runs include/tlsweep/decide.h on streams read from stdin and prints every
 * check (%.17g), for tests/test_decide.py to compare with the NumPy reference
 * (tests/reference/decide_reference.py).
 *
 *   decide_eval stream [key=value ...] < streams
 *     keys: alpha delta round max_seeds sign equiv (betting or asymptotic) c t_opt
 *     var_floor min_seeds min_seeds_eq asym_running futility futility_z; a key not given
 *     keeps its tls_decide_rule_default value.
 *     stdin: one stream per line, its differences in seed order (at most max_seeds).
 *     stdout: per check, "stream t decision futile stopped_at exact_low exact_high
 *     asym_low asym_high cs_low cs_high mean evalue".
 *   decide_eval ebh alpha < e-values
 *     stdout: the reject flags, one line. */
#include "tlsweep/decide.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int set_key(tls_decide_rule *r, const char *kv) {
    const char *eq = strchr(kv, '=');
    if (!eq) return -1;
    size_t n = (size_t)(eq - kv);
    const char *v = eq + 1;
#define KEY(name) (n == strlen(name) && !strncmp(kv, name, n))
    if (KEY("alpha"))
        r->alpha = atof(v);
    else if (KEY("delta"))
        r->delta = atof(v);
    else if (KEY("round"))
        r->round = atoi(v);
    else if (KEY("max_seeds"))
        r->max_seeds = atoi(v);
    else if (KEY("sign") || KEY("equiv")) {
        int cs = !strcmp(v, "betting")      ? TLS_DECIDE_CS_BETTING
                 : !strcmp(v, "asymptotic") ? TLS_DECIDE_CS_ASYMPTOTIC
                                            : -1;
        if (cs < 0) return -1;
        if (KEY("sign"))
            r->sign_cs = cs;
        else
            r->equiv_cs = cs;
    } else if (KEY("c"))
        r->c = atof(v);
    else if (KEY("t_opt"))
        r->t_opt = atof(v);
    else if (KEY("var_floor"))
        r->var_floor = atof(v);
    else if (KEY("min_seeds"))
        r->min_seeds = atoi(v);
    else if (KEY("min_seeds_eq"))
        r->min_seeds_eq = atoi(v);
    else if (KEY("asym_running"))
        r->asym_running = atoi(v);
    else if (KEY("futility"))
        r->futility = atoi(v);
    else if (KEY("futility_z"))
        r->futility_z = atof(v);
    else
        return -1;
#undef KEY
    return 0;
}

static int run_streams(const tls_decide_rule *r) {
    tls_decide *s = NULL;
    if (tls_decide_create(&s, r)) {
        fprintf(stderr, "decide_eval: %s\n", tls_decide_rule_check(r));
        return 2;
    }
    char *line = NULL;
    size_t cap = 0;
    int stream = 0, rc = 0;
    while (getline(&line, &cap, stdin) > 0) {
        tls_decide_reset(s);
        char *p = line, *end;
        for (;;) {
            double d = strtod(p, &end);
            if (end == p) break;
            p = end;
            int k;
            if (tls_decide_push(s, d, &k)) {
                fprintf(stderr, "decide_eval: stream %d: push refused (%.17g)\n", stream, d);
                rc = 1;
                break;
            }
            if (k == 1) {
                tls_decide_result o;
                tls_decide_get(s, &o);
                printf("%d %d %d %d %d %.17g %.17g %.17g %.17g %.17g %.17g %.17g %.17g\n", stream,
                       o.checked, o.decision, o.futile, o.stopped_at, o.exact_low, o.exact_high,
                       o.asym_low, o.asym_high, o.cs_low, o.cs_high, o.mean, o.evalue);
            }
        }
        stream++;
    }
    free(line);
    tls_decide_destroy(&s);
    return rc;
}

static int run_ebh(double alpha) {
    int K = 0, cap = 16;
    double *e = malloc(sizeof(double) * cap), v;
    while (scanf("%lf", &v) == 1) {
        if (K == cap) e = realloc(e, sizeof(double) * (cap *= 2));
        e[K++] = v;
    }
    int *reject = malloc(sizeof(int) * (K ? K : 1));
    double *work = malloc(sizeof(double) * (K ? K : 1));
    tls_decide_ebh(reject, e, K, alpha, work);
    for (int i = 0; i < K; i++) printf("%s%d", i ? " " : "", reject[i]);
    printf("\n");
    free(e), free(reject), free(work);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && !strcmp(argv[1], "stream")) {
        tls_decide_rule r;
        tls_decide_rule_default(&r);
        for (int i = 2; i < argc; i++)
            if (set_key(&r, argv[i])) {
                fprintf(stderr, "decide_eval: bad argument %s\n", argv[i]);
                return 2;
            }
        return run_streams(&r);
    }
    if (argc == 3 && !strcmp(argv[1], "ebh")) return run_ebh(atof(argv[2]));
    fprintf(stderr, "usage: decide_eval stream [key=value ...] < streams | ebh alpha < e-values\n");
    return 2;
}
