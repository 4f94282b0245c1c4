/* spawn N PROGRAM [ARG]...: fork and exec PROGRAM (a path) N times, one after
 * the other, as a build tool starts its jobs. Measures process start-up:
 * under ovlshim every child loads the library and reads its config. Exit
 * status 1 if any run failed. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
        if (argc < 3) {
                fputs("usage: spawn N PROGRAM [ARG]...\n", stderr);
                return 2;
        }
        long n = strtol(argv[1], NULL, 10);
        long failed = 0;
        for (long i = 0; i < n; i++) {
                pid_t pid = fork();
                if (pid < 0) {
                        perror("spawn: fork");
                        return 1;
                }
                if (pid == 0) {
                        execv(argv[2], argv + 2);
                        _exit(127);
                }
                int status;
                if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status)) {
                        failed++;
                }
        }
        if (failed) {
                fprintf(stderr, "spawn: %ld of %ld runs failed\n", failed, n);
        }
        return failed ? 1 : 0;
}
