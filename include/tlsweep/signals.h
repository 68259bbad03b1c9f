/* signals.h - the one place that knows about SIGTERM, SIGINT and SIGUSR1.
 *
 * The first signal asks the sweep to stop handing out work and drain; a
 * second one exits at once with status 75 (the journals stay consistent:
 * every record is written with one write()). Install before MPI_Init, so
 * that an early signal cannot kill a rank, and again after it (MPI_Init may
 * replace handlers). */
#ifndef TLSWEEP_SIGNALS_H
#define TLSWEEP_SIGNALS_H

void tls_signals_install(void);
/* Number of signals received so far (async-signal-safe to read). */
int tls_signals_received(void);

#endif
