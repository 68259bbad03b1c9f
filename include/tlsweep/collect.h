/* collect.h - records to one results file, put in place.
 *
 * The records of a sweep are in its journals (a run, a snapshot) or in
 * other results files (merge); the results file is written collectively
 * under a temporary name in its directory and then renamed into place,
 * durably (the file's data, the rename, the directory). Collective over the
 * communicator given where it says so. */
#ifndef TLSWEEP_COLLECT_H
#define TLSWEEP_COLLECT_H

#include "tlsweep/setup.h"

#include <mpi.h>

/* The library versions a results file records (tls_store_info.versions point here). */
typedef struct {
    char hdf5[32], mpi[MPI_MAX_LIBRARY_VERSION_STRING], libsvm[16];
} tls_versions;

/* Everything a results file of s records besides its records: the
 * configuration text `yaml`, its hash, data files and checksums, the runs,
 * the hosts, the library versions (kept in v) and the MPI-IO hints. */
void tls_collect_info(tls_store_info *in, tls_versions *v, const tls_setup *s, const char *yaml,
                      const tls_runs *runs, char **hosts, int nhosts);

/* Collective: writes odir/name from the journals of the state directory
 * dir (sweep `sweep_id`), for setup s. `known` (rank 0; may be NULL) is the
 * map of records rank 0 kept during the run, valid when the journals are
 * known_files files; else every record is read again. Every rank passes the
 * same s and runs. The counts of the file and the seconds it took. */
int tls_collect_journals(MPI_Comm comm, const tls_setup *s, const char *dir, const char *odir,
                         const char *name, uint64_t sweep_id, tls_resume_map *known,
                         int known_files, const tls_runs *runs, tls_store_counts *counts,
                         double *seconds);

/* Collective: writes odir/name from the record source src (merge). */
int tls_collect_source(MPI_Comm comm, const tls_setup *s, const char *odir, const char *name,
                       const tls_store_info *info, const tls_record_source *src,
                       tls_store_counts *counts);

/* Collective: a temporary name for a file named base in directory dir, the
 * same on every rank: .BASE.tmp-PID@HOST, rank 0's process id and host.
 * Rank 0 first removes the ones a killed write on its host left (no
 * process PID alive), and says so on stderr. */
void tls_collect_temp_name(MPI_Comm comm, const char *dir, char *buf, size_t len, const char *base);
/* Rank 0: puts dir/tmp in place as dest, durably; one line on failure. */
int tls_collect_put_in_place(const char *dir, const char *tmp, const char *dest);

#endif
