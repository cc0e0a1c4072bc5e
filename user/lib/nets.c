// SPDX-License-Identifier: GPL-2.0
/* Address tables of a generation: the IPv4 trie (tapis_abi.h; mmapped
 * arrays, edited in place) with an exact-prefix hash as the source of
 * truth, and the IPv6 filter bitmap, per-/32 length masks, exact-prefix
 * hash and short-prefix trie. Every entry records its prefix length, so an
 * edit changes a slot's list only below the prefixes more specific than
 * its own. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <bpf/bpf.h>

#include "compile.h"
#include "gen.h"
#include "log.h"

#define MIN_HASH 16384u /* IPv6 hash entries at least: room for live adds */

static int ex_map(struct net_tables *nt);
static int ex_flush(struct net_tables *nt);
static int v6_open(struct net_tables *nt);
static void v6_close(struct net_tables *nt);

/* n and a quarter more, at least min_extra more. */
static size_t with_headroom_sz(size_t n, size_t min_extra)
{
	return n + (n / 4 > min_extra ? n / 4 : min_extra);
}

void gen_userspace_pin_path(const struct tapis *t, int gen, char *buf, size_t sz)
{
	snprintf(buf, sz, "%s/" V4_EXACT_MAP "_g%d", t->pin_path, gen);
}

int gen_active(struct tapis *t, uint32_t *gen)
{
	struct tapis_ctl ctl;
	uint32_t zero = 0;

	if (bpf_map_lookup_elem(t->map_fd[M_CTL], &zero, &ctl))
		return -errno;
	*gen = ctl.gen & 1;
	return 0;
}

/* Inner maps are pinned beside their outer map, "<name>_g<gen>": a reader
 * without root cannot turn a map id into a descriptor (that needs
 * CAP_SYS_ADMIN) but can open a pin it may read. */
static void inner_pin_path(const struct tapis *t, int map_id, uint32_t gen, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s_g%u", t->pin_path, tapis_map_names[map_id], gen & 1);
}

int gen_publish_inner(struct tapis *t, int map_id, uint32_t gen, int fd)
{
	char path[PATH_MAX];

	if (bpf_map_update_elem(t->map_fd[map_id], &gen, &fd, BPF_ANY))
		return -errno;
	if (!t->pin_path[0])
		return 0;
	inner_pin_path(t, map_id, gen, path, sizeof(path));
	unlink(path);
	if (bpf_obj_pin(fd, path))
		return -errno;
	tapis_pin_perms(path);
	return 0;
}

void gen_unpin_inner(struct tapis *t, uint32_t gen)
{
	static const int inner[] = {
		M_V4_DIR16, M_V4_DIR24, M_V4_CHUNK, M_V4_CHUNK_S, M_V4_LEAF,	M_V6_DIR0,
		M_V6_DIR1,  M_V6_DIR2,	M_V6_DIR3,  M_V6_BLK0,	  M_V6_BLK1,	M_V6_BLK2,
		M_V6_BLK3,  M_V6_PFX,	M_V6_SHORT, M_HOSTS,	  M_HOST_INDEX, M_HOST_FILTER};
	char path[PATH_MAX];

	for (size_t i = 0; t->pin_path[0] && i < sizeof(inner) / sizeof(inner[0]); i++) {
		inner_pin_path(t, inner[i], gen, path, sizeof(path));
		unlink(path);
	}
}

int gen_inner_fd(struct tapis *t, int map_id, uint32_t gen)
{
	uint32_t id;
	int fd;

	if (t->readonly && t->pin_path[0]) {
		LIBBPF_OPTS(bpf_obj_get_opts, go, .file_flags = BPF_F_RDONLY);
		char path[PATH_MAX];

		inner_pin_path(t, map_id, gen, path, sizeof(path));
		fd = bpf_obj_get_opts(path, &go);
		return fd < 0 ? -errno : fd;
	}
	if (bpf_map_lookup_elem(t->map_fd[map_id], &gen, &id))
		return errno == ENOENT ? -ENOENT : -errno;
	fd = bpf_map_get_fd_by_id(id);
	return fd < 0 ? -errno : fd;
}

static int exact_fd(struct tapis *t, uint32_t gen, bool create, size_t n)
{
	char path[PATH_MAX];
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = BPF_F_MMAPABLE);
	int fd;

	if (!t->pin_path[0]) {
		if (t->v4_exact_fd[gen] >= 0 && !create)
			return dup(t->v4_exact_fd[gen]);
	} else if (!create) {
		LIBBPF_OPTS(bpf_obj_get_opts, go, .file_flags = t->readonly ? BPF_F_RDONLY : 0);

		gen_userspace_pin_path(t, gen, path, sizeof(path));
		fd = bpf_obj_get_opts(path, &go);
		return fd < 0 ? -errno : fd;
	}
	if (!create)
		return -ENOENT;
	/* The count, the policy's prefixes, and room for live adds. */
	fd = bpf_map_create(BPF_MAP_TYPE_ARRAY, V4_EXACT_MAP, 4, sizeof(uint64_t),
			    1 + with_headroom_sz(n, 4096), &o);
	if (fd < 0)
		return -errno;
	return fd;
}

static void *map_mmap(int fd, size_t bytes, bool ro)
{
	void *p = mmap(NULL, bytes, ro ? PROT_READ : PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return p == MAP_FAILED ? NULL : p;
}

static int create_inner(int type, const char *name, uint32_t ksz, uint32_t vsz, uint32_t n,
			uint32_t flags)
{
	LIBBPF_OPTS(bpf_map_create_opts, o, .map_flags = flags);
	int fd = bpf_map_create(type, name, ksz, vsz, n, &o);

	return fd < 0 ? -errno : fd;
}

static void nt_init(struct net_tables *nt, struct tapis *t, uint32_t gen)
{
	memset(nt, 0, sizeof(*nt));
	nt->t = t;
	nt->gen = gen;
	nt->fd_dir = nt->fd_chunk = nt->fd_leaf = nt->exact_fd = -1;
	nt->fd_v6dir = nt->fd_v6blk = nt->fd_pfx = nt->fd_short = -1;
}

/* ---- IPv4 trie: sizes ---- */
static int u32_cmp(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static size_t distinct(uint32_t *v, size_t n)
{
	size_t d = 0;

	qsort(v, n, sizeof(*v), u32_cmp);
	for (size_t i = 0; i < n; i++)
		d += !i || v[i] != v[i - 1];
	return d;
}

int net_v4_plan(const struct compiled *c, struct v4_plan *plan)
{
	uint32_t *b16 = calloc(c->n_nets + 1, sizeof(*b16));
	uint32_t *b24 = calloc(c->n_nets + 1, sizeof(*b24));
	size_t n16 = 0, n24 = 0, g16, g24;

	if (!b16 || !b24) {
		free(b16);
		free(b24);
		return -ENOMEM;
	}
	for (size_t i = 0; i < c->n_nets; i++) {
		const struct net_entry *e = c->nets[i].e;
		uint32_t a = ((uint32_t)e->addr[0] << 24) | ((uint32_t)e->addr[1] << 16) |
			     ((uint32_t)e->addr[2] << 8) | e->addr[3];

		if (e->family != 4)
			continue;
		if (e->plen > 16)
			b16[n16++] = a >> 16;
		if (e->plen > 24)
			b24[n24++] = a >> 8;
	}
	g16 = distinct(b16, n16);
	g24 = distinct(b24, n24);
	free(b16);
	free(b24);
	/* Memory decides: a /16 first level costs a chunk for every /16
	 * holding a longer prefix, a /24 one 32 MiB whatever the policy. The
	 * larger stride also saves a read, so it wins a tie. */
	size_t mem16 = ((size_t)1 << 16) * 2 + (g16 + g24) * TAPIS_V4_CHUNK_SLOTS * 2;
	size_t mem24 = ((size_t)1 << 24) * 2 + g24 * TAPIS_V4_CHUNK_SLOTS * 2;

	size_t max = TAPIS_V4_SLOT_IDS - TAPIS_V4_MIN_LEAVES;

	if (mem16 < mem24 && g16 + g24 < max) {
		plan->bits = TAPIS_V4_BITS_SMALL;
		plan->chunks = g16 + g24;
	} else {
		plan->bits = TAPIS_V4_BITS_LARGE;
		plan->chunks = g24;
	}
	if (plan->chunks >= max) {
		pr_err("%zu /24s hold IPv4 prefixes longer than /24: the table takes at most %zu",
		       g24, max - 1);
		return -ENOSPC;
	}
	return 0;
}

/* Room for live adds: a quarter more than the policy needs, at least
 * min_extra, within what a 15-bit id can name. */
static uint32_t with_headroom(uint32_t used, uint32_t max, uint32_t min_extra)
{
	uint64_t n = (uint64_t)used + (used / 4 > min_extra ? used / 4 : min_extra);

	return n > max ? max : (uint32_t)n;
}

/* ---- IPv4 trie: leaves ---- */
#define LHASH_SLOTS (1u << 16) /* > 2 * TAPIS_V4_MAX_LEAVES: probes stay short */

static uint32_t leaf_hash(const struct tapis_v4_leaf *l)
{
	const uint32_t *w = (const uint32_t *)l;
	uint64_t h = 0x9E3779B97F4A7C15ULL;

	for (size_t i = 0; i < sizeof(*l) / 4; i++)
		h = (h ^ w[i]) * 0x100000001B3ULL;
	return (uint32_t)(h ^ (h >> 29)) & (LHASH_SLOTS - 1);
}

static void lhash_add(struct net_tables *nt, uint32_t id)
{
	uint32_t h = leaf_hash(&nt->leaf[id]);

	while (nt->lhash[h])
		h = (h + 1) & (LHASH_SLOTS - 1);
	nt->lhash[h] = (uint16_t)id;
}

static int lhash_build(struct net_tables *nt, const uint8_t *is_free)
{
	nt->lhash = calloc(LHASH_SLOTS, sizeof(*nt->lhash));
	if (!nt->lhash)
		return -ENOMEM;
	for (uint32_t id = 1; id < nt->leaves_used; id++)
		if (!is_free || !is_free[id])
			lhash_add(nt, id);
	return 0;
}

/* The id of a leaf with this content, a new one if none has it yet. The
 * content is written before the id is handed out: a slot that gets it
 * points to a complete leaf. */
static int leaf_intern(struct net_tables *nt, const struct tapis_v4_leaf *l, uint16_t *id)
{
	static const struct tapis_v4_leaf empty;
	uint32_t h, n;

	if (!memcmp(l, &empty, sizeof(*l))) {
		*id = 0;
		return 0;
	}
	for (h = leaf_hash(l); nt->lhash[h]; h = (h + 1) & (LHASH_SLOTS - 1))
		if (!memcmp(&nt->leaf[nt->lhash[h]], l, sizeof(*l))) {
			*id = nt->lhash[h];
			return 0;
		}
	if (nt->n_free) {
		n = nt->free_leaves[--nt->n_free];
		memcpy(&nt->leaf[n], l, sizeof(*l));
		__atomic_thread_fence(__ATOMIC_RELEASE);
		nt->lhash[h] = (uint16_t)n;
		*id = (uint16_t)n;
		return 0;
	}
	if (nt->leaves_used >= nt->n_leaves) {
		pr_err("IPv4 table has no room for more distinct entries (%u, sized at load to the "
		       "policy's IPv4 prefixes or settings.capacity.ipv4): raise "
		       "settings.capacity.ipv4, then unload and load",
		       nt->n_leaves);
		return -ENOSPC;
	}
	n = nt->leaves_used++;
	memcpy(&nt->leaf[n], l, sizeof(*l));
	__atomic_thread_fence(__ATOMIC_RELEASE);
	nt->lhash[h] = (uint16_t)n;
	*id = (uint16_t)n;
	return 0;
}

/* Whether rule id may expire in this generation (its list needs the
 * prefixes below it). */
static bool rule_may_expire(struct net_tables *nt, uint32_t id)
{
	id &= tapis_rule_slots(nt->t) - 1;
	if (!nt->rule_exp[id]) {
		struct tapis_rule r = {};
		uint32_t k = tapis_rule_key(tapis_rule_slots(nt->t), nt->gen, id);

		bpf_map_lookup_elem(nt->t->map_fd[M_RULES], &k, &r);
		nt->rule_exp[id] = r.flags & TAPIS_RF_EXPIRES ? 2 : 1;
	}
	return nt->rule_exp[id] == 2;
}

/* Cut a list after its first entry whose rule never expires. */
static void chain_cut(struct net_tables *nt, uint32_t *ent)
{
	for (int i = 0; i < TAPIS_NET_CHAIN; i++) {
		if (!ent[i])
			return;
		if (!rule_may_expire(nt, tapis_ent_rule(ent[i]))) {
			for (int j = i + 1; j < TAPIS_NET_CHAIN; j++)
				ent[j] = 0;
			return;
		}
	}
}

/* An edit of one prefix of one direction: insert ent, or delete the entry
 * of length plen and let the list continue with covers (the prefixes the
 * deleted one lies in, most specific first). */
struct v4_edit {
	int dir;
	bool del;
	uint32_t ent;
	unsigned plen;
	uint32_t covers[TAPIS_NET_CHAIN];
	/* old leaf -> new leaf, for the few leaves one edit meets */
	uint16_t memo_from[16], memo_to[16];
	unsigned n_memo;
};

static void chain_edit(struct net_tables *nt, const struct v4_edit *ed, uint32_t *ent)
{
	uint32_t out[TAPIS_NET_CHAIN] = {0};
	int n = 0, i;

	for (i = 0; i < TAPIS_NET_CHAIN && ent[i] && tapis_ent_plen(ent[i]) > ed->plen; i++)
		out[n++] = ent[i];
	if (ed->del) {
		for (int j = 0; j < TAPIS_NET_CHAIN && ed->covers[j] && n < TAPIS_NET_CHAIN; j++)
			out[n++] = ed->covers[j];
	} else {
		if (n < TAPIS_NET_CHAIN)
			out[n++] = ed->ent;
		/* The same length again: an insert done twice (see net_insert). */
		if (i < TAPIS_NET_CHAIN && ent[i] && tapis_ent_plen(ent[i]) == ed->plen)
			i++;
		for (; i < TAPIS_NET_CHAIN && ent[i] && n < TAPIS_NET_CHAIN; i++)
			out[n++] = ent[i];
	}
	chain_cut(nt, out);
	memcpy(ent, out, sizeof(out));
}

static int leaf_edit(struct net_tables *nt, struct v4_edit *ed, uint16_t from, uint16_t *to)
{
	struct tapis_v4_leaf l;
	int err;

	for (unsigned i = 0; i < ed->n_memo; i++)
		if (ed->memo_from[i] == from) {
			*to = ed->memo_to[i];
			return 0;
		}
	if (from >= nt->leaves_used)
		return -EUCLEAN; /* a slot names a leaf never handed out */
	l = nt->leaf[from];
	chain_edit(nt, ed, l.ent[ed->dir]);
	err = leaf_intern(nt, &l, to);
	if (err)
		return err;
	if (ed->n_memo < 16) {
		ed->memo_from[ed->n_memo] = from;
		ed->memo_to[ed->n_memo++] = *to;
	}
	return 0;
}

/* ---- IPv4 trie: slots ---- */
static uint16_t slot_load(const uint16_t *s)
{
	return __atomic_load_n(s, __ATOMIC_RELAXED);
}

/* Release: what the slot names (leaf, chunk) is written before it. */
static void slot_store(uint16_t *s, uint16_t v)
{
	__atomic_store_n(s, v, __ATOMIC_RELEASE);
}

/* n slots from first of the first level (chunk false) or of the chunks.
 * A running generation's maps are mapped a few pages at a time, where an
 * edit goes: mapping all of a 32 MiB first level costs a `net add` more
 * than the edit. NULL when the pages cannot be mapped (errno set). */
static uint16_t *slots_at(struct net_tables *nt, bool chunk, size_t first, size_t n)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE), b0 = first * 2, b1 = (first + n) * 2;
	size_t p0 = b0 / pg, p1 = (b1 + pg - 1) / pg;
	struct nt_win *w;
	void *m;

	if (!nt->windowed)
		return (chunk ? nt->chunk : nt->dir) + first;
	for (size_t i = 0; i < nt->n_win; i++) {
		w = &nt->win[i];
		if (w->chunk == chunk && w->p0 <= p0 && w->p1 >= p1)
			return (uint16_t *)((char *)w->m + (b0 - w->p0 * pg));
	}
	if (nt->n_win == nt->cap_win) {
		size_t c = nt->cap_win ? 2 * nt->cap_win : 64;

		w = realloc(nt->win, c * sizeof(*w));
		if (!w)
			return NULL;
		nt->win = w;
		nt->cap_win = c;
	}
	m = mmap(NULL, (p1 - p0) * pg, nt->t->readonly ? PROT_READ : PROT_READ | PROT_WRITE,
		 MAP_SHARED, chunk ? nt->fd_chunk : nt->fd_dir, (off_t)(p0 * pg));
	if (m == MAP_FAILED)
		return NULL;
	nt->win[nt->n_win++] = (struct nt_win){.chunk = chunk, .p0 = p0, .p1 = p1, .m = m};
	return (uint16_t *)((char *)m + (b0 - p0 * pg));
}

/* One slot, for readers: looked up where a read-only descriptor cannot
 * be mapped. */
static uint16_t slot_peek(struct net_tables *nt, bool chunk, size_t i)
{
	struct tapis_v4_slots v = {};
	uint32_t k = (uint32_t)(i / TAPIS_V4_SLOTS_PER_VAL);
	uint16_t *s;

	if (!nt->t->readonly) {
		s = slots_at(nt, chunk, i, 1);
		return s ? slot_load(s) : 0;
	}
	bpf_map_lookup_elem(chunk ? nt->fd_chunk : nt->fd_dir, &k, &v);
	return v.s[i % TAPIS_V4_SLOTS_PER_VAL];
}

static uint16_t *chunk_slots(struct net_tables *nt, uint16_t v)
{
	return slots_at(nt, true, (size_t)(v - nt->leaf_limit) * TAPIS_V4_CHUNK_SLOTS,
			TAPIS_V4_CHUNK_SLOTS);
}

/* Apply ed to n slots, and to every slot of the chunks they point to. */
static int slots_edit(struct net_tables *nt, struct v4_edit *ed, uint16_t *s, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++) {
		uint16_t v = slot_load(&s[i]), to = v;
		int err;

		if (v >= nt->leaf_limit) {
			uint16_t *c = chunk_slots(nt, v);

			err = c ? slots_edit(nt, ed, c, TAPIS_V4_CHUNK_SLOTS) : -errno;
		} else
			err = leaf_edit(nt, ed, v, &to);
		if (err)
			return err;
		if (v < nt->leaf_limit && to != v)
			slot_store(&s[i], to);
	}
	return 0;
}

/* A chunk under slot s holding what s held in all its 256 slots. */
static int chunk_split(struct net_tables *nt, uint16_t *s)
{
	uint16_t v = slot_load(s), *c;
	uint32_t id;

	if (v >= nt->leaf_limit)
		return 0;
	if (nt->chunks_used >= nt->n_chunks) {
		pr_err("IPv4 table has no room for more /24s holding longer prefixes (%u); "
		       "reload the policy to grow it",
		       nt->n_chunks);
		return -ENOSPC;
	}
	id = nt->chunks_used;
	c = chunk_slots(nt, (uint16_t)(nt->leaf_limit + id));
	if (!c)
		return -errno;
	nt->chunks_used++;
	for (uint32_t i = 0; i < TAPIS_V4_CHUNK_SLOTS; i++)
		c[i] = v;
	slot_store(s, (uint16_t)(nt->leaf_limit + id));
	return 0;
}

/* A chunk whose slots all name one leaf is that leaf again: the parent
 * slot takes it (one store), and the chunk is left unused until a reload. */
static void chunk_join(struct net_tables *nt, uint16_t *parent)
{
	uint16_t v = slot_load(parent), *c, first;

	if (v < nt->leaf_limit)
		return;
	c = chunk_slots(nt, v);
	if (!c)
		return;
	first = slot_load(&c[0]);
	if (first >= nt->leaf_limit)
		return;
	for (uint32_t i = 1; i < TAPIS_V4_CHUNK_SLOTS; i++)
		if (slot_load(&c[i]) != first)
			return;
	slot_store(parent, first);
}

/* Apply ed to the slots of prefix a/plen: a range of one level, the
 * levels above it split into chunks on the way (inserts), and chunks that
 * a delete left uniform joined on the way back. */
static int v4_edit_prefix(struct net_tables *nt, struct v4_edit *ed, uint32_t a, unsigned plen)
{
	uint16_t *path[4], *base;
	unsigned end = nt->v4_bits, depth = 0;
	uint32_t idx = a >> (32 - nt->v4_bits);
	int err;

	/* The first level: the prefix's own range, or the one slot it is in. */
	base = slots_at(nt, false, idx, plen > end ? 1 : 1u << (end - plen));
	if (!base)
		return -errno;
	idx = 0;
	while (plen > end) {
		uint16_t *s = &base[idx];

		if (ed->del && slot_load(s) < nt->leaf_limit)
			return -ENOENT;
		err = chunk_split(nt, s);
		if (err)
			return err;
		path[depth++] = s;
		base = chunk_slots(nt, slot_load(s));
		if (!base)
			return -errno;
		end += TAPIS_V4_CHUNK_BITS;
		idx = (a >> (32 - end)) & (TAPIS_V4_CHUNK_SLOTS - 1);
	}
	err = slots_edit(nt, ed, &base[idx], 1u << (end - plen));
	while (!err && ed->del && depth)
		chunk_join(nt, path[--depth]);
	return err;
}

/* ---- IPv4 trie: maps ---- */
static int v4_buffers(struct net_tables *nt, const struct v4_plan *plan)
{
	uint32_t leaf_map, small;

	/* The leaf map and the small chunk map have the sizes loaded. */
	tapis_v4_sizes(nt->t, &leaf_map, &small);
	/* Chunk ids take the slot values above the leaves': fixed here, with
	 * room for live adds, the rest left to leaves. */
	nt->v4_bits = plan->bits;
	nt->n_chunks = with_headroom(plan->chunks, TAPIS_V4_SLOT_IDS - TAPIS_V4_MIN_LEAVES, 64);
	/* Chunks that fit the inline map (sized at load) go there, and get
	 * more of its room for live adds where no leaf id is lost by it:
	 * ids above what the leaf map holds are no use to leaves. */
	if (nt->n_chunks <= small) {
		uint32_t spare = TAPIS_V4_SLOT_IDS - leaf_map;

		if (nt->n_chunks < spare)
			nt->n_chunks = small < spare ? small : spare;
		nt->flags |= TAPIS_SF_V4_CHUNK_SMALL;
	}
	nt->leaf_limit = TAPIS_V4_SLOT_IDS - nt->n_chunks;
	nt->n_leaves = nt->leaf_limit < leaf_map ? nt->leaf_limit : leaf_map;
	nt->leaves_used = 1;
	nt->dir = calloc((size_t)1 << plan->bits, sizeof(*nt->dir));
	nt->chunk = calloc(((size_t)nt->n_chunks + 1) * TAPIS_V4_CHUNK_SLOTS, sizeof(*nt->chunk));
	nt->leaf = calloc(nt->n_leaves, sizeof(*nt->leaf));
	if (!nt->dir || !nt->chunk || !nt->leaf)
		return -ENOMEM;
	return lhash_build(nt, NULL);
}

static int v4_map(int map_id, uint32_t vsz, size_t n_vals, const void *src, size_t bytes,
		  uint32_t flags)
{
	int fd = create_inner(BPF_MAP_TYPE_ARRAY, tapis_map_names[map_id], 4, vsz,
			      n_vals ? (uint32_t)n_vals : 1, BPF_F_MMAPABLE | flags);
	void *m;

	if (fd < 0)
		return fd;
	m = map_mmap(fd, n_vals * vsz, false);
	if (!m) {
		int err = -errno;

		close(fd);
		return err;
	}
	memcpy(m, src, bytes);
	munmap(m, n_vals * vsz);
	return fd;
}

static int v4_dir_map(uint32_t bits)
{
	return bits == TAPIS_V4_BITS_SMALL ? M_V4_DIR16 : M_V4_DIR24;
}

static int v4_chunk_map(uint32_t flags)
{
	return flags & TAPIS_SF_V4_CHUNK_SMALL ? M_V4_CHUNK_S : M_V4_CHUNK;
}

/* The bulk-built trie into maps: the first level as built, chunks and
 * leaves with room for live edits. */
static int v4_write_maps(struct net_tables *nt)
{
	uint32_t leaf_map, small, chunks = nt->n_chunks;
	size_t dir_vals = ((size_t)1 << nt->v4_bits) / TAPIS_V4_SLOTS_PER_VAL, chunk_vals;

	/* The inline chunk map has the size loaded, of which the chunk ids
	 * above the leaves' are used: n_chunks. */
	tapis_v4_sizes(nt->t, &leaf_map, &small);
	if (nt->flags & TAPIS_SF_V4_CHUNK_SMALL)
		chunks = small;
	chunk_vals = (size_t)chunks * TAPIS_V4_CHUNK_SLOTS / TAPIS_V4_SLOTS_PER_VAL;
	nt->fd_dir = v4_map(v4_dir_map(nt->v4_bits), sizeof(struct tapis_v4_slots), dir_vals,
			    nt->dir, ((size_t)1 << nt->v4_bits) * sizeof(*nt->dir), 0);
	if (nt->fd_dir < 0)
		return nt->fd_dir;
	nt->fd_chunk = v4_map(v4_chunk_map(nt->flags), sizeof(struct tapis_v4_slots), chunk_vals,
			      nt->chunk,
			      (size_t)nt->chunks_used * TAPIS_V4_CHUNK_SLOTS * sizeof(*nt->chunk),
			      nt->flags & TAPIS_SF_V4_CHUNK_SMALL ? 0 : BPF_F_INNER_MAP);
	if (nt->fd_chunk < 0)
		return nt->fd_chunk;
	/* The leaf map has the size loaded (tapis_abi.h), of which the leaf
	 * ids below the chunks' can be used: n_leaves. */
	nt->fd_leaf = v4_map(M_V4_LEAF, sizeof(struct tapis_v4_leaf), leaf_map, nt->leaf,
			     (size_t)nt->leaves_used * sizeof(*nt->leaf), 0);
	if (nt->fd_leaf < 0)
		return nt->fd_leaf;
	return 0;
}

static int map_entries(int fd, uint32_t *n)
{
	struct bpf_map_info info = {};
	uint32_t len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	*n = info.max_entries;
	return 0;
}

/* Leaves no slot names any more, for reuse: edits make new leaves and
 * never change one in use, so a table edited for long fills up. Run when
 * it is three quarters full, by a later command than the edit that let
 * the leaves go: no packet still holds one. Chunks a delete joined back
 * are scanned too, which only keeps a few leaves longer. */
static int v4_gc(struct net_tables *nt)
{
	uint8_t *is_free = malloc(nt->n_leaves);
	size_t nd = (size_t)1 << nt->v4_bits, nc = (size_t)nt->chunks_used * TAPIS_V4_CHUNK_SLOTS;
	const uint16_t *d = slots_at(nt, false, 0, nd), *c = nc ? slots_at(nt, true, 0, nc) : NULL;
	int err;

	nt->free_leaves = malloc(nt->n_leaves * sizeof(*nt->free_leaves));
	if (!is_free || !nt->free_leaves || !d || (nc && !c)) {
		free(is_free);
		return -ENOMEM;
	}
	memset(is_free, 1, nt->n_leaves);
	is_free[0] = 0;
	for (size_t i = 0; i < nd; i++)
		if (d[i] < nt->n_leaves)
			is_free[d[i]] = 0;
	for (size_t i = 0; i < nc; i++)
		if (c[i] < nt->n_leaves)
			is_free[c[i]] = 0;
	nt->n_free = 0;
	for (uint32_t l = nt->leaves_used; l-- > 1;)
		if (is_free[l])
			nt->free_leaves[nt->n_free++] = (uint16_t)l;
	err = lhash_build(nt, is_free);
	free(is_free);
	return err;
}

/* The trie of a running generation, mapped for live edits (or reads). The
 * used counts are those of the settings or, where a killed edit handed out
 * more than it recorded, the highest in use. */
static int v4_open(struct net_tables *nt, const struct tapis_settings *set)
{
	bool ro = nt->t->readonly;
	uint32_t nd = 0, nc = 0, nl = 0, leaf_map, small;
	int err;

	err = map_entries(nt->fd_dir, &nd) ?: map_entries(nt->fd_chunk, &nc)
						       ?: map_entries(nt->fd_leaf, &nl);
	if (err)
		return err;
	nt->v4_bits =
		set->v4_bits == TAPIS_V4_BITS_SMALL ? TAPIS_V4_BITS_SMALL : TAPIS_V4_BITS_LARGE;
	if ((size_t)nd * TAPIS_V4_SLOTS_PER_VAL != (size_t)1 << nt->v4_bits)
		return -EINVAL;
	nt->n_chunks = nc / (TAPIS_V4_CHUNK_SLOTS / TAPIS_V4_SLOTS_PER_VAL);
	/* The inline chunk map may hold more chunks than the slots give
	 * ids to: the settings say how many. */
	if (set->v4_chunks && set->v4_chunks < nt->n_chunks)
		nt->n_chunks = set->v4_chunks;
	nt->leaf_limit = set->v4_leaf_limit;
	tapis_v4_sizes(nt->t, &leaf_map, &small);
	if (nl != leaf_map || nt->leaf_limit + nt->n_chunks > TAPIS_V4_SLOT_IDS)
		return -EINVAL;
	nl = nt->leaf_limit < nl ? nt->leaf_limit : nl;
	nt->n_leaves = nl;
	nt->dir_bytes = (size_t)nd * sizeof(struct tapis_v4_slots);
	nt->chunk_bytes = (size_t)nc * sizeof(struct tapis_v4_slots);
	nt->leaf_bytes = (size_t)nl * sizeof(struct tapis_v4_leaf);
	nt->windowed = true;
	/* A read-only descriptor cannot be mapped shared: readers look up. */
	if (ro)
		return 0;
	nt->leaf = map_mmap(nt->fd_leaf, nt->leaf_bytes, false);
	if (!nt->leaf)
		return -errno;
	nt->chunks_used = set->v4_chunks_used;
	nt->leaves_used = set->v4_leaves_used ? set->v4_leaves_used : 1;
	static const struct tapis_v4_leaf empty;

	for (uint32_t l = nt->n_leaves; l-- > nt->leaves_used;)
		if (memcmp(&nt->leaf[l], &empty, sizeof(empty))) {
			nt->leaves_used = l + 1;
			break;
		}
	if ((uint64_t)nt->leaves_used * 4 > (uint64_t)nt->n_leaves * 3)
		return v4_gc(nt);
	return lhash_build(nt, NULL);
}

static void v4_close(struct net_tables *nt)
{
	size_t pg = (size_t)sysconf(_SC_PAGESIZE);

	for (size_t i = 0; i < nt->n_win; i++)
		munmap(nt->win[i].m, (nt->win[i].p1 - nt->win[i].p0) * pg);
	free(nt->win);
	nt->win = NULL;
	nt->n_win = nt->cap_win = 0;
	if (nt->windowed) {
		if (nt->leaf)
			munmap(nt->leaf, nt->leaf_bytes);
	} else {
		free(nt->dir);
		free(nt->chunk);
		free(nt->leaf);
	}
	free(nt->lhash);
	free(nt->free_leaves);
	nt->free_leaves = NULL;
	nt->n_free = 0;
	nt->dir = nt->chunk = NULL;
	nt->leaf = NULL;
	nt->lhash = NULL;
	nt->dir_bytes = nt->chunk_bytes = nt->leaf_bytes = 0;
	nt->windowed = false;
}

int net_tables_create(struct net_tables *nt, struct tapis *t, uint32_t gen, size_t n_v4,
		      const struct v4_plan *plan, size_t n_v6)
{
	int err;

	nt_init(nt, t, gen);
	(void)n_v6; /* the IPv6 maps are sized at flush, to the groups */
	err = v4_buffers(nt, plan);
	if (!err) {
		nt->exact_fd = exact_fd(t, gen, true, n_v4);
		err = nt->exact_fd < 0 ? nt->exact_fd : ex_map(nt);
	}
	if (err) {
		pr_err("create address tables: %s", strerror(-err));
		net_tables_close(nt);
	}
	return err;
}

static int publish_one(struct tapis *t, int map_id, uint32_t gen, int fd)
{
	return fd < 0 ? 0 : gen_publish_inner(t, map_id, gen, fd);
}

int net_tables_publish(struct net_tables *nt)
{
	struct tapis *t = nt->t;
	char path[PATH_MAX];
	int err = 0;

	err = err ?: publish_one(t, v4_dir_map(nt->v4_bits), nt->gen, nt->fd_dir);
	err = err ?: publish_one(t, v4_chunk_map(nt->flags), nt->gen, nt->fd_chunk);
	err = err ?: publish_one(t, M_V4_LEAF, nt->gen, nt->fd_leaf);
	err = err ?: publish_one(t, M_V6_DIR0 + nt->v6_dir_class, nt->gen, nt->fd_v6dir);
	err = err ?: publish_one(t, M_V6_BLK0 + nt->v6_blk_class, nt->gen, nt->fd_v6blk);
	err = err ?: publish_one(t, M_V6_PFX, nt->gen, nt->fd_pfx);
	err = err ?: publish_one(t, M_V6_SHORT, nt->gen, nt->fd_short);
	if (err)
		return err;
	if (t->pin_path[0]) {
		gen_userspace_pin_path(t, nt->gen, path, sizeof(path));
		unlink(path);
		if (bpf_obj_pin(nt->exact_fd, path) == 0)
			tapis_pin_perms(path);
		else
			return -errno;
	} else {
		if (t->v4_exact_fd[nt->gen] >= 0)
			close(t->v4_exact_fd[nt->gen]);
		t->v4_exact_fd[nt->gen] = dup(nt->exact_fd);
	}
	return 0;
}

int net_tables_open(struct net_tables *nt, struct tapis *t, uint32_t gen)
{
	struct tapis_settings set;
	int err;

	nt_init(nt, t, gen);
	if (bpf_map_lookup_elem(t->map_fd[M_SETTINGS], &gen, &set))
		return -errno;
	nt->fd_dir = gen_inner_fd(t, v4_dir_map(set.v4_bits), gen);
	nt->fd_chunk = gen_inner_fd(t, v4_chunk_map(set.flags), gen);
	nt->fd_leaf = gen_inner_fd(t, M_V4_LEAF, gen);
	nt->v6_dir_class = set.v6_dir_class & (TAPIS_V6_CLASSES - 1);
	nt->v6_blk_class = set.v6_blk_class & (TAPIS_V6_CLASSES - 1);
	nt->fd_v6dir = gen_inner_fd(t, M_V6_DIR0 + nt->v6_dir_class, gen);
	nt->fd_v6blk = gen_inner_fd(t, M_V6_BLK0 + nt->v6_blk_class, gen);
	nt->fd_pfx = gen_inner_fd(t, M_V6_PFX, gen);
	nt->fd_short = gen_inner_fd(t, M_V6_SHORT, gen);
	nt->exact_fd = exact_fd(t, gen, false, 0);
	if (nt->fd_dir < 0 || nt->fd_chunk < 0 || nt->fd_leaf < 0 || nt->fd_v6dir < 0 ||
	    nt->fd_v6blk < 0 || nt->fd_pfx < 0 || nt->fd_short < 0 || nt->exact_fd < 0) {
		err = -ENOENT;
		goto fail;
	}
	nt->flags = set.flags;
	err = ex_map(nt) ?: v4_open(nt, &set) ?: v6_open(nt);
	if (err)
		goto fail;
	return 0;
fail:
	pr_err("open address tables of generation %u: %s", gen, strerror(-err));
	net_tables_close(nt);
	return err;
}

static void free_gathered(struct net_tables *nt)
{
	free(nt->bk6);
	free(nt->bv6);
	nt->bk6 = NULL;
	nt->bv6 = NULL;
	nt->bn6 = nt->bcap6 = 0;
}

void net_tables_close(struct net_tables *nt)
{
	v4_close(nt);
	if (nt->ex)
		munmap(nt->ex, (nt->ex_cap + 1) * sizeof(uint64_t));
	nt->ex = NULL;
	free(nt->ex_bulk);
	nt->ex_bulk = NULL;
	nt->ex_n = nt->ex_bcap = 0;
	v6_close(nt);
	int *fds[] = {&nt->fd_dir,   &nt->fd_chunk, &nt->fd_leaf, &nt->exact_fd,
		      &nt->fd_v6dir, &nt->fd_v6blk, &nt->fd_pfx,  &nt->fd_short};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (*fds[i] >= 0)
			close(*fds[i]);
	free_gathered(nt);
}

/* ---- IPv4 ---- */
static uint32_t v4_addr_h(const struct net_entry *e)
{
	uint32_t a;

	memcpy(&a, e->addr, 4);
	return ntohl(a);
}

static uint32_t v4_mask(uint32_t a, unsigned plen)
{
	return plen ? a & (0xffffffffu << (32 - plen)) : 0;
}

/* Append a key and value for a later batch write. */
static int gather(void **keys, uint32_t **vals, size_t *n, size_t *cap, const void *k, size_t ksz,
		  uint32_t v)
{
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 4096;
		void *nk = realloc(*keys, c * ksz);
		uint32_t *nv;

		if (!nk)
			return -ENOMEM;
		*keys = nk;
		nv = realloc(*vals, c * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		*vals = nv;
		*cap = c;
	}
	memcpy((char *)*keys + *n * ksz, k, ksz);
	(*vals)[(*n)++] = v;
	return 0;
}

static int batch_write(int fd, const void *keys, const uint32_t *vals, size_t n, size_t ksz)
{
	for (size_t off = 0; off < n;) {
		LIBBPF_OPTS(bpf_map_batch_opts, bo);
		uint32_t cnt = n - off > 65536 ? 65536 : (uint32_t)(n - off);

		if (bpf_map_update_batch(fd, (const char *)keys + off * ksz, vals + off, &cnt, &bo))
			return errno == E2BIG ? -ENOSPC : -errno;
		off += cnt;
	}
	return 0;
}

/* ---- IPv6: groups in buckets, their prefixes in blocks (tapis_abi.h) ---- */
struct v6_item {
	uint8_t dir, plen;
	uint8_t addr[16];
	uint32_t ent;
};

static uint32_t be32_at(const uint8_t *a)
{
	return ((uint32_t)a[0] << 24) | ((uint32_t)a[1] << 16) | ((uint32_t)a[2] << 8) | a[3];
}

/* The mask of address bits 32..63 that a length 32..64 keeps. */
static uint32_t v6_mask32(unsigned plen)
{
	return plen <= 32 ? 0 : 0xffffffffu << (64 - plen);
}

static uint64_t v6_slot_make(uint32_t top, int dir, uint32_t blk)
{
	return ((uint64_t)top << 32) | ((uint64_t)(dir & 1) << TAPIS_V6_SLOT_DIR_BIT) | blk;
}

static void v6_key(struct tapis_v6_key *k, int dir, const uint8_t *addr, unsigned plen)
{
	memset(k, 0, sizeof(*k));
	k->dir = dir;
	k->plen = plen;
	k->top = be32_at(addr);
	memcpy(k->addr, addr, 16);
}

/* A block's inline prefixes put longest first, so that the first one
 * that holds an address is the most specific (the data path stops
 * there), then linked to their parents: each to the most specific other
 * one it lies in, while its own rule may expire (the walk ends at a rule
 * that never expires, as chain_cut ends an IPv4 list). */
static void v6_link(struct net_tables *nt, struct tapis_v6_blk *b)
{
	for (int i = 1; i < b->n; i++) {
		struct tapis_v6_inl x = b->inl[i];
		int j = i;

		for (; j > 0 && tapis_ent_plen(b->inl[j - 1].ent) < tapis_ent_plen(x.ent); j--)
			b->inl[j] = b->inl[j - 1];
		b->inl[j] = x;
	}
	for (int i = 0; i < b->n; i++) {
		uint32_t e = b->inl[i].ent & (TAPIS_ENT_RULE_MASK | TAPIS_ENT_PLEN_MASK);
		unsigned pl = tapis_ent_plen(e), best = 0;
		int par = -1;

		for (int j = 0; j < b->n && rule_may_expire(nt, tapis_ent_rule(e)); j++) {
			unsigned pj = tapis_ent_plen(b->inl[j].ent);

			if (j == i || pj >= pl || (par >= 0 && pj <= best))
				continue;
			if ((b->inl[i].bits & v6_mask32(pj)) == b->inl[j].bits) {
				par = j;
				best = pj;
			}
		}
		b->inl[i].ent = e | (uint32_t)(par + 1) << TAPIS_V6_PARENT_SHIFT;
	}
}

static void v6_lenbit(struct tapis_v6_blk *b, unsigned plen)
{
	unsigned bit = plen - 32;

	b->lenmask[bit / 64] |= 1ULL << (bit % 64);
}

static int v6_bucket_read(struct net_tables *nt, uint32_t b, struct tapis_v6_bucket *out)
{
	if (nt->v6dir) {
		for (int i = 0; i < TAPIS_V6_DIR_SLOTS; i++)
			out->slot[i] = __atomic_load_n(&nt->v6dir[b].slot[i], __ATOMIC_ACQUIRE);
		return 0;
	}
	return bpf_map_lookup_elem(nt->fd_v6dir, &b, out) ? -errno : 0;
}

static int v6_blk_read(struct net_tables *nt, uint32_t id, struct tapis_v6_blk *out)
{
	if (id >= nt->n_v6blk)
		return -EUCLEAN; /* a slot names a block the table does not have */
	if (nt->v6blk) {
		memcpy(out, &nt->v6blk[id], sizeof(*out));
		return 0;
	}
	return bpf_map_lookup_elem(nt->fd_v6blk, &id, out) ? -errno : 0;
}

/* Group (top, dir): its bucket *b, slot *si (-1: no such group) and block. */
static int v6_find(struct net_tables *nt, uint32_t top, int dir, uint32_t *b, int *si,
		   uint32_t *blk)
{
	uint64_t want = v6_slot_make(top, dir, 0);
	struct tapis_v6_bucket bk;
	int err;

	*b = tapis_v6_bucket_of(top, dir, nt->v6_bits);
	*si = -1;
	*blk = 0;
	if (nt->fd_v6dir < 0)
		return 0;
	err = v6_bucket_read(nt, *b, &bk);
	if (err)
		return err;
	for (int i = 0; i < TAPIS_V6_DIR_SLOTS; i++) {
		uint64_t s = bk.slot[i];

		if ((s & ~(uint64_t)TAPIS_V6_SLOT_BLK_MASK) == want &&
		    (s & TAPIS_V6_SLOT_BLK_MASK)) {
			*si = i;
			*blk = s & TAPIS_V6_SLOT_BLK_MASK;
			break;
		}
	}
	return 0;
}

/* The block of a group that must exist: -ENOENT when it does not. */
static int v6_group_read(struct net_tables *nt, uint32_t top, int dir, uint32_t *b, int *si,
			 uint32_t *blk, struct tapis_v6_blk *bl)
{
	int err = v6_find(nt, top, dir, b, si, blk);

	if (!err && *si < 0)
		return -ENOENT;
	return err ?: v6_blk_read(nt, *blk, bl);
}

/* One 8-byte store: packets see the group's old block or its new one. */
static void v6_slot_store(struct net_tables *nt, uint32_t b, int si, uint64_t v)
{
	__atomic_store_n(&nt->v6dir[b].slot[si], v, __ATOMIC_RELEASE);
}

/* A block no slot names, for the group in slot si of bucket b, written
 * whole before a slot names it: the slot's home when free (tapis_abi.h),
 * else the lowest free one. Blocks a command stops naming are taken again
 * only by a later command (v6_open): no packet still reads them. */
static int v6_blk_new(struct net_tables *nt, uint32_t b, int si, const struct tapis_v6_blk *bl,
		      uint32_t *id)
{
	uint32_t h = tapis_v6_home(b, (uint32_t)si, TAPIS_V6_BLK_BITS(nt->v6_blk_class));

	if (nt->v6_isfree && si < TAPIS_V6_HOMES && h > TAPIS_V6_BLK_EMPTY && nt->v6_isfree[h]) {
		*id = h;
	} else {
		/* Homes taken out of turn stay in the stack: skipped here. */
		while (nt->n_v6free && nt->v6_isfree &&
		       !nt->v6_isfree[nt->v6_free[nt->n_v6free - 1]])
			nt->n_v6free--;
		if (!nt->n_v6free) {
			pr_err("IPv6 table has no room for more edits (%u blocks); reload the "
			       "policy to grow it",
			       nt->n_v6blk);
			return -ENOSPC;
		}
		*id = nt->v6_free[--nt->n_v6free];
	}
	if (nt->v6_isfree)
		nt->v6_isfree[*id] = 0;
	memcpy(&nt->v6blk[*id], bl, sizeof(*bl));
	__atomic_thread_fence(__ATOMIC_RELEASE);
	return 0;
}

static int v6_hash_put(struct net_tables *nt, int dir, const uint8_t *addr, unsigned plen,
		       uint32_t v)
{
	struct tapis_v6_key k;

	v6_key(&k, dir, addr, plen);
	if (nt->bulk)
		return gather(&nt->bk6, &nt->bv6, &nt->bn6, &nt->bcap6, &k, sizeof(k), v);
	if (bpf_map_update_elem(nt->fd_pfx, &k, &v, BPF_ANY))
		return errno == E2BIG ? -ENOSPC : -errno;
	return 0;
}

/* The address of an inline prefix, from its group's top and its bits. */
static void v6_inl_addr(uint32_t top, uint32_t bits, uint8_t *addr)
{
	uint32_t w[2] = {htonl(top), htonl(bits)};

	memset(addr, 0, 16);
	memcpy(addr, w, 8);
}

/* An inline block made hashed: its prefixes into the hash first (a
 * process killed before the block is swapped leaves hash entries that no
 * packet and no owner check reads, rewritten by the next try). */
static int v6_to_hashed(struct net_tables *nt, struct tapis_v6_blk *b, uint32_t top, int dir)
{
	struct tapis_v6_blk h = {.hashed = 1, .count = b->n};
	uint8_t addr[16];
	int err;

	for (int i = 0; i < b->n; i++) {
		uint32_t e = b->inl[i].ent & (TAPIS_ENT_RULE_MASK | TAPIS_ENT_PLEN_MASK);

		v6_inl_addr(top, b->inl[i].bits, addr);
		err = v6_hash_put(nt, dir, addr, tapis_ent_plen(e), e);
		if (err)
			return err;
		v6_lenbit(&h, tapis_ent_plen(e));
	}
	*b = h;
	return 0;
}

static int v6_short_put(struct net_tables *nt, int dir, const struct net_entry *e, uint32_t v)
{
	struct tapis_lpm_v6_key lk = {.prefixlen = 8 + e->plen};

	lk.data[0] = dir;
	memcpy(&lk.data[1], e->addr, 16);
	if (bpf_map_update_elem(nt->fd_short, &lk, &v, BPF_ANY))
		return -errno;
	nt->flags |= TAPIS_SF_V6_SHORT;
	/* The hash says that the entry exists (owner_of): last. */
	return v6_hash_put(nt, dir, e->addr, e->plen, v);
}

static int v6_insert(struct net_tables *nt, int dir, const struct net_entry *e, uint32_t v)
{
	uint32_t top = be32_at(e->addr), bits = be32_at(e->addr + 4), b, blk, id;
	struct tapis_v6_blk bl = {};
	int si, err, i;

	if (nt->bulk) {
		struct v6_item *it;

		if (nt->b6_n == nt->b6_cap) {
			size_t c = nt->b6_cap ? 2 * nt->b6_cap : 4096;

			it = realloc(nt->b6, c * sizeof(*it));
			if (!it)
				return -ENOMEM;
			nt->b6 = it;
			nt->b6_cap = c;
		}
		it = &nt->b6[nt->b6_n++];
		*it = (struct v6_item){.dir = dir, .plen = e->plen, .ent = v};
		memcpy(it->addr, e->addr, 16);
		return 0;
	}
	if (e->plen < TAPIS_V6_MIN_HASHED_PLEN)
		return v6_short_put(nt, dir, e, v);
	err = v6_find(nt, top, dir, &b, &si, &blk);
	if (!err && si >= 0)
		err = v6_blk_read(nt, blk, &bl);
	if (err)
		return err;
	if (si >= 0 && bl.hashed) {
		/* In place: the count (user space's only) may run high, a
		 * length bit before its prefix only costs a probe; the hash
		 * entry last. */
		struct tapis_v6_blk *m = &nt->v6blk[blk];
		unsigned bit = e->plen - 32;

		__atomic_fetch_add(&m->count, 1, __ATOMIC_RELAXED);
		__atomic_fetch_or(&m->lenmask[bit / 64], 1ULL << (bit % 64), __ATOMIC_RELEASE);
		return v6_hash_put(nt, dir, e->addr, e->plen, v);
	}
	/* An inline group, or a new one: a new block, then one store. */
	for (i = 0; i < bl.n; i++)
		if (tapis_ent_plen(bl.inl[i].ent) == e->plen && bl.inl[i].bits == bits)
			break;
	if (i < bl.n) {
		bl.inl[i].ent = v;
	} else if (e->plen <= TAPIS_V6_INLINE_MAX_PLEN && bl.n < TAPIS_V6_BLK_INLINE) {
		bl.inl[bl.n].bits = bits & v6_mask32(e->plen);
		bl.inl[bl.n++].ent = v;
	} else {
		err = v6_to_hashed(nt, &bl, top, dir) ?: v6_hash_put(nt, dir, e->addr, e->plen, v);
		if (err)
			return err;
		bl.count++;
		v6_lenbit(&bl, e->plen);
	}
	if (!bl.hashed)
		v6_link(nt, &bl);
	if (si < 0) {
		struct tapis_v6_bucket bk;

		err = v6_bucket_read(nt, b, &bk);
		if (err)
			return err;
		for (si = 0; si < TAPIS_V6_DIR_SLOTS && bk.slot[si]; si++)
			;
		if (si == TAPIS_V6_DIR_SLOTS) {
			pr_err("IPv6 table has no room for another /32 in this bucket; reload the "
			       "policy to grow it");
			return -ENOSPC;
		}
	}
	err = v6_blk_new(nt, b, si, &bl, &id);
	if (err)
		return err;
	v6_slot_store(nt, b, si, v6_slot_make(top, dir, id));
	return 0;
}

static int v6_delete(struct net_tables *nt, int dir, const struct net_entry *e)
{
	uint32_t top = be32_at(e->addr), bits = be32_at(e->addr + 4), b, blk, id;
	struct tapis_v6_blk bl;
	struct tapis_v6_key k;
	int si, err, i;

	v6_key(&k, dir, e->addr, e->plen);
	if (e->plen < TAPIS_V6_MIN_HASHED_PLEN) {
		struct tapis_lpm_v6_key lk = {.prefixlen = 8 + e->plen};

		lk.data[0] = dir;
		memcpy(&lk.data[1], e->addr, 16);
		if (bpf_map_delete_elem(nt->fd_short, &lk) && errno != ENOENT)
			return -errno;
		return bpf_map_delete_elem(nt->fd_pfx, &k) ? -errno : 0;
	}
	err = v6_group_read(nt, top, dir, &b, &si, &blk, &bl);
	if (err)
		return err;
	if (bl.hashed) {
		/* The hash entry first: a delete killed after it leaves a
		 * count too high, which only keeps the group (a probe). */
		if (bpf_map_delete_elem(nt->fd_pfx, &k))
			return -errno;
		if (__atomic_sub_fetch(&nt->v6blk[blk].count, 1, __ATOMIC_RELAXED) == 0)
			v6_slot_store(nt, b, si, v6_slot_make(top, dir, TAPIS_V6_BLK_EMPTY));
		return 0;
	}
	for (i = 0; i < bl.n; i++)
		if (tapis_ent_plen(bl.inl[i].ent) == e->plen && bl.inl[i].bits == bits)
			break;
	if (i == bl.n)
		return -ENOENT;
	memmove(&bl.inl[i], &bl.inl[i + 1], (bl.n - i - 1) * sizeof(bl.inl[0]));
	memset(&bl.inl[--bl.n], 0, sizeof(bl.inl[0]));
	if (!bl.n) {
		v6_slot_store(nt, b, si, v6_slot_make(top, dir, TAPIS_V6_BLK_EMPTY));
		return 0;
	}
	v6_link(nt, &bl);
	err = v6_blk_new(nt, b, si, &bl, &id);
	if (err)
		return err;
	v6_slot_store(nt, b, si, v6_slot_make(top, dir, id));
	return 0;
}

/* The rule of exact prefix e in direction dir. */
static int v6_owner(struct net_tables *nt, int dir, const struct net_entry *e, uint32_t *owner)
{
	uint32_t top = be32_at(e->addr), bits = be32_at(e->addr + 4), b, blk, v;
	struct tapis_v6_blk bl;
	struct tapis_v6_key k;
	int si, err;

	if (e->plen >= TAPIS_V6_MIN_HASHED_PLEN) {
		err = v6_group_read(nt, top, dir, &b, &si, &blk, &bl);
		if (err)
			return err;
		for (int i = 0; !bl.hashed && i < bl.n; i++)
			if (tapis_ent_plen(bl.inl[i].ent) == e->plen && bl.inl[i].bits == bits) {
				*owner = tapis_ent_rule(bl.inl[i].ent);
				return 0;
			}
		if (!bl.hashed)
			return -ENOENT;
	}
	v6_key(&k, dir, e->addr, e->plen);
	if (bpf_map_lookup_elem(nt->fd_pfx, &k, &v))
		return -errno;
	*owner = tapis_ent_rule(v);
	return 0;
}

/* What the data path walks for addr: the group's inline prefix and its
 * parents, or its hashed prefixes longest first, then a short prefix. */
static void v6_list(struct net_tables *nt, int dir, const uint8_t *addr, uint32_t *ents)
{
	uint32_t top = be32_at(addr), bits = be32_at(addr + 4), b, blk, v;
	struct tapis_v6_blk bl;
	int si, n = 0;

	memset(ents, 0, TAPIS_NET_CHAIN * sizeof(*ents));
	if (v6_find(nt, top, dir, &b, &si, &blk) == 0 && si >= 0 &&
	    v6_blk_read(nt, blk, &bl) == 0) {
		if (!bl.hashed) {
			unsigned best = 0, best_len = 0;

			for (int i = 0; i < bl.n; i++) {
				unsigned pl = tapis_ent_plen(bl.inl[i].ent);

				if ((bits & v6_mask32(pl)) == bl.inl[i].bits && pl >= best_len) {
					best = i + 1;
					best_len = pl;
				}
			}
			while (best && best <= bl.n && n < TAPIS_NET_CHAIN) {
				uint32_t e = bl.inl[best - 1].ent;

				ents[n++] = e & (TAPIS_ENT_RULE_MASK | TAPIS_ENT_PLEN_MASK);
				best = e >> TAPIS_V6_PARENT_SHIFT;
			}
			/* The data path falls to a short prefix only when the
			 * walk found none that acts. */
			if (n)
				return;
		} else {
			for (int l = 128; l >= 32 && n < TAPIS_NET_CHAIN; l--) {
				struct net_entry m = {.family = 6, .plen = l};
				struct tapis_v6_key k;

				if (!(bl.lenmask[(l - 32) / 64] & (1ULL << ((l - 32) % 64))))
					continue;
				memcpy(m.addr, addr, 16);
				for (int i = 0; i < 16; i++) {
					int keep = l - i * 8;

					m.addr[i] =
						keep >= 8 ? addr[i]
						: keep <= 0
							? 0
							: addr[i] & (uint8_t)(0xff << (8 - keep));
				}
				v6_key(&k, dir, m.addr, l);
				if (bpf_map_lookup_elem(nt->fd_pfx, &k, &v) == 0)
					ents[n++] = v;
			}
		}
	}
	if (n < TAPIS_NET_CHAIN && (nt->flags & TAPIS_SF_V6_SHORT) && nt->fd_short >= 0) {
		struct tapis_lpm_v6_key lk = {.prefixlen = 8 + 128};

		lk.data[0] = dir;
		memcpy(&lk.data[1], addr, 16);
		if (bpf_map_lookup_elem(nt->fd_short, &lk, &v) == 0)
			ents[n++] = v;
	}
}

/* ---- IPv6: maps ---- */
static int v6_item_cmp(const void *a, const void *b)
{
	const struct v6_item *x = a, *y = b;
	uint32_t tx = be32_at(x->addr), ty = be32_at(y->addr);

	if (x->dir != y->dir)
		return x->dir < y->dir ? -1 : 1;
	if (tx != ty)
		return tx < ty ? -1 : 1;
	return x->plen < y->plen ? -1 : x->plen > y->plen;
}

/* The size classes for cap groups: blocks for them all, and buckets of
 * which two slots in eight are used at most, more when some bucket of
 * this policy would overflow. */
static int v6_plan(struct net_tables *nt, const struct v6_item *it, size_t n, size_t cap)
{
	uint32_t c;

	for (c = 0; c < TAPIS_V6_CLASSES &&
		    ((size_t)1 << TAPIS_V6_BLK_BITS(c)) < cap + TAPIS_V6_BLK_EMPTY + 1;
	     c++)
		;
	nt->v6_blk_class = c;
	for (c = 0; c < TAPIS_V6_CLASSES; c++) {
		uint32_t k = TAPIS_V6_DIR_BITS(c);
		uint8_t *fill;
		bool ok = ((uint64_t)1 << k) * 2 >= cap;

		fill = ok ? calloc((size_t)1 << k, 1) : NULL;
		if (ok && !fill)
			return -ENOMEM;
		for (size_t i = 0; i < n && ok; i++) {
			if (it[i].plen < TAPIS_V6_MIN_HASHED_PLEN)
				continue;
			if (i && it[i].dir == it[i - 1].dir &&
			    be32_at(it[i].addr) == be32_at(it[i - 1].addr) &&
			    it[i - 1].plen >= TAPIS_V6_MIN_HASHED_PLEN)
				continue;
			ok = ++fill[tapis_v6_bucket_of(be32_at(it[i].addr), it[i].dir, k)] <=
			     TAPIS_V6_DIR_SLOTS;
		}
		free(fill);
		if (ok)
			break;
	}
	nt->v6_dir_class = c;
	if (nt->v6_blk_class == TAPIS_V6_CLASSES || c == TAPIS_V6_CLASSES) {
		pr_err("too many IPv6 /32s for the table (%zu groups of a /32 and a direction; "
		       "at most %u)",
		       cap, 1u << TAPIS_V6_BLK_BITS(TAPIS_V6_CLASSES - 1));
		return -ENOSPC;
	}
	nt->v6_bits = TAPIS_V6_DIR_BITS(nt->v6_dir_class);
	return 0;
}

static int v6_create(struct net_tables *nt, size_t n_hash)
{
	size_t hcap = n_hash + (n_hash / 4 > 256 ? n_hash / 4 : 256);

	nt->n_v6blk = 1u << TAPIS_V6_BLK_BITS(nt->v6_blk_class);
	nt->fd_v6dir =
		create_inner(BPF_MAP_TYPE_ARRAY, tapis_map_names[M_V6_DIR0 + nt->v6_dir_class], 4,
			     sizeof(struct tapis_v6_bucket), 1u << nt->v6_bits, BPF_F_MMAPABLE);
	if (nt->fd_v6dir < 0)
		return nt->fd_v6dir;
	nt->fd_v6blk =
		create_inner(BPF_MAP_TYPE_ARRAY, tapis_map_names[M_V6_BLK0 + nt->v6_blk_class], 4,
			     sizeof(struct tapis_v6_blk), nt->n_v6blk, BPF_F_MMAPABLE);
	if (nt->fd_v6blk < 0)
		return nt->fd_v6blk;
	nt->fd_pfx =
		create_inner(BPF_MAP_TYPE_HASH, tapis_map_names[M_V6_PFX],
			     sizeof(struct tapis_v6_key), 4, (uint32_t)hcap, BPF_F_NO_PREALLOC);
	if (nt->fd_pfx < 0)
		return nt->fd_pfx;
	nt->fd_short = create_inner(BPF_MAP_TYPE_LPM_TRIE, tapis_map_names[M_V6_SHORT],
				    sizeof(struct tapis_lpm_v6_key), 4, 4096, BPF_F_NO_PREALLOC);
	if (nt->fd_short < 0)
		return nt->fd_short;
	nt->v6dir = map_mmap(nt->fd_v6dir, ((size_t)1 << nt->v6_bits) * sizeof(*nt->v6dir), false);
	nt->v6blk =
		nt->v6dir ? map_mmap(nt->fd_v6blk, (size_t)nt->n_v6blk * sizeof(*nt->v6blk), false)
			  : NULL;
	return nt->v6blk ? 0 : -errno;
}

/* The block of group it[i..j) filled: inline, or its prefixes hashed. */
static int v6_fill(struct net_tables *nt, const struct v6_item *it, size_t i, size_t j, bool hashed,
		   struct tapis_v6_blk *bl)
{
	int err;

	if (hashed || j - i > TAPIS_V6_BLK_INLINE) {
		bl->hashed = 1;
		bl->count = (uint32_t)(j - i);
		for (size_t k = i; k < j; k++) {
			err = v6_hash_put(nt, it[k].dir, it[k].addr, it[k].plen, it[k].ent);
			if (err)
				return err;
			v6_lenbit(bl, it[k].plen);
		}
		return 0;
	}
	for (size_t k = i; k < j; k++) {
		bl->inl[bl->n].bits = be32_at(it[k].addr + 4) & v6_mask32(it[k].plen);
		bl->inl[bl->n++].ent = it[k].ent;
	}
	v6_link(nt, bl);
	return 0;
}

/* The end of the group that starts at it[i], and whether it must be
 * hashed (a prefix longer than inline ones). */
static size_t v6_group_end(const struct v6_item *it, size_t n, size_t i, bool *hashed)
{
	size_t j;

	*hashed = false;
	for (j = i;
	     j < n && it[j].dir == it[i].dir && be32_at(it[j].addr) == be32_at(it[i].addr) &&
	     (it[j].plen >= TAPIS_V6_MIN_HASHED_PLEN) == (it[i].plen >= TAPIS_V6_MIN_HASHED_PLEN);
	     j++)
		*hashed |= it[j].plen > TAPIS_V6_INLINE_MAX_PLEN;
	return j;
}

/* A group whose block v6_build places in its second pass. */
struct v6_late {
	size_t i, j; /* its prefixes, it[i..j) */
	uint32_t b;  /* its bucket and slot */
	uint8_t si;
	bool hashed;
};

/* A bulk build's IPv6 prefixes, laid out: groups counted, the maps sized
 * to them with room for live edits, blocks filled, slots written. A group
 * in one of its bucket's first TAPIS_V6_HOMES slots gets the slot's home
 * block (tapis_abi.h) when no other group has it; the others, in a second
 * pass, the lowest free blocks. The generation is idle: a slot may stay
 * empty between the passes. */
static int v6_build(struct net_tables *nt)
{
	struct v6_item *it = nt->b6;
	size_t n = nt->b6_n, groups = 0, n_hash = 0, n_late = 0, i, j;
	uint32_t next = TAPIS_V6_BLK_EMPTY + 1, blk_bits;
	uint8_t *fill = NULL, *used = NULL;
	struct v6_late *late = NULL;
	bool hashed;
	int err;

	if (n) /* a policy without IPv6 prefixes has no array */
		qsort(it, n, sizeof(*it), v6_item_cmp);
	for (i = 0; i < n; i = j) {
		j = v6_group_end(it, n, i, &hashed);
		if (it[i].plen < TAPIS_V6_MIN_HASHED_PLEN) {
			n_hash += j - i;
			continue;
		}
		groups++;
		if (hashed || j - i > TAPIS_V6_BLK_INLINE)
			n_hash += j - i;
	}
	err = v6_plan(nt, it, n, groups + (groups / 4 > 32 ? groups / 4 : 32))
		      ?: v6_create(nt, n_hash);
	if (err)
		return err;
	blk_bits = TAPIS_V6_BLK_BITS(nt->v6_blk_class);
	fill = calloc((size_t)1 << nt->v6_bits, 1);
	used = calloc(nt->n_v6blk, 1);
	late = malloc((groups ? groups : 1) * sizeof(*late));
	if (!fill || !used || !late) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i = j) {
		uint32_t top = be32_at(it[i].addr), b, h;
		int si;

		j = v6_group_end(it, n, i, &hashed);
		if (it[i].plen < TAPIS_V6_MIN_HASHED_PLEN) {
			for (size_t k = i; k < j; k++) {
				struct net_entry e = {.family = 6, .plen = it[k].plen};

				memcpy(e.addr, it[k].addr, 16);
				err = v6_short_put(nt, it[k].dir, &e, it[k].ent);
				if (err)
					goto out;
			}
			continue;
		}
		b = tapis_v6_bucket_of(top, it[i].dir, nt->v6_bits);
		si = fill[b]++;
		if (si >= TAPIS_V6_DIR_SLOTS) {
			err = -EUCLEAN; /* v6_plan saw room */
			goto out;
		}
		h = tapis_v6_home(b, (uint32_t)si, blk_bits);
		if (si >= TAPIS_V6_HOMES || h <= TAPIS_V6_BLK_EMPTY || used[h]) {
			late[n_late++] = (struct v6_late){i, j, b, (uint8_t)si, hashed};
			continue;
		}
		used[h] = 1;
		err = v6_fill(nt, it, i, j, hashed, &nt->v6blk[h]);
		if (err)
			goto out;
		nt->v6dir[b].slot[si] = v6_slot_make(top, it[i].dir, h);
	}
	for (size_t g = 0; g < n_late; g++) {
		i = late[g].i;
		while (next < nt->n_v6blk && used[next])
			next++;
		if (next == nt->n_v6blk) {
			err = -EUCLEAN; /* v6_plan counted a block per group */
			goto out;
		}
		used[next] = 1;
		err = v6_fill(nt, it, i, late[g].j, late[g].hashed, &nt->v6blk[next]);
		if (err)
			goto out;
		nt->v6dir[late[g].b].slot[late[g].si] =
			v6_slot_make(be32_at(it[i].addr), it[i].dir, next);
	}
	pr_debug("IPv6: %zu groups, %zu in their home block", groups, groups - n_late);
	free(nt->b6);
	nt->b6 = NULL;
	nt->b6_n = nt->b6_cap = 0;
out:
	free(fill);
	free(used);
	free(late);
	return err;
}

/* A running generation's IPv6 maps, mapped for live edits; the blocks no
 * slot names are free (a block an earlier command let go no packet still
 * reads). Readers look up instead. */
static int v6_open(struct net_tables *nt)
{
	uint32_t nd = 0;
	uint8_t *used;
	int err;

	err = map_entries(nt->fd_v6dir, &nd) ?: map_entries(nt->fd_v6blk, &nt->n_v6blk);
	if (err)
		return err;
	nt->v6_bits = TAPIS_V6_DIR_BITS(nt->v6_dir_class);
	if (nd != 1u << nt->v6_bits || nt->n_v6blk != 1u << TAPIS_V6_BLK_BITS(nt->v6_blk_class))
		return -EINVAL;
	if (nt->t->readonly)
		return 0;
	nt->v6dir = map_mmap(nt->fd_v6dir, (size_t)nd * sizeof(*nt->v6dir), false);
	nt->v6blk =
		nt->v6dir ? map_mmap(nt->fd_v6blk, (size_t)nt->n_v6blk * sizeof(*nt->v6blk), false)
			  : NULL;
	used = calloc(nt->n_v6blk, 1);
	nt->v6_free = malloc((size_t)nt->n_v6blk * sizeof(*nt->v6_free));
	nt->v6_isfree = calloc(nt->n_v6blk, 1);
	if (!nt->v6blk || !used || !nt->v6_free || !nt->v6_isfree) {
		free(used);
		return nt->v6blk ? -ENOMEM : -errno;
	}
	for (uint32_t b = 0; b < nd; b++)
		for (int i = 0; i < TAPIS_V6_DIR_SLOTS; i++) {
			uint32_t id = nt->v6dir[b].slot[i] & TAPIS_V6_SLOT_BLK_MASK;

			if (id < nt->n_v6blk)
				used[id] = 1;
		}
	/* Taken from the end: the lowest first. */
	for (uint32_t id = nt->n_v6blk; id-- > TAPIS_V6_BLK_EMPTY + 1;)
		if (!used[id]) {
			nt->v6_free[nt->n_v6free++] = id;
			nt->v6_isfree[id] = 1;
		}
	free(used);
	return 0;
}

static void v6_close(struct net_tables *nt)
{
	if (nt->v6dir)
		munmap(nt->v6dir, ((size_t)1 << nt->v6_bits) * sizeof(*nt->v6dir));
	if (nt->v6blk)
		munmap(nt->v6blk, (size_t)nt->n_v6blk * sizeof(*nt->v6blk));
	nt->v6dir = NULL;
	nt->v6blk = NULL;
	free(nt->v6_free);
	nt->v6_free = NULL;
	nt->n_v6free = 0;
	free(nt->v6_isfree);
	nt->v6_isfree = NULL;
	free(nt->b6);
	nt->b6 = NULL;
	nt->b6_n = nt->b6_cap = 0;
}

int net_tables_flush(struct net_tables *nt)
{
	int err = v4_write_maps(nt);

	err = err ?: ex_flush(nt);
	err = err ?: v6_build(nt);
	err = err
		      ?: batch_write(nt->fd_pfx, nt->bk6, nt->bv6, nt->bn6,
				     sizeof(struct tapis_v6_key));
	free_gathered(nt);
	return err;
}

/* ---- IPv4 prefixes as written: the user-space source of truth ----
 * A sorted array of u64 (dir, address, length | rule) in an mmapable map
 * pinned per generation; [0] holds the count. 8 bytes a prefix, exact
 * lookups and the covering prefixes by binary search; an insert or delete
 * moves the tail (a few MiB at most). */
static uint64_t ex_key(int dir, uint32_t a, unsigned plen)
{
	return ((uint64_t)(dir & 1) << 40) | ((uint64_t)v4_mask(a, plen) << 8) | plen;
}

static int ex_map(struct net_tables *nt)
{
	uint32_t n = 0;
	int err = map_entries(nt->exact_fd, &n);

	if (err)
		return err;
	nt->ex_cap = n - 1;
	/* A read-only descriptor cannot be mapped shared: readers look up. */
	if (nt->t->readonly)
		return 0;
	nt->ex = map_mmap(nt->exact_fd, (size_t)n * sizeof(uint64_t), false);
	return nt->ex ? 0 : -errno;
}

static uint64_t ex_at(const struct net_tables *nt, size_t i)
{
	uint32_t k = (uint32_t)i;
	uint64_t v = 0;

	if (nt->ex)
		return nt->ex[i];
	bpf_map_lookup_elem(nt->exact_fd, &k, &v);
	return v;
}

/* Index of the first entry whose key is >= key, in [1, count + 1]. */
static size_t ex_lower(const struct net_tables *nt, uint64_t key)
{
	size_t lo = 1, hi = 1 + ex_at(nt, 0);

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (ex_at(nt, mid) >> 16 < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int ex_get(const struct net_tables *nt, int dir, uint32_t a, unsigned plen, uint32_t *rule)
{
	uint64_t key = ex_key(dir, a, plen), v;
	size_t i = ex_lower(nt, key);

	if (i > ex_at(nt, 0))
		return -ENOENT;
	v = ex_at(nt, i);
	if (v >> 16 != key)
		return -ENOENT;
	*rule = v & 0xffff;
	return 0;
}

static int ex_insert(struct net_tables *nt, int dir, uint32_t a, unsigned plen, uint32_t rule)
{
	uint64_t key = ex_key(dir, a, plen), n = nt->ex[0];
	size_t i;

	if (nt->bulk) {
		if (nt->ex_n == nt->ex_bcap) {
			size_t c = nt->ex_bcap ? 2 * nt->ex_bcap : 4096;
			uint64_t *p = realloc(nt->ex_bulk, c * sizeof(*p));

			if (!p)
				return -ENOMEM;
			nt->ex_bulk = p;
			nt->ex_bcap = c;
		}
		nt->ex_bulk[nt->ex_n++] = key << 16 | rule;
		return 0;
	}
	if (n >= nt->ex_cap) {
		pr_err("the IPv4 prefix list is full (%zu); reload the policy to grow it",
		       nt->ex_cap);
		return -ENOSPC;
	}
	i = ex_lower(nt, key);
	if (i <= n && nt->ex[i] >> 16 == key)
		return -EEXIST;
	memmove(&nt->ex[i + 1], &nt->ex[i], (n + 1 - i) * sizeof(uint64_t));
	nt->ex[i] = key << 16 | rule;
	nt->ex[0] = n + 1;
	return 0;
}

static int ex_delete(struct net_tables *nt, int dir, uint32_t a, unsigned plen)
{
	uint64_t key = ex_key(dir, a, plen), n = nt->ex[0];
	size_t i = ex_lower(nt, key);

	if (i > n || nt->ex[i] >> 16 != key)
		return -ENOENT;
	memmove(&nt->ex[i], &nt->ex[i + 1], (n - i) * sizeof(uint64_t));
	nt->ex[0] = n - 1;
	return 0;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* A bulk build's prefixes, sorted, into the array. */
static int ex_flush(struct net_tables *nt)
{
	if (nt->ex_n > nt->ex_cap)
		return -ENOSPC;
	qsort(nt->ex_bulk, nt->ex_n, sizeof(uint64_t), u64_cmp);
	memcpy(&nt->ex[1], nt->ex_bulk, nt->ex_n * sizeof(uint64_t));
	nt->ex[0] = nt->ex_n;
	free(nt->ex_bulk);
	nt->ex_bulk = NULL;
	nt->ex_n = nt->ex_bcap = 0;
	return 0;
}

/* ---- common ---- */
static int owner_of(struct net_tables *nt, int dir, const struct net_entry *e, uint32_t *owner)
{
	if (e->family == 4)
		return ex_get(nt, dir, v4_addr_h(e), e->plen, owner);
	return v6_owner(nt, dir, e, owner);
}

/* The prefixes a/plen lies in, most specific first, as many as a list
 * needs (see chain_cut). */
static void v4_covers(struct net_tables *nt, int dir, uint32_t a, unsigned plen, uint32_t *covers)
{
	uint32_t r;
	int n = 0;

	for (int l = (int)plen - 1; l >= 0 && n < TAPIS_NET_CHAIN; l--) {
		if (ex_get(nt, dir, a, l, &r))
			continue;
		covers[n++] = tapis_ent_make(r, l);
		if (!rule_may_expire(nt, r))
			break;
	}
}

/* Take back the slots of an insert that could not be recorded. */
static void v4_undo_insert(struct net_tables *nt, int dir, uint32_t a, unsigned plen)
{
	struct v4_edit ed = {.dir = dir, .del = true, .plen = plen};

	v4_covers(nt, dir, a, plen, ed.covers);
	v4_edit_prefix(nt, &ed, a, plen);
}

int net_insert(struct net_tables *nt, int dir, const struct net_entry *e, uint32_t rule,
	       uint32_t *owner)
{
	uint32_t v = tapis_ent_make(rule, e->plen), cur;
	int err;

	if (!nt->bulk && owner_of(nt, dir, e, &cur) == 0) {
		*owner = cur;
		return cur == rule ? -EALREADY : -EEXIST;
	}
	if (e->family == 4) {
		uint32_t a = v4_addr_h(e);
		struct v4_edit ed = {.dir = dir, .ent = v, .plen = e->plen};

		/* The slots first, the prefix list last: the list says that
		 * an entry exists (owner_of), so a process killed in between
		 * leaves an entry the next insert makes again (chain_edit
		 * takes it twice as once) or the next delete finds missing. */
		err = v4_edit_prefix(nt, &ed, v4_mask(a, e->plen), e->plen);
		if (!err)
			err = ex_insert(nt, dir, a, e->plen, rule);
		if (err) {
			if (!nt->bulk)
				v4_undo_insert(nt, dir, v4_mask(a, e->plen), e->plen);
			return err;
		}
		nt->flags |= dir == TAPIS_DIR_DST ? TAPIS_SF_V4_DST : TAPIS_SF_V4_SRC;
		return 0;
	}
	err = v6_insert(nt, dir, e, v);
	if (err)
		return err == -E2BIG ? -ENOSPC : err;
	nt->flags |= dir == TAPIS_DIR_DST ? TAPIS_SF_V6_DST : TAPIS_SF_V6_SRC;
	return 0;
}

int net_delete(struct net_tables *nt, int dir, const struct net_entry *e, uint32_t rule)
{
	uint32_t cur;
	int err;

	if (owner_of(nt, dir, e, &cur))
		return -ENOENT;
	if (cur != rule)
		return -EPERM;
	if (e->family == 6)
		return v6_delete(nt, dir, e);

	/* The slots continue with the prefixes this one lies in, as many as
	 * a list holds (see chain_cut). */
	uint32_t a = v4_mask(v4_addr_h(e), e->plen);
	struct v4_edit ed = {.dir = dir, .del = true, .plen = e->plen};

	v4_covers(nt, dir, a, e->plen, ed.covers);
	/* The slots first, the list entry last, as in net_insert. */
	err = v4_edit_prefix(nt, &ed, a, e->plen);
	return err ?: ex_delete(nt, dir, a, e->plen);
}

void net_lookup_list(struct net_tables *nt, int dir, const struct net_entry *addr, uint32_t *ents)
{
	uint32_t a = v4_addr_h(addr);
	unsigned end = nt->v4_bits;
	struct tapis_v4_leaf l = {};
	uint16_t v;

	if (addr->family == 6) {
		v6_list(nt, dir, addr->addr, ents);
		return;
	}
	v = slot_peek(nt, false, a >> (32 - end));
	while (v >= nt->leaf_limit && end < 32) {
		end += TAPIS_V4_CHUNK_BITS;
		v = slot_peek(nt, true,
			      (size_t)(v - nt->leaf_limit) * TAPIS_V4_CHUNK_SLOTS +
				      ((a >> (32 - end)) & (TAPIS_V4_CHUNK_SLOTS - 1)));
	}
	if (v < nt->n_leaves && v < nt->leaf_limit) {
		uint32_t k = v;

		if (nt->leaf)
			l = nt->leaf[v];
		else
			bpf_map_lookup_elem(nt->fd_leaf, &k, &l);
	}
	memcpy(ents, l.ent[dir & 1], sizeof(l.ent[0]));
}

uint32_t net_lookup(struct net_tables *nt, int dir, const struct net_entry *addr)
{
	uint32_t ents[TAPIS_NET_CHAIN];

	net_lookup_list(nt, dir, addr, ents);
	return ents[0];
}

bool gen_in_use(struct tapis *t, uint32_t gen)
{
	static const int outers[] = {
		M_V4_DIR16, M_V4_DIR24, M_V4_CHUNK, M_V4_CHUNK_S, M_V4_LEAF,	 M_V6_DIR0,
		M_V6_DIR1,  M_V6_DIR2,	M_V6_DIR3,  M_V6_BLK0,	  M_V6_BLK1,	 M_V6_BLK2,
		M_V6_BLK3,  M_V6_PFX,	M_V6_SHORT, M_HOSTS,	  M_HOST_FILTER, M_HOST_INDEX};
	char path[PATH_MAX];
	uint32_t id;

	for (size_t i = 0; i < sizeof(outers) / sizeof(outers[0]); i++) {
		if (bpf_map_lookup_elem(t->map_fd[outers[i]], &gen, &id) == 0)
			return true;
		if (t->pin_path[0]) {
			inner_pin_path(t, outers[i], gen, path, sizeof(path));
			if (access(path, F_OK) == 0)
				return true;
		}
	}
	if (t->pin_path[0]) {
		gen_userspace_pin_path(t, (int)gen, path, sizeof(path));
		if (access(path, F_OK) == 0)
			return true;
	}
	return false;
}

int gen_clear(struct tapis *t, uint32_t gen)
{
	static const int outers[] = {
		M_V4_DIR16, M_V4_DIR24, M_V4_CHUNK, M_V4_CHUNK_S, M_V4_LEAF,	 M_V6_DIR0,
		M_V6_DIR1,  M_V6_DIR2,	M_V6_DIR3,  M_V6_BLK0,	  M_V6_BLK1,	 M_V6_BLK2,
		M_V6_BLK3,  M_V6_PFX,	M_V6_SHORT, M_HOSTS,	  M_HOST_FILTER, M_HOST_INDEX};
	char path[PATH_MAX];
	int err = 0;

	for (size_t i = 0; i < sizeof(outers) / sizeof(outers[0]); i++)
		if (bpf_map_delete_elem(t->map_fd[outers[i]], &gen) && errno != ENOENT)
			err = -errno;
	if (t->pin_path[0]) {
		gen_unpin_inner(t, gen);
		gen_userspace_pin_path(t, gen, path, sizeof(path));
		unlink(path);
	} else if (t->v4_exact_fd[gen] >= 0) {
		close(t->v4_exact_fd[gen]);
		t->v4_exact_fd[gen] = -1;
	}
	return err;
}
