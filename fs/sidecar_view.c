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
 * Cost: one GET of the (small) sidecar per getattr/open of that one file; the kernel's
 * attribute cache spares most of them.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "mvbfs.h"

int sidecar_view(struct mvbfs *m, const char *path, struct buf *out)
{
	const char *slash = strchr(path + 1, '/');
	struct buf raw = BUF_INIT(SIDECAR_MAX);
	char key[OBJSTORE_KEY_MAX];
	int rc;

	if (path[0] != '/' || !slash || strcmp(slash + 1, SIDECAR_NAME) ||
	    (size_t)(slash - path) > 256)
		return 0;
	if (snprintf(key, sizeof(key), "%s%.*s/%s", ns_root_prefix(m->ns),
		     (int)(slash - path - 1), path + 1, SIDECAR_NAME) >= (int)sizeof(key))
		return 0;
	rc = objstore_get_all(m->store, key, &raw, NULL);
	if (rc == 0)
		rc = sidecar_as_copied(raw.p ? raw.p : "", raw.len, out);
	else
		rc = 0;	/* not there or unreadable: the listing's view stands */
	buf_release(&raw);
	return rc;
}
