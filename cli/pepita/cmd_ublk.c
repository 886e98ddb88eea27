/*
 * pepita ublk: userspace block devices. `add` makes a target, creates the
 * device and serves it (in the background unless --foreground), `list`
 * shows what the kernel has, `del` stops and deletes, `recover` serves a
 * device again whose server died. Every parameter is checked before
 * anything is created.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <pepita/blkmq.h>
#include <pepita/core.h>
#include <pepita/ublk.h>
#include <pepita/zram.h>

#include "cmd.h"
#include "json_doc.h"

/* How a device's target is made: from the command line, or its record. */
struct ublk_spec {
	const char *type;		/* "null", "ram", "loop", "zram" */
	const char *file;		/* loop's backing file */
	const char *comp;		/* zram's compressor; NULL: lz4 */
	uint64_t size;			/* bytes; 0 = loop's file size */
	unsigned int queues;
	unsigned int depth;
	int read_only;
	int recovery;
	int owned;			/* the strings are malloc'd */
};

/* Where the servers keep their records (pep_ublk_record_save). */
static const char *record_dir(void)
{
	const char *env = getenv("PEPITA_RUN_DIR");

	return env && *env ? env : "/run/pepita/ublk";
}

/* The record of device id served as s, with the counters when known. */
static void record_save(const struct ublk_spec *s, int id,
			const struct pep_ublk_stats *st,
			const struct pep_zram_mm_stat *zm)
{
	struct pep_ublk_record r = {
		.id = id, .pid = (int)getpid(), .size = s->size,
		.queues = s->queues, .depth = s->depth,
		.read_only = s->read_only, .recovery = s->recovery,
		.has_stats = st != NULL, .has_zram = zm != NULL,
	};

	snprintf(r.target, sizeof(r.target), "%s", s->type);
	snprintf(r.file, sizeof(r.file), "%s", s->file ? s->file : "");
	snprintf(r.comp, sizeof(r.comp), "%s", s->comp ? s->comp : "");
	if (st)
		r.stats = *st;
	if (zm)
		r.zram = *zm;
	/* A record not written costs `list` its counters, nothing more. */
	(void)pep_ublk_record_save(record_dir(), &r, NULL);
}

/* The spec a record was made from (its strings malloc'd: spec_free). */
static int spec_of_record(const struct pep_ublk_record *r, struct ublk_spec *s)
{
	*s = (struct ublk_spec){
		.type = strdup(r->target),
		.file = r->file[0] ? strdup(r->file) : NULL,
		.comp = r->comp[0] ? strdup(r->comp) : NULL,
		.size = r->size, .queues = r->queues, .depth = r->depth,
		.read_only = r->read_only, .recovery = r->recovery, .owned = 1,
	};
	if (!s->type || (r->file[0] && !s->file) || (r->comp[0] && !s->comp))
		return -ENOMEM;
	return 0;
}

static void spec_free(struct ublk_spec *s)
{
	if (!s->owned)
		return;
	free((char *)s->type);
	free((char *)s->file);
	free((char *)s->comp);
	s->type = s->file = s->comp = NULL;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: pepita ublk add -t null|ram|loop|zram [--file F] [--size S] [--comp C]\n"
		"                       [--queues N] [--depth D] [--id N] [--read-only]\n"
		"                       [--recovery] [--foreground] [--json]\n"
		"       pepita ublk list [--json]\n"
		"       pepita ublk del N|--all\n"
		"       pepita ublk recover N [--foreground]\n\n"
		"Serve a block device /dev/ublkbN from this process through the kernel's\n"
		"ublk driver. add prints the device once it is live and keeps serving in\n"
		"the background (--foreground: until SIGINT or SIGTERM, then deletes it).\n\n"
		"  -t, --target T   null (reads zeros), ram (memory), loop (--file),\n"
		"                   zram (compressed memory, 4 KiB blocks)\n"
		"  --file F         loop's backing file (O_DIRECT where possible)\n"
		"  --size S         bytes, with K, M, G or T (powers of 1024); loop: the\n"
		"                   file's size unless given\n"
		"  --comp C         zram's compressor: lz4 (default) or zstd\n"
		"  --queues N       hardware queues, one thread each (default 1)\n"
		"  --depth D        requests in flight per queue, 1..4096 (default 64)\n"
		"  --id N           the device number (default: the kernel picks)\n"
		"  --read-only      a read-only device (needed for a read-only file)\n"
		"  --recovery       survive the server's death: `recover N` resumes it\n"
		"  --json           add: one JSON object; list: an array\n"
		"  -h, --help       this help\n");
}

struct add_opts {
	struct ublk_spec spec;
	int id;
	int foreground;
	int json;
};

static int parse_uint(const char *opt, const char *arg, long min, long max,
		      unsigned int *out)
{
	long long v;

	if (cli_parse_ll(opt, arg, min, max, &v) < 0)
		return -1;
	*out = (unsigned int)v;
	return 0;
}

/* What add, list, del and recover need before anything else: the driver. */
static int need_driver(void)
{
	if (access("/dev/ublk-control", F_OK) == 0)
		return CMD_EXIT_OK;
	cli_error("no ublk driver: /dev/ublk-control is absent (modprobe "
		  "ublk_drv, or a kernel with CONFIG_BLK_DEV_UBLK)");
	return CMD_EXIT_UNAVAILABLE;
}

static int parse_add(int argc, char **argv, struct add_opts *o)
{
	static const struct option longopts[] = {
		{ "target", required_argument, NULL, 't' },
		{ "file", required_argument, NULL, 'f' },
		{ "size", required_argument, NULL, 's' },
		{ "queues", required_argument, NULL, 'q' },
		{ "depth", required_argument, NULL, 'd' },
		{ "id", required_argument, NULL, 'i' },
		{ "read-only", no_argument, NULL, 'r' },
		{ "recovery", no_argument, NULL, 'R' },
		{ "comp", required_argument, NULL, 'c' },
		{ "foreground", no_argument, NULL, 'F' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned int id;
	int c;

	optind = 1;
	while ((c = cli_getopt(argc, argv, "t:h", longopts)) != -1) {
		switch (c) {
		case 't': o->spec.type = optarg; break;
		case 'f': o->spec.file = optarg; break;
		case 's':
			if (pep_parse_size(optarg, &o->spec.size, NULL) < 0 ||
			    !o->spec.size) {
				cli_error("--size '%s': not a size (bytes, or with K, "
					  "M, G, T)", optarg);
				return -1;
			}
			break;
		case 'q':
			if (parse_uint("--queues", optarg, 1, 64, &o->spec.queues) < 0)
				return -1;
			break;
		case 'd':
			if (parse_uint("--depth", optarg, 1, PEP_BLK_MAX_DEPTH,
				       &o->spec.depth) < 0)
				return -1;
			break;
		case 'i':
			if (parse_uint("--id", optarg, 0, 1 << 20, &id) < 0)
				return -1;
			o->id = (int)id;
			break;
		case 'r': o->spec.read_only = 1; break;
		case 'R': o->spec.recovery = 1; break;
		case 'c': o->spec.comp = optarg; break;
		case 'F': o->foreground = 1; break;
		case 'j': o->json = 1; break;
		case 'h': usage(stdout); return 1;
		default: return -1;
		}
	}
	return 0;
}
/* zram: whole 4 KiB blocks, a known compressor, no recovery. */
static int check_zram_spec(const struct ublk_spec *s)
{
	struct pep_err err;
	enum pep_zram_comp comp;

	if (strcmp(s->type, "zram")) {
		if (s->comp) {
			cli_error("--comp is only for -t zram");
			return -1;
		}
		return 0;
	}
	if (s->comp && pep_zram_comp_parse(s->comp, &comp, &err) < 0) {
		cli_error("--comp: %s", err.msg);
		return -1;
	}
	if (s->size % PEP_ZRAM_PAGE_SIZE) {
		cli_error("--size %" PRIu64 " is not a multiple of zram's "
			  "4096-byte block size", s->size);
		return -1;
	}
	if (s->recovery) {
		cli_error("-t zram keeps its data in this process: --recovery "
			  "would bring the device back empty");
		return -1;
	}
	return 0;
}

static int check_spec(const struct ublk_spec *s)
{
	if (!s->type) {
		cli_error("-t null|ram|loop|zram is required");
		return -1;
	}
	if (strcmp(s->type, "null") && strcmp(s->type, "ram") && strcmp(s->type, "loop") &&
	    strcmp(s->type, "zram")) {
		cli_error("unknown target '%s' (null, ram, loop, zram)", s->type);
		return -1;
	}
	if (check_zram_spec(s) < 0)
		return -1;
	if (!strcmp(s->type, "loop") != !!s->file) {
		cli_error("--file %s", s->file ? "is only for the loop target" :
			  "is required for -t loop");
		return -1;
	}
	if (strcmp(s->type, "loop") && !s->size) {
		cli_error("-t %s needs --size", s->type);
		return -1;
	}
	if (s->size % 512) {
		cli_error("--size %" PRIu64 " is not a multiple of the 512-byte "
			  "block size", s->size);
		return -1;
	}
	return 0;
}

/*
 * A file nobody may write (no w bit: root could, but the mode says it is
 * not to be written), or one this process cannot write (read-only mount,
 * immutable, permissions).
 */
static int loop_file_read_only(const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return 0;		/* the loop target names the error */
	return !(st.st_mode & 0222) || access(path, W_OK) < 0;
}

static int make_zram(const struct ublk_spec *s, struct pep_blk_target **t,
		     struct pep_err *err)
{
	struct pep_zram_store_config cfg = { .size = s->size, .comp = PEP_ZRAM_LZ4 };
	int ret = 0;

	if (s->comp)
		ret = pep_zram_comp_parse(s->comp, &cfg.comp, err);
	return ret ? ret : pep_blk_zram_create(t, &cfg, err);
}

/* The target the spec describes; a loop file that is read-only needs --read-only. */
static int make_target(const struct ublk_spec *s, struct pep_blk_target **t,
		       struct pep_err *err)
{
	if (!strcmp(s->type, "null"))
		return pep_blk_null_create(t, s->size, err);
	if (!strcmp(s->type, "ram"))
		return pep_blk_ram_create(t, s->size, err);
	if (!strcmp(s->type, "zram"))
		return make_zram(s, t, err);
	if (!s->read_only && loop_file_read_only(s->file))
		return pep_err_set(err, -EROFS, "%s is read-only: use --read-only for "
				   "a read-only device", s->file);
	return pep_blk_loop_create(t, s->file, s->size, s->read_only, err);
}

/* Block the stop signals here and in every thread made from now on. */
static void block_stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGINT);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, set, NULL);
}

/*
 * Serve until a stop signal or until someone else stops the device
 * (`pepita ublk del`), refreshing the state file's counters as they move.
 */
static void serve(struct pep_ublk_dev *dev, const struct ublk_spec *s,
		  struct pep_blk_target *t, const sigset_t *set)
{
	struct timespec tick = { 0, 500 * 1000 * 1000 };
	struct pep_ublk_stats st, last = { 0 };
	struct pep_zram_mm_stat zm = { 0 }, zlast = { 0 };
	struct pep_zram_store *z = pep_blk_zram_store(t);
	int id = pep_ublk_dev_id(dev);

	while (!pep_ublk_dev_stopped(dev)) {
		if (sigtimedwait(set, NULL, &tick) > 0)
			break;
		pep_ublk_dev_stats(dev, &st);
		if (z)
			pep_zram_store_stats(z, &zm, NULL);
		if (memcmp(&st, &last, sizeof(st)) || memcmp(&zm, &zlast, sizeof(zm))) {
			record_save(s, id, &st, z ? &zm : NULL);
			last = st;
			zlast = zm;
		}
	}
	pep_ublk_dev_stop(dev, NULL);
	pep_ublk_dev_destroy(dev);
	pep_ublk_record_remove(record_dir(), id);
}

/* The device's path, or with --json schema pepita.ublk.add/2 on one line. */
static void print_added(int id, const struct ublk_spec *s, uint64_t size, int pid,
			int json)
{
	char stamp[PEP_RFC3339_SIZE];

	if (!json) {
		printf("/dev/ublkb%d\n", id);
		return;
	}
	pep_time_rfc3339(pep_time_real_ms(), stamp, sizeof(stamp));
	printf("{\"schema\": \"pepita.ublk.add/2\", \"timestamp\": \"%s\", "
	       "\"id\": %d, \"block\": \"/dev/ublkb%d\", \"char\": \"/dev/ublkc%d\", "
	       "\"target\": \"%s\", \"size_bytes\": %" PRIu64 ", \"queue_count\": %u, "
	       "\"queue_depth\": %u, \"pid\": %d}\n", stamp, id, id, id, s->type, size,
	       s->queues ? s->queues : 1, s->depth ? s->depth : 64, pid);
}

/* Create (or recover) the device and start it; err says why not. */
static int bring_up(struct ublk_spec *s, int id, int recover,
		    struct pep_blk_target *t, struct pep_ublk_dev **dev,
		    struct pep_err *err)
{
	struct pep_ublk_dev_opts o = { .target = t, .id = id, .nr_queues = s->queues,
				       .depth = s->depth, .recovery = s->recovery };
	int ret;

	if (recover) {
		ret = pep_ublk_dev_recover(dev, &o, err);
	} else {
		ret = pep_ublk_dev_create(dev, &o, err);
		if (ret >= 0 && (ret = pep_ublk_dev_start(*dev, err)) < 0) {
			pep_ublk_dev_destroy(*dev);
			*dev = NULL;
		}
	}
	if (ret >= 0) {		/* what the kernel granted */
		s->queues = pep_ublk_dev_queues(*dev);
		s->depth = pep_ublk_dev_depth(*dev);
	}
	return ret;
}

static int exit_code_of(int ret)
{
	return ret == -ENODEV ? CMD_EXIT_UNAVAILABLE : CMD_EXIT_FAIL;
}

/* In the foreground: this process serves. */
static int run_foreground(struct ublk_spec *s, int id, int recover, int json,
			  struct pep_blk_target *t)
{
	struct pep_ublk_dev *dev;
	struct pep_err err;
	sigset_t set;
	int ret;

	block_stop_signals(&set);
	ret = bring_up(s, id, recover, t, &dev, &err);
	if (ret < 0) {
		cli_error("%s", err.msg);
		return exit_code_of(ret);
	}
	if (!s->size)
		s->size = t->size;
	record_save(s, pep_ublk_dev_id(dev), NULL, NULL);
	print_added(pep_ublk_dev_id(dev), s, t->size, (int)getpid(), json);
	fflush(stdout);
	serve(dev, s, t, &set);
	return CMD_EXIT_OK;
}

/*
 * In the background: the child serves and tells the parent through a pipe
 * "ok ID" or "err CODE MESSAGE"; the parent prints and exits.
 */
static int run_daemon(struct ublk_spec *s, int id, int recover, int json,
		      struct pep_blk_target *t)
{
	char msg[320];
	int fds[2], code;
	ssize_t n;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC) < 0) {
		cli_error("pipe: %s", strerror(errno));
		return CMD_EXIT_FAIL;
	}
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		cli_error("fork: %s", strerror(errno));
		return CMD_EXIT_FAIL;
	}
	if (pid == 0) {
		struct pep_ublk_dev *dev;
		struct pep_err err;
		sigset_t set;
		int ret, null = open("/dev/null", O_RDWR);

		close(fds[0]);
		setsid();
		if (null >= 0) {
			dup2(null, 0);
			dup2(null, 1);
			dup2(null, 2);
		}
		block_stop_signals(&set);
		ret = bring_up(s, id, recover, t, &dev, &err);
		if (ret < 0)
			n = snprintf(msg, sizeof(msg), "err %d %s", exit_code_of(ret), err.msg);
		else
			n = snprintf(msg, sizeof(msg), "ok %d %u %u", pep_ublk_dev_id(dev),
				     s->queues, s->depth);
		if (ret >= 0) {
			if (!s->size)
				s->size = t->size;
			record_save(s, pep_ublk_dev_id(dev), NULL, NULL);
		}
		if (write(fds[1], msg, (size_t)n) < 0 || ret < 0)
			_exit(1);
		close(fds[1]);
		serve(dev, s, t, &set);
		pep_blk_target_destroy(t);
		_exit(0);
	}
	close(fds[1]);
	do
		n = read(fds[0], msg, sizeof(msg) - 1);
	while (n < 0 && errno == EINTR);
	close(fds[0]);
	msg[n > 0 ? n : 0] = '\0';
	if (sscanf(msg, "ok %d %u %u", &id, &s->queues, &s->depth) == 3) {
		print_added(id, s, t->size, (int)pid, json);
		return CMD_EXIT_OK;
	}
	if (sscanf(msg, "err %d", &code) == 1 && strchr(msg + 4, ' ')) {
		cli_error("%s", strchr(msg + 4, ' ') + 1);
		return code;
	}
	cli_error("the server process died while starting");
	return CMD_EXIT_FAIL;
}

static int cmd_add(int argc, char **argv)
{
	struct add_opts o = { .id = -1 };
	struct pep_blk_target *t = NULL;
	struct pep_err err;
	int ret = parse_add(argc, argv, &o);

	if (ret)
		return ret > 0 ? CMD_EXIT_OK : CMD_EXIT_USAGE;
	if (optind < argc) {
		cli_error("unexpected argument '%s'", argv[optind]);
		return CMD_EXIT_USAGE;
	}
	if (check_spec(&o.spec) < 0)
		return CMD_EXIT_USAGE;
	ret = make_target(&o.spec, &t, &err);
	if (ret < 0) {
		cli_error("%s", err.msg);
		return ret == -EINVAL ? CMD_EXIT_USAGE : CMD_EXIT_FAIL;
	}
	ret = need_driver();
	if (ret != CMD_EXIT_OK) {
		pep_blk_target_destroy(t);
		return ret;
	}
	if (o.foreground)
		ret = run_foreground(&o.spec, o.id, 0, o.json, t);
	else
		ret = run_daemon(&o.spec, o.id, 0, o.json, t);
	pep_blk_target_destroy(t);
	return ret;
}

static int parse_id(const char *arg, int *id)
{
	unsigned int v;

	if (parse_uint("device", arg, 0, 1 << 20, &v) < 0)
		return -1;
	*id = (int)v;
	return 0;
}

static int cmd_recover(int argc, char **argv)
{
	struct pep_blk_target *t = NULL;
	struct pep_ublk_record r;
	struct ublk_spec s;
	struct pep_err err;
	int id, foreground = argc > 2 && !strcmp(argv[2], "--foreground"), ret;

	if (cli_help_asked(argc, argv)) {
		usage(stdout);
		return CMD_EXIT_OK;
	}
	if (argc < 2 || argc > 3 || (argc == 3 && !foreground)) {
		if (argc < 2)
			cli_error("which device?");
		else
			cli_error("unexpected argument '%s'", argv[argc - 1]);
		cli_hint_help();
		return CMD_EXIT_USAGE;
	}
	if (parse_id(argv[1], &id) < 0)
		return CMD_EXIT_USAGE;
	ret = need_driver();
	if (ret != CMD_EXIT_OK)
		return ret;
	ret = pep_ublk_record_load(record_dir(), id, &r, &err);
	if (ret == -ENOENT) {
		cli_error("device %d: no state file (was it added by pepita ublk "
			  "add --recovery?)", id);
		return CMD_EXIT_FAIL;
	}
	if (ret < 0) {
		cli_error("%s", err.msg);
		return CMD_EXIT_FAIL;
	}
	if (spec_of_record(&r, &s) < 0) {
		cli_error("out of memory");
		spec_free(&s);
		return CMD_EXIT_FAIL;
	}
	ret = make_target(&s, &t, &err);
	if (ret < 0) {
		cli_error("%s", err.msg);
		spec_free(&s);
		return CMD_EXIT_FAIL;
	}
	ret = foreground ? run_foreground(&s, id, 1, 0, t) : run_daemon(&s, id, 1, 0, t);
	pep_blk_target_destroy(t);
	spec_free(&s);
	return ret;
}

#define MAX_DEVICES 1024

/* What the server's record adds to a device of `list`. */
static void add_record_json(json_t *o, const struct pep_ublk_record *r)
{
	json_object_set_new(o, "target", json_string(r->target));
	json_object_set_new(o, "file", json_string(r->file));
	if (r->has_stats) {
		json_object_set_new(o, "request_count",
				    json_integer((json_int_t)r->stats.requests));
		json_object_set_new(o, "error_count",
				    json_integer((json_int_t)r->stats.errors));
		json_object_set_new(o, "tag_collision_count",
				    json_integer((json_int_t)r->stats.tag_collisions));
		json_object_set_new(o, "bad_descriptor_count",
				    json_integer((json_int_t)r->stats.bad_descriptors));
	}
	if (r->has_zram) {
		/* the fields `pepita zram list --json` shows, and the codec */
		json_t *z = zram_mm_stat_json(&r->zram);

		json_object_set_new(z, "algorithm",
				    json_string(r->comp[0] ? r->comp : "lz4"));
		json_object_set_new(z, "compression_ratio", zram_ratio_json(&r->zram));
		json_object_set_new(o, "zram", z);
	}
}

static json_t *device_json(struct pep_ublk_ctrl *c, int id)
{
	struct pep_ublk_info info;
	struct pep_ublk_params p;
	struct pep_ublk_record r;
	json_t *o;

	if (pep_ublk_get_info(c, id, &info, NULL) < 0)
		return NULL;
	o = json_pack("{s:i, s:s, s:i, s:i, s:i}", "id", id, "state",
		      pep_ublk_state_name(info.state), "queue_count", info.nr_queues,
		      "queue_depth", info.depth, "pid", info.pid);
	if (pep_ublk_get_params(c, id, &p, NULL) == 0)
		json_object_set_new(o, "size_bytes", json_integer((json_int_t)p.size));
	if (pep_ublk_record_load(record_dir(), id, &r, NULL) == 0)
		add_record_json(o, &r);
	return o;
}

/* One device of `pepita ublk list`; a zram target adds its compression. */
static void print_device_line(json_t *o)
{
	json_t *z = json_object_get(o, "zram");

	printf("%-4" JSON_INTEGER_FORMAT " %-9s %2" JSON_INTEGER_FORMAT
	       " queues, depth %4" JSON_INTEGER_FORMAT ", pid %-7"
	       JSON_INTEGER_FORMAT " %s",
	       json_integer_value(json_object_get(o, "id")),
	       json_string_value(json_object_get(o, "state")),
	       json_integer_value(json_object_get(o, "queue_count")),
	       json_integer_value(json_object_get(o, "queue_depth")),
	       json_integer_value(json_object_get(o, "pid")),
	       json_is_string(json_object_get(o, "target")) ?
	       json_string_value(json_object_get(o, "target")) : "-");
	if (json_is_object(z))
		printf(" %s, %" JSON_INTEGER_FORMAT " MiB stored in %"
		       JSON_INTEGER_FORMAT " MiB, ratio %.2f",
		       json_string_value(json_object_get(z, "algorithm")),
		       json_integer_value(json_object_get(z, "orig_data_bytes")) >> 20,
		       json_integer_value(json_object_get(z, "mem_used_total_bytes")) >> 20,
		       json_real_value(json_object_get(z, "compression_ratio")));
	putchar('\n');
}

static int cmd_list(int argc, char **argv)
{
	int ids[MAX_DEVICES], n;
	struct pep_ublk_ctrl *c = NULL;
	struct pep_err err;
	json_t *all;
	bool json;

	n = cli_json_only_args(argc, argv, usage, &json);
	if (n >= 0)
		return n;
	/* No driver is no answer: an empty list would say "no devices". */
	n = need_driver();
	if (n != CMD_EXIT_OK)
		return n;
	n = pep_ublk_list_ids(ids, MAX_DEVICES, &err);
	if (n < 0) {
		cli_error("%s", err.msg);
		return CMD_EXIT_FAIL;
	}
	if (n > 0 && pep_ublk_ctrl_open(&c, &err) < 0) {
		cli_error("%s", err.msg);
		return exit_code_of(err.code);
	}
	all = json_array();
	for (int i = 0; i < n && i < MAX_DEVICES; i++) {
		json_t *o = device_json(c, ids[i]);

		if (o)
			json_array_append_new(all, o);
	}
	pep_ublk_ctrl_close(c);
	if (json) {
		return cli_json_print(cli_json_add(cli_json_doc("pepita.ublk.list/2",
								 pep_time_real_ms()),
						   "devices", all));
	} else {
		size_t i;
		json_t *o;

		json_array_foreach(all, i, o)
			print_device_line(o);
	}
	json_decref(all);
	return CMD_EXIT_OK;
}

/*
 * STOP, then let the server delete the device as it ends (two DEL_DEVs at
 * once deadlock a 6.1 kernel); DEL here only when its server is gone.
 */
static int delete_one(struct pep_ublk_ctrl *c, int id)
{
	struct pep_ublk_info info;
	struct pep_err err;
	int ret, pid;

	if (pep_ublk_get_info(c, id, &info, &err) < 0) {
		pep_ublk_record_remove(record_dir(), id);
		if (err.code == -ENODEV)
			return 0;
		cli_error("%s", err.msg);
		return -1;
	}
	pid = info.pid > 0 && kill(info.pid, 0) == 0 ? info.pid : 0;
	pep_ublk_stop(c, id, NULL);
	for (int i = 0; pid && i < 200; i++) {
		if (pep_ublk_get_info(c, id, &info, NULL) < 0)
			break;			/* the server deleted it */
		if (kill(pid, 0) < 0) {
			pid = 0;		/* gone without deleting */
			break;
		}
		usleep(50 * 1000);
	}
	if (pid && pep_ublk_get_info(c, id, &info, NULL) == 0) {
		cli_error("device %d: its server (pid %d) did not end within 10 s "
			  "of STOP_DEV", id, pid);
		return -1;
	}
	pep_ublk_record_remove(record_dir(), id);
	if (pep_ublk_get_info(c, id, &info, NULL) < 0)
		return 0;
	ret = pep_ublk_del(c, id, &err);
	if (ret < 0 && ret != -ENODEV) {
		cli_error("%s", err.msg);
		return -1;
	}
	return 0;
}

static int cmd_del(int argc, char **argv)
{
	int ids[MAX_DEVICES], n = 0, failed = 0, id = -1, ret;
	struct pep_ublk_ctrl *c;
	struct pep_err err;

	if (cli_help_asked(argc, argv)) {
		usage(stdout);
		return CMD_EXIT_OK;
	}
	if (argc != 2) {
		cli_error(argc < 2 ? "which device? (N or --all)" :
			  "one device (N) or --all");
		cli_hint_help();
		return CMD_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--all") && parse_id(argv[1], &id) < 0)
		return CMD_EXIT_USAGE;
	ret = need_driver();
	if (ret != CMD_EXIT_OK)
		return ret;
	if (!strcmp(argv[1], "--all")) {
		n = pep_ublk_list_ids(ids, MAX_DEVICES, &err);
		if (n < 0) {
			cli_error("%s", err.msg);
			return CMD_EXIT_FAIL;
		}
	} else {
		ids[n++] = id;
	}
	if (pep_ublk_ctrl_open(&c, &err) < 0) {
		cli_error("%s", err.msg);
		return exit_code_of(err.code);
	}
	for (int i = 0; i < n && i < MAX_DEVICES; i++)
		failed |= delete_one(c, ids[i]) < 0;
	pep_ublk_ctrl_close(c);
	return failed ? CMD_EXIT_FAIL : CMD_EXIT_OK;
}

static const struct cmd verbs[] = {
	{ "add", cmd_add, "make a target, create the device and serve it" },
	{ "list", cmd_list, "the devices the kernel has, with their servers" },
	{ "del", cmd_del, "stop and delete a device, or all of them" },
	{ "recover", cmd_recover, "serve again a device whose server died" },
};

int cmd_ublk(int argc, char **argv)
{
	static const struct cli_level level = {
		.kind = "verb", .cmds = verbs, .count = CLI_ARRAY_SIZE(verbs),
		.usage = usage,
	};

	return cli_dispatch(&level, argc, argv);
}
