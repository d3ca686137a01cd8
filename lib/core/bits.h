/*
 * bits.h: bit counting without libgcc.  Debian's x86-64 baseline has no
 * POPCNT, so __builtin_popcountll compiles to a call to libgcc's
 * __popcountdi2, which the link puts at the very end of the library's
 * text: a program that counted one bitmap had that last 64 KiB of text
 * faulted in (see os/layout.h).  This is the same arithmetic inline.
 */
#ifndef MRI_BITS_H
#define MRI_BITS_H

#include <stdint.h>

static inline unsigned
mri_popcount64(uint64_t x)
{
	x = x - ((x >> 1) & 0x5555555555555555ULL);
	x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
	x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
	return (unsigned)((x * 0x0101010101010101ULL) >> 56);
}

#endif
