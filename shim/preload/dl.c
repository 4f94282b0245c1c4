/* dlopen of a library under MERGED. glibc's dlopen searches the caller's
 * RUNPATH, found from its return address, so a C wrapper that calls it would
 * make every bare-name dlopen search ours instead (INTERPOSITION.md 2.N).
 * This one rewrites the name in a C helper and tail-jumps to the real dlopen
 * with the caller's return address still on the stack. x86_64 only; on
 * other architectures dlopen is not interposed (README). */
#include "preload.h"

#if defined(__x86_64__)
#include <string.h>

__attribute__((visibility("hidden"))) void *ovl_real_dlopen;
static __thread char dl_buf[PATH_MAX];

/* The name to give the real dlopen: a merged path becomes the layer's. */
__attribute__((visibility("hidden"), used)) const char *ovl_dlopen_name(const char *name)
{
        if (!ovl_real_dlopen) {
                ovl_real_dlopen = ovl_real(OVL_ID_dlopen);
        }
        struct ovl_loc loc;
        if (!name || !strchr(name, '/') || ovl_at(AT_FDCWD, name, 0, &loc) != OVL_IN ||
            loc.layer < 0) {
                return name;
        }
        const char *root = loc.m->layers[loc.layer].path;
        int n = snprintf(dl_buf, sizeof(dl_buf), "%s/%s", root, loc.rel);
        ovl_log("dlopen", name, &loc, 0);
        return n < (int)sizeof(dl_buf) ? dl_buf : name;
}

__asm__(".text\n"
        ".globl dlopen\n"
        ".type dlopen, @function\n"
        "dlopen:\n"
        "        push %rsi\n"
        "        call ovl_dlopen_name\n"
        "        pop %rsi\n"
        "        mov %rax, %rdi\n"
        "        jmp *ovl_real_dlopen(%rip)\n"
        ".size dlopen, .-dlopen\n");
#endif
