// SPDX-License-Identifier: GPL-2.0
/* The running filter as a handle: load the object (pinned or not), or open
 * what an earlier process pinned; the pin-path lock; unpinning. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "tapis.skel.h"
#include "compile.h"
#include "gen.h"
#include "log.h"
#include "tapis.h"

#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif

const char *const tapis_map_names[M__COUNT] = {
#define TAPIS_MAP_NAME(id, name) [M_##id] = #name,
	TAPIS_MAPS(TAPIS_MAP_NAME)
#undef TAPIS_MAP_NAME
};

static void tapis_init(struct tapis *t)
{
	memset(t, 0, sizeof(*t));
	t->lock_fd = -1;
	t->prog_fd = -1;
	for (int i = 0; i < M__COUNT; i++)
		t->map_fd[i] = -1;
	t->v4_exact_fd[0] = t->v4_exact_fd[1] = -1;
	t->host_entries = -1;
	t->ncpus = libbpf_num_possible_cpus();
}

/* The group whose members may read the filter's state (status, stats,
 * explain) without root; -1 when the system has none. */
static gid_t tapis_gid(void)
{
	struct group *g = getgrnam(TAPIS_GROUP);

	return g ? g->gr_gid : (gid_t)-1;
}

/* A pin directory someone else could have made or can change is refused:
 * on a bpffs mounted 1777, a user could create it before root loads and
 * delete the pins from under status and unload. */
static int pin_dir_trusted(const char *pin)
{
	struct stat st;

	if (lstat(pin, &st))
		return -errno;
	/* root's filter, and we are not root: not ours to change. */
	if (st.st_uid == 0 && geteuid() != 0)
		return -EACCES;
	if (!S_ISDIR(st.st_mode)) {
		pr_err("pin path %s is not a directory", pin);
		return -ENOTDIR;
	}
	if (st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
		pr_err("pin path %s is owned by uid %u with mode %04o: refusing it (it must "
		       "belong to uid %u and not be writable by others; remove it, or fix its "
		       "owner and mode)",
		       pin, (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777),
		       (unsigned)geteuid());
		return -EPERM;
	}
	return 0;
}

/* Group tapis may read a pin (BPF_F_RDONLY opens need read permission);
 * nobody else may touch it. Best effort: without the group the pins stay
 * root's alone, as bpffs made them. */
void tapis_pin_perms(const char *path)
{
	gid_t gid = tapis_gid();

	if (gid == (gid_t)-1)
		return;
	if (chown(path, (uid_t)-1, gid) == 0)
		chmod(path, 0640);
}

/* The default pin path lives on /sys/fs/bpf, which a fresh machine may not
 * have mounted; any other path must already be on a bpffs. The directory
 * is made 0750, group tapis. */
static int ensure_pin_dir(const char *pin)
{
	struct statfs sfs;
	char parent[PATH_MAX];
	char *slash;
	gid_t gid;
	int err;

	snprintf(parent, sizeof(parent), "%s", pin);
	slash = strrchr(parent, '/');
	if (!slash || slash == parent)
		return -EINVAL;
	*slash = '\0';
	if (statfs(parent, &sfs) == 0 && sfs.f_type != BPF_FS_MAGIC &&
	    strcmp(parent, "/sys/fs/bpf") == 0) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700") && errno != EBUSY)
			return -errno;
	}
	if (mkdir(pin, 0750) == 0) {
		gid = tapis_gid();
		/* mkdir's mode went through the umask. */
		if ((gid != (gid_t)-1 && chown(pin, (uid_t)-1, gid)) || chmod(pin, 0750)) {
			err = -errno;
			pr_err("set owner and mode of %s: %s", pin, strerror(-err));
			rmdir(pin);
			return err;
		}
	} else if (errno != EEXIST) {
		err = -errno;
		pr_err("create pin path %s: %s", pin, strerror(-err));
		return err;
	}
	err = pin_dir_trusted(pin);
	if (err)
		return err;
	if (statfs(pin, &sfs) == 0 && sfs.f_type != BPF_FS_MAGIC) {
		rmdir(pin);
		pr_err("pin path %s is not on a bpf filesystem (mount one: mount -t bpf bpf DIR)",
		       pin);
		return -ENOTSUP;
	}
	return 0;
}

static int lock_wait_ms; /* tapis_set_lock_wait */

void tapis_set_lock_wait(int ms)
{
	lock_wait_ms = ms;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* flock on the pin directory itself: bpffs holds no regular files, and a
 * directory lock dies with its process, so a crash never leaves it held.
 * Polled rather than blocking, so that a wait has a deadline and says once
 * that it waits. */
static int take_lock(struct tapis *t, bool shared)
{
	int wait_ms = lock_wait_ms;
	long long deadline = wait_ms < 0 ? -1 : now_ms() + wait_ms;
	bool said = false;

	t->lock_fd = open(t->pin_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (t->lock_fd < 0) {
		int err = -errno;

		pr_err("open pin path %s: %s", t->pin_path, strerror(-err));
		return err;
	}
	while (flock(t->lock_fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB)) {
		int err = -errno;

		if (err == -EWOULDBLOCK && (deadline < 0 || now_ms() < deadline)) {
			if (!said)
				pr_info("another tapis is changing %s; waiting", t->pin_path);
			said = true;
			usleep(20000);
			continue;
		}
		if (err == -EWOULDBLOCK)
			pr_err("another tapis is changing %s; try again%s", t->pin_path,
			       wait_ms ? " (waited as long as --wait said)"
				       : " (or give --wait [SECONDS])");
		return err == -EWOULDBLOCK ? -EAGAIN : err;
	}
	return 0;
}

static int fill_fds_from_skel(struct tapis *t)
{
	struct bpf_object *obj = t->skel->obj;

	for (int i = 0; i < M__COUNT; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(obj, tapis_map_names[i]);

		if (!m)
			return -ENOENT;
		t->map_fd[i] = dup(bpf_map__fd(m));
		if (t->map_fd[i] < 0)
			return -errno;
	}
	t->prog_fd = dup(bpf_program__fd(t->skel->progs.tapis_xdp));
	return t->prog_fd < 0 ? -errno : 0;
}

int tapis_host_idx_log2_for(size_t n_hosts, uint32_t capacity)
{
	size_t want = n_hosts > capacity ? n_hosts : capacity;
	uint32_t log2 = TAPIS_HOST_IDX_LOG2_MIN;

	while (log2 < TAPIS_HOST_IDX_LOG2_MAX && ((size_t)1 << log2) < 2 * want)
		log2++;
	return tapis_host_capacity(log2) < want ? -E2BIG : (int)log2;
}

uint32_t tapis_rule_slots_for(size_t n_rules, uint32_t capacity)
{
	size_t want = n_rules > capacity ? n_rules : capacity;
	uint32_t slots = TAPIS_RULES_MIN;

	/* Ids 1..slots - 1: twice the rules, and id 0. */
	while (slots < TAPIS_MAX_RULES && slots < 2 * want + 1)
		slots <<= 1;
	return slots;
}

uint32_t tapis_map_entries(struct tapis *t, int map)
{
	struct bpf_map_info info;
	uint32_t len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (t->map_fd[map] < 0 || bpf_obj_get_info_by_fd(t->map_fd[map], &info, &len))
		return 0;
	return info.max_entries;
}

uint32_t tapis_rule_slots(struct tapis *t)
{
	uint32_t n;

	if (!t->rule_slots) {
		n = tapis_map_entries(t, M_COUNTERS);
		/* A power of two the maps agree on, or the one size there was. */
		t->rule_slots = n >= TAPIS_RULES_MIN && n <= TAPIS_MAX_RULES && !(n & (n - 1))
					? n
					: TAPIS_MAX_RULES;
	}
	return t->rule_slots;
}

uint32_t tapis_v4_leaves_for(size_t n_v4, uint32_t capacity)
{
	size_t want = n_v4 > capacity ? n_v4 : capacity;
	size_t n = 2 * want + 1;

	n += n / 4;
	return n < TAPIS_V4_LEAVES_LOAD_MIN ? TAPIS_V4_LEAVES_LOAD_MIN
	       : n > TAPIS_V4_MAX_LEAVES    ? TAPIS_V4_MAX_LEAVES
					    : (uint32_t)n;
}

void tapis_v4_sizes(struct tapis *t, uint32_t *leaves, uint32_t *chunks_small)
{
	struct tapis_state st;
	uint32_t zero = 0;

	if (!t->v4_leaves) {
		/* Before tapis_state had them: the one size there was. */
		t->v4_leaves = TAPIS_V4_MAX_LEAVES;
		t->v4_chunks_small = TAPIS_V4_CHUNKS_SMALL;
		if (t->map_fd[M_STATE] >= 0 &&
		    bpf_map_lookup_elem(t->map_fd[M_STATE], &zero, &st) == 0 && st.v4_leaves &&
		    st.v4_leaves <= TAPIS_V4_MAX_LEAVES && st.v4_chunks_small &&
		    st.v4_chunks_small <= TAPIS_V4_CHUNKS_INLINE_MAX) {
			t->v4_leaves = st.v4_leaves;
			t->v4_chunks_small = st.v4_chunks_small;
		}
	}
	*leaves = t->v4_leaves;
	*chunks_small = t->v4_chunks_small;
}

int tapis_load_opts_for(const struct compiled *c, struct tapis_load_opts *o)
{
	int log2 = tapis_host_idx_log2_for(c->n_hosts, c->capacity_names);
	struct v4_plan plan;
	size_t chunks;
	int err;

	memset(o, 0, sizeof(*o));
	if (log2 < 0)
		return log2;
	err = net_v4_plan(c, &plan);
	if (err)
		return err;
	o->v4_leaves = tapis_v4_leaves_for(c->n_v4, c->capacity_ipv4);
	/* The inline chunk map gets the policy's chunks and a quarter more
	 * (64 at least) for live adds; more than the slots' ids leave
	 * cannot be, and a policy that cannot have that many never gets
	 * there (net_v4_plan refuses it first). */
	chunks = plan.chunks + (plan.chunks / 4 > TAPIS_V4_CHUNKS_SMALL_MIN
					? plan.chunks / 4
					: TAPIS_V4_CHUNKS_SMALL_MIN);
	o->v4_chunks_small = chunks <= TAPIS_V4_CHUNKS_INLINE_MAX ? (uint32_t)chunks
								  : TAPIS_V4_CHUNKS_INLINE_MAX;
	o->host_idx_log2 = (uint32_t)log2;
	o->flows = c->flows;
	o->rule_slots = tapis_rule_slots_for(c->n_rules, c->capacity_rules);
	o->events_ring = c->events_ring;
	o->edits = c->capacity_edits;
	return 0;
}

uint32_t tapis_host_log2(struct tapis *t)
{
	struct tapis_settings set;
	struct tapis_state st;
	uint32_t zero = 0, gen;

	if (!t->host_idx_log2) {
		/* The running generation's settings say what its program reads
		 * with: after a program swap (swap.c) a handle that opened the
		 * new tapis_ctl gets the new size even before tapis_state says
		 * it. Before tapis_state had it: the one size there was. */
		t->host_idx_log2 = TAPIS_HOST_IDX_LOG2_DEFAULT;
		if (t->map_fd[M_CTL] >= 0 && t->map_fd[M_SETTINGS] >= 0 &&
		    gen_active(t, &gen) == 0 &&
		    bpf_map_lookup_elem(t->map_fd[M_SETTINGS], &gen, &set) == 0 &&
		    set.host_idx_log2 >= TAPIS_HOST_IDX_LOG2_MIN &&
		    set.host_idx_log2 <= TAPIS_HOST_IDX_LOG2_MAX)
			t->host_idx_log2 = set.host_idx_log2;
		else if (t->map_fd[M_STATE] >= 0 &&
			 bpf_map_lookup_elem(t->map_fd[M_STATE], &zero, &st) == 0 &&
			 st.host_idx_log2 >= TAPIS_HOST_IDX_LOG2_MIN &&
			 st.host_idx_log2 <= TAPIS_HOST_IDX_LOG2_MAX)
			t->host_idx_log2 = st.host_idx_log2;
	}
	return t->host_idx_log2;
}

/* The host filter and index, the IPv4 leaf map and the small chunk map
 * are read inline, so the program is verified against their inner
 * templates' sizes: set here, before the load, for good (every
 * generation's settings repeat the host size for the data path; the
 * IPv4 sizes are in tapis_state). libbpf 1.1 cannot resize an inner
 * template (bpf_map__set_max_entries on one crashes), so each outer map
 * gets a template map of the size instead, tmpl[] (closed by the caller
 * once the object is loaded). leaves 0: the host tables' alone (a
 * sibling program shares the IPv4 maps, and their sizes). */
#define N_TEMPLATES 4
static int size_inner_templates(struct bpf_object *obj, uint32_t log2, uint32_t leaves,
				uint32_t chunks, int tmpl[N_TEMPLATES])
{
	const struct {
		int map;
		uint32_t value_size, n;
	} sizes[N_TEMPLATES] = {
		{M_HOST_INDEX, sizeof(struct tapis_host_slot), tapis_host_idx_entries(log2)},
		/* 64-bit words */
		{M_HOST_FILTER, sizeof(uint64_t),
		 1u << (log2 + TAPIS_HOST_FILTER_LOG2_PER_SLOT - 6)},
		{M_V4_LEAF, sizeof(struct tapis_v4_leaf), leaves},
		{M_V4_CHUNK_S, sizeof(struct tapis_v4_slots),
		 chunks * (TAPIS_V4_CHUNK_SLOTS / TAPIS_V4_SLOTS_PER_VAL)},
	};
	LIBBPF_OPTS(bpf_map_create_opts, co, .map_flags = BPF_F_MMAPABLE);
	struct bpf_map *m;
	uint32_t n;
	int err;

	if (log2 < TAPIS_HOST_IDX_LOG2_MIN || log2 > TAPIS_HOST_IDX_LOG2_MAX ||
	    leaves > TAPIS_V4_MAX_LEAVES ||
	    (leaves && (!chunks || chunks > TAPIS_V4_CHUNKS_INLINE_MAX)))
		return -EINVAL;
	for (size_t i = 0; i < (leaves ? N_TEMPLATES : 2); i++) {
		m = bpf_object__find_map_by_name(obj, tapis_map_names[sizes[i].map]);
		n = sizes[i].n;
		tmpl[i] = bpf_map_create(BPF_MAP_TYPE_ARRAY, tapis_map_names[sizes[i].map],
					 sizeof(uint32_t), sizes[i].value_size, n, &co);
		err = tmpl[i] < 0 ? -errno : m ? bpf_map__set_inner_map_fd(m, tmpl[i]) : -ENOENT;
		if (err) {
			pr_err("size %s to %u entries: %s", tapis_map_names[sizes[i].map], n,
			       strerror(-err));
			return err;
		}
	}
	return 0;
}

/* The running program's load-time constants (its .rodata: the flow masks
 * and whatever else the loader set) into a sibling's, so that the two
 * read the maps they share alike. */
static int copy_rodata(int prog_fd, struct bpf_map *rodata)
{
	struct bpf_prog_info info;
	uint32_t len = sizeof(info), *ids = NULL, n;
	size_t size = 0;
	/* The skeleton's own mapping of it, writable until the load. */
	void *dst = (void *)bpf_map__initial_value(rodata, &size);
	int err = -ENOENT;

	memset(&info, 0, sizeof(info));
	if (!dst)
		return -EINVAL;
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len))
		return -errno;
	n = info.nr_map_ids;
	ids = calloc(n ? n : 1, sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	memset(&info, 0, sizeof(info));
	info.nr_map_ids = n;
	info.map_ids = (uint64_t)(unsigned long)ids;
	len = sizeof(info);
	if (bpf_obj_get_info_by_fd(prog_fd, &info, &len)) {
		err = -errno;
		goto out;
	}
	for (uint32_t i = 0; i < n && i < info.nr_map_ids && err == -ENOENT; i++) {
		struct bpf_map_info mi;
		uint32_t mlen = sizeof(mi), zero = 0;
		int fd = bpf_map_get_fd_by_id(ids[i]);

		if (fd < 0)
			continue;
		memset(&mi, 0, sizeof(mi));
		if (bpf_obj_get_info_by_fd(fd, &mi, &mlen) == 0 && strstr(mi.name, ".rodata")) {
			/* Another layout: another tapis version loaded it. */
			if (mi.value_size != size)
				err = -EPROTO;
			else
				err = bpf_map_lookup_elem(fd, &zero, dst) ? -errno : 0;
		}
		close(fd);
	}
out:
	free(ids);
	return err;
}

const int swap_maps[SWAP_N] = {M_CTL, M_HOST_FILTER, M_HOST_INDEX};

int tapis_load_sibling(struct tapis *t, uint32_t log2, int *prog_fd, int fds[SWAP_N])
{
	struct tapis_bpf *skel;
	int tmpl[N_TEMPLATES] = {-1, -1, -1, -1}, err = 0;
	struct bpf_map *m;

	*prog_fd = -1;
	for (int i = 0; i < SWAP_N; i++)
		fds[i] = -1;
	skel = tapis_bpf__open_opts(NULL);
	if (!skel)
		return -errno;
	/* Nothing pinned by libbpf: the caller pins the new maps under
	 * names of its own, and the shared ones are pinned already. */
	bpf_object__for_each_map(m, skel->obj) bpf_map__set_pin_path(m, NULL);
	for (int i = 0; !err && i < M__COUNT; i++) {
		bool fresh = false;

		for (int k = 0; k < SWAP_N; k++)
			fresh |= swap_maps[k] == i;
		if (fresh)
			continue;
		m = bpf_object__find_map_by_name(skel->obj, tapis_map_names[i]);
		err = m ? bpf_map__reuse_fd(m, t->map_fd[i]) : -ENOENT;
		if (err)
			pr_err("share %s with the new program: %s", tapis_map_names[i],
			       strerror(-err));
	}
	if (!err) {
		err = copy_rodata(t->prog_fd, skel->maps.rodata);
		if (err)
			pr_err("read the running program's load-time settings: %s%s",
			       strerror(-err),
			       err == -EPROTO
				       ? " (another tapis version loaded it: unload and load)"
				       : "");
	}
	err = err ?: size_inner_templates(skel->obj, log2, 0, 0, tmpl);
	if (!err) {
		err = tapis_bpf__load(skel);
		if (err)
			pr_err("load the program with larger host tables: %s (run with -vv for the "
			       "verifier log)",
			       strerror(-err));
	}
	for (int i = 0; i < N_TEMPLATES; i++)
		if (tmpl[i] >= 0)
			close(tmpl[i]);
	if (!err) {
		*prog_fd = dup(bpf_program__fd(skel->progs.tapis_xdp));
		err = *prog_fd < 0 ? -errno : 0;
	}
	for (int i = 0; !err && i < SWAP_N; i++) {
		m = bpf_object__find_map_by_name(skel->obj, tapis_map_names[swap_maps[i]]);
		fds[i] = m ? dup(bpf_map__fd(m)) : -1;
		err = fds[i] < 0 ? -ENOENT : 0;
	}
	tapis_bpf__destroy(skel);
	if (err) {
		if (*prog_fd >= 0)
			close(*prog_fd);
		*prog_fd = -1;
		for (int i = 0; i < SWAP_N; i++) {
			if (fds[i] >= 0)
				close(fds[i]);
			fds[i] = -1;
		}
	}
	return err;
}

/* Written once into the fresh tapis_state, for every later process. */
static int record_sizes(struct tapis *t)
{
	struct tapis_state st;
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(t->map_fd[M_STATE], &zero, &st))
		return -errno;
	st.host_idx_log2 = t->host_idx_log2;
	st.v4_leaves = t->v4_leaves;
	st.v4_chunks_small = t->v4_chunks_small;
	return bpf_map_update_elem(t->map_fd[M_STATE], &zero, &st, BPF_ANY) ? -errno : 0;
}

/* Every size fixed at load that o sets (o may be NULL: the sizes the
 * object declares), before the load: the flow table and the state of
 * followed flows, the rule tables, the events ring, the edits map, and
 * the masks the data path uses with them. The host tables' templates are
 * size_inner_templates'. */
static int size_maps(struct tapis *t, const struct tapis_load_opts *o)
{
	/* Powers of two, so the data path masks a hash or an id into them;
	 * the state of followed flows in proportion (tapis_abi.h). */
	uint32_t slots = tapis_flow_slots(o && o->flows ? o->flows : TAPIS_FLOWS_DEFAULT);
	uint32_t rules = o && o->rule_slots ? o->rule_slots : TAPIS_MAX_RULES;
	const struct {
		int map;
		uint32_t n;
	} sz[] = {
		{M_FLOWS, slots},
		{M_L7_STATES, slots >> TAPIS_L7_STATES_SHIFT},
		{M_L7_NAMES, slots >> TAPIS_L7_NAMES_SHIFT},
		{M_RULES, 2 * rules},
		{M_COUNTERS, rules},
		{M_RULE_META, rules},
		{M_EVENTS, o && o->events_ring ? o->events_ring : TAPIS_EVENTS_RING},
		{M_EDITS, o && o->edits ? o->edits : TAPIS_EDITS_DEFAULT},
	};
	struct bpf_map *m;
	int err;

	if (rules < TAPIS_RULES_MIN || rules > TAPIS_MAX_RULES || (rules & (rules - 1)))
		return -EINVAL;
	for (size_t i = 0; i < sizeof(sz) / sizeof(sz[0]); i++) {
		m = bpf_object__find_map_by_name(t->skel->obj, tapis_map_names[sz[i].map]);
		err = m ? bpf_map__set_max_entries(m, sz[i].n) : -ENOENT;
		if (err) {
			pr_err("size %s to %u entries: %s", tapis_map_names[sz[i].map], sz[i].n,
			       strerror(-err));
			return err;
		}
	}
	t->skel->rodata->flow_mask = slots - 1;
	t->skel->rodata->l7_state_mask = sz[1].n - 1;
	t->skel->rodata->l7_name_mask = sz[2].n - 1;
	t->skel->rodata->rule_mask = rules - 1;
	t->rule_slots = rules;
	return 0;
}

int tapis_create(struct tapis *t, const char *pin_path)
{
	return tapis_create_opts(t, pin_path, NULL);
}

static int unpin_files(struct tapis *t);
static bool stale_pins(const struct tapis *t);

int tapis_create_opts(struct tapis *t, const char *pin_path, const struct tapis_load_opts *o)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	int tmpl[N_TEMPLATES] = {-1, -1, -1, -1};
	struct bpf_map *m;
	char path[PATH_MAX];
	int err;

	tapis_init(t);
	if (pin_path && strlen(pin_path) >= sizeof(t->pin_path))
		return -ENAMETOOLONG;
	if (pin_path) {
		snprintf(t->pin_path, sizeof(t->pin_path), "%s", pin_path);
		err = ensure_pin_dir(pin_path);
		if (err)
			return err;
		err = take_lock(t, false);
		if (err)
			goto fail;
		if (stale_pins(t)) {
			/* We hold the lock: no load is under way there. */
			pr_warn("%s holds the pins of a load that did not finish: replaced",
				pin_path);
			err = unpin_files(t);
			if (err)
				goto fail;
		}
		snprintf(path, sizeof(path), "%s/tapis_ctl", pin_path);
		if (access(path, F_OK) == 0) {
			err = -EEXIST;
			goto fail;
		}
		oo.pin_root_path = t->pin_path;
	}
	t->skel = tapis_bpf__open_opts(&oo);
	if (!t->skel) {
		err = -errno;
		pr_err("open BPF object: %s", strerror(-err));
		goto fail;
	}
	if (!pin_path) {
		bpf_object__for_each_map(m, t->skel->obj) bpf_map__set_pin_path(m, NULL);
	}
	err = size_maps(t, o);
	if (err)
		goto fail;
	t->host_idx_log2 = o && o->host_idx_log2 ? o->host_idx_log2 : TAPIS_HOST_IDX_LOG2_DEFAULT;
	t->v4_leaves = o && o->v4_leaves ? o->v4_leaves : TAPIS_V4_MAX_LEAVES;
	t->v4_chunks_small = o && o->v4_chunks_small ? o->v4_chunks_small : TAPIS_V4_CHUNKS_SMALL;
	err = size_inner_templates(t->skel->obj, t->host_idx_log2, t->v4_leaves, t->v4_chunks_small,
				   tmpl);
	if (!err)
		err = tapis_bpf__load(t->skel);
	for (int i = 0; i < N_TEMPLATES; i++)
		if (tmpl[i] >= 0)
			close(tmpl[i]);
	if (err) {
		pr_err("load BPF program: %s (run with -vv for the verifier log)", strerror(-err));
		goto fail;
	}
	err = fill_fds_from_skel(t);
	if (err) {
		pr_err("BPF object lacks its maps: %s", strerror(-err));
		goto fail;
	}
	err = record_sizes(t);
	if (err) {
		pr_err("record the tables' sizes in %s: %s", tapis_map_names[M_STATE],
		       strerror(-err));
		goto fail;
	}
	if (pin_path) {
		snprintf(path, sizeof(path), "%s/%s", pin_path, TAPIS_PROG_PIN);
		err = bpf_obj_pin(t->prog_fd, path);
		if (err) {
			err = -errno;
			pr_err("pin program at %s: %s", path, strerror(-err));
			goto fail;
		}
		tapis_pin_perms(path);
		for (int i = 0; i < M__COUNT; i++) {
			snprintf(path, sizeof(path), "%s/%s", pin_path, tapis_map_names[i]);
			tapis_pin_perms(path);
		}
	}
	return 0;
fail:
	if (pin_path && err != -EEXIST && err != -EAGAIN)
		tapis_unpin(t);
	tapis_close(t);
	return err;
}

/* Open every pin. Quiet about a missing pin when `quiet` (a reader that
 * may be looking at a load or unload half done). */
/* One pin, read-only when shared. The fd, or -errno after a message
 * (none for a missing pin when quiet, nor for a lack of permission: the
 * caller says what that means). */
static int open_pin(const struct tapis *t, const char *name, const char *what, bool shared,
		    bool quiet)
{
	LIBBPF_OPTS(bpf_obj_get_opts, go, .file_flags = shared ? BPF_F_RDONLY : 0);
	char path[PATH_MAX];
	int fd, err;

	snprintf(path, sizeof(path), "%s/%s", t->pin_path, name);
	fd = bpf_obj_get_opts(path, &go);
	if (fd >= 0)
		return fd;
	err = -errno;
	if (err != -EACCES && err != -EPERM && !(quiet && err == -ENOENT))
		pr_err("open pinned %s %s: %s%s", what, path, strerror(-err),
		       *what == 'm' ? " (state from another tapis version? unload and load again)"
				    : "");
	return err;
}

/* A reader that finds a program swap decided but not complete (swap.c)
 * reads the new program's maps: the policy they hold is the one being put
 * in force. The old program stays "ours" for status meanwhile. */
static int open_next(struct tapis *t, const char *name, const char *what, bool quiet)
{
	char next[NAME_MAX];
	int fd;

	snprintf(next, sizeof(next), "%s_next", name);
	fd = open_pin(t, next, what, true, true);
	return fd == -ENOENT ? open_pin(t, name, what, true, quiet) : fd;
}

static int open_pins(struct tapis *t, bool shared, bool quiet)
{
	bool next = shared && swap_pending(t);

	for (int i = 0; i < M__COUNT; i++) {
		bool own = false;

		for (int k = 0; next && k < SWAP_N; k++)
			own |= swap_maps[k] == i;
		t->map_fd[i] = own ? open_next(t, tapis_map_names[i], "map", quiet)
				   : open_pin(t, tapis_map_names[i], "map", shared, quiet);
		if (t->map_fd[i] < 0)
			return t->map_fd[i];
	}
	if (next) {
		int fd = open_pin(t, TAPIS_PROG_PIN, "program", true, true);
		struct bpf_prog_info info;
		uint32_t len = sizeof(info);

		memset(&info, 0, sizeof(info));
		if (fd >= 0 && bpf_obj_get_info_by_fd(fd, &info, &len) == 0)
			t->alt_prog_id = info.id;
		if (fd >= 0)
			close(fd);
	}
	t->prog_fd = next ? open_next(t, TAPIS_PROG_PIN, "program", quiet)
			  : open_pin(t, TAPIS_PROG_PIN, "program", shared, quiet);
	return t->prog_fd < 0 ? t->prog_fd : 0;
}

/* Does a writer hold the pin-path lock now? (A reader's probe, released
 * at once.) */
static bool writer_busy(const struct tapis *t)
{
	int fd = open(t->pin_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	bool busy;

	if (fd < 0)
		return false;
	busy = flock(fd, LOCK_SH | LOCK_NB) != 0;
	close(fd);
	return busy;
}

/* What every open starts with: the handle reset, the pin path taken, and
 * whether anything is loaded there (ctl: its tapis_ctl pin). */
static int open_start(struct tapis *t, const char *pin_path, char *ctl, size_t n)
{
	tapis_init(t);
	if (strlen(pin_path) >= sizeof(t->pin_path))
		return -ENAMETOOLONG;
	snprintf(t->pin_path, sizeof(t->pin_path), "%s", pin_path);
	snprintf(ctl, n, "%s/tapis_ctl", pin_path);
	if (access(ctl, F_OK))
		return errno == EACCES ? -EACCES : -ENOENT;
	return 0;
}

/* What a killed writer left half done is completed or undone by the next
 * writer, under the lock, before it acts. A failure is told and leaves
 * the half-done state for the next one: the command itself may still be
 * what repairs it (an unload). */
static void repair(struct tapis *t)
{
	int err = tapis_repair_generations(t);

	if (err)
		pr_warn("what a killed reload left could not all be freed: %s (the next change "
			"retries)",
			strerror(-err));
	err = tapis_complete_edits(t);
	if (err)
		pr_warn("live edits a killed tapis left half made stay pending: %s (the next "
			"change retries)",
			strerror(-err));
}

int tapis_open(struct tapis *t, const char *pin_path, bool shared)
{
	char ctl[PATH_MAX];
	long long deadline;
	int err;

	err = open_start(t, pin_path, ctl, sizeof(ctl));
	if (err)
		return err;
	t->readonly = shared;
	if (!shared) {
		/* A writer must not act on a directory it cannot trust, and
		 * writers take turns. */
		err = pin_dir_trusted(pin_path) ?: take_lock(t, false);
		/* A program swap a killed writer left is completed (or its
		 * undecided pins removed) before any pin is opened. */
		if (!err)
			swap_recover(t);
		if (!err && stale_pins(t)) {
			pr_err("%s holds only the pins of a load that did not finish (tapis unload "
			       "removes them, tapis load replaces them)",
			       pin_path);
			err = -ESTALE;
		}
		err = err ?: open_pins(t, false, false);
		if (err)
			tapis_close(t);
		else
			repair(t);
		return err;
	}
	/* Readers take no lock: a writer must never wait for a `stats`, and a
	 * reload's generation flip keeps what readers see whole. A pin
	 * missing while tapis_ctl is there is a load or unload under way:
	 * wait for it to end. */
	deadline = now_ms() + (lock_wait_ms < 0	  ? 365LL * 86400000
			       : lock_wait_ms > 0 ? lock_wait_ms
						  : TAPIS_READER_WAIT_MS);
	for (;;) {
		err = open_pins(t, true, true);
		if (err != -ENOENT)
			break;
		tapis_close(t);
		tapis_init(t);
		snprintf(t->pin_path, sizeof(t->pin_path), "%s", pin_path);
		t->readonly = true;
		if (access(ctl, F_OK))
			return -ENOENT; /* unloaded meanwhile */
		if (stale_pins(t) && !writer_busy(t)) {
			pr_err("%s holds only the pins of a load that did not finish (tapis unload "
			       "removes them, tapis load replaces them)",
			       pin_path);
			return -ESTALE;
		}
		if (now_ms() >= deadline) {
			/* Say which pin, now that waiting did not help. */
			err = open_pins(t, true, false);
			break;
		}
		usleep(50000);
	}
	if (err)
		tapis_close(t);
	return err;
}

int tapis_open_reader(struct tapis *t, const char *pin_path)
{
	char ctl[PATH_MAX];
	int err;

	err = open_start(t, pin_path, ctl, sizeof(ctl));
	if (err)
		return err;
	t->readonly = true;
	/* A load or unload under way (a pin missing) is "nothing there" for
	 * now, not a reason to wait. */
	err = open_pins(t, true, true);
	if (err)
		tapis_close(t);
	return err;
}

void tapis_close(struct tapis *t)
{
	for (int i = 0; i < M__COUNT; i++)
		if (t->map_fd[i] >= 0)
			close(t->map_fd[i]);
	if (t->prog_fd >= 0)
		close(t->prog_fd);
	for (int g = 0; g < 2; g++)
		if (t->v4_exact_fd[g] >= 0)
			close(t->v4_exact_fd[g]);
	t->v4_exact_fd[0] = t->v4_exact_fd[1] = -1;
	if (t->skel)
		tapis_bpf__destroy(t->skel);
	if (t->lock_fd >= 0)
		close(t->lock_fd);
	t->skel = NULL;
	t->lock_fd = t->prog_fd = -1;
	for (int i = 0; i < M__COUNT; i++)
		t->map_fd[i] = -1;
}

/* Every pin's file, the directory left. The program goes first and
 * tapis_ctl last, so that an unload killed half way leaves tapis_ctl
 * without the program: stale pins (stale_pins), which the next command
 * sees and removes, never a partial filter taken for a loaded one nor
 * pins taken for nothing. */
static int unpin_files(struct tapis *t)
{
	char path[PATH_MAX];
	int err = 0;

	snprintf(path, sizeof(path), "%s/%s", t->pin_path, TAPIS_PROG_PIN);
	if (unlink(path) && errno != ENOENT)
		err = -errno;
	swap_unpin(t);
	for (int g = 0; g < 2; g++) {
		gen_unpin_inner(t, (uint32_t)g);
		gen_userspace_pin_path(t, g, path, sizeof(path));
		if (unlink(path) && errno != ENOENT)
			err = -errno;
	}
	for (int i = 0; i < M__COUNT; i++) {
		if (i == M_CTL)
			continue;
		snprintf(path, sizeof(path), "%s/%s", t->pin_path, tapis_map_names[i]);
		if (unlink(path) && errno != ENOENT)
			err = -errno;
	}
	snprintf(path, sizeof(path), "%s/%s", t->pin_path, tapis_map_names[M_CTL]);
	if (unlink(path) && errno != ENOENT)
		err = -errno;
	return err;
}

int tapis_unpin(struct tapis *t)
{
	int err;

	if (!t->pin_path[0])
		return 0;
	err = unpin_files(t);
	if (rmdir(t->pin_path) && errno != ENOENT)
		err = -errno;
	return err;
}

/* Pins without the program: a load killed before it pinned the program
 * (the program is pinned last), or an unload killed after it unpinned it
 * (first), left them, and no process can use them. Any map pin counts:
 * libbpf pins the maps one by one, tapis_ctl among them. */
static bool stale_pins(const struct tapis *t)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", t->pin_path, TAPIS_PROG_PIN);
	if (access(path, F_OK) == 0 || errno != ENOENT)
		return false;
	for (int i = 0; i < M__COUNT; i++) {
		snprintf(path, sizeof(path), "%s/%s", t->pin_path, tapis_map_names[i]);
		if (access(path, F_OK) == 0)
			return true;
	}
	return false;
}

int tapis_remove_stale(const char *pin_path)
{
	struct tapis t;
	int err;

	tapis_init(&t);
	if (strlen(pin_path) >= sizeof(t.pin_path))
		return -ENAMETOOLONG;
	snprintf(t.pin_path, sizeof(t.pin_path), "%s", pin_path);
	if (!stale_pins(&t))
		return -ENOENT;
	err = pin_dir_trusted(pin_path) ?: take_lock(&t, false);
	/* Under the lock no load is under way: what is there is all there is. */
	if (!err)
		err = stale_pins(&t) ? unpin_files(&t) : -ENOENT;
	tapis_close(&t);
	return err;
}
