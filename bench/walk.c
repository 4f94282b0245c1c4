/* walk DIR...: the file-system work of a build tool scanning a tree. Walks
 * each DIR with opendir/readdir, lstat()s every entry and open()s and
 * close()s every regular file, then prints what it saw, so that the setups
 * of bench/run.sh can be compared. Exit status 1 if anything failed. */
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static unsigned long entries, files, dirs, errors;

static void walk(char *path, size_t len)
{
        DIR *d = opendir(path);
        if (!d) {
                errors++;
                return;
        }
        const struct dirent *e;
        while ((e = readdir(d)) != NULL) {
                const char *name = e->d_name;
                if (!strcmp(name, ".") || !strcmp(name, "..")) {
                        continue;
                }
                size_t n = strlen(name);
                if (len + 1 + n >= PATH_MAX) {
                        errors++;
                        continue;
                }
                path[len] = '/';
                memcpy(path + len + 1, name, n + 1);
                entries++;
                struct stat st;
                if (lstat(path, &st) < 0) {
                        errors++;
                } else if (S_ISDIR(st.st_mode)) {
                        dirs++;
                        walk(path, len + 1 + n);
                } else if (S_ISREG(st.st_mode)) {
                        files++;
                        int fd = open(path, O_RDONLY | O_CLOEXEC);
                        if (fd < 0) {
                                errors++;
                        } else {
                                close(fd);
                        }
                }
                path[len] = '\0';
        }
        closedir(d);
}

int main(int argc, char **argv)
{
        static char path[PATH_MAX];
        for (int i = 1; i < argc; i++) {
                size_t len = strlen(argv[i]);
                if (len >= sizeof(path)) {
                        errors++;
                        continue;
                }
                memcpy(path, argv[i], len + 1);
                walk(path, len);
        }
        printf("entries=%lu dirs=%lu files=%lu errors=%lu\n", entries, dirs, files, errors);
        return errors ? 1 : 0;
}
