#include "tlsweep/runrec.h"

#include "tlsweep/check.h"
#include "tlsweep/comm.h"
#include "tlsweep/provenance.h"
#include "tlsweep/slurm.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

enum { HOST = 64, CPU = 128 };

/* Collective: "host (n ranks), host (n ranks)" and the distinct CPU models. */
static void run_machines(MPI_Comm comm, char *hosts, size_t hlen, char *cpus, size_t clen) {
    int rank = tls_comm_rank(comm), n = tls_comm_size(comm);
    char host[HOST] = "", cpu[CPU] = "";
    tls_hostname(host, sizeof(host));
    tls_cpu_model(cpu, sizeof(cpu));
    char *ah = rank == 0 ? calloc((size_t)n, HOST) : NULL;
    char *ac = rank == 0 ? calloc((size_t)n, CPU) : NULL;
    tls_gather_string(comm, host, HOST, ah);
    tls_gather_string(comm, cpu, CPU, ac);
    hosts[0] = cpus[0] = '\0';
    for (int i = 0; rank == 0 && ah && ac && i < n; i++) {
        const char *hi = ah + (size_t)i * HOST, *ci = ac + (size_t)i * CPU;
        int seen = 0, count = 0;
        for (int j = 0; j < i; j++) seen |= !strcmp(ah + (size_t)j * HOST, hi);
        if (!seen) {
            for (int j = i; j < n; j++) count += !strcmp(ah + (size_t)j * HOST, hi);
            snprintf(hosts + strlen(hosts), hlen - strlen(hosts), "%s%s (%d rank%s)",
                     hosts[0] ? ", " : "", hi, count, count > 1 ? "s" : "");
        }
        seen = 0;
        for (int j = 0; j < i; j++) seen |= !strcmp(ac + (size_t)j * CPU, ci);
        if (!seen)
            snprintf(cpus + strlen(cpus), clen - strlen(cpus), "%s%s", cpus[0] ? "; " : "", ci);
    }
    free(ah);
    free(ac);
}

void tls_run_rec_init(tls_run_rec *r, MPI_Comm comm, const char *command) {
    memset(r, 0, sizeof(*r));
    run_machines(comm, r->hosts, sizeof(r->hosts), r->cpus, sizeof(r->cpus));
    tls_slurm_job(r->slurm, sizeof(r->slurm));
    tls_iso_time(r->started, sizeof(r->started));
    snprintf(r->ranks, sizeof(r->ranks), "%d", tls_comm_size(comm));
    snprintf(r->version, sizeof(r->version), "%s (%s)", tls_build_info()->version,
             tls_build_info()->commit);
    char *f[TLS_RUN_FIELDS] = {r->started, r->finished,    (char *)(command ? command : ""),
                               r->ranks,   r->hosts,       r->cpus,
                               r->slurm,   r->exit_status, r->version};
    memcpy(r->run.field, f, sizeof(f));
}

void tls_run_rec_finish(tls_run_rec *r, const char *exit_status) {
    tls_iso_time(r->finished, sizeof(r->finished));
    snprintf(r->exit_status, sizeof(r->exit_status), "%s", exit_status ? exit_status : "");
}

int tls_runs_bcast(MPI_Comm comm, const tls_runs *mine, tls_runs *all) {
    int rank = tls_comm_rank(comm), rc = TLS_OK;
    int nr = tls_bcast_int(comm, rank == 0 ? mine->n : 0);
    memset(all, 0, sizeof(*all));
    for (int i = 0; i < nr; i++) {
        tls_run one = {{0}};
        for (int f = 0; f < TLS_RUN_FIELDS; f++)
            one.field[f] = tls_bcast_text(comm, rank == 0 ? strdup(mine->run[i].field[f]) : NULL);
        if (rc == TLS_OK) rc = tls_runs_add(all, &one);
        for (int f = 0; f < TLS_RUN_FIELDS; f++) free(one.field[f]);
    }
    return rc;
}

/* Whether this process's parent is an MPI or Slurm launcher (by its name). */
static int parent_is_launcher(void) {
    static const char *const names[] = {"mpirun",  "mpiexec", "orterun",         "orted",
                                        "prterun", "prted",   "hydra_pmi_proxy", "slurmstepd",
                                        "srun",    NULL};
    char path[64], comm[64] = "";
    snprintf(path, sizeof(path), "/proc/%d/comm", (int)getppid());
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    if (!fgets(comm, sizeof(comm), f)) comm[0] = '\0';
    fclose(f);
    comm[strcspn(comm, "\n")] = '\0';
    for (int i = 0; names[i]; i++)
        if (!strcmp(comm, names[i])) return 1;
    return 0;
}

int tls_run_tie_to_launcher(MPI_Comm comm) {
    int launched = parent_is_launcher();
    if (launched) prctl(PR_SET_PDEATHSIG, SIGKILL);
    if ((tls_comm_size(comm) > 1 || launched) && getppid() == 1) { /* ended before prctl */
        fprintf(stderr, "tlsweep: rank %d: its launcher has ended; nothing done\n",
                tls_comm_rank(comm));
        return TLS_ERR_STATE;
    }
    return TLS_OK;
}
