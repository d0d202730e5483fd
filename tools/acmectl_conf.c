/* acmectl: the reader of an httpd configuration (acmectl_conf.h). */
#include <ctype.h>
#include <glob.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <apr_env.h>
#include <apr_file_info.h>
#include <apr_file_io.h>
#include <apr_hash.h>
#include <apr_strings.h>

#include "acmectl_conf.h"

/* Largest configuration file read (httpd has no limit; ours keeps a wrong
 * -f from reading a disk image). */
#define CONF_FILE_MAX (16 * 1024 * 1024)

/* Settings that a section may set and the server config defaults. */
typedef struct {
    apr_array_header_t *pkey_specs;
    const acme_config_window_t *renew_window;
    const acme_config_window_t *warn_window;
    apr_array_header_t *ca_urls;
    const char *renew_mode;
} settings_t;

typedef struct {
    acmectl_md_t md;
    settings_t own;
} md_entry_t;

typedef struct {
    apr_pool_t *p;
    const char *server_root;
    const char *store_dir;
    apr_hash_t *defines;
    settings_t global;
    apr_array_header_t *entries;    /* md_entry_t * */
    md_entry_t *section;            /* inside <MDomain>, or NULL */
    int files;
    const char *err;
    /* where we are */
    const char *file;
    int line;
} reader_t;

static apr_status_t fail(reader_t *r, apr_status_t rv, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static apr_status_t fail(reader_t *r, apr_status_t rv, const char *fmt, ...)
{
    va_list ap;
    const char *msg;

    va_start(ap, fmt);
    msg = apr_pvsprintf(r->p, fmt, ap);
    va_end(ap);
    r->err = r->file ? apr_psprintf(r->p, "%s:%d: %s", r->file, r->line, msg) : msg;
    return rv;
}

static const char *root_relative(reader_t *r, const char *path)
{
    if (path[0] == '/') {
        return path;
    }
    return apr_pstrcat(r->p, r->server_root, "/", path, NULL);
}

/* ${VAR}: a Define, else the environment, else left as it is. */
static const char *substitute(reader_t *r, const char *line)
{
    const char *s = line, *start, *end, *value;
    char *name, *env;
    char *out = "";

    while ((start = strstr(s, "${")) != NULL && (end = strchr(start + 2, '}')) != NULL) {
        name = apr_pstrmemdup(r->p, start + 2, (apr_size_t)(end - start - 2));
        value = apr_hash_get(r->defines, name, APR_HASH_KEY_STRING);
        if (value == NULL && apr_env_get(&env, name, r->p) == APR_SUCCESS) {
            value = env;
        }
        out = apr_pstrcat(r->p, out, apr_pstrmemdup(r->p, s, (apr_size_t)(start - s)),
                          value ? value : apr_pstrmemdup(r->p, start,
                                                          (apr_size_t)(end + 1 - start)),
                          NULL);
        s = end + 1;
    }
    return *out ? apr_pstrcat(r->p, out, s, NULL) : line;
}

/* The words of a line as httpd's ap_getword_conf() splits them: white space
 * separates, "..." and '...' quote (a backslash escapes the quote). */
static apr_array_header_t *words_split(apr_pool_t *p, const char *line)
{
    apr_array_header_t *words = apr_array_make(p, 4, sizeof(const char *));
    const char *s = line;

    for (;;) {
        char *word, *w;
        char quote;

        while (*s && isspace((unsigned char)*s)) {
            s++;
        }
        if (!*s) {
            return words;
        }
        word = w = apr_palloc(p, strlen(s) + 1);
        if (*s == '"' || *s == '\'') {
            quote = *s++;
            while (*s && *s != quote) {
                if (*s == '\\' && s[1] == quote) {
                    s++;
                }
                *w++ = *s++;
            }
            if (*s) {
                s++;
            }
        }
        else {
            while (*s && !isspace((unsigned char)*s)) {
                *w++ = *s++;
            }
        }
        *w = '\0';
        APR_ARRAY_PUSH(words, const char *) = word;
    }
}

static apr_status_t read_file(reader_t *r, const char *path, int depth);

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The files of a directory, sorted, recursively, dot files left out. */
static apr_status_t read_dir(reader_t *r, const char *dir, int depth)
{
    apr_array_header_t *names = apr_array_make(r->p, 8, sizeof(const char *));
    apr_finfo_t fi;
    apr_dir_t *d;
    apr_status_t rv;
    int i;

    if ((rv = apr_dir_open(&d, dir, r->p)) != APR_SUCCESS) {
        return fail(r, rv, "cannot read directory %s", dir);
    }
    while (apr_dir_read(&fi, APR_FINFO_NAME, d) == APR_SUCCESS) {
        if (fi.name[0] != '.') {
            APR_ARRAY_PUSH(names, const char *) = apr_pstrcat(r->p, dir, "/", fi.name, NULL);
        }
    }
    apr_dir_close(d);
    qsort(names->elts, (size_t)names->nelts, sizeof(const char *), cmp_str);
    for (i = 0; i < names->nelts; ++i) {
        if ((rv = read_file(r, APR_ARRAY_IDX(names, i, const char *), depth)) != APR_SUCCESS) {
            return rv;
        }
    }
    return APR_SUCCESS;
}

/* Include / IncludeOptional of one argument. */
static apr_status_t include(reader_t *r, const char *arg, int optional, int depth)
{
    const char *path = root_relative(r, arg);
    apr_status_t rv = APR_SUCCESS;
    apr_finfo_t fi;
    glob_t g;
    size_t i;
    int grv;

    if (!strpbrk(path, "*?[")) {
        if (apr_stat(&fi, path, APR_FINFO_TYPE, r->p) != APR_SUCCESS) {
            return optional ? APR_SUCCESS : fail(r, APR_ENOENT, "Include: %s does not exist",
                                                 path);
        }
        return fi.filetype == APR_DIR ? read_dir(r, path, depth) : read_file(r, path, depth);
    }
    grv = glob(path, 0, NULL, &g);      /* sorted, as httpd includes them */
    if (grv == GLOB_NOMATCH) {
        return optional ? APR_SUCCESS : fail(r, APR_ENOENT, "Include: no file matches %s",
                                             path);
    }
    if (grv != 0) {
        return fail(r, APR_EGENERAL, "Include: cannot expand %s", path);
    }
    for (i = 0; i < g.gl_pathc && rv == APR_SUCCESS; ++i) {
        if (apr_stat(&fi, g.gl_pathv[i], APR_FINFO_TYPE, r->p) == APR_SUCCESS
            && fi.filetype == APR_REG) {
            rv = read_file(r, apr_pstrdup(r->p, g.gl_pathv[i]), depth);
        }
    }
    globfree(&g);
    return rv;
}

/* The settings the directive `name` changes: the section's or the global. */
static settings_t *settings_target(reader_t *r)
{
    return r->section ? &r->section->own : &r->global;
}

static apr_status_t bad_value(reader_t *r, const char *directive, const char *value,
                              const char *why)
{
    return fail(r, APR_EINVAL, "%s: '%s' %s", directive, value, why ? why : "is invalid");
}

/* Adds names (and the auto/manual keywords) to a domain. */
static apr_status_t md_add_names(reader_t *r, md_entry_t *e, const char *directive,
                                 apr_array_header_t *args, int first)
{
    const char *name, *why = NULL;
    int i;

    for (i = first; i < args->nelts; ++i) {
        const char *arg = APR_ARRAY_IDX(args, i, const char *);
        if (!strcasecmp(arg, "auto") || !strcasecmp(arg, "manual")) {
            continue;       /* MDMembers: the vhosts' names, not known here */
        }
        if (acme_config_identifier_parse(&name, r->p, arg, &why) != APR_SUCCESS) {
            return bad_value(r, directive, arg, why);
        }
        APR_ARRAY_PUSH(e->md.names, const char *) = name;
    }
    if (e->md.names->nelts == 0) {
        return fail(r, APR_EINVAL, "%s: needs at least one name", directive);
    }
    e->md.name = APR_ARRAY_IDX(e->md.names, 0, const char *);
    return APR_SUCCESS;
}

static md_entry_t *md_new(reader_t *r)
{
    md_entry_t *e = apr_pcalloc(r->p, sizeof(*e));

    e->md.names = apr_array_make(r->p, 2, sizeof(const char *));
    e->md.file = r->file;
    e->md.line = r->line;
    APR_ARRAY_PUSH(r->entries, md_entry_t *) = e;
    return e;
}

/* The per-domain settings; 1 when `d` was one of them. */
static int setting(apr_status_t *prv, reader_t *r, const char *d, apr_array_header_t *args)
{
    const char *const *argv = (const char *const *)args->elts + 1;
    int argc = args->nelts - 1, i, bad = 0;
    settings_t *s = settings_target(r);
    const char *why = NULL, *url;
    acme_config_window_t *w;

    *prv = APR_SUCCESS;
    if (!strcasecmp(d, "MDPrivateKeys")) {
        if (acme_config_keyspecs_parse(&s->pkey_specs, r->p, argc, argv, &bad, &why)) {
            *prv = bad_value(r, d, argc > bad ? argv[bad] : "", why);
        }
    }
    else if (!strcasecmp(d, "MDRenewWindow") || !strcasecmp(d, "MDWarnWindow")) {
        w = apr_pcalloc(r->p, sizeof(*w));
        if (argc != 1) {
            *prv = fail(r, APR_EINVAL, "%s: takes one value", d);
        }
        else if (acme_config_window_parse(w, argv[0], ACME_CONFIG_DAY, &why)) {
            *prv = bad_value(r, d, argv[0], why);
        }
        else if (!strcasecmp(d, "MDRenewWindow")) {
            s->renew_window = w;
        }
        else {
            s->warn_window = w;
        }
    }
    else if (!strcasecmp(d, "MDCertificateAuthority")) {
        s->ca_urls = apr_array_make(r->p, argc, sizeof(const char *));
        for (i = 0; i < argc && *prv == APR_SUCCESS; ++i) {
            if (acme_config_ca_resolve(&url, r->p, argv[i], &why) != APR_SUCCESS) {
                *prv = bad_value(r, d, argv[i], why);
                break;
            }
            APR_ARRAY_PUSH(s->ca_urls, const char *) = url;
        }
    }
    else if (!strcasecmp(d, "MDRenewMode") || !strcasecmp(d, "MDDriveMode")) {
        if (argc != 1 || (strcasecmp(argv[0], "auto") && strcasecmp(argv[0], "always")
                          && strcasecmp(argv[0], "manual"))) {
            *prv = fail(r, APR_EINVAL, "%s: use auto, always or manual", d);
        }
        else {
            s->renew_mode = apr_pstrdup(r->p, argv[0]);
            for (i = 0; s->renew_mode[i]; ++i) {
                ((char *)s->renew_mode)[i] = (char)tolower((unsigned char)s->renew_mode[i]);
            }
        }
    }
    else {
        return 0;
    }
    return 1;
}

/* One directive (words[0]) or section line. */
static apr_status_t directive(reader_t *r, apr_array_header_t *w, int depth)
{
    const char *d = APR_ARRAY_IDX(w, 0, const char *);
    apr_status_t rv = APR_SUCCESS;
    int i;

    if (!strcasecmp(d, "<MDomain") || !strcasecmp(d, "<ManagedDomain")
        || !strcasecmp(d, "<MDomainSet")) {
        if (r->section) {
            return fail(r, APR_EINVAL, "%s>: inside another <MDomain>", d);
        }
        r->section = md_new(r);
        return md_add_names(r, r->section, d + 1, w, 1);
    }
    if (!strcasecmp(d, "</MDomain") || !strcasecmp(d, "</ManagedDomain")
        || !strcasecmp(d, "</MDomainSet")) {
        if (!r->section) {
            return fail(r, APR_EINVAL, "%s> without its opening", d);
        }
        r->section = NULL;
        return APR_SUCCESS;
    }
    if (d[0] == '<') {
        return APR_SUCCESS;     /* other sections: their content is read */
    }
    if (!strcasecmp(d, "ServerRoot") && w->nelts == 2) {
        r->server_root = apr_pstrdup(r->p, APR_ARRAY_IDX(w, 1, const char *));
    }
    else if (!strcasecmp(d, "Define") && w->nelts >= 2) {
        apr_hash_set(r->defines, APR_ARRAY_IDX(w, 1, const char *), APR_HASH_KEY_STRING,
                     w->nelts > 2 ? APR_ARRAY_IDX(w, 2, const char *) : "");
    }
    else if (!strcasecmp(d, "Include") || !strcasecmp(d, "IncludeOptional")) {
        const char *file = r->file;
        int line = r->line;

        for (i = 1; i < w->nelts && rv == APR_SUCCESS; ++i) {
            rv = include(r, APR_ARRAY_IDX(w, i, const char *),
                         !strcasecmp(d, "IncludeOptional"), depth + 1);
            r->file = file;
            r->line = line;
        }
    }
    else if (!strcasecmp(d, "MDStoreDir")) {
        if (w->nelts != 2 || !*APR_ARRAY_IDX(w, 1, const char *)) {
            return fail(r, APR_EINVAL, "MDStoreDir: takes one directory");
        }
        r->store_dir = root_relative(r, APR_ARRAY_IDX(w, 1, const char *));
    }
    else if (!strcasecmp(d, "ManagedDomain") || !strcasecmp(d, "MDomain")) {
        rv = md_add_names(r, md_new(r), d, w, 1);
    }
    else if (!strcasecmp(d, "MDMember") || !strcasecmp(d, "MDMembers")) {
        if (r->section && strcasecmp(d, "MDMember") == 0) {
            rv = md_add_names(r, r->section, d, w, 1);
        }
    }
    else if (!strcasecmp(d, "MDCertificateFile")) {
        if (r->section) {
            r->section->md.static_files = 1;
        }
    }
    else {
        setting(&rv, r, d, w);
    }
    return rv;
}

/* Reads the file's text, bounded. */
static apr_status_t file_text(char **ptext, reader_t *r, const char *path)
{
    apr_finfo_t fi;
    apr_file_t *f;
    apr_size_t len;
    apr_status_t rv;
    char *text;

    if ((rv = apr_file_open(&f, path, APR_FOPEN_READ, 0, r->p)) != APR_SUCCESS) {
        return fail(r, rv, "cannot read %s", path);
    }
    rv = apr_file_info_get(&fi, APR_FINFO_SIZE, f);
    if (rv == APR_SUCCESS && fi.size > CONF_FILE_MAX) {
        rv = APR_ENOSPC;
    }
    if (rv == APR_SUCCESS) {
        len = (apr_size_t)fi.size;
        text = apr_palloc(r->p, len + 1);
        rv = apr_file_read_full(f, text, len, &len);
        if (APR_STATUS_IS_EOF(rv)) {
            rv = APR_SUCCESS;
        }
        text[len] = '\0';
        *ptext = text;
    }
    apr_file_close(f);
    return rv == APR_SUCCESS ? rv : fail(r, rv, "cannot read %s", path);
}

static apr_status_t read_file(reader_t *r, const char *path, int depth)
{
    char *text = NULL, *line, *next;
    apr_array_header_t *w;
    apr_status_t rv;
    int lineno = 0, joined;

    if (depth > ACMECTL_CONF_MAX_DEPTH) {
        return fail(r, APR_EINVAL, "Include: nested deeper than %d (a loop?)",
                    ACMECTL_CONF_MAX_DEPTH);
    }
    if (++r->files > ACMECTL_CONF_MAX_FILES) {
        return fail(r, APR_EINVAL, "Include: more than %d files", ACMECTL_CONF_MAX_FILES);
    }
    if ((rv = file_text(&text, r, path)) != APR_SUCCESS) {
        return rv;
    }
    r->file = path;
    for (line = text; line; line = next) {
        const char *logical;
        apr_size_t len;

        next = strchr(line, '\n');
        if (next) {
            *next++ = '\0';
        }
        r->line = ++lineno;
        /* continuation lines: a backslash at the end joins the next */
        logical = line;
        for (joined = 0; next; ++joined) {
            len = strlen(logical);
            while (len > 0 && isspace((unsigned char)logical[len - 1])) {
                len--;
            }
            if (len == 0 || logical[len - 1] != '\\') {
                break;
            }
            line = next;
            next = strchr(line, '\n');
            if (next) {
                *next++ = '\0';
            }
            lineno++;
            logical = apr_pstrcat(r->p, apr_pstrmemdup(r->p, logical, len - 1), line, NULL);
        }
        while (isspace((unsigned char)*logical)) {
            logical++;
        }
        if (*logical == '\0' || *logical == '#') {
            continue;
        }
        logical = substitute(r, logical);
        if (*logical == '<') {
            char *copy = apr_pstrdup(r->p, logical);
            char *gt = strrchr(copy, '>');
            if (gt == NULL) {
                return fail(r, APR_EINVAL, "a section line without '>'");
            }
            *gt = '\0';
            logical = copy;
        }
        w = words_split(r->p, logical);
        if (w->nelts > 0 && (rv = directive(r, w, depth)) != APR_SUCCESS) {
            return rv;
        }
        r->file = path;
    }
    return APR_SUCCESS;
}

/* The domain's own setting, else the global one, else the module's default. */
static void md_resolve(acmectl_md_t *md, const settings_t *own, const settings_t *g,
                       apr_pool_t *p)
{
    static const acme_config_window_t window_33 = { 1, 33, 0 };
    static const acme_config_window_t window_10 = { 1, 10, 0 };
    acme_pkey_spec_t *rsa;

    md->pkey_specs = own->pkey_specs ? own->pkey_specs : g->pkey_specs;
    if (md->pkey_specs == NULL) {
        md->pkey_specs = apr_array_make(p, 1, sizeof(acme_pkey_spec_t));
        rsa = apr_array_push(md->pkey_specs);
        rsa->type = ACME_PKEY_RSA;
        rsa->bits = ACME_PKEY_RSA_DEFAULT_BITS;
        rsa->curve = ACME_PKEY_CURVE_NONE;
    }
    md->renew_window = own->renew_window ? *own->renew_window
                       : g->renew_window ? *g->renew_window : window_33;
    md->warn_window = own->warn_window ? *own->warn_window
                      : g->warn_window ? *g->warn_window : window_10;
    md->ca_urls = own->ca_urls ? own->ca_urls : g->ca_urls;
    if (md->ca_urls == NULL) {
        md->ca_urls = apr_array_make(p, 1, sizeof(const char *));
        APR_ARRAY_PUSH(md->ca_urls, const char *) = ACME_CONFIG_CA_DEFAULT;
    }
    md->renew_mode = own->renew_mode ? own->renew_mode
                     : g->renew_mode ? g->renew_mode : "auto";
}

apr_status_t acmectl_conf_read(acmectl_conf_t **pconf, apr_pool_t *p, const char *path,
                               const char *server_root, const char **perr)
{
    reader_t r;
    acmectl_conf_t *conf;
    apr_status_t rv;
    int i;

    memset(&r, 0, sizeof(r));
    r.p = p;
    r.server_root = server_root ? server_root : ACMECTL_DEFAULT_SERVER_ROOT;
    r.defines = apr_hash_make(p);
    r.entries = apr_array_make(p, 8, sizeof(md_entry_t *));
    rv = read_file(&r, root_relative(&r, path), 0);
    if (rv == APR_SUCCESS && r.section) {
        r.file = r.section->md.file;
        r.line = r.section->md.line;
        rv = fail(&r, APR_EINVAL, "<MDomain %s> is not closed", r.section->md.name);
    }
    if (rv != APR_SUCCESS) {
        *perr = r.err;
        return rv;
    }
    conf = apr_pcalloc(p, sizeof(*conf));
    conf->server_root = r.server_root;
    conf->store_dir = r.store_dir ? r.store_dir : root_relative(&r, "md");
    conf->mds = apr_array_make(p, r.entries->nelts, sizeof(acmectl_md_t *));
    for (i = 0; i < r.entries->nelts; ++i) {
        md_entry_t *e = APR_ARRAY_IDX(r.entries, i, md_entry_t *);
        md_resolve(&e->md, &e->own, &r.global, p);
        APR_ARRAY_PUSH(conf->mds, acmectl_md_t *) = &e->md;
    }
    *pconf = conf;
    return APR_SUCCESS;
}

const acmectl_md_t *acmectl_conf_md_find(const acmectl_conf_t *conf, const char *name)
{
    int i, j;

    for (i = 0; i < conf->mds->nelts; ++i) {
        const acmectl_md_t *md = APR_ARRAY_IDX(conf->mds, i, const acmectl_md_t *);
        if (!strcasecmp(md->name, name)) {
            return md;
        }
    }
    for (i = 0; i < conf->mds->nelts; ++i) {
        const acmectl_md_t *md = APR_ARRAY_IDX(conf->mds, i, const acmectl_md_t *);
        for (j = 0; j < md->names->nelts; ++j) {
            if (!strcasecmp(APR_ARRAY_IDX(md->names, j, const char *), name)) {
                return md;
            }
        }
    }
    return NULL;
}
