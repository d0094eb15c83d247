/*
 * fsutil.h -- small filesystem helpers shared by the spool and the
 * accounting writer.
 */
#ifndef SLUICE_FSUTIL_H
#define SLUICE_FSUTIL_H

#include <sys/types.h>

/*
 * Create a directory and any missing parents (like mkdir -p). Existing
 * directories are fine. Returns 0, or -1 with errno set (ENOTDIR if a
 * component exists and is not a directory).
 */
int fs_mkdir_p(const char *path, mode_t mode);

/* Create the parent directory of a file path (mkdir -p of its dirname). */
int fs_mkdir_parent(const char *file, mode_t mode);

#endif
