/* status.h - `tlsweep status OUT`: what a sweep has done, from its results
 * file or, while it runs or after an interruption, from its state.
 *
 * Prints done / failed / pending (per method for the failed ones, with
 * their reasons), whether a run holds the sweep now (pid and host from the
 * lock) and its rate, or whether it is complete or resumable. Serial, no
 * MPI. Returns TLS_EXIT_OK when complete, TLS_EXIT_RUNNING while a run
 * holds it, TLS_EXIT_RESUMABLE when interrupted, TLS_EXIT_BAD_INPUT when
 * OUT is neither a results file nor a sweep's state (one line). Everything
 * read from disk is checked. */
#ifndef TLSWEEP_STATUS_H
#define TLSWEEP_STATUS_H

/* `program`: argv[0] as given (shell-quoted), which the commands it suggests start with. */
int tls_status(const char *output, const char *program);

#endif
