/*
 * main.c - mvbackupfs: mount a Milvus backup root (milvus-backup's format, on S3 or a local
 * directory) as a filesystem.
 *
 * Startup validates everything it can before mounting (spec §2): the config file, the
 * storage type, that the bucket exists and the credentials work.  Each problem is one clear
 * line on stderr and exit status 1, and nothing is mounted.  Then it mounts, daemonises
 * (unless -f), starts its worker threads and serves until unmounted or signalled.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "mvbackupfs/config/config.h"
#include "mvbackupfs/base/log.h"
#include "mount.h"
#include <fuse_lowlevel.h>	/* fuse_parse_cmdline; after mount.h sets FUSE_USE_VERSION */
#include "mvbackupfs/base/version.h"
#include "mvbackupfs/rpc/milvus_client.h"

struct options {
	char *config;
	char *log;	/* -o log=FILE */
	char *source;	/* the first of two non-options: fstab's "SOURCE MOUNTPOINT" */
	int nonopts;	/* non-options after it */
	int help;
	int version;
	int print_config;
	int read_only;
};

enum { KEY_HELP, KEY_VERSION, KEY_PRINT_CONFIG, KEY_RO };

static const struct fuse_opt opt_spec[] = {
	{ "-c %s", offsetof(struct options, config), 0 },
	{ "--config=%s", offsetof(struct options, config), 0 },
	{ "config=%s", offsetof(struct options, config), 0 },	/* -o config=FILE (fstab) */
	{ "log=%s", offsetof(struct options, log), 0 },
	FUSE_OPT_KEY("-h", KEY_HELP),
	FUSE_OPT_KEY("--help", KEY_HELP),
	FUSE_OPT_KEY("-V", KEY_VERSION),
	FUSE_OPT_KEY("--version", KEY_VERSION),
	FUSE_OPT_KEY("--print-config", KEY_PRINT_CONFIG),
	FUSE_OPT_KEY("ro", KEY_RO),
	FUSE_OPT_END
};

static int opt_proc(void *data, const char *arg, int key, struct fuse_args *outargs)
{
	struct options *o = data;

	switch (key) {
	case KEY_HELP:
		o->help = 1;
		return 0;
	case KEY_VERSION:
		o->version = 1;
		return 0;
	case KEY_PRINT_CONFIG:
		o->print_config = 1;
		return 0;
	case KEY_RO:
		o->read_only = 1;
		return 1;	/* keep: the kernel mounts read-only too */
	case FUSE_OPT_KEY_NONOPT:
		/* mount(8) through mount.fuse3 runs "mvbackupfs SOURCE MOUNTPOINT -o ...": hold
		 * the first back until we know whether a mountpoint follows (main) */
		if (!o->source) {
			o->source = strdup(arg);
			return o->source ? 0 : -1;
		}
		o->nonopts++;
		return 1;
	default:
		return 1;
	}
}

static void usage(const char *prog)
{
	printf("usage: %s [-c FILE] MOUNTPOINT [options]\n"
	       "\n"
	       "Mount the Milvus backups in <backupBucketName>/<backupRootPath>/ (milvus-backup's\n"
	       "format, on S3-compatible storage or a local directory) at MOUNTPOINT.\n"
	       "\n"
	       "options:\n"
	       "  -c FILE, --config=FILE  milvus-backup's backup.yaml (default: $MVBACKUPFS_CONFIG,\n"
	       "                          then ./configs/backup.yaml, then ./backup.yaml)\n"
	       "  -f                      stay in the foreground, log to stderr\n"
	       "  -d                      debug: foreground, FUSE requests logged\n"
	       "  -s                      single-threaded\n"
	       "  -o ro                   read-only: no snapshot, import, restore or delete\n"
	       "  -o log=FILE             log to FILE (appended, time-stamped) instead of syslog\n"
	       "                          (or stderr with -f); stderr goes there too\n"
	       "  -o OPT[,OPT...]         other FUSE mount options (allow_other, uid=, gid=, ...)\n"
	       "  --print-config          print the resolved configuration (secrets masked), exit\n"
	       "  -h, --help              this help\n"
	       "  -V, --version           the version\n"
	       "\n"
	       "In the mount: ls, cat NAME/.info, cat NAME/.status, cat .info; see mvbackupfs(1).\n",
	       prog);
}

/* One line on stderr when Milvus does not answer within a second: snapshots need it. */
static void milvus_warn_if_down(const struct config *cfg)
{
	const struct milvus_config *mc = &cfg->milvus;
	struct milvus_client_opts o;
	struct milvus_client *probe = NULL;
	struct errmsg e = { { 0 } };
	int rc;

	mvbfs_milvus_opts(cfg, 1000, 1, &o);
	rc = milvus_client_new(&o, &probe, &e);
	if (!rc)
		rc = milvus_connect(probe, &e);
	milvus_client_free(probe);
	if (rc)
		fprintf(stderr, "mvbackupfs: warning: Milvus at %s:%d does not answer (%s): browsing "
			"works, snapshots fail until it does\n", mc->address, mc->port,
			errmsg_str(&e, rc));
}

/*
 * Keep the credentials out of core dumps (spec §7): the process is made non-dumpable before
 * the config is read.  PR_SET_DUMPABLE rather than MADV_DONTDUMP on the secret strings,
 * because the secrets are copied where no madvise can follow them (the SigV4 signing keys,
 * curl's header lists with the Milvus authorization, libyaml's and libcurl's buffers).  It
 * also keeps other users' debuggers and /proc/PID/mem out.  Not under AddressSanitizer:
 * LeakSanitizer must ptrace the process at exit, which a non-dumpable process refuses.
 */
static void no_core_dumps(void)
{
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define MVB_ASAN 1
#endif
#endif
#if !defined(__SANITIZE_ADDRESS__) && !defined(MVB_ASAN)
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
		fprintf(stderr, "mvbackupfs: warning: cannot disable core dumps (%s): a crash "
			"may write credentials to a core file\n", strerror(errno));
#endif
}

/* One line on stderr when backups share Milvus's root (issue 6, bug 1). */
static void shared_root_warn(const struct config *cfg)
{
	if (!config_backups_share_milvus_root(cfg))
		return;
	fprintf(stderr, "mvbackupfs: warning: backups share Milvus's root: backupRootPath '%s' "
		"and Milvus's rootPath '%s' overlap in the same bucket '%s'; Milvus's data "
		"directories (insert_log, delta_log, ...) are not shown and never deleted - set "
		"minio.backupRootPath (e.g. 'backup') to keep them apart\n",
		cfg->backup_storage.root_path, cfg->milvus_storage.root_path,
		cfg->backup_storage.bucket ? cfg->backup_storage.bucket : "");
}

static int fail(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "mvbackupfs: ");
	fprintf(stderr, fmt, a, b);
	fputc('\n', stderr);
	return 1;
}

/* Find and load the configuration (-c FILE or the default places) into cfg; *cfg_ok tells
 * whether cfg needs config_release.  0, or 1 with the reason printed. */
static int load_config(const char *path, struct config *cfg, int *cfg_ok)
{
	struct errmsg e = { { 0 } };
	char *cfgpath = path ? strdup(path) : config_find_default();
	int rc, ret = 1;

	if (!cfgpath)
		return fail("no configuration file: pass -c FILE (or set MVBACKUPFS_CONFIG, or put "
			    "backup.yaml in ./configs/ or ./)%s%s", "", "");
	rc = config_init(cfg);
	if (rc) {
		fail("cannot initialise the configuration: %s%s", strerror(-rc), "");
		goto out;
	}
	*cfg_ok = 1;
	rc = config_load(cfg, cfgpath, &e);
	if (rc) {
		fail("%s%s", errmsg_str(&e, rc), "");
		goto out;
	}
	ret = 0;
out:
	free(cfgpath);
	return ret;
}

/* --print-config: the resolved values, secrets masked; the exit status. */
static int print_config(const struct config *cfg)
{
	struct buf b = BUF_INIT(1u << 20);

	config_dump(cfg, &b);
	fputs(b.p ? b.p : "", stdout);
	buf_release(&b);
	return 0;
}

/* Open the backup store and check it answers.  Nothing of it is kept: no thread or connection
 * may survive into the daemon's fork. */
static int check_storage(const struct config *cfg, struct errmsg *e)
{
	struct objstore *probe = NULL;
	int rc = config_open_store(cfg, &cfg->backup_storage, &probe, e);

	if (!rc)
		rc = objstore_check(probe, e);
	objstore_free(probe);
	return rc;
}

/* 0 when `mp` names a directory, else 1 with the reason printed. */
static int check_mountpoint(const char *mp, const char *argv0)
{
	struct stat st;

	if (!mp) {
		fprintf(stderr, "mvbackupfs: no mount point given\n");
		usage(argv0);
		return 1;
	}
	if (stat(mp, &st) != 0 || !S_ISDIR(st.st_mode))
		return fail("mount point '%s' is not a directory%s", mp, "");
	return 0;
}

/* Run the FUSE loop until unmount or a signal; the exit status. */
static int serve(struct fuse *fuse, const struct fuse_cmdline_opts *cl)
{
	struct fuse_loop_config loop = { .clone_fd = 0, .max_idle_threads = 16 };
	int rc;

	if (fuse_set_signal_handlers(fuse_get_session(fuse)) != 0)
		return 1;
	if (cl->singlethread) {
		rc = fuse_loop(fuse);
		mvbfs_read_thread_done();
	} else {
		rc = fuse_loop_mt(fuse, &loop);
	}
	fuse_remove_signal_handlers(fuse_get_session(fuse));
	/* libfuse (3.12 on) returns the signal that ended the loop (SIGTERM, SIGINT, SIGHUP):
	 * being asked to stop is a clean exit; only a negative value is an error */
	if (rc > 0)
		log_info("stopping on signal %d", rc);
	log_info("unmounted %s", cl->mountpoint);
	return rc < 0 ? 1 : 0;
}

/* The command line into *o and *cl.  -1 to go on, else main's exit status (-V, -h, a bad
 * option: what was parsed is freed then). */
static int parse_args(struct fuse_args *args, struct options *o, struct fuse_cmdline_opts *cl,
		      const char *argv0)
{
	struct stat st;

	if (fuse_opt_parse(args, o, opt_spec, opt_proc) == -1)
		return 1;
	if (o->source && !o->nonopts) {
		/* the only non-option: the mountpoint */
		if (fuse_opt_add_arg(args, o->source) == -1)
			return 1;
	} else if (o->source && !o->config && stat(o->source, &st) == 0 && S_ISREG(st.st_mode)) {
		/* fstab: a SOURCE that is a file is the configuration ("mvbackupfs" is a label) */
		o->config = strdup(o->source);
	}
	free(o->source);
	o->source = NULL;
	if (o->version || o->help) {
		if (o->version)
			printf("mvbackupfs %s (libfuse %s, %s)\n", mvb_version(), fuse_pkgversion(),
			       curl_version());
		else
			usage(argv0);
		free(o->config);
		free(o->log);
		fuse_opt_free_args(args);
		return 0;
	}
	if (fuse_parse_cmdline(args, cl) != 0) {
		free(o->config);
		free(o->log);
		fuse_opt_free_args(args);
		return 1;
	}
	return -1;
}

/*
 * -o log=FILE: opened before daemonising (a relative path is the caller's, and an error is
 * still one line on the terminal), pointed to by stderr once daemonised.  A file rather than
 * syslog for hosts and containers without a syslog daemon; and whatever else writes to
 * stderr (libfuse, a sanitizer's report) is kept instead of going to /dev/null.  The fd, or
 * -1 after saying why.
 */
static int log_open(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

	if (fd < 0)
		fail("cannot open the log file '%s': %s", path, strerror(errno));
	return fd;
}

/* Once daemonised: the log goes to the -o log file (*log_fd, then closed and -1), else to
 * stderr in the foreground or syslog.  0, or -1 when stderr cannot be redirected. */
static int log_start(int *log_fd, const struct fuse_cmdline_opts *cl)
{
	if (*log_fd >= 0) {
		if (dup2(*log_fd, STDERR_FILENO) < 0)
			return -1;
		close(*log_fd);
		*log_fd = -1;
		setvbuf(stderr, NULL, _IONBF, 0);
		log_setup(LOG_DEST_FILE, cl->debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	} else {
		log_setup(cl->foreground ? LOG_DEST_STDERR : LOG_DEST_SYSLOG,
			  cl->debug ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	}
	return 0;
}

int main(int argc, char *argv[])
{
	struct fuse_args args = FUSE_ARGS_INIT(argc, argv);
	struct fuse_cmdline_opts cl = { 0 };
	struct options o = { 0 };
	struct config cfg;
	struct errmsg e = { { 0 } };
	struct mvbfs *m = NULL;
	struct fuse *fuse = NULL;
	int rc, ret = 1, cfg_ok = 0, mounted = 0, log_fd = -1;

	no_core_dumps();
	rc = parse_args(&args, &o, &cl, argv[0]);
	if (rc >= 0)
		return rc;

	if (load_config(o.config, &cfg, &cfg_ok))
		goto out;
	if (o.print_config) {
		ret = print_config(&cfg);
		goto out;
	}
	if (check_mountpoint(cl.mountpoint, argv[0]))
		goto out;

	/* spec §2: check storage before mounting; one clear line, exit 1, nothing mounted */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = check_storage(&cfg, &e);
	if (rc) {
		ret = fail("%s%s", errmsg_str(&e, rc), "");
		goto out;
	}

	if (o.log && (log_fd = log_open(o.log)) < 0) {
		ret = 1;
		goto out;
	}

	/* spec §2: an unreachable Milvus is only a warning - browsing works without it */
	milvus_warn_if_down(&cfg);
	shared_root_warn(&cfg);

	m = mvbfs_new();
	if (!m) {
		ret = fail("%s%s", strerror(ENOMEM), "");
		goto out;
	}
	fuse_opt_add_arg(&args, "-odefault_permissions");
	fuse_opt_add_arg(&args, "-ofsname=mvbackupfs");
	fuse_opt_add_arg(&args, "-osubtype=mvbackupfs");
	fuse = fuse_new(&args, mvbfs_operations(), sizeof(struct fuse_operations), m);
	if (!fuse)
		goto out;
	if (fuse_mount(fuse, cl.mountpoint) != 0) {
		ret = fail("cannot mount on '%s'%s", cl.mountpoint, "");
		goto out;
	}
	mounted = 1;
	if (mvbfs_read_io_install(fuse_get_session(fuse)) != 0)
		log_info("read replies are copied: cannot hook the FUSE session");
	if (fuse_daemonize(cl.foreground) != 0)
		goto out;
	if (log_start(&log_fd, &cl) != 0)
		goto out;	/* cannot happen with a valid fd; nothing to log to */
	rc = mvbfs_start(m, &cfg, o.read_only, &e);
	if (rc) {
		log_err("%s", errmsg_str(&e, rc));
		goto out;
	}
	log_info("mounted %s/%s on %s%s", mvbfs_store_name(m), cfg.backup_storage.root_path,
		 cl.mountpoint, o.read_only ? " (read-only)" : "");
	ret = serve(fuse, &cl);
out:
	/*
	 * Shutdown order (bug 6): job threads may still run (a snapshot at SIGTERM) and wake
	 * poll()ers through the FUSE session.  So: stop the wake-ups and cancel the jobs while
	 * the session is whole; unmount (the mountpoint goes at once, the jobs wind down
	 * meanwhile); wait for the jobs and free the mount; only then destroy the session.
	 */
	if (m)
		mvbfs_close(m);
	if (mounted)
		fuse_unmount(fuse);
	if (m)
		mvbfs_stop(m);
	mvbfs_free(m);
	if (fuse)
		fuse_destroy(fuse);
	if (cfg_ok)
		config_release(&cfg);
	if (log_fd >= 0)
		close(log_fd);
	free(cl.mountpoint);
	free(o.config);
	free(o.log);
	fuse_opt_free_args(&args);
	curl_global_cleanup();
	return ret;
}
