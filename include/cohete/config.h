/*
 * cohete/config.h - cohete.yaml: the one declarative file for a fleet
 * (devices, models, thermal policies, power, inference, storage,
 * provisioning, the agent). docs/cohete-yaml.md is the reference.
 *
 * Loading reads the file and its includes with libyaml, expands ${VAR},
 * ${VAR:-default} and $$ in every scalar, merges includes (devices by id,
 * models by name), types every value through one schema table and checks
 * what spans fields (policies that exist, budgets that fit a device's RAM,
 * ports that collide). Every problem is reported at once, each with the
 * file, line and column of the node and the field path:
 *
 *   cohete.yaml:5:3: error: fleet.devices[0].thermal_polcy: unknown key;
 *   did you mean 'thermal_policy'?
 *
 * The same schema table writes the JSON Schema of the file and the
 * effective configuration (YAML or JSON); show -> load -> show is a fixed
 * point.
 *
 * Threading: a loaded configuration is read-only and may be read from any
 * thread; loads share nothing.
 */
#ifndef COHETE_CONFIG_H
#define COHETE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cohete/sysroot.h>

#ifdef __cplusplus
extern "C" {
#endif

struct coh_module_spec;
struct coh_thermal_guard_policy;

#define COH_CONFIG_FILE_MAX_BYTES	(4u << 20)	/* per file, includes too */
#define COH_CONFIG_INCLUDE_DEPTH_MAX	8
#define COH_CONFIG_ERRORS_MAX		100	/* then "and N more" */
#define COH_CONFIG_POLICY_NAME_MAX	31	/* fits the guard's name[32] */

/* ==== diagnostics ==== */

enum coh_config_severity {
	COH_CONFIG_ERROR,
	COH_CONFIG_WARNING,
};

/* One finding, at a node of a file. Strings are owned by the list. */
struct coh_config_diag {
	enum coh_config_severity severity;
	const char *file;		/* as named (the include's path as resolved) */
	unsigned int line, col;		/* 1-based; 0 when the file has no node */
	const char *path;		/* "fleet.devices[2].memory_budget_mb"; "" for the file */
	const char *message;		/* "9000 is more than jetson-02's 8192 MB (...)" */
};

/* Zero-initialise before the first load; coh_config_diags_free() after. */
struct coh_config_diags {
	struct coh_config_diag *v;	/* in file order (load order, then line) */
	size_t count;
	size_t errors, warnings;	/* counted in v */
	size_t omitted;			/* errors past COH_CONFIG_ERRORS_MAX, not in v */
	size_t cap;			/* internal */
};

COH_API void coh_config_diags_free(struct coh_config_diags *d);

/*
 * "FILE:LINE:COL: error: PATH: MESSAGE" (or "warning"), without a newline,
 * with snprintf semantics. LINE:COL is left out when the diagnostic has no
 * position, "PATH: " when it has no path.
 */
COH_API int coh_config_diag_format(const struct coh_config_diag *d,
				   char *buf, size_t size);

/* "error" or "warning". */
COH_API const char *coh_config_severity_name(enum coh_config_severity s);

/* ==== the typed configuration ==== */

enum coh_config_connection {
	COH_CONFIG_CONN_SSH,		/* also written "ethernet" */
	COH_CONFIG_CONN_USB,		/* the L4T USB gadget network */
	COH_CONFIG_CONN_MDNS,		/* <id>.local unless host is given */
};

enum coh_config_action {
	COH_CONFIG_ACTION_PAUSE,	/* SIGSTOP the workloads until cool */
	COH_CONFIG_ACTION_STOP,
	COH_CONFIG_ACTION_THROTTLE,
};

/* discovery.methods */
#define COH_CONFIG_DISCOVER_USB		0x1u
#define COH_CONFIG_DISCOVER_MDNS	0x2u
#define COH_CONFIG_DISCOVER_SSH		0x4u

/* A list of strings (labels, packages, hosts, arguments). */
struct coh_config_strv {
	const char *const *v;
	size_t count;
};

struct coh_config_mirror {
	const char *prefix;		/* "pacha://models.sovereign.ai/" */
	const char *target;		/* "https://models.example.net/pacha/" */
};

struct coh_config_discovery {
	unsigned int methods;		/* COH_CONFIG_DISCOVER_*; default USB|MDNS */
	struct coh_config_strv ssh_hosts;	/* "host", "user@host:port"; with the
						   hosts of {static: [...]} items */
	uint32_t timeout_s;		/* 1..120; default 5 */
};

/* The inference section, and each device's effective copy of it. */
struct coh_config_inference {
	uint32_t port;			/* 1..65535; default 8080 */
	const char *host;		/* bind address; default "0.0.0.0" */
	uint32_t max_batch_size;	/* 1..1024; default 4 */
	uint32_t context_length;	/* 16..1048576; default 2048 */
	const char *api_compatibility;	/* "openai" */
	const char *engine;		/* "llama-server" */
	const char *engine_path;	/* default "llama-server" */
	struct coh_config_strv engine_args;
	uint32_t threads;		/* 0 = auto */
	uint32_t gpu_layers;		/* default 999 (all) */
	uint32_t parallel;		/* slots, 1..256; default 1 */
};

struct coh_config_device {
	const char *id;			/* [A-Za-z0-9._-]{1,63}, unique */
	enum coh_config_connection connection;	/* default ssh */
	const char *host;		/* usb: 192.168.55.1, mdns: <id>.local */
	const char *user;		/* default "nvidia" */
	uint32_t port;			/* ssh port; default 22 */
	const char *identity;		/* "~/" expanded; NULL = ssh's default */
	const char *module_name;	/* as written; NULL when not given */
	const struct coh_module_spec *module;	/* NULL when not given */
	const char *serial;		/* NULL when not given */
	const char *l4t;		/* NULL when not given */
	uint64_t ram_mb;		/* MemTotal in MiB; 0 = not given */
	const char *thermal_policy;	/* names a policy; default "conservative" */
	uint64_t memory_budget_mb;	/* 0 = none set */
	const char *power_mode;		/* a mode name or decimal id; NULL = none
					   (device, else fleet.defaults, else power.mode) */
	struct coh_config_strv labels;	/* [a-z0-9_-]+ each */
	struct coh_config_inference inference;	/* effective: the inference
						   section with this device's
						   overrides */
};

struct coh_config_model {
	const char *name;		/* unique */
	const char *source;		/* as written (after ${VAR}) */
	const char *resolved_url;	/* http(s) URL or absolute local path;
					   NULL when no mirror resolves it */
	const char *sha256;		/* 64 lower-case hex; NULL = not given */
	const char *quantization;	/* "Q4_0", "Q4_K_M", ... or "auto" */
	struct coh_config_strv devices;	/* the selector as written: "all", ids,
					   "label:NAME" */
	const size_t *device_index;	/* resolved: indices into fleet.devices */
	size_t device_count;
	uint32_t context_length;	/* default inference.context_length */
};

struct coh_config_policy {
	const char *name;		/* "conservative", "aggressive", ... */
	double threshold_c;		/* trip */
	double cooldown_c;		/* resume below; < threshold_c */
	double warning_c;		/* cooldown_c < warning_c <= threshold_c;
					   default threshold_c - 5 */
	uint32_t check_interval_ms;	/* 10..60000 */
	enum coh_config_action action;	/* default pause */
};

struct coh_config_power {
	const char *mode;		/* default mode name or id; NULL = none */
	bool jetson_clocks;		/* pin clocks at setup / `clocks on` */
	int32_t fan_pwm;		/* -1 = auto, else 0..255 ("NN%" converted) */
	const char *nvpmodel;		/* program; default "nvpmodel" */
	const char *jetson_clocks_path;	/* program; default "jetson_clocks" */
	double max_temp_c;		/* `clocks on` limit; default 60 */
};

struct coh_config_storage {
	const char *models_dir;		/* default "/var/lib/cohete/models" */
	struct {
		bool enabled;		/* default false */
		const char *device;	/* NULL = detect */
		const char *mount_point;	/* default "/mnt/nvme" */
		const char *filesystem;	/* default "ext4" */
	} nvme;
	struct {
		bool enabled;		/* default true */
		uint64_t size_mb;	/* 0 = half of RAM */
		const char *algorithm;	/* default "lz4" */
		int32_t priority;	/* -1..32767; default 100 */
	} zram;
	struct {
		bool enabled;		/* default false */
		const char *path;	/* default "/mnt/nvme/swapfile" */
		uint64_t size_gb;	/* default 16 */
	} swapfile;			/* storage.swap.file */
};

struct coh_config_provision {
	struct {
		bool enabled;		/* default true */
		const char *mount_point;	/* default "/mnt/nvme" */
		uint64_t swap_size_gb;	/* default 16 */
	} nvme;
	struct {
		bool copy_id;		/* default true */
		const char *config_host;	/* default "jetson" */
		const char *user;	/* default "nvidia" */
		const char *key;	/* "~/" expanded; NULL = ssh's default */
	} ssh;
	struct coh_config_strv packages;	/* default nvtop, htop, tmux */
	struct {
		bool enabled;		/* default true */
		int32_t priority;	/* default 100 */
		const char *compression_algorithm;	/* default "lz4" */
	} zram;
};

struct coh_config_agent {
	const char *listen;		/* "ADDR:PORT"; default "127.0.0.1:9102" */
	const char *listen_addr;	/* numeric address, no brackets */
	uint16_t listen_port;
	uint32_t interval_ms;		/* 100..60000; default 1000 */
	const char *token_file;		/* NULL = control API refused */
	const char *policy;		/* names a policy; default "conservative" */
	const char *state_dir;		/* NULL = none kept */
	struct coh_config_strv workload_users;	/* names or uids */
	bool mdns;			/* publish _cohete._tcp; default true */
};

/* Everything; all strings and arrays are owned by it. */
struct coh_config {
	const char *file;		/* the file loaded, as named */
	const char *version;		/* "1.0" */
	const struct coh_config_mirror *mirrors;	/* hf:// built in */
	size_t mirror_count;
	struct coh_config_discovery discovery;
	const char *fleet_name;		/* default "" */
	const struct coh_config_device *devices;	/* effective, file order */
	size_t device_count;
	const struct coh_config_model *models;
	size_t model_count;
	const struct coh_config_policy *policies;	/* built-ins first, then
							   the file's new ones */
	size_t policy_count;
	struct coh_config_power power;
	struct coh_config_inference inference;
	struct coh_config_storage storage;
	struct coh_config_provision provision;
	struct coh_config_agent agent;
};

/* ==== loading ==== */

/* An environment for ${VAR}: the value, or NULL when unset. */
typedef const char *(*coh_config_getenv_fn)(const char *name, void *arg);

/* All-zero means defaults. */
struct coh_config_load_opts {
	coh_config_getenv_fn getenv;	/* NULL = the process environment */
	void *getenv_arg;
	const char *home;		/* for "~/"; NULL = $HOME (via getenv) */
	size_t max_file_bytes;		/* 0 = COH_CONFIG_FILE_MAX_BYTES */
	unsigned int flags;		/* COH_CONFIG_LOAD_* */
};

/* include: is an error (fuzzing: no file outside the text is read). */
#define COH_CONFIG_LOAD_NO_INCLUDES	0x1u

/*
 * Load, validate and type the file at path and its includes. Diagnostics
 * (errors and warnings) are appended to diags (may be NULL). Returns 0
 * with *out set when there is no error (warnings allowed); -EINVAL with
 * *out NULL when there are errors (all in diags, err holds the first);
 * -ENOENT, -EACCES, -EFBIG (over max_file_bytes), ... when path itself
 * cannot be read (err says why; nothing in diags); -ENOMEM.
 */
COH_API int coh_config_load(const char *path,
			    const struct coh_config_load_opts *opts,
			    struct coh_config **out,
			    struct coh_config_diags *diags,
			    struct pep_err *err);

/*
 * The same for text (len bytes, need not end in NUL), named name in
 * diagnostics; relative includes and local model sources are taken
 * relative to name's directory. For tests and fuzzing.
 */
COH_API int coh_config_load_string(const char *text, size_t len,
				   const char *name,
				   const struct coh_config_load_opts *opts,
				   struct coh_config **out,
				   struct coh_config_diags *diags,
				   struct pep_err *err);

COH_API void coh_config_free(struct coh_config *cfg);

/* ==== reading a loaded configuration ==== */

/* The device of that id; NULL when none. Valid until coh_config_free(). */
COH_API const struct coh_config_device *
coh_config_find_device(const struct coh_config *cfg, const char *id);

/*
 * The entry of the machine a command runs on: the device whose serial is
 * serial, else whose id is hostname, else whose host is "localhost",
 * "127.0.0.1" or "::1", else the only device when the fleet has one.
 * serial and hostname may be NULL or "". NULL when none matches.
 */
COH_API const struct coh_config_device *
coh_config_find_local(const struct coh_config *cfg, const char *serial,
		      const char *hostname);

/* The thermal policy of that name (built-ins included); NULL when none. */
COH_API const struct coh_config_policy *
coh_config_find_policy(const struct coh_config *cfg, const char *name);

/*
 * The thermal guard's form of a policy (°C to m°C, rounded). Returns 0,
 * or -EINVAL when the name does not fit the guard's (never for a loaded
 * policy).
 */
COH_API int coh_config_policy_guard(const struct coh_config_policy *p,
				    struct coh_thermal_guard_policy *out,
				    struct pep_err *err);

COH_API const char *coh_config_connection_name(enum coh_config_connection c);
COH_API const char *coh_config_action_name(enum coh_config_action a);

/* ==== writing ==== */

/*
 * The effective configuration (defaults, includes and overrides applied)
 * as YAML that loads back to the same configuration ('$' written "$$"),
 * or as JSON of the same shape. Returns 0, -EIO when the stream fails,
 * -ENOMEM.
 */
COH_API int coh_config_emit_yaml(const struct coh_config *cfg, FILE *f,
				 struct pep_err *err);
COH_API int coh_config_emit_json(const struct coh_config *cfg, FILE *f,
				 struct pep_err *err);

/*
 * The JSON Schema (draft 2020-12) of the file, from the table the loader
 * types with, as a NUL-terminated string the caller frees. NULL when out
 * of memory.
 */
COH_API char *coh_config_schema_json(void);

/*
 * Where `cohete discover --save` writes the inventory and `cohete config
 * init` looks for it: $XDG_CONFIG_HOME/cohete/inventory.yaml, else
 * $HOME/.config/cohete/inventory.yaml (getenv: as in the load options,
 * NULL = the process environment). Returns the length (snprintf
 * semantics), -ENOENT when neither variable is set, -ENAMETOOLONG.
 */
COH_API int coh_config_inventory_path(char *buf, size_t size,
				      coh_config_getenv_fn getenv, void *arg);

#ifdef __cplusplus
}
#endif

#endif /* COHETE_CONFIG_H */
