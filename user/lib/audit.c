// SPDX-License-Identifier: GPL-2.0
/*
 * audit.c - append-only JSON lines, one per change, and the reader behind
 * `tapis audit`.
 *
 * Each record is written with a single write() on an O_APPEND descriptor, so
 * two tapis processes changing the filter at once cannot interleave their
 * lines, and fdatasync'ed: the change has been made by the time the record
 * is asked for, and an auditor must find it after a power cut.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <nettle/sha2.h>

#include "fileio.h"
#include "audit.h"
#include "output.h"
#include "tapis.h"

static void add_str(struct json_object *o, const char *k, const char *v)
{
	if (v && *v)
		json_object_object_add(o, k, json_object_new_string(v));
}

/* mkdir -p of path's directory, new levels 0750. */
static int make_parent(const char *path)
{
	char dir[4096], *p;

	if (strlen(path) >= sizeof(dir))
		return -ENAMETOOLONG;
	strcpy(dir, path);
	p = strrchr(dir, '/');
	if (!p || p == dir)
		return 0;
	*p = '\0';
	for (p = dir + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(dir, 0750) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(dir, 0750) == 0) {
		struct group *g = getgrnam("tapis");

		if (g && chown(dir, (uid_t)-1, g->gr_gid) == 0)
			chmod(dir, 0750);
	} else if (errno != EEXIST) {
		return -errno;
	}
	return 0;
}

/* The tapis group reads the log (tapis audit, status) without root; best
 * effort: without the group it stays root's. */
static void give_group(int fd)
{
	struct group *g = getgrnam("tapis");
	struct stat st;

	if (g && fstat(fd, &st) == 0 && st.st_uid == geteuid() && st.st_gid != g->gr_gid &&
	    fchown(fd, (uid_t)-1, g->gr_gid) == 0)
		fchmod(fd, 0640);
}

static void who(struct json_object *o)
{
	struct passwd *pw = getpwuid(getuid());
	const char *sudo = getenv("SUDO_USER");
	char uid[24];

	if (pw && pw->pw_name) {
		add_str(o, "user", pw->pw_name);
	} else {
		snprintf(uid, sizeof(uid), "uid %u", (unsigned)getuid());
		add_str(o, "user", uid);
	}
	add_str(o, "sudo_user", sudo);
}

int audit_write(const char *path, const struct audit_event *ev)
{
	struct json_object *o = json_object_new_object();
	struct timespec ts;
	char t[40], msg[512];
	const char *line;
	size_t len;
	int fd, err = 0;
	ssize_t w;
	struct tm tm;

	if (!o) {
		json_object_put(ev->extra);
		return -ENOMEM;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(t + strlen(t), sizeof(t) - strlen(t), ".%03ldZ", ts.tv_nsec / 1000000);
	add_str(o, "time", t);
	json_object_object_add(o, "unix", json_object_new_int64(ts.tv_sec));
	who(o);
	add_str(o, "command", ev->command);
	add_str(o, "pin_path", ev->pin_path);
	add_str(o, "policy", ev->policy);
	add_str(o, "digest", ev->digest);
	add_str(o, "rule", ev->rule);
	add_str(o, "reference", ev->reference);
	add_str(o, "entry", ev->entry);
	json_object_object_add(o, "added", json_object_new_int64(ev->added));
	json_object_object_add(o, "removed", json_object_new_int64(ev->removed));
	add_str(o, "result", ev->result ? ev->result : "ok");
	if (ev->extra) {
		json_object_object_foreach(ev->extra, k, v)
			json_object_object_add(o, k, json_object_get(v));
		json_object_put(ev->extra);
	}

	/* The journal gets one readable line whatever happens to the file. */
	snprintf(msg, sizeof(msg), "%s%s%s%s%s%s%s added=%lld removed=%lld result=%s",
		 ev->command ? ev->command : "?", ev->rule ? " rule=" : "",
		 ev->rule ? ev->rule : "", ev->entry ? " entry=" : "", ev->entry ? ev->entry : "",
		 ev->policy ? " policy=" : "", ev->policy ? ev->policy : "", (long long)ev->added,
		 (long long)ev->removed, ev->result ? ev->result : "ok");
	openlog("tapis", LOG_PID, LOG_DAEMON);
	syslog(LOG_NOTICE, "%s", msg);
	closelog();

	if (!path || !*path)
		goto out;
	line = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(line);
	err = make_parent(path);
	if (err)
		goto out;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0) {
		err = -errno;
		goto out;
	}
	give_group(fd);
	{
		/* One write: the line and its newline together. */
		char *buf = malloc(len + 1);

		if (!buf) {
			close(fd);
			err = -ENOMEM;
			goto out;
		}
		memcpy(buf, line, len);
		buf[len] = '\n';
		w = write(fd, buf, len + 1);
		if (w < 0)
			err = -errno;
		else if ((size_t)w != len + 1)
			err = -EIO;
		free(buf);
	}
	if (!err && fdatasync(fd))
		err = -errno;
	if (close(fd) && !err)
		err = -errno;
out:
	json_object_put(o);
	return err;
}

int audit_digest(const char *file, char out[72])
{
	struct sha256_ctx ctx;
	uint8_t buf[65536], d[SHA256_DIGEST_SIZE];
	ssize_t n;
	int fd = open_regular(file, NULL), i;

	if (fd < 0)
		return fd == -EBADFD ? -EINVAL : fd;
	sha256_init(&ctx);
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		sha256_update(&ctx, (size_t)n, buf);
	if (n < 0) {
		n = -errno;
		close(fd);
		return (int)n;
	}
	close(fd);
	sha256_digest(&ctx, sizeof(d), d);
	strcpy(out, "sha256:");
	for (i = 0; i < SHA256_DIGEST_SIZE; i++)
		snprintf(out + 7 + 2 * i, 3, "%02x", d[i]);
	return 0;
}

/* Does rec name rule: as the edited rule, or in one of its rule lists? */
static bool names_rule(struct json_object *rec, const char *rule)
{
	static const char *const lists[] = {"rules_added", "rules_removed", "rules"};
	struct json_object *v, *e, *n;
	size_t i, k;

	if (json_object_object_get_ex(rec, "rule", &v) && !strcmp(json_object_get_string(v), rule))
		return true;
	for (i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		if (!json_object_object_get_ex(rec, lists[i], &v) ||
		    !json_object_is_type(v, json_type_array))
			continue;
		for (k = 0; k < json_object_array_length(v); k++) {
			e = json_object_array_get_idx(v, k);
			if (json_object_is_type(e, json_type_string) &&
			    !strcmp(json_object_get_string(e), rule))
				return true;
			if (json_object_object_get_ex(e, "name", &n) &&
			    !strcmp(json_object_get_string(n), rule))
				return true;
		}
	}
	return false;
}

int audit_read(const char *path, const char *rule, int64_t since,
	       int (*fn)(struct json_object *rec, void *arg), void *arg)
{
	struct json_object *rec, *u;
	unsigned lineno = 0;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int ret = 0, fd;
	struct stat st;
	FILE *f;

	fd = open_regular(path, &st);
	if (fd < 0)
		return fd == -EBADFD ? -EINVAL : fd;
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		lineno++;
		if ((size_t)n > TAPIS_AUDIT_LINE_MAX) {
			fprintf(stderr, "%s:%u: warning: line of %zd bytes skipped\n", path, lineno,
				n);
			continue;
		}
		rec = json_tokener_parse(line);
		if (!rec || !json_object_is_type(rec, json_type_object)) {
			fprintf(stderr, "%s:%u: warning: not a JSON record, skipped\n", path,
				lineno);
			json_object_put(rec);
			continue;
		}
		if ((since && (!json_object_object_get_ex(rec, "unix", &u) ||
			       json_object_get_int64(u) < since)) ||
		    (rule && !names_rule(rec, rule))) {
			json_object_put(rec);
			continue;
		}
		ret = fn(rec, arg);
		json_object_put(rec);
		if (ret)
			break;
	}
	if (!ret && ferror(f))
		ret = -EIO;
	free(line);
	fclose(f);
	return ret;
}

static int keep_last(struct json_object *rec, void *arg)
{
	struct json_object **last = arg;

	json_object_put(*last);
	*last = json_object_get(rec);
	return 0;
}

struct json_object *audit_last(const char *path)
{
	struct json_object *last = NULL;
	char buf[65536], *end, *start;
	struct stat st;
	ssize_t n;
	off_t off;
	int fd;

	/* The log only grows: read its tail, not all of it. */
	fd = open_regular(path, &st);
	if (fd < 0)
		return NULL;
	off = st.st_size > (off_t)sizeof(buf) - 1 ? st.st_size - (off_t)sizeof(buf) + 1 : 0;
	n = pread(fd, buf, sizeof(buf) - 1, off);
	close(fd);
	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	end = buf + n;
	while (end > buf && end[-1] == '\n')
		*--end = '\0';
	start = memrchr(buf, '\n', (size_t)(end - buf));
	if (start || !off) {
		last = json_tokener_parse(start ? start + 1 : buf);
		if (last && json_object_is_type(last, json_type_object))
			return last;
		json_object_put(last);
		last = NULL;
	}
	/* A last line longer than the tail: read it all. */
	if (audit_read(path, NULL, 0, keep_last, &last)) {
		json_object_put(last);
		return NULL;
	}
	return last;
}

static const struct rule_stat *rule_named(const struct snapshot *s, const char *name)
{
	for (size_t i = 0; s && i < s->n_rules; i++)
		if (!strcmp(s->rules[i].name, name))
			return &s->rules[i];
	return NULL;
}

static int64_t rule_entries(const struct rule_stat *r)
{
	return (int64_t)(r->nets_v4 + r->nets_v6 + r->hosts);
}

struct json_object *audit_diff(const struct snapshot *old, const struct snapshot *new,
			       int64_t *added, int64_t *removed)
{
	struct json_object *o = json_object_new_object(), *ra = json_object_new_array(),
			   *rr = json_object_new_array(), *rc = json_object_new_array();
	size_t i;

	*added = *removed = 0;
	for (i = 0; new &&i < new->n_rules; i++) {
		const struct rule_stat *n = &new->rules[i], *b = rule_named(old, n->name);
		int64_t e = rule_entries(n);

		if (!b) {
			json_object_array_add(ra, json_object_new_string(n->name));
			*added += e;
		} else if (rule_entries(b) != e) {
			struct json_object *c = json_object_new_object();

			json_object_object_add(c, "name", json_object_new_string(n->name));
			json_object_object_add(c, "entries_before",
					       json_object_new_int64(rule_entries(b)));
			json_object_object_add(c, "entries_after", json_object_new_int64(e));
			json_object_array_add(rc, c);
			if (e > rule_entries(b))
				*added += e - rule_entries(b);
			else
				*removed += rule_entries(b) - e;
		}
	}
	for (i = 0; old && i < old->n_rules; i++) {
		const struct rule_stat *b = &old->rules[i];
		struct json_object *r;

		if (rule_named(new, b->name))
			continue;
		r = json_object_new_object();
		json_object_object_add(r, "name", json_object_new_string(b->name));
		json_object_object_add(r, "action", json_object_new_string(action_name(b->action)));
		if (b->reference[0])
			json_object_object_add(r, "reference",
					       json_object_new_string(b->reference));
		json_object_object_add(r, "packets", json_object_new_uint64(b->packets));
		json_object_object_add(r, "bytes", json_object_new_uint64(b->bytes));
		json_object_object_add(r, "last_hit",
				       json_time_or_null(b->last_hit_unix_ns / 1000000000));
		json_object_object_add(r, "entries", json_object_new_int64(rule_entries(b)));
		json_object_array_add(rr, r);
		*removed += rule_entries(b);
	}
	json_object_object_add(o, "rules_added", ra);
	json_object_object_add(o, "rules_removed", rr);
	json_object_object_add(o, "rules_changed", rc);
	return o;
}

/* Is rec a load or reload of pin_path? Fills a. */
static bool apply_record(struct json_object *rec, const char *pin_path, struct audit_apply *a)
{
	struct json_object *cmd, *pin, *res, *u;
	const char *c;

	if (!json_object_is_type(rec, json_type_object) ||
	    !json_object_object_get_ex(rec, "command", &cmd) ||
	    !json_object_object_get_ex(rec, "pin_path", &pin) ||
	    strcmp(json_object_get_string(pin), pin_path) ||
	    !json_object_object_get_ex(rec, "unix", &u))
		return false;
	c = json_object_get_string(cmd);
	if (strcmp(c, "load") && strcmp(c, "reload"))
		return false;
	a->unix = json_object_get_int64(u);
	a->reload = c[0] == 'r';
	a->ok = !json_object_object_get_ex(rec, "result", &res) ||
		!strcmp(json_object_get_string(res), "ok");
	return true;
}

int audit_last_apply(const char *path, const char *pin_path, struct audit_apply *a)
{
	char *buf, *end, *line;
	struct stat st;
	size_t want;
	ssize_t n;
	off_t off;
	int fd, err = -ENOENT;

	fd = open_regular(path, &st);
	if (fd < 0)
		return fd == -EBADFD ? -EINVAL : fd;
	want = st.st_size > (off_t)TAPIS_AUDIT_SCAN ? TAPIS_AUDIT_SCAN : (size_t)st.st_size;
	off = st.st_size - (off_t)want;
	buf = malloc(want + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	n = pread(fd, buf, want, off);
	close(fd);
	if (n < 0) {
		err = -errno;
		goto out;
	}
	buf[n] = '\0';
	/* Newest first: from the end, line by line. A line cut by the start
	 * of the window (off > 0) is not a record. The JSON is parsed only
	 * for lines that name a load or a reload (written without spaces). */
	end = buf + n;
	while (end > buf) {
		while (end > buf && end[-1] == '\n')
			*--end = '\0';
		line = memrchr(buf, '\n', (size_t)(end - buf));
		line = line ? line + 1 : buf;
		if ((line > buf || off == 0) && (strstr(line, "\"command\":\"reload\"") ||
						 strstr(line, "\"command\":\"load\""))) {
			struct json_object *rec = json_tokener_parse(line);
			bool hit = rec && apply_record(rec, pin_path, a);

			json_object_put(rec);
			if (hit) {
				err = 0;
				break;
			}
		}
		end = line;
	}
out:
	free(buf);
	return err;
}
