/*
 * tests/reliability/iofault/iofault_shim.c - an LD_PRELOAD library that fails the N-th
 * write-class or sync-class call on a regular file, as a failing disk would (issue 7, I/O
 * faults).
 *
 * Intercepted (what LMDB and folio use, checked with strace and `nm -D liblmdb.so.0`):
 *   write class: write, pwrite, pwrite64, writev, pwritev, pwritev64, pwritev2, ftruncate,
 *                ftruncate64, fallocate, fallocate64
 *   sync class:  fsync, fdatasync, sync_file_range, msync
 * A call counts only when its descriptor is a regular file (fstat) above stderr, so terminal,
 * pipe and redirected stdout/stderr writes never count; msync has no descriptor and always
 * counts (LMDB only calls it with MDB_WRITEMAP or MDB_MAPASYNC, which folio never uses).
 *
 * Environment (read once, at the first intercepted call):
 *   IOFAULT_NTH=N        fail the N-th counted call of either class (one shared counter)
 *   IOFAULT_WRITE_NTH=N  fail the N-th write-class call (own counter)
 *   IOFAULT_SYNC_NTH=N   fail the N-th sync-class call (own counter)
 *   IOFAULT_ERRNO=E      EIO (default), ENOSPC, EDQUOT or a number
 *   IOFAULT_STICKY=1     once a fault fired, every later counted call fails too (a dead disk)
 *   IOFAULT_AFTER=1      perform the faulted call first, then report the error (the data may
 *                        have reached the file although the caller is told it did not)
 *   IOFAULT_SHORT=1      a faulted write writes only the first half of its bytes and returns
 *                        that short count without an error, as a filling disk does; faulted
 *                        syncs and truncates still fail with the errno
 *   IOFAULT_LOG=PATH     append "fault ..." when a fault fires and "total ..." at exit
 *   IOFAULT_TRACE=1      also append "call ..." for every counted call (to IOFAULT_LOG)
 * With none of the *_NTH variables set the shim only counts (use IOFAULT_LOG to read them).
 *
 * The shim calls the real functions through dlsym(RTLD_NEXT); its own log writes go through
 * the raw syscall so they are never counted. Not thread-safe beyond what the CLI needs (one
 * thread writes).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

enum { CLASS_WRITE, CLASS_SYNC };

static int configured;
static unsigned long nth_any, nth_write, nth_sync;
static unsigned long count_any, count_write, count_sync;
static unsigned long faults_fired;
static int fault_errno = EIO;
static int sticky, after, trace, short_write;
static const char *log_path;

static unsigned long env_ulong(const char *name) {
    const char *v = getenv(name);
    if (!v || !*v) return 0;
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno || *end) return 0;
    return n;
}

static void configure(void) {
    if (configured) return;
    configured = 1;
    nth_any = env_ulong("IOFAULT_NTH");
    nth_write = env_ulong("IOFAULT_WRITE_NTH");
    nth_sync = env_ulong("IOFAULT_SYNC_NTH");
    sticky = env_ulong("IOFAULT_STICKY") == 1;
    after = env_ulong("IOFAULT_AFTER") == 1;
    trace = env_ulong("IOFAULT_TRACE") == 1;
    short_write = env_ulong("IOFAULT_SHORT") == 1;
    const char *e = getenv("IOFAULT_ERRNO");
    if (e && strcmp(e, "ENOSPC") == 0) fault_errno = ENOSPC;
    else if (e && strcmp(e, "EDQUOT") == 0) fault_errno = EDQUOT;
    else if (e && strcmp(e, "EIO") != 0 && env_ulong("IOFAULT_ERRNO") > 0)
        fault_errno = (int)env_ulong("IOFAULT_ERRNO");
    log_path = getenv("IOFAULT_LOG");
    if (log_path && !*log_path) log_path = NULL;
}

/* Append one formatted line to IOFAULT_LOG with raw syscalls (never intercepted). */
static void log_line(const char *fmt, ...) {
    if (!log_path) return;
    char buf[768];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n <= 0) return;
    if ((size_t)n >= sizeof buf) n = (int)sizeof buf - 1;
    long fd = syscall(SYS_openat, AT_FDCWD, log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
                      0600);
    if (fd < 0) return;
    (void)syscall(SYS_write, fd, buf, (size_t)n);
    (void)syscall(SYS_close, fd);
}

static void fd_path(char *out, size_t cap, int fd) {
    char link[64];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, out, cap - 1);
    if (n < 0) n = 0;
    out[n] = '\0';
}

/* Whether a call on fd counts: a regular file that is not stdin, stdout or stderr. */
static int counts_fd(int fd) {
    struct stat st;
    if (fd <= 2) return 0;
    if (fstat(fd, &st) != 0) return 0;
    return S_ISREG(st.st_mode);
}

/* Count one call; returns 1 when this call must fail. fd < 0 means no descriptor (msync). */
static int should_fail(int klass, const char *fn, int fd) {
    configure();
    if (fd >= 0 && !counts_fd(fd)) return 0;
    unsigned long a = ++count_any;
    unsigned long c = klass == CLASS_WRITE ? ++count_write : ++count_sync;
    if (trace) {
        char path[512] = "";
        if (fd >= 0) fd_path(path, sizeof path, fd);
        log_line("call %lu fn=%s fd=%d path=%s\n", a, fn, fd, path);
    }
    int fire = (nth_any && a == nth_any) ||
               (klass == CLASS_WRITE && nth_write && c == nth_write) ||
               (klass == CLASS_SYNC && nth_sync && c == nth_sync);
    if (!fire && !(sticky && faults_fired)) return 0;
    faults_fired++;
    if (faults_fired == 1 || fire) {
        char path[512] = "";
        if (fd >= 0) fd_path(path, sizeof path, fd);
        log_line("fault call=%lu class=%s fn=%s fd=%d path=%s errno=%d after=%d short=%d\n", a,
                 klass == CLASS_WRITE ? "write" : "sync", fn, fd, path, fault_errno, after,
                 short_write);
    }
    return 1;
}

__attribute__((destructor)) static void report_totals(void) {
    configure();
    log_line("total calls=%lu writes=%lu syncs=%lu faults=%lu\n", count_any, count_write,
             count_sync, faults_fired);
}

#define REAL(type, name, ...)                                                                  \
    static type (*real_fn)(__VA_ARGS__);                                                      \
    if (!real_fn) real_fn = (type(*)(__VA_ARGS__))dlsym(RTLD_NEXT, name);                      \
    if (!real_fn) {                                                                           \
        errno = ENOSYS;                                                                       \
        return -1;                                                                            \
    }

/* Either fail before the call, or (IOFAULT_AFTER=1) perform it and then report failure. */
#define FAULTABLE(klass, name, fd, call)                                                       \
    do {                                                                                      \
        if (should_fail(klass, name, fd)) {                                                   \
            if (after) (void)(call);                                                          \
            errno = fault_errno;                                                              \
            return -1;                                                                        \
        }                                                                                     \
        return call;                                                                          \
    } while (0)

/* A faulted write with IOFAULT_SHORT=1: the call goes through with half the bytes (at least
 * one) and returns what the real call returned; a 0- or 1-byte write fails instead. */
#define WRITE_FAULTABLE(name, fd, n, call, half_call)                                          \
    do {                                                                                      \
        if (should_fail(CLASS_WRITE, name, fd)) {                                             \
            if (short_write && (n) > 1) return half_call;                                     \
            if (after) (void)(call);                                                          \
            errno = fault_errno;                                                              \
            return -1;                                                                        \
        }                                                                                     \
        return call;                                                                          \
    } while (0)

#define IOV_HALF_MAX 1024
/* Copy the first half of the bytes of iov into half[]; returns the iovec count. */
static int iov_half(struct iovec *half, const struct iovec *iov, int cnt) {
    size_t total = 0;
    for (int i = 0; i < cnt; i++) total += iov[i].iov_len;
    size_t want = total / 2, got = 0;
    int k = 0;
    for (int i = 0; i < cnt && k < IOV_HALF_MAX && got < want; i++) {
        half[k] = iov[i];
        if (half[k].iov_len > want - got) half[k].iov_len = want - got;
        got += half[k].iov_len;
        k++;
    }
    return k;
}

static size_t iov_bytes(const struct iovec *iov, int cnt) {
    size_t total = 0;
    for (int i = 0; i < cnt; i++) total += iov[i].iov_len;
    return total;
}

ssize_t write(int fd, const void *buf, size_t n) {
    REAL(ssize_t, "write", int, const void *, size_t);
    WRITE_FAULTABLE("write", fd, n, real_fn(fd, buf, n), real_fn(fd, buf, n / 2));
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off) {
    REAL(ssize_t, "pwrite", int, const void *, size_t, off_t);
    WRITE_FAULTABLE("pwrite", fd, n, real_fn(fd, buf, n, off), real_fn(fd, buf, n / 2, off));
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off64_t off) {
    REAL(ssize_t, "pwrite64", int, const void *, size_t, off64_t);
    WRITE_FAULTABLE("pwrite64", fd, n, real_fn(fd, buf, n, off), real_fn(fd, buf, n / 2, off));
}

ssize_t writev(int fd, const struct iovec *iov, int cnt) {
    REAL(ssize_t, "writev", int, const struct iovec *, int);
    struct iovec half[IOV_HALF_MAX];
    WRITE_FAULTABLE("writev", fd, iov_bytes(iov, cnt), real_fn(fd, iov, cnt),
                    real_fn(fd, half, iov_half(half, iov, cnt)));
}

ssize_t pwritev(int fd, const struct iovec *iov, int cnt, off_t off) {
    REAL(ssize_t, "pwritev", int, const struct iovec *, int, off_t);
    struct iovec half[IOV_HALF_MAX];
    WRITE_FAULTABLE("pwritev", fd, iov_bytes(iov, cnt), real_fn(fd, iov, cnt, off),
                    real_fn(fd, half, iov_half(half, iov, cnt), off));
}

ssize_t pwritev64(int fd, const struct iovec *iov, int cnt, off64_t off) {
    REAL(ssize_t, "pwritev64", int, const struct iovec *, int, off64_t);
    struct iovec half[IOV_HALF_MAX];
    WRITE_FAULTABLE("pwritev64", fd, iov_bytes(iov, cnt), real_fn(fd, iov, cnt, off),
                    real_fn(fd, half, iov_half(half, iov, cnt), off));
}

ssize_t pwritev2(int fd, const struct iovec *iov, int cnt, off_t off, int flags) {
    REAL(ssize_t, "pwritev2", int, const struct iovec *, int, off_t, int);
    struct iovec half[IOV_HALF_MAX];
    WRITE_FAULTABLE("pwritev2", fd, iov_bytes(iov, cnt), real_fn(fd, iov, cnt, off, flags),
                    real_fn(fd, half, iov_half(half, iov, cnt), off, flags));
}

int ftruncate(int fd, off_t len) {
    REAL(int, "ftruncate", int, off_t);
    FAULTABLE(CLASS_WRITE, "ftruncate", fd, real_fn(fd, len));
}

int ftruncate64(int fd, off64_t len) {
    REAL(int, "ftruncate64", int, off64_t);
    FAULTABLE(CLASS_WRITE, "ftruncate64", fd, real_fn(fd, len));
}

int fallocate(int fd, int mode, off_t off, off_t len) {
    REAL(int, "fallocate", int, int, off_t, off_t);
    FAULTABLE(CLASS_WRITE, "fallocate", fd, real_fn(fd, mode, off, len));
}

int fallocate64(int fd, int mode, off64_t off, off64_t len) {
    REAL(int, "fallocate64", int, int, off64_t, off64_t);
    FAULTABLE(CLASS_WRITE, "fallocate64", fd, real_fn(fd, mode, off, len));
}

int fsync(int fd) {
    REAL(int, "fsync", int);
    FAULTABLE(CLASS_SYNC, "fsync", fd, real_fn(fd));
}

int fdatasync(int fd) {
    REAL(int, "fdatasync", int);
    FAULTABLE(CLASS_SYNC, "fdatasync", fd, real_fn(fd));
}

int sync_file_range(int fd, off64_t off, off64_t n, unsigned int flags) {
    REAL(int, "sync_file_range", int, off64_t, off64_t, unsigned int);
    FAULTABLE(CLASS_SYNC, "sync_file_range", fd, real_fn(fd, off, n, flags));
}

int msync(void *addr, size_t len, int flags) {
    REAL(int, "msync", void *, size_t, int);
    FAULTABLE(CLASS_SYNC, "msync", -1, real_fn(addr, len, flags));
}
