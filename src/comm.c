#include "tlsweep/comm.h"

#include "tlsweep/check.h"
#include "tlsweep/input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void tls_comm_init(MPI_Comm comm) {
    MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
}

void tls_comm_abort(MPI_Comm comm, int status, const char *what) {
    if (what) {
        int rank = 0;
        MPI_Comm_rank(comm, &rank);
        fprintf(stderr, "tlsweep: rank %d: %s\n", rank, what);
        fflush(stderr);
    }
    MPI_Abort(comm, status);
    exit(status); /* MPI_Abort does not return; the compiler cannot know */
}

void tls_comm_mpi_failed(MPI_Comm comm, int code, const char *call) {
    char reason[MPI_MAX_ERROR_STRING] = "", what[MPI_MAX_ERROR_STRING + 200];
    int len = 0;
    MPI_Error_string(code, reason, &len);
    const char *fn = strchr(call, '(');
    snprintf(what, sizeof(what), "%.*s failed: %s", fn ? (int)(fn - call) : 60, call, reason);
    tls_comm_abort(comm, TLS_EXIT_FAILURE, what);
}

int tls_comm_rank(MPI_Comm comm) {
    int r = 0;
    TLS_MPI(comm, MPI_Comm_rank(comm, &r));
    return r;
}

int tls_comm_size(MPI_Comm comm) {
    int n = 1;
    TLS_MPI(comm, MPI_Comm_size(comm, &n));
    return n;
}

int tls_agree(MPI_Comm comm, int rc, const char *msg) {
    int rank = tls_comm_rank(comm), n = tls_comm_size(comm);
    int mine = rc ? rank : n, first = n;
    TLS_MPI(comm, MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, comm));
    if (first == n) return TLS_OK;
    int code = rank == first ? rc : 0;
    char text[TLS_ERRMSG] = "";
    if (rank == first) snprintf(text, sizeof(text), "%s", msg ? msg : "");
    TLS_MPI(comm, MPI_Bcast(&code, 1, MPI_INT, first, comm));
    TLS_MPI(comm, MPI_Bcast(text, (int)sizeof(text), MPI_CHAR, first, comm));
    if (rank == 0 && text[0]) fprintf(stderr, "tlsweep: %s\n", text);
    return code;
}

int tls_all_ok(MPI_Comm comm, int ok) {
    int all = 0;
    TLS_MPI(comm, MPI_Allreduce(&ok, &all, 1, MPI_INT, MPI_LAND, comm));
    return all;
}

int tls_bcast_int(MPI_Comm comm, int v) {
    TLS_MPI(comm, MPI_Bcast(&v, 1, MPI_INT, 0, comm));
    return v;
}

int64_t tls_bcast_i64(MPI_Comm comm, int64_t v) {
    TLS_MPI(comm, MPI_Bcast(&v, 1, MPI_INT64_T, 0, comm));
    return v;
}

uint64_t tls_bcast_u64(MPI_Comm comm, uint64_t v) {
    TLS_MPI(comm, MPI_Bcast(&v, 1, MPI_UINT64_T, 0, comm));
    return v;
}

char *tls_bcast_text(MPI_Comm comm, char *text) {
    int64_t len = tls_bcast_i64(comm, text ? (int64_t)strlen(text) + 1 : 0);
    if (len == 0) return NULL;
    TLS_CHECK(len < INT32_MAX, NULL, "a text of %lld bytes", (long long)len);
    if (tls_comm_rank(comm) != 0) text = malloc((size_t)len);
    if (!text) tls_comm_abort(comm, TLS_EXIT_FAILURE, "out of memory for a text from rank 0");
    TLS_MPI(comm, MPI_Bcast(text, (int)len, MPI_CHAR, 0, comm));
    return text;
}

void tls_bcast_strings(MPI_Comm comm, char *buf, int n, int len) {
    TLS_MPI(comm, MPI_Bcast(buf, n * len, MPI_CHAR, 0, comm));
}

void tls_gather_string(MPI_Comm comm, const char *mine, int len, char *all) {
    TLS_MPI(comm, MPI_Gather(mine, len, MPI_CHAR, all, len, MPI_CHAR, 0, comm));
}
