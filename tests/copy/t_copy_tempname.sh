#!/usr/bin/env bash
# t_copy_tempname: a file still under a copy tool's temporary name never commits.  rsync writes
# .NAME.XXXXXX, closes it, sets its times and mode, then renames it; the bytes go to NAME's key
# from the start.  The last meta file written under its temporary name and closed leaves the
# backup importing, .status saying what it waits for; after utimens and the rename it commits,
# with the times the tool set, and one more rsync -a transfers nothing.  (The committer used
# to commit in that window on a loaded host: the rename then failed with EROFS and the file's
# mtime was lost.)  And a file whose times no tool set keeps the mtime stat showed while it
# was copied in, not its upload's: rsync skips its utimens when the source's mtime equals what
# stat shows already (a copy within the second the source was written), and a second rsync -a
# then found the upload's later time and sent the file again (CI @f908f8f, t_copy_tools).
# A time set right after the commit (rclone sets it by path after close()) still counts.
. "$(dirname "$0")/lib.sh"
cp_begin

cp_source nightly_1
cp_target
src=$MA/nightly_1 dst=$MB/nightly_1
t_check "rsync -a of all but meta/segment_meta.json exits 0 with no message" \
	sh -c "rsync -a --exclude segment_meta.json '$src' '$MB/' 2>&1 | (! grep .)"
tmp=$dst/meta/.segment_meta.json.Ab12Cd
t_check "segment_meta.json written under rsync's temporary name" \
	cp "$src/meta/segment_meta.json" "$tmp"
# what the committer says once it has looked at the backup whole but for the temporary name
t_check ".status: waiting for the temporary file to be renamed" \
	t_wait 20 grep -q "waiting for 'meta/.segment_meta.json.Ab12Cd' to be renamed" "$dst/.status" \
	|| sed 's/^/#   /' "$dst/.status"
t_eq "still importing" importing "$(cp_state "$MB" nightly_1)"
# reading a file before the commit: EBUSY, said once per copy in the log (rsync's read-only
# open of every file it wrote made a line per file)
cp_errno "cat of a file being copied in: EBUSY" "Device or resource busy" cat "$tmp"
cp_errno "cat of a binlog being copied in: EBUSY" "Device or resource busy" \
	cat "$(find "$dst/binlogs" -type f | head -n 1)"
t_eq "the daemon log says why once" 1 \
	"$(grep -c 'being copied in: readable once the backup is committed' "$T_TMP/daemon-$(basename "$MB").log")"
t_check "touch -r (rsync's utimens) of the temporary file succeeds" \
	touch -c -r "$src/meta/segment_meta.json" "$tmp"
t_check "mv to its name (rsync's rename) succeeds" mv "$tmp" "$dst/meta/segment_meta.json"
t_check "the copy commits (complete)" cp_wait_complete 60 "$MB" nightly_1 \
	|| sed 's/^/#   /' "$dst/.status"
t_eq "segment_meta.json has the source's mtime" \
	"$(stat -c %Y "$src/meta/segment_meta.json")" "$(stat -c %Y "$dst/meta/segment_meta.json")"
cp_same_objects "byte-identical to the source, object for object" \
	"$BA" backup/nightly_1 "$BB" backup/nightly_1
out=$(rsync -a --stats "$src" "$MB/" 2>&1); rc=$?
t_eq "one more rsync -a exits 0" 0 "$rc"
t_match "one more rsync -a transfers no file" 'Number of regular files transferred: 0' "$out" \
	|| printf '%s\n' "$out" | head -n 20 | sed 's/^/#   /'

# no times set: the mtime stat showed while importing is the one kept after the commit
cp_target
dst=$MB/nightly_1
t_check "cp -r of all but meta/segment_meta.json exits 0" \
	sh -c "mkdir '$dst' && cp -r '$src/binlogs' '$dst/' && mkdir '$dst/meta' && \
	for f in '$src'/meta/*; do [ \"\${f##*/}\" = segment_meta.json ] || cp \"\$f\" '$dst/meta/'; done"
tmp=$dst/meta/.segment_meta.json.Xy34Zw
t_check "segment_meta.json written under a temporary name" cp "$src/meta/segment_meta.json" "$tmp"
seen=$(stat -c %Y "$tmp")
t_check ".status: waiting for the temporary file to be renamed" \
	t_wait 20 grep -q "waiting for 'meta/.segment_meta.json.Xy34Zw' to be renamed" "$dst/.status"
# the commit writes the held file after the second it was written in has passed
t_check "the clock passes the second stat showed ($seen)" t_wait 3 sh -c "[ \$(date +%s) -gt $seen ]"
t_check "mv to its name succeeds" mv "$tmp" "$dst/meta/segment_meta.json"
t_check "the copy commits (complete)" cp_wait_complete 60 "$MB" nightly_1
t_eq "segment_meta.json: the mtime stat showed while it was copied in" \
	"$seen" "$(stat -c %Y "$dst/meta/segment_meta.json")"
# rclone closes a file, then sets its time by path: right after the commit that still counts
late=$((seen - 86400))
t_check "touch -d of a file of the copy just committed succeeds" \
	touch -c -d "@$late" "$dst/meta/segment_meta.json"
t_eq "its mtime is the one set" "$late" "$(stat -c %Y "$dst/meta/segment_meta.json")"
others() { (cd "$1" && find . -type f ! -name segment_meta.json -exec stat -c '%n %Y' {} + | sort); }
before=$(others "$dst")
t_umount "$MB" || t_bail "umount B"
MB=$(t_mkmnt)
t_mount_or_bail "$CFGB" "$MB"
t_eq "the same on a fresh mount of B" "$late" "$(stat -c %Y "$MB/nightly_1/meta/segment_meta.json")"
t_eq "the other files keep theirs on a fresh mount of B" "$before" "$(others "$MB/nightly_1")"
t_done
