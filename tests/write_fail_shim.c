/* write_fail_shim.c - an LD_PRELOAD library that makes writes to one file
 * fail with ENOSPC after the first few, as a disk that fills up while the
 * file is written (tests/test_reliability.py).
 *
 * TLSWEEP_FAIL_NAME: the file's name (its last path component, e.g.
 * partial.h5); TLSWEEP_FAIL_AFTER: how many writes to it succeed in each
 * process before every later one fails (default 0); TLSWEEP_FAIL_RANK, when
 * set, limits the failures to the process of that MPI rank. With
 * TLSWEEP_FAIL_COUNT, each process appends how many writes it made to the
 * file to that file when it exits ("RANK WRITES"), to choose where to fail. The descriptors opened
 * on that name are followed through open*, creat, dup2, dup3 and close; write, pwrite
 * and their vector forms on them fail once the count is spent. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define MAX_FD 4096

static char watched[MAX_FD]; /* 1: fd is open on the file */
static long writes;          /* writes to it so far in this process */

static int matches(const char *path) {
    const char *name = getenv("TLSWEEP_FAIL_NAME");
    if (!name || !*name || !path) return 0;
    const char *base = strrchr(path, '/');
    return !strcmp(base ? base + 1 : path, name);
}

static void note(int fd, const char *path) {
    if (fd >= 0 && fd < MAX_FD) watched[fd] = (char)matches(path);
}

/* 1 when this write to fd must fail. */
static int fail(int fd) {
    if (fd < 0 || fd >= MAX_FD || !watched[fd]) return 0;
    const char *only = getenv("TLSWEEP_FAIL_RANK"), *rank = getenv("OMPI_COMM_WORLD_RANK");
    if (only && *only && (!rank || atoi(rank) != atoi(only))) return 0;
    const char *after = getenv("TLSWEEP_FAIL_AFTER");
    if (writes++ < (after ? atol(after) : 0)) return 0;
    errno = ENOSPC;
    return 1;
}

#define NEXT(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

__attribute__((destructor)) static void count(void) {
    const char *path = getenv("TLSWEEP_FAIL_COUNT"), *rank = getenv("OMPI_COMM_WORLD_RANK");
    if (!path || !*path) return;
    int fd = NEXT(open)(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (fd < 0) return;
    char line[64];
    int n = snprintf(line, sizeof(line), "%s %ld\n", rank ? rank : "0", writes);
    if (NEXT(write)(fd, line, (size_t)n) < 0) {
    }
    NEXT(close)(fd);
}

static mode_t mode_of(int flags, va_list ap) {
    return (flags & (O_CREAT | O_TMPFILE)) ? (mode_t)va_arg(ap, int) : 0;
}

/* fn(params), the mode read when flags create a file, the descriptor noted */
#define OPEN_LIKE(fn, params, args)                                                                \
    int fn params {                                                                                \
        va_list ap;                                                                                \
        va_start(ap, flags);                                                                       \
        mode_t m = mode_of(flags, ap);                                                             \
        va_end(ap);                                                                                \
        int fd = NEXT(fn) args;                                                                    \
        note(fd, path);                                                                            \
        return fd;                                                                                 \
    }

OPEN_LIKE(open, (const char *path, int flags, ...), (path, flags, m))
OPEN_LIKE(open64, (const char *path, int flags, ...), (path, flags, m))
OPEN_LIKE(openat, (int dir, const char *path, int flags, ...), (dir, path, flags, m))
OPEN_LIKE(openat64, (int dir, const char *path, int flags, ...), (dir, path, flags, m))

int creat(const char *path, mode_t m) {
    int fd = NEXT(creat)(path, m);
    note(fd, path);
    return fd;
}

int close(int fd) {
    if (fd >= 0 && fd < MAX_FD) watched[fd] = 0;
    return NEXT(close)(fd);
}

int dup2(int from, int to) {
    int fd = NEXT(dup2)(from, to);
    if (fd >= 0 && fd < MAX_FD) watched[fd] = from >= 0 && from < MAX_FD && watched[from];
    return fd;
}

int dup3(int from, int to, int flags) {
    int fd = NEXT(dup3)(from, to, flags);
    if (fd >= 0 && fd < MAX_FD) watched[fd] = from >= 0 && from < MAX_FD && watched[from];
    return fd;
}

ssize_t write(int fd, const void *buf, size_t n) {
    return fail(fd) ? -1 : NEXT(write)(fd, buf, n);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t at) {
    return fail(fd) ? -1 : NEXT(pwrite)(fd, buf, n, at);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t at) {
    return fail(fd) ? -1 : NEXT(pwrite64)(fd, buf, n, at);
}

ssize_t writev(int fd, const struct iovec *v, int n) {
    return fail(fd) ? -1 : NEXT(writev)(fd, v, n);
}

ssize_t pwritev(int fd, const struct iovec *v, int n, off_t at) {
    return fail(fd) ? -1 : NEXT(pwritev)(fd, v, n, at);
}

ssize_t pwritev64(int fd, const struct iovec *v, int n, off_t at) {
    return fail(fd) ? -1 : NEXT(pwritev64)(fd, v, n, at);
}

ssize_t pwritev2(int fd, const struct iovec *v, int n, off_t at, int flags) {
    return fail(fd) ? -1 : NEXT(pwritev2)(fd, v, n, at, flags);
}
