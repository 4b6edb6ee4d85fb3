/*
 * sidecar_view.c - what a mount shows as <name>/mvbackupfs.json of a committed copy.
 *
 * A copy commits with the merge of the sidecar that arrived and the copying mount's
 * reservation (sidecar_merge_copy), which is longer than what arrived.  Shown as stored,
 * the file would have another size than its source, so a second `rsync -a` of the same
 * source would send it again (and fail: a committed backup is read-only), and the copy
 * would not read byte-identical to its source.  While the merge changed nothing that
 * travels, the stored sidecar keeps the bytes that arrived ("as_copied", sidecar.h) and the
 * mount shows those: size, content, and (from the mtimes record) the source's mtime.  Once
 * the sidecar is rewritten (an `.expires` change) "as_copied" is gone and the stored
 * sidecar is shown, which then also travels onward with its new expiry.
 *
 * Cost: none per stat, listing or open.  The namespace reads the stored sidecar once per
 * version of it (ns_sidecar_view, ns_sidecar.c) and gives its "as_copied" length as the
 * file's size (ns_getattr), so a readdirplus entry says the same as a lookup; an open checks
 * first whether another mount rewrote it (at most one HEAD per cache TTL).
 */
#include <string.h>

#include "mvbfs.h"

int sidecar_view(struct mvbfs *m, const char *path, struct buf *out)
{
	const char *slash = strchr(path + 1, '/');
	char name[256];

	if (path[0] != '/' || !slash || strcmp(slash + 1, SIDECAR_NAME) ||
	    (size_t)(slash - path - 1) >= sizeof(name))
		return 0;
	memcpy(name, path + 1, (size_t)(slash - path - 1));
	name[slash - path - 1] = '\0';
	return ns_sidecar_view(m->ns, name, out);
}
