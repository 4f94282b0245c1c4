/* early.so: a preloaded library whose constructor uses the file system before the shim may
 * have been initialised (another library's constructor may call open/stat first; issue 2 item
 * 2). It reads $EARLY_PATH (a merged file), stats it, and mkdir()s $EARLY_DIR (an existing
 * directory outside the overlay, as ASan does with its log_path), printing what it saw. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

__attribute__((constructor)) static void early(void)
{
        const char *p = getenv("EARLY_PATH");
        const char *d = getenv("EARLY_DIR");
        char buf[128];
        if (d) {
                int r = mkdir(d, 0755);
                dprintf(1, "early mkdir: %d %s\n", r, r ? strerror(errno) : "ok");
        }
        if (!p)
                return;
        int fd = open(p, O_RDONLY);
        if (fd < 0) {
                dprintf(1, "early open: %s\n", strerror(errno));
        } else {
                ssize_t n = read(fd, buf, sizeof buf - 1);
                buf[n > 0 ? n : 0] = 0;
                close(fd);
                dprintf(1, "early read: %s", buf);
        }
        struct stat st;
        if (stat(p, &st) == 0)
                dprintf(1, "early stat: size %lld\n", (long long)st.st_size);
        else
                dprintf(1, "early stat: %s\n", strerror(errno));
}
