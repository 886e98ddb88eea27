/*
 * deploy.c - ship a built plan to its devices and start it there.
 *
 * One lane per device on a pepita pool of max_parallel workers: a lane
 * asks the device for its state (cohete engine state), and for each of
 * its items leaves alone what runs already, copies what the device lacks
 * (rsync over ssh, or our own stream over the ssh session: both resume
 * and are verified on the device) and activates the new version (cohete
 * engine activate: the device's supervisor starts it and it is promoted
 * once it answers, or the device goes back to the old one at once).
 *
 * The canary goes first and alone. A device that fails raises the stop
 * flag: lanes that have not started are skipped, unless keep_going. What
 * runs on a device is decided there, so killing this process at any
 * point leaves every device on a version that answered.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include <cohete/engine.h>
#include <cohete/fleet.h>
#include <pepita/core.h>
#include <pepita/pool.h>
#include <pepita/proc.h>

#include "internal.h"
#include "fleet_priv.h"

#define MIB		(1ull << 20)
#define STATE_TIMEOUT_MS	30000
#define COH_AGENT_PORT_DEFAULT	9102	/* agent.listen's default port */
#define COPY_CHUNK	(256u * 1024)

struct deploy;

/* One device and the plan items it runs. */
struct lane {
	struct deploy *d;
	size_t device;
	size_t *items;
	size_t count;
	json_t *state;			/* the device's, once asked */
};

struct deploy {
	const struct coh_config *cfg;
	const struct coh_fleet_plan *plan;
	const struct coh_fleet_deploy_opts *o;
	struct coh_fleet_deploy_report *report;
	struct lane *lanes;
	size_t lane_count;
	atomic_int stop;
	pthread_mutex_t lock;		/* on_step, one at a time */
	bool local_rsync;
	struct coh_fleet_remote remote;	/* o->remote, connections shared */
	struct coh__mux mux;
};

static const char *const outcome_names[] = {
	[COH_FLEET_PENDING] = "pending",
	[COH_FLEET_UNCHANGED] = "unchanged",
	[COH_FLEET_UPDATED] = "updated",
	[COH_FLEET_ROLLED_BACK] = "rolled-back",
	[COH_FLEET_FAILED] = "failed",
	[COH_FLEET_SKIPPED] = "skipped",
};

COH_API const char *coh_fleet_outcome_name(enum coh_fleet_outcome o)
{
	return (unsigned int)o < ARRAY_SIZE(outcome_names) ? outcome_names[o] : "?";
}

static uint64_t ms_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)((t.tv_sec - t0->tv_sec) * 1000 +
			  (t.tv_nsec - t0->tv_nsec) / 1000000);
}

static const char *root_of(const struct coh_config *cfg)
{
	return cfg->storage.models_dir ? cfg->storage.models_dir :
	       "/var/lib/cohete/models";
}

/* Record an outcome and tell the caller. */
static void step_done(struct deploy *d, size_t item, enum coh_fleet_outcome o,
		      const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void step_done(struct deploy *d, size_t item, enum coh_fleet_outcome o,
		      const char *fmt, ...)
{
	struct coh_fleet_step *st = &d->report->steps[item];
	va_list ap;

	st->outcome = o;
	va_start(ap, fmt);
	vsnprintf(st->message, sizeof(st->message), fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&d->lock);
	if (d->o->on_step)
		d->o->on_step(&d->plan->items[item], st, d->o->arg);
	pthread_mutex_unlock(&d->lock);
}

static void read_result(const struct pep_proc_result *res,
			struct coh_fleet_node_result *r);

/* ==== the device's state ====================================================== */

COH_API char *coh_fleet_device_state(const struct coh_config *cfg,
				     size_t device,
				     const struct coh_fleet_remote *remote,
				     unsigned int timeout_s,
				     struct pep_err *err)
{
	char port[8];
	const char *words[] = { "engine", "state", "--root", root_of(cfg),
				"--agent-port", port, "--json", NULL };
	struct pep_proc_result res = { 0 };
	char why[768];
	char *out = NULL;
	int rc;

	/* The agent on the device, where the file says it listens. */
	snprintf(port, sizeof(port), "%u", cfg->agent.listen_port ?
		 cfg->agent.listen_port : COH_AGENT_PORT_DEFAULT);
	rc = coh__remote_run(remote, &cfg->devices[device], words, NULL, 0,
			     timeout_s ? timeout_s * 1000 : STATE_TIMEOUT_MS, &res, err);
	if (rc)
		return NULL;
	if (res.exited && res.exit_code == 0 && res.out) {
		out = res.out;
		res.out = NULL;
	} else {
		coh__remote_reason(&res, why, sizeof(why));
		pep_err_set(err, -EHOSTUNREACH, "%s", why);
	}
	pep_proc_result_free(&res);
	return out;
}

COH_API int coh_fleet_device_rollback(const struct coh_config *cfg,
				      size_t device,
				      const struct coh_fleet_remote *remote,
				      const char *model, unsigned int timeout_s,
				      struct coh_fleet_node_result *r,
				      struct pep_err *err)
{
	char ts[16];
	const char *words[] = { "engine", "rollback", "--root", root_of(cfg),
				"--model", model, "--timeout", ts, "--json", NULL };
	struct pep_proc_result res = { 0 };
	int rc;

	if (!timeout_s)
		timeout_s = COH_FLEET_READY_TIMEOUT_S;
	snprintf(ts, sizeof(ts), "%u", timeout_s);
	memset(r, 0, sizeof(*r));
	rc = coh__remote_run(remote, &cfg->devices[device], words, NULL, 0,
			     (timeout_s + 60) * 1000, &res, err);
	if (rc)
		return rc;
	read_result(&res, r);
	if (!res.exited || res.exit_code) {
		char why[768];

		coh__remote_reason(&res, why, sizeof(why));
		rc = pep_err_set(err, -EIO, "%s", r->reason[0] ? r->reason : why);
	}
	pep_proc_result_free(&res);
	return rc;
}

static int lane_state(struct lane *l, char *why, size_t size)
{
	struct pep_err e;
	json_error_t je;
	char *text;

	pep_err_clear(&e);
	text = coh_fleet_device_state(l->d->cfg, l->device, &l->d->remote, 0, &e);
	if (!text) {
		snprintf(why, size, "%s", e.msg);
		return -1;
	}
	l->state = json_loads(text, 0, &je);
	free(text);
	if (!json_is_object(l->state)) {
		snprintf(why, size, "the device's state is not JSON: %s", je.text);
		return -1;
	}
	return 0;
}

/* The device's entry for model in its state; NULL when none. */
static json_t *state_model(json_t *state, const char *model)
{
	json_t *m;
	size_t i;

	json_array_foreach(json_object_get(state, "models"), i, m)
		if (json_is_string(json_object_get(m, "model")) &&
		    !strcmp(json_string_value(json_object_get(m, "model")), model))
			return m;
	return NULL;
}

/* The size of name in the state's list key ("artifacts", "partials"); -1. */
static int64_t state_file(json_t *state, const char *key, const char *name)
{
	json_t *f;
	size_t i;

	json_array_foreach(json_object_get(state, key), i, f)
		if (json_is_string(json_object_get(f, "name")) &&
		    !strcmp(json_string_value(json_object_get(f, "name")), name))
			return json_integer_value(json_object_get(f, "size_bytes"));
	return -1;
}

/* ==== the spec ================================================================ */

/* The memory an engine may use: its estimate and an even share of the
 * device's budget left over by all the models it runs. */
static uint64_t memory_max(const struct deploy *d, const struct lane *l,
			   const struct coh_fleet_plan_item *it)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < l->count; i++)
		sum += d->plan->items[l->items[i]].estimate.total;
	if (sum >= it->budget_bytes)
		return it->estimate.total;
	return it->estimate.total + (it->budget_bytes - sum) / l->count;
}

static char *spec_text(const struct deploy *d, const struct lane *l,
		       const struct coh_fleet_plan_item *it)
{
	const struct coh_config_device *dev = &d->cfg->devices[it->device];
	struct coh_engine_spec s = {
		.model = (char *)it->model_name,
		.artifact = it->artifact,
		.sha256 = (char *)it->built_sha256,
		.level = (char *)it->level,
		.host = (char *)(dev->inference.host ? dev->inference.host : "0.0.0.0"),
		.port = it->port,
		.argv = it->argv,
		.argc = it->argc,
		.memory_max_bytes = memory_max(d, l, it),
	};

	return coh_engine_spec_json(&s);
}

/* Does the device run exactly this spec, and is it ready? */
static bool runs_already(json_t *m, const char *want_text)
{
	json_t *want = json_loads(want_text, 0, NULL), *have, *eng;
	bool same;

	if (!want || !m)
		return json_decref(want), false;
	have = json_deep_copy(json_object_get(m, "spec"));
	json_object_del(want, "deadline");
	json_object_del(have, "deadline");
	same = json_equal(want, have);
	json_decref(want);
	json_decref(have);
	eng = json_object_get(m, "engine");
	return same && json_is_string(json_object_get(eng, "state")) &&
	       !strcmp(json_string_value(json_object_get(eng, "state")), "ready") &&
	       json_equal(json_object_get(eng, "version"), json_object_get(m, "active"));
}

/* ==== copying ================================================================= */

/* Our stream: cohete engine receive answers "have N" or "offset N". */
static int read_line(struct pep_proc *p, char *line, size_t size, int wait_ms)
{
	size_t n = 0;

	while (n + 1 < size) {
		ssize_t r = pep_proc_read(p, line + n, 1, wait_ms, NULL);

		if (r == -EINTR)
			continue;
		if (r <= 0)
			return r == 0 ? -EPIPE : (int)r;
		if (line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
	return 0;
}

static int send_from(int fd_out, const char *path, uint64_t off, uint64_t size,
		     uint64_t *sent)
{
	char *buf = malloc(COPY_CHUNK);
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc = 0;

	*sent = 0;
	if (fd < 0 || !buf) {
		rc = fd < 0 ? -errno : -ENOMEM;
		goto out;
	}
	while (off < size) {
		ssize_t n = pread(fd, buf, COPY_CHUNK, (off_t)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			break;
		}
		rc = pep_write_all(fd_out, buf, (size_t)n);
		if (rc)
			break;
		off += (uint64_t)n;
		*sent += (uint64_t)n;
	}
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return rc;
}

static int copy_stream(struct deploy *d, const struct coh_fleet_plan_item *it,
		       struct coh_fleet_step *st, char *why, size_t size)
{
	char sz[32], *line;
	const char *words[] = { "engine", "receive", "--root", root_of(d->cfg),
				"--name", it->artifact, "--size", sz, "--sha256",
				it->built_sha256, NULL };
	struct pep_proc_opts po = { .flags = PEP_PROC_STDIN_PIPE, .max_output = 1u << 20 };
	struct pep_proc_result res = { 0 };
	struct coh__ssh_argv a;
	struct pep_proc *p;
	struct pep_err e;
	char answer[128];
	unsigned long long off = 0;
	int in_fd, rc;

	snprintf(sz, sizeof(sz), "%llu", (unsigned long long)it->built_size);
	line = coh__remote_line(&d->remote, words);
	if (!line)
		return snprintf(why, size, "out of memory"), -ENOMEM;
	coh__remote_ssh_argv(&d->remote, &d->cfg->devices[it->device], &a, true);
	a.v[a.n] = line;
	a.v[a.n + 1] = NULL;
	pep_err_clear(&e);
	rc = pep_proc_spawn(a.v, &po, &p, &e);
	free(line);
	if (rc)
		return snprintf(why, size, "%s", e.msg), rc;
	in_fd = pep_proc_take_stdin(p);
	rc = read_line(p, answer, sizeof(answer), STATE_TIMEOUT_MS);
	if (!rc && sscanf(answer, "offset %llu", &off) == 1) {
		rc = send_from(in_fd, it->built_path, off, it->built_size,
			       &st->copied_bytes);
		close(in_fd);
		in_fd = -1;
		if (!rc)
			rc = read_line(p, answer, sizeof(answer), -1);
		if (!rc && strncmp(answer, "ok ", 3))
			rc = -EPROTO;
	} else if (!rc && strncmp(answer, "have ", 5)) {
		rc = -EPROTO;
	}
	if (in_fd >= 0)
		close(in_fd);
	pep_proc_wait(p, rc ? 0 : -1, &res, NULL);
	if (rc || !res.exited || res.exit_code) {
		coh__remote_reason(&res, why, size);
		rc = rc ? rc : -EIO;
	}
	pep_proc_result_free(&res);
	return rc;
}

static int copy_rsync(struct deploy *d, const struct coh_fleet_plan_item *it,
		      char *why, size_t size)
{
	const struct coh_config_device *dev = &d->cfg->devices[it->device];
	const char *verify[] = { "engine", "verify", "--root", root_of(d->cfg),
				 "--name", it->artifact, "--sha256",
				 it->built_sha256, NULL };
	struct pep_proc_result res = { 0 };
	struct coh__ssh_argv a;
	struct pep_err e;
	char rsh[4096], dest[4096];
	const char *argv[] = { "rsync", "--partial", "--append-verify",
			       "--chmod=F644", "-e", rsh, it->built_path, dest, NULL };
	int rc;

	coh__remote_ssh_argv(&d->remote, dev, &a, false);
	coh_fleet_argv_format(a.v, rsh, sizeof(rsh));
	snprintf(dest, sizeof(dest), "%s:%s/.incoming/%s.part",
		 dev->host ? dev->host : dev->id, root_of(d->cfg), it->artifact);
	pep_err_clear(&e);
	rc = pep_proc_run(argv, &(struct pep_proc_opts){ 0 }, &res, &e);
	if (rc)
		return snprintf(why, size, "rsync: %s", e.msg), rc;
	if (!res.exited || res.exit_code) {
		char line[512];

		coh__remote_last_line(res.err, line, sizeof(line));
		snprintf(why, size, "rsync: %s", line[0] ? line : "failed");
		pep_proc_result_free(&res);
		return -EIO;
	}
	pep_proc_result_free(&res);
	rc = coh__remote_run(&d->remote, dev, verify, NULL, 0, 0, &res, &e);
	if (rc)
		return snprintf(why, size, "%s", e.msg), rc;
	if (!res.exited || res.exit_code) {
		coh__remote_reason(&res, why, size);
		rc = -EIO;
	}
	pep_proc_result_free(&res);
	return rc;
}

static bool use_rsync(const struct deploy *d, json_t *state)
{
	switch (d->remote.transport) {
	case COH_FLEET_TRANSPORT_RSYNC: return true;
	case COH_FLEET_TRANSPORT_STREAM: return false;
	default: return d->local_rsync && json_is_true(json_object_get(state, "rsync"));
	}
}

/* The model file on the device: there already, or copied (space first). */
static int ensure_file(struct lane *l, const struct coh_fleet_plan_item *it,
		       struct coh_fleet_step *st, char *why, size_t size)
{
	struct deploy *d = l->d;
	int64_t have = state_file(l->state, "artifacts", it->artifact);
	int64_t part = state_file(l->state, "partials", it->artifact);
	uint64_t need, avail, total;
	struct timespec t0;
	int rc;

	if (have == (int64_t)it->built_size) {
		st->transport = "present";
		return 0;
	}
	need = it->built_size - (part > 0 && (uint64_t)part <= it->built_size ?
				 (uint64_t)part : 0);
	avail = (uint64_t)json_integer_value(json_object_get(l->state, "free_bytes"));
	total = (uint64_t)json_integer_value(json_object_get(l->state, "total_bytes"));
	if (need + total / 100 > avail) {
		snprintf(why, size, "not enough space in %s: the model needs %llu MiB more, %llu MiB free (%llu MiB kept free)",
			 root_of(d->cfg), (unsigned long long)((need + MIB - 1) / MIB),
			 (unsigned long long)(avail / MIB),
			 (unsigned long long)(total / 100 / MIB));
		return -ENOSPC;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (use_rsync(d, l->state)) {
		st->transport = "rsync";
		rc = copy_rsync(d, it, why, size);
		if (!rc)
			st->copied_bytes = need;
	} else {
		st->transport = "stream";
		rc = copy_stream(d, it, st, why, size);
	}
	st->copy_ms = ms_since(&t0);
	if (!rc) {
		/* A second model of this lane may be the same file. */
		json_array_append_new(json_object_get(l->state, "artifacts"),
				      json_pack("{s:s,s:I}", "name", it->artifact,
						"size_bytes", (json_int_t)it->built_size));
	}
	return rc;
}

/* ==== activation ============================================================== */

static void read_result(const struct pep_proc_result *res,
			struct coh_fleet_node_result *r)
{
	json_t *j = res->out ? json_loads(res->out, 0, NULL) : NULL;
	const char *v;

	memset(r, 0, sizeof(*r));
	if ((v = json_string_value(json_object_get(j, "result"))))
		snprintf(r->result, sizeof(r->result), "%s", v);
	if ((v = json_string_value(json_object_get(j, "version"))))
		snprintf(r->version, sizeof(r->version), "%s", v);
	if ((v = json_string_value(json_object_get(j, "reason"))))
		snprintf(r->reason, sizeof(r->reason), "%s", v);
	r->ready_ms = (uint64_t)json_integer_value(json_object_get(j, "ready_ms"));
	json_decref(j);
}

static void activate(struct lane *l, size_t k, const char *spec)
{
	struct deploy *d = l->d;
	const struct coh_fleet_plan_item *it = &d->plan->items[k];
	struct coh_fleet_step *st = &d->report->steps[k];
	unsigned int t = d->o->ready_timeout_s ? d->o->ready_timeout_s :
			 COH_FLEET_READY_TIMEOUT_S;
	char ts[16], why[768];
	const char *words[] = { "engine", "activate", "--root", root_of(d->cfg),
				"--timeout", ts, "--json", NULL };
	struct pep_proc_result res = { 0 };
	struct coh_fleet_node_result r;
	struct pep_err e;

	snprintf(ts, sizeof(ts), "%u", t);
	pep_err_clear(&e);
	if (coh__remote_run(&d->remote, &d->cfg->devices[it->device], words,
			    spec, strlen(spec), (t + 60) * 1000, &res, &e)) {
		step_done(d, k, COH_FLEET_FAILED, "%s", e.msg);
		return;
	}
	read_result(&res, &r);
	snprintf(st->version, sizeof(st->version), "%s", r.version);
	st->ready_ms = r.ready_ms;
	if (!r.result[0]) {
		coh__remote_reason(&res, why, sizeof(why));
		step_done(d, k, COH_FLEET_FAILED, "%s", why);
	} else if (!strcmp(r.result, "activated")) {
		step_done(d, k, COH_FLEET_UPDATED, "%s", r.reason);
	} else if (!strcmp(r.result, "unchanged")) {
		step_done(d, k, COH_FLEET_UPDATED, "restarted: %s", r.reason);
	} else {
		step_done(d, k, !strcmp(r.result, "rolled-back") ?
			  COH_FLEET_ROLLED_BACK : COH_FLEET_FAILED, "%s", r.reason);
	}
	pep_proc_result_free(&res);
}

/* One item on its device. */
static void deploy_item(struct lane *l, size_t k)
{
	struct deploy *d = l->d;
	const struct coh_fleet_plan_item *it = &d->plan->items[k];
	struct coh_fleet_step *st = &d->report->steps[k];
	json_t *m = state_model(l->state, it->model_name);
	char *spec = spec_text(d, l, it), why[768];

	if (!spec) {
		step_done(d, k, COH_FLEET_FAILED, "out of memory");
		return;
	}
	if (runs_already(m, spec)) {
		const char *v = json_string_value(json_object_get(m, "active"));

		snprintf(st->version, sizeof(st->version), "%s", v ? v : "");
		step_done(d, k, COH_FLEET_UNCHANGED, "%s runs already", st->version);
	} else if (ensure_file(l, it, st, why, sizeof(why)) < 0) {
		step_done(d, k, COH_FLEET_FAILED, "copy: %s", why);
	} else {
		activate(l, k, spec);
	}
	free(spec);
}

/* Items the plan or the build could not make: failed before any lane. */
static bool item_ready(struct deploy *d, size_t k)
{
	const struct coh_fleet_plan_item *it = &d->plan->items[k];

	if (it->error) {
		step_done(d, k, COH_FLEET_FAILED, "%s", it->error_msg ? it->error_msg : "not planned");
		return false;
	}
	if (!it->fits) {
		step_done(d, k, COH_FLEET_FAILED, "does not fit: %s", it->would ? it->would : it->reason);
		return false;
	}
	if (it->build_error || !it->built_path) {
		step_done(d, k, COH_FLEET_FAILED, "build: %s",
			  it->build_error_msg ? it->build_error_msg : "not built");
		return false;
	}
	return true;
}

static int lane_run(void *arg, struct pep_task_result *res)
{
	struct lane *l = arg;
	struct deploy *d = l->d;
	bool failed = false;
	char why[768];

	(void)res;
	if (atomic_load(&d->stop) && !d->o->keep_going) {
		for (size_t i = 0; i < l->count; i++)
			step_done(d, l->items[i], COH_FLEET_SKIPPED,
				  "not tried: an earlier device failed (--keep-going deploys the rest)");
		return 0;
	}
	if (lane_state(l, why, sizeof(why)) < 0) {
		for (size_t i = 0; i < l->count; i++)
			step_done(d, l->items[i], COH_FLEET_FAILED, "%s", why);
		atomic_store(&d->stop, 1);
		return 0;
	}
	for (size_t i = 0; i < l->count; i++) {
		deploy_item(l, l->items[i]);
		failed |= d->report->steps[l->items[i]].outcome >= COH_FLEET_ROLLED_BACK;
	}
	if (failed)
		atomic_store(&d->stop, 1);
	return 0;
}

/* ==== lanes =================================================================== */

static int make_lanes(struct deploy *d)
{
	const struct coh_fleet_plan *plan = d->plan;

	d->lanes = calloc(d->cfg->device_count ? d->cfg->device_count : 1,
			  sizeof(*d->lanes));
	if (!d->lanes)
		return -ENOMEM;
	for (size_t dev = 0; dev < d->cfg->device_count; dev++) {
		struct lane *l = &d->lanes[d->lane_count];

		l->d = d;
		l->device = dev;
		for (size_t k = 0; k < plan->count; k++) {
			if (plan->items[k].device != dev || !item_ready(d, k))
				continue;
			if (!l->items && !(l->items = calloc(plan->count, sizeof(size_t))))
				return -ENOMEM;
			l->items[l->count++] = k;
		}
		if (l->count)
			d->lane_count++;
	}
	return 0;
}

static void free_lanes(struct deploy *d)
{
	for (size_t i = 0; i < d->cfg->device_count && d->lanes; i++) {
		free(d->lanes[i].items);
		json_decref(d->lanes[i].state);
	}
	free(d->lanes);
}

static int submit(struct pep_pool *pool, struct lane *l, struct pep_future **f,
		  struct pep_err *err)
{
	struct pep_task t = {
		.kind = PEP_TASK_FN, .name = l->d->cfg->devices[l->device].id,
		.fn = lane_run, .arg = l,
	};

	return pep_pool_submit(pool, &t, NULL, NULL, f, err);
}

static int run_lanes(struct deploy *d, struct pep_err *err)
{
	unsigned int par = d->o->max_parallel ? d->o->max_parallel :
			   (unsigned int)(d->lane_count ? d->lane_count : 1);
	struct pep_pool_opts po = { .workers = par, .no_local = 1 };
	struct pep_pool *pool;
	struct pep_future *f;
	int rc;

	rc = pep_pool_create(&pool, &po, err);
	if (rc)
		return rc;
	/* The canary alone first: the others wait for its outcome. */
	for (size_t i = 0; d->o->canary && i < d->lane_count; i++) {
		struct lane *l = &d->lanes[i];

		if (strcmp(d->cfg->devices[l->device].id, d->o->canary))
			continue;
		if (!(rc = submit(pool, l, &f, err))) {
			pep_future_wait(f, -1);
			pep_future_release(f);
		}
		l->count = rc ? l->count : 0;	/* done */
	}
	for (size_t i = 0; !rc && i < d->lane_count; i++) {
		if (!d->lanes[i].count)
			continue;
		rc = submit(pool, &d->lanes[i], NULL, err);
	}
	pep_pool_wait_all(pool);
	pep_pool_destroy(pool);
	return rc;
}

static void count_outcomes(struct coh_fleet_deploy_report *r)
{
	for (size_t i = 0; i < r->count; i++) {
		switch (r->steps[i].outcome) {
		case COH_FLEET_UNCHANGED: r->unchanged++; break;
		case COH_FLEET_UPDATED: r->updated++; break;
		case COH_FLEET_ROLLED_BACK: r->rolled_back++; break;
		case COH_FLEET_SKIPPED: r->skipped++; break;
		default: r->failed++; break;
		}
	}
}

COH_API int coh_fleet_deploy(const struct coh_config *cfg,
			     const struct coh_fleet_plan *plan,
			     const struct coh_fleet_deploy_opts *opts,
			     struct coh_fleet_deploy_report **out,
			     struct pep_err *err)
{
	static const struct coh_fleet_deploy_opts none;
	struct deploy d = { .cfg = cfg, .plan = plan, .o = opts ? opts : &none };
	struct timespec t0;
	char found[4096];
	int rc;

	if (!cfg || !plan || !out)
		return pep_err_set(err, -EINVAL, "nothing to deploy");
	*out = NULL;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	d.report = calloc(1, sizeof(*d.report));
	if (!d.report || !(d.report->steps = calloc(plan->count ? plan->count : 1,
						    sizeof(*d.report->steps)))) {
		free(d.report);
		return pep_err_set(err, -ENOMEM, "out of memory");
	}
	d.report->count = plan->count;
	for (size_t k = 0; k < plan->count; k++)
		d.report->steps[k].item = k;
	d.local_rsync = pep_proc_find("rsync", found, sizeof(found)) == 0;
	coh__mux_open(&d.mux, &d.o->remote, &d.remote);
	pthread_mutex_init(&d.lock, NULL);
	rc = make_lanes(&d);
	if (rc)
		pep_err_set(err, rc, "out of memory");
	else
		rc = run_lanes(&d, err);
	free_lanes(&d);
	coh__mux_close(&d.mux, cfg, &d.remote);
	pthread_mutex_destroy(&d.lock);
	if (rc) {
		coh_fleet_deploy_report_free(d.report);
		return rc;
	}
	count_outcomes(d.report);
	d.report->wall_ms = ms_since(&t0);
	*out = d.report;
	return 0;
}

/* ==== every device's state at once ============================================ */

struct survey_lane {
	const struct coh_config *cfg;
	const struct coh_fleet_remote *remote;
	unsigned int timeout_s;
	size_t device;
	struct coh_fleet_survey *out;
};

static int survey_one(void *arg, struct pep_task_result *res)
{
	struct survey_lane *l = arg;
	struct pep_err e;
	struct timespec t0;

	(void)res;
	pep_err_clear(&e);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	l->out->state[l->device] = coh_fleet_device_state(l->cfg, l->device, l->remote,
							  l->timeout_s, &e);
	l->out->ms[l->device] = ms_since(&t0);
	if (!l->out->state[l->device])
		l->out->error[l->device] = strdup(e.msg[0] ? e.msg : "no answer");
	return 0;
}

COH_API int coh_fleet_survey(const struct coh_config *cfg,
			     const struct coh_fleet_remote *remote,
			     unsigned int timeout_s,
			     struct coh_fleet_survey **out, struct pep_err *err)
{
	size_t n = cfg->device_count;
	struct pep_pool_opts po = { .workers = n ? (unsigned int)n : 1, .no_local = 1 };
	struct coh_fleet_survey *s = calloc(1, sizeof(*s));
	struct survey_lane *lanes = calloc(n ? n : 1, sizeof(*lanes));
	struct pep_pool *pool = NULL;
	int rc = -ENOMEM;

	*out = NULL;
	if (!s || !lanes || !(s->state = calloc(n + 1, sizeof(char *))) ||
	    !(s->error = calloc(n + 1, sizeof(char *))) ||
	    !(s->ms = calloc(n + 1, sizeof(uint64_t))))
		goto fail;
	s->count = n;
	rc = pep_pool_create(&pool, &po, err);
	for (size_t i = 0; !rc && i < n; i++) {
		struct pep_task t = { .kind = PEP_TASK_FN, .fn = survey_one,
				      .arg = &lanes[i], .name = cfg->devices[i].id };

		lanes[i] = (struct survey_lane){ cfg, remote, timeout_s, i, s };
		rc = pep_pool_submit(pool, &t, NULL, NULL, NULL, err);
	}
	if (pool)
		pep_pool_destroy(pool);	/* waits for what was submitted */
	if (rc)
		goto fail;
	free(lanes);
	*out = s;
	return 0;
fail:
	free(lanes);
	coh_fleet_survey_free(s);
	if (rc == -ENOMEM)
		pep_err_set(err, rc, "out of memory");
	return rc;
}

COH_API void coh_fleet_survey_free(struct coh_fleet_survey *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->count; i++) {
		free(s->state ? s->state[i] : NULL);
		free(s->error ? s->error[i] : NULL);
	}
	free(s->state);
	free(s->error);
	free(s->ms);
	free(s);
}

COH_API void coh_fleet_deploy_report_free(struct coh_fleet_deploy_report *r)
{
	if (!r)
		return;
	free(r->steps);
	free(r);
}
