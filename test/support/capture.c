/* stderr to a scratch file and back. */
#include "test/support/capture.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "test/support/env.h"

void ts_stderr_begin(ts_capture_t *c)
{
    c->dir = ts_tmpdir_new("stderr");
    snprintf(c->path, sizeof(c->path), "%s/stderr.log", c->dir);
    c->fd = open(c->path, O_CREAT | O_WRONLY | O_TRUNC, 0600);
    c->saved = dup(STDERR_FILENO);
    if (c->fd < 0 || c->saved < 0 || dup2(c->fd, STDERR_FILENO) < 0) {
        perror("capturing stderr");
        exit(1);
    }
}

char *ts_stderr_end(ts_capture_t *c)
{
    dup2(c->saved, STDERR_FILENO);
    close(c->saved);
    close(c->fd);
    char *text = ts_read_file(c->path, NULL);
    ts_rmrf(c->dir);
    free(c->dir);
    if (text == NULL) {
        fprintf(stderr, "cannot read the captured stderr\n");
        exit(1);
    }
    return text;
}
