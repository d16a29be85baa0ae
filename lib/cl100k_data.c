/* cl100k_data.c -- the cl100k_base rank file, linked into the binary.
 *
 * .incbin puts the committed lib/cl100k_base.bpe (see its NOTICE)
 * into .rodata at build time: no file to find at run time, no network at
 * build time. The path is relative to the top of the tree, where make runs.
 */
#include <stddef.h>

__asm__(".section .rodata\n"
        ".balign 16\n"
        ".global nz_cl100k_data\n"
        "nz_cl100k_data:\n"
        ".incbin \"lib/cl100k_base.bpe\"\n"
        ".global nz_cl100k_end\n"
        "nz_cl100k_end:\n"
        ".byte 0\n"
        ".previous\n");
