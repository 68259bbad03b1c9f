#include "tlsweep/signals.h"

#include "tlsweep/check.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t g_received = 0;

static void on_signal(int sig) {
    (void)sig;
    g_received++;
    if (g_received >= 2) _exit(TLS_EXIT_RESUMABLE);
}

void tls_signals_install(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGUSR1, &sa, NULL);
}

int tls_signals_received(void) {
    return g_received;
}
