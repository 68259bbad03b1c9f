/* libFuzzer harness: the configuration loader, from a file's text and from
 * --set options. The first byte chooses: even, the input is a YAML file;
 * odd, its lines are --set KEY=VALUE options. Properties checked beyond
 * "no crash, no sanitizer report": a refusal is one line that says what is
 * allowed; an accepted configuration prints as YAML that loads back to the
 * same hash. */
#include "tlsweep/check.h"
#include "tlsweep/config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void check_refusal(const char *err) {
    if (!err[0] || strchr(err, '\n') || !strstr(err, "allowed")) {
        fprintf(stderr, "bad refusal message: '%s'\n", err);
        abort();
    }
}

static void check_roundtrip(const tls_config *c) {
    char *y = tls_config_yaml(c), err[TLS_ERRMSG];
    const tls_config *d = NULL;
    if (!y || tls_config_load_text(&d, "roundtrip", y, err) != TLS_OK ||
        tls_config_hash(d) != tls_config_hash(c) || d->grid_size != c->grid_size) {
        fprintf(stderr, "canonical YAML does not load back the same: %s\n%s\n", err, y ? y : "");
        abort();
    }
    free(y);
    tls_config_destroy(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1 || size > 65536) return 0;
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    char err[TLS_ERRMSG] = "";
    const tls_config *c = NULL;
    int rc;
    if (data[0] % 2 == 0) {
        rc = tls_config_load_text(&c, "fuzz.yaml", text, err);
    } else {
        const char *sets[64];
        int n = 0;
        for (char *line = strtok(text, "\n"); line && n < 64; line = strtok(NULL, "\n"))
            sets[n++] = line;
        rc = tls_config_load(&c, NULL, sets, n, err);
    }
    if (rc == TLS_ERR_INPUT) check_refusal(err);
    if (rc == TLS_OK) check_roundtrip(c);
    tls_config_destroy(&c);
    free(text);
    return 0;
}
