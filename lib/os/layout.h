/*
 * layout.h: where a function goes in the library's text.
 *
 * The kernel maps a shared library's file pages 64 KiB at a time around
 * each fault (fault_around_bytes), so a program's RSS holds every 64 KiB
 * window of our text it runs anything in.  Link order puts the allocator's
 * core first and the scavenger, the daemon client and the profiler after
 * it, in the second window; a program too small to start the scavenger
 * still ran a few of their functions at start-up (registering the
 * scavenger's clients, the client's failed connect to an absent daemon,
 * the profiler's set-up and first tick), which cost it the second window,
 * 44 KiB.  MRI_STARTUP puts such a function in .text.startup, which the
 * linker places ahead of the rest of the text, with the core.
 * tests/programs/prog_overhead checks that a trivial program has at most
 * one window of our text resident.
 */
#ifndef MRI_LAYOUT_H
#define MRI_LAYOUT_H

#define MRI_STARTUP __attribute__((section(".text.startup")))

#endif
