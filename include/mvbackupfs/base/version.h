/*
 * version.h - the program's version ("0.1.0"), from CMake's project() version.
 */
#ifndef MVBACKUPFS_VERSION_H
#define MVBACKUPFS_VERSION_H

/* A static string; never NULL. */
const char *mvb_version(void);

#endif
