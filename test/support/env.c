/* The integration tests' view of their environment: binary, fixtures, scratch space, ports. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* asprintf, memmem */
#endif
#include "test/support/env.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *ts_env_require(const char *name, const char *why)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0') {
        fprintf(stderr, "%s is not set: %s\n", name, why);
        exit(1);
    }
    return v;
}

const char *ts_bin(void)
{
    return ts_env_require("HS_BIN", "the path of the built server binary (ctest sets it)");
}

const char *ts_fixture(const char *rel)
{
    static char ring[4][1024];
    static unsigned next;
    char *buf = ring[next++ % 4];
    const char *root = ts_env_require("HS_SOURCE_DIR", "the repo root (ctest sets it)");
    snprintf(buf, sizeof(ring[0]), "%s/test/fixtures/%s", root, rel);
    if (access(buf, R_OK) != 0) {
        fprintf(stderr, "fixture %s is missing: %s\n", buf, strerror(errno));
        exit(1);
    }
    return buf;
}

char *ts_tmpdir_new(const char *prefix)
{
    const char *root = getenv("HS_TMP");
    if (root == NULL || *root == '\0')
        root = "/tmp";
    char *path;
    if (asprintf(&path, "%s/%s-XXXXXX", root, prefix) < 0)
        abort();
    if (mkdtemp(path) == NULL) {
        fprintf(stderr, "mkdtemp %s: %s\n", path, strerror(errno));
        exit(1);
    }
    return path;
}

void ts_rmrf(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (d != NULL) {
            struct dirent *e;
            while ((e = readdir(d)) != NULL) {
                if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                    continue;
                char *child;
                if (asprintf(&child, "%s/%s", path, e->d_name) < 0)
                    abort();
                ts_rmrf(child);
                free(child);
            }
            closedir(d);
        }
        rmdir(path);
    } else {
        unlink(path);
    }
}

void ts_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (f == NULL || fputs(text, f) < 0 || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s: %s\n", path, strerror(errno));
        exit(1);
    }
}

char *ts_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t got;
    while (buf != NULL && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
        n += got;
        if (cap - n - 1 == 0)
            buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (buf == NULL)
        abort();
    buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

static struct sockaddr_in loopback(uint16_t port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

static uint16_t bind_any_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = loopback(0);
    socklen_t alen = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 || getsockname(fd, (struct sockaddr *)&a, &alen) != 0) {
        fprintf(stderr, "cannot pick a free port: %s\n", strerror(errno));
        exit(1);
    }
    close(fd);
    return ntohs(a.sin_port);
}

uint16_t ts_free_port(void)
{
    /* The kernel may hand out a port again once it is closed: never return one of the last few,
     * which a test may be about to use for another listener. */
    static uint16_t recent[32];
    static unsigned next;
    for (int attempt = 0; attempt < 100; attempt++) {
        uint16_t port = bind_any_port();
        int seen = 0;
        for (size_t i = 0; i < sizeof(recent) / sizeof(recent[0]); i++)
            seen |= recent[i] == port;
        if (!seen) {
            recent[next++ % (sizeof(recent) / sizeof(recent[0]))] = port;
            return port;
        }
    }
    fprintf(stderr, "cannot pick a fresh free port\n");
    exit(1);
}

int ts_port_refuses(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = loopback(port);
    int err = 0;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
        err = errno;
        struct pollfd p = {.fd = fd, .events = POLLOUT};
        socklen_t elen = sizeof(err);
        /* bounded: a listener with a full backlog must not hang the test */
        if (err == EINPROGRESS && poll(&p, 1, 1000) == 1)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen);
    }
    close(fd);
    return err == ECONNREFUSED;
}

int64_t ts_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void ts_nap_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

int ts_run_command(const char *path, int timeout_ms)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        execl(path, path, (char *)NULL);
        fprintf(stderr, "cannot run %s: %s\n", path, strerror(errno));
        _exit(127);
    }
    int64_t deadline = ts_now_ms() + timeout_ms;
    int wstatus;
    while (waitpid(pid, &wstatus, WNOHANG) == 0) {
        if (ts_now_ms() >= deadline) {
            fprintf(stderr, "%s did not finish within %d ms: killing it\n", path, timeout_ms);
            kill(pid, SIGKILL);
            waitpid(pid, &wstatus, 0);
            return -1;
        }
        ts_nap_ms(10);
    }
    return WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
}

char *ts_fixture_text(const char *rel)
{
    char *text = ts_read_file(ts_fixture(rel), NULL);
    if (text == NULL) {
        fprintf(stderr, "cannot read fixture %s\n", rel);
        exit(1);
    }
    return text;
}
