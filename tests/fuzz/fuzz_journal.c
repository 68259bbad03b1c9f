/* libFuzzer harness: the journal reader. The input is written as a journal
 * file of a sweep (20 source and 10 test points, 3 + 2 epochs, no
 * embeddings, the other settings the defaults) and scanned, with arrays and for the scalars only,
 * then every record found is read back at its offset. Properties: no crash or sanitizer report;
 * every record handed out has an index inside the grid and a status that exists. */
#include "tlsweep/check.h"
#include "tlsweep/engine.h"
#include "tlsweep/journal.h"
#include "tlsweep/state.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { GRID = 1000 };

static char dir[64];
static tls_result *res;
static uint64_t sweep_id = 42; /* TLSWEEP_FUZZ_SWEEP_ID: the identity of the seed journals' sweep */

typedef struct {
    tls_journal_reader *rd;
    int64_t offsets[256];
    int files[256];
    int n;
} seen;

static int visit(void *ctx, int file, int64_t offset, const tls_record_meta *meta,
                 const tls_result *r) {
    seen *s = ctx;
    if (meta->index < 0 || meta->index >= GRID || r->s.status < 1 || r->s.status > 2) abort();
    if (s->n < 256) s->files[s->n] = file, s->offsets[s->n++] = offset;
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    snprintf(dir, sizeof(dir), "/tmp/fuzz_journal.%d", (int)getpid());
    const char *id = getenv("TLSWEEP_FUZZ_SWEEP_ID");
    if (id) sweep_id = strtoull(id, NULL, 16);
    mkdir(dir, 0755);
    tls_engine_params p = tls_engine_defaults();
    p.n_source = 20, p.n_test = 10, p.epochs = 3, p.finetune_epochs = 2;
    tls_result_create(&res, &p);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[128];
    snprintf(path, sizeof(path), "%s/journal-000001-000000.bin", dir);
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    fwrite(data, 1, size, f);
    fclose(f);
    size_t ab = tls_journal_array_bytes(res, 0);
    for (int mode = 0; mode < 2; mode++) {
        seen s = {NULL, {0}, {0}, 0};
        tls_journal_stats st;
        if (tls_state_journal_reader(&s.rd, dir, sweep_id, GRID,
                                     mode ? TLS_JOURNAL_SCALARS_ONLY : ab) == TLS_OK) {
            tls_journal_scan(s.rd, res, visit, &s, &st);
            for (int i = 0; i < s.n && !mode; i++) {
                tls_record_meta m;
                if (tls_journal_read_at(s.rd, s.files[i], s.offsets[i], &m, res) != TLS_OK) abort();
            }
        }
        tls_journal_reader_close(&s.rd);
    }
    unlink(path);
    return 0;
}
