/*
 * version.c - the program's version string, shared by --version and the meta writer.
 */
#include "mvbackupfs/base/version.h"

const char *mvb_version(void)
{
	return MVB_VERSION;
}
