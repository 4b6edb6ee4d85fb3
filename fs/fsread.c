/*
 * fsread.c - read replies that go from a read-ahead chunk to the kernel without a copy in user
 * space (issue 10, spec §8 CPU per GiB).
 *
 * libfuse's high-level `read` makes the file system copy into a buffer libfuse allocated, and
 * `read_buf` free()s every memory buffer it is given (fuse.c: fuse_free_buf), so chunk memory
 * cannot be handed over as a buffer.  Handing it over as a pipe (vmsplice, SPLICE_WRITE) needs
 * a pipe larger than fs.pipe-max-size (1 MiB) for a 1 MiB reply plus its header, which an
 * unprivileged daemon — or root without CAP_SYS_RESOURCE, as in a container — cannot have.
 *
 * What is done instead: the session's device I/O is hooked (fuse_session_custom_io, installed
 * by mvbfs_read_io_install) and the chunk goes to the kernel in the reply's own writev().
 * op_read_buf pins the chunk (ra_read_pin) and returns, as the reply's memory buffer, the
 * buffer libfuse would have had it copy into, untouched (libfuse frees it afterwards); this
 * thread remembers (buffer, length) -> (chunk bytes, pin).  libfuse sends a one-buffer memory
 * reply as writev(header, buffer) from the same thread, synchronously inside fuse_reply_data
 * (fuse_lowlevel.c: fuse_send_data_iov_fallback, its "common case", unchanged from 3.0 to
 * 3.18); io_writev finds the remembered buffer in the iovec by address and length, writes the
 * chunk bytes in its place, and gives the pin back as soon as writev returns: the kernel has
 * copied the reply into the reader's buffer by then.  Before: chunk -> libfuse's buffer
 * (memcpy) -> kernel (writev); now chunk -> kernel (writev), the same system call.
 *
 * Safety net: a lent chunk is never held past the thread's next receive (the receive hooks);
 * if a reply did not pass through io_writev as expected (a libfuse that changed), that is
 * logged and lending stops for the rest of the mount.  Lending is used only with the hooks in
 * place and a libfuse 3.x; virtual files, replies under a page and reads that span chunks or
 * were read directly are copied as before.  MVBACKUPFS_NO_ZEROCOPY=1 in the environment turns
 * lending off (for comparisons).
 */
#include "fsops_internal.h"

#include <errno.h>
#include <fuse_lowlevel.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "mvbackupfs/base/log.h"

/* below a page the copy costs less than the bookkeeping */
#define RD_LEND_MIN	4096u

/* What this thread's pending read reply lends: the reply buffer libfuse will send, and the
 * chunk bytes to send in its place.  Thread-local: libfuse sends the reply in the thread that
 * produced it, so no lock. */
struct rd_lend {
	const void *token;	/* the reply buffer as libfuse holds it (never written) */
	size_t len;
	struct ra_pin pin;	/* the bytes to send instead */
};

static _Thread_local struct rd_lend rd_lend;
static int rd_hooked;		/* custom io installed; written before the loop starts */
static atomic_int rd_on;	/* lending in use: set in op_init (before any READ), cleared if
				 * libfuse ever sends a reply some other way */

int op_read_buf(const char *path, struct fuse_bufvec **bufp, size_t size, off_t off,
		struct fuse_file_info *fi)
{
	struct fh *h = (struct fh *)(uintptr_t)fi->fh;
	struct ra_pin pin = { 0 };
	struct errmsg e = { { 0 } };
	struct fuse_bufvec *bv;
	void *mem;
	ssize_t n;

	bv = malloc(sizeof(*bv));
	mem = malloc(size ? size : 1);
	if (!bv || !mem) {
		free(bv);
		free(mem);
		return -ENOMEM;
	}
	if (h->ra && !h->imp && off >= 0 && size >= RD_LEND_MIN &&
	    atomic_load_explicit(&rd_on, memory_order_relaxed)) {
		n = ra_read_pin(h->ra, mem, size, (uint64_t)off, &pin, &e);
		if (n < 0)
			fo_log_failure("cannot read", path, (int)n, &e);
	} else {
		n = fo_read_copy(path, mem, size, off, fi);
	}
	if (n < 0) {
		free(bv);
		free(mem);
		return (int)n;
	}
	*bv = (struct fuse_bufvec)FUSE_BUFVEC_INIT((size_t)n);
	bv->buf[0].mem = mem;
	if (pin.data) {
		/* io_writev sends pin's bytes where libfuse sends mem */
		rd_lend.token = mem;
		rd_lend.len = (size_t)n;
		rd_lend.pin = pin;
	}
	*bufp = bv;
	return 0;
}

/* ---- the device hooks ---------------------------------------------------------------- */

static ssize_t io_writev(int fd, struct iovec *iov, int count, void *userdata)
{
	struct iovec sub[4];
	ssize_t res;
	int i, hit = -1;

	(void)userdata;
	if (!rd_lend.token)
		return writev(fd, iov, count);
	for (i = 0; i < count && i < (int)(sizeof(sub) / sizeof(sub[0])); i++) {
		sub[i] = iov[i];
		if (iov[i].iov_base == rd_lend.token && iov[i].iov_len == rd_lend.len) {
			sub[i].iov_base = (void *)rd_lend.pin.data;
			hit = i;
		}
	}
	if (hit < 0 || count > (int)(sizeof(sub) / sizeof(sub[0])))
		return writev(fd, iov, count);	/* not the read reply (rd_received catches it) */
	res = writev(fd, sub, count);
	/* the kernel copied the reply (or refused it) inside writev: the chunk is free again */
	rd_lend.token = NULL;
	ra_unpin(&rd_lend.pin);
	return res;
}

/* A thread asks for its next request: its last reply is sent.  A lent chunk still remembered
 * means that reply did not go through io_writev with the buffer op_read_buf gave. */
static void rd_received(void)
{
	if (!rd_lend.token)
		return;
	if (atomic_exchange(&rd_on, 0))
		log_err("read replies: libfuse sent a reply without the expected writev; "
			"copying every reply from now on");
	rd_lend.token = NULL;
	ra_unpin(&rd_lend.pin);
}

static ssize_t io_read(int fd, void *buf, size_t len, void *userdata)
{
	(void)userdata;
	rd_received();
	return read(fd, buf, len);
}

/* splice hooks: libfuse offers SPLICE_READ/WRITE with custom io only when these exist */
static ssize_t io_splice_receive(int fdin, off_t *offin, int fdout, off_t *offout, size_t len,
				 unsigned int flags, void *userdata)
{
	(void)userdata;
	rd_received();
	return splice(fdin, offin, fdout, offout, len, flags);
}

static ssize_t io_splice_send(int fdin, off_t *offin, int fdout, off_t *offout, size_t len,
			      unsigned int flags, void *userdata)
{
	(void)userdata;
	return splice(fdin, offin, fdout, offout, len, flags);
}

int mvbfs_read_io_install(struct fuse_session *se)
{
	static const struct fuse_custom_io io = {
		.read = io_read,
		.writev = io_writev,
		.splice_receive = io_splice_receive,
		.splice_send = io_splice_send,
	};
	int rc;

	/* the reply path this relies on (see the top) is libfuse 3's */
	if (fuse_version() < 300 || fuse_version() >= 400)
		return -ENOTSUP;
	rc = fuse_session_custom_io(se, &io, fuse_session_fd(se));
	if (rc)
		return rc;
	rd_hooked = 1;
	return 0;
}

void mvbfs_read_thread_done(void)
{
	rd_received();
}

void fo_read_init(struct fuse_conn_info *conn)
{
	const char *off = getenv("MVBACKUPFS_NO_ZEROCOPY");

	(void)conn;
	if (rd_hooked && !(off && *off && strcmp(off, "0")))
		atomic_store(&rd_on, 1);
}
