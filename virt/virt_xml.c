/* Domain XML facts Drover needs before handing the XML to libvirt: name, uuid, vcpus, memory.
 * Pure (no libvirt, no I/O), so the coordinator can check an XML at submission time and the
 * fake hypervisor can use it too. Units follow libvirt's <memory unit=...> scaling rules. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#include "drover/results.h"
#include "virt.h"

static void set_err(char **errmsg, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void set_err(char **errmsg, const char *fmt, ...)
{
    va_list ap;

    if (errmsg == NULL) {
        return;
    }
    g_free(*errmsg);
    va_start(ap, fmt);
    *errmsg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
}

int drv_uuid_canon(const char *in, char out[DRV_UUID_STRLEN])
{
    char hex[33];
    size_t n = 0;

    if (in == NULL) {
        return DRV_ERR_BAD_ARGS;
    }
    while (isspace((unsigned char)*in)) {
        in++;
    }
    for (; *in != '\0' && !isspace((unsigned char)*in); in++) {
        if (*in == '-') {
            continue;
        }
        if (!isxdigit((unsigned char)*in) || n == 32) {
            return DRV_ERR_BAD_ARGS;
        }
        hex[n++] = (char)tolower((unsigned char)*in);
    }
    while (isspace((unsigned char)*in)) {
        in++;
    }
    if (n != 32 || *in != '\0') {
        return DRV_ERR_BAD_ARGS;
    }
    hex[32] = '\0';
    snprintf(out, DRV_UUID_STRLEN, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16,
             hex + 20);
    return 0;
}

static xmlNode *child(xmlNode *parent, const char *name)
{
    for (xmlNode *c = parent->children; c != NULL; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && strcmp((const char *)c->name, name) == 0) {
            return c;
        }
    }
    return NULL;
}

/* Text content of NODE without surrounding blanks; g_free it. */
static char *text_of(xmlNode *node)
{
    xmlChar *t = xmlNodeGetContent(node);
    char *s = g_strstrip(g_strdup(t ? (const char *)t : ""));

    xmlFree(t);
    return s;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    char *end = NULL;
    unsigned long long v;

    if (*s == '\0' || !isdigit((unsigned char)*s)) {
        return false;
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0 || *end != '\0') {
        return false;
    }
    *out = v;
    return true;
}

/* libvirt's unit names (virScaleInteger): powers of 1024 unless the name ends in "B" after a
 * prefix (KB, MB, ...), which are powers of 1000. Absent = KiB for <memory>. */
static bool unit_scale(const char *unit, uint64_t *scale)
{
    static const char prefixes[] = "kmgtpe";
    const char *p;
    uint64_t base = 1024;
    size_t len;
    int power;

    if (unit == NULL || *unit == '\0') {
        *scale = 1024;
        return true;
    }
    if (g_ascii_strcasecmp(unit, "b") == 0 || g_ascii_strcasecmp(unit, "bytes") == 0) {
        *scale = 1;
        return true;
    }
    p = strchr(prefixes, g_ascii_tolower(unit[0]));
    if (p == NULL) {
        return false;
    }
    power = (int)(p - prefixes) + 1;
    len = strlen(unit);
    if (len == 1) {
        base = 1024;
    } else if (len == 2 && (unit[1] == 'B' || unit[1] == 'b')) {
        base = 1000;
    } else if (len == 3 && g_ascii_strcasecmp(unit + 1, "iB") == 0) {
        base = 1024;
    } else {
        return false;
    }
    *scale = 1;
    while (power-- > 0) {
        *scale *= base;
    }
    return true;
}

static int parse_memory(xmlNode *mem, uint64_t *mib, char **errmsg)
{
    xmlChar *unit = xmlGetProp(mem, (const xmlChar *)"unit");
    g_autofree char *val = text_of(mem);
    uint64_t n = 0;
    uint64_t scale = 0;
    int rc = DRV_ERR_BAD_ARGS;

    if (!parse_u64(val, &n)) {
        set_err(errmsg, "<memory> must be a non-negative integer, not '%s'", val);
        goto out;
    }
    if (!unit_scale((const char *)unit, &scale)) {
        set_err(errmsg, "<memory> has an unknown unit '%s'", (const char *)unit);
        goto out;
    }
    if (n == 0) {
        set_err(errmsg, "<memory> must not be 0");
        goto out;
    }
    if (n > UINT64_MAX / scale) {
        set_err(errmsg, "<memory> %" PRIu64 " %s is too large", n, (const char *)unit);
        goto out;
    }
    n *= scale;
    *mib = n / (1024 * 1024) + (n % (1024 * 1024) ? 1 : 0);
    rc = 0;
out:
    xmlFree(unit);
    return rc;
}

void drv_dom_def_clear(drv_dom_def_t *d)
{
    if (d == NULL) {
        return;
    }
    g_free(d->name);
    memset(d, 0, sizeof(*d));
}

int drv_virt_parse_xml(const char *xml, drv_dom_def_t *out, char **errmsg)
{
    xmlParserCtxtPtr ctxt = NULL;
    xmlDocPtr doc = NULL;
    xmlNode *root;
    xmlNode *n;
    g_autofree char *s = NULL;
    uint64_t vcpus = 1;
    int rc = DRV_ERR_BAD_ARGS;

    if (out == NULL) {
        return DRV_ERR_BAD_ARGS;
    }
    memset(out, 0, sizeof(*out));
    if (xml == NULL || *xml == '\0') {
        set_err(errmsg, "empty domain XML");
        return DRV_ERR_BAD_ARGS;
    }
    ctxt = xmlNewParserCtxt();
    if (ctxt == NULL) {
        set_err(errmsg, "out of memory");
        return -ENOMEM;
    }
    doc = xmlCtxtReadMemory(ctxt, xml, (int)strlen(xml), "domain.xml", NULL,
                            XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (doc == NULL) {
        const xmlError *e = xmlCtxtGetLastError(ctxt);
        g_autofree char *m = g_strdup(e && e->message ? e->message : "parse error");

        set_err(errmsg, "domain XML is not well-formed: line %d: %s", e ? e->line : 0,
                g_strchomp(m));
        goto out;
    }
    root = xmlDocGetRootElement(doc);
    if (root == NULL || strcmp((const char *)root->name, "domain") != 0) {
        set_err(errmsg, "domain XML: the root element must be <domain>, not <%s>",
                root ? (const char *)root->name : "");
        goto out;
    }
    n = child(root, "name");
    s = n ? text_of(n) : NULL;
    if (s == NULL || *s == '\0') {
        set_err(errmsg, "domain XML has no <name>");
        goto out;
    }
    out->name = g_steal_pointer(&s);

    n = child(root, "uuid");
    s = n ? text_of(n) : NULL;
    if (s == NULL || *s == '\0') {
        set_err(errmsg,
                "domain XML for '%s' has no <uuid>: Drover identifies domains by UUID, "
                "so the XML must carry one",
                out->name);
        goto out;
    }
    if (drv_uuid_canon(s, out->uuid) != 0) {
        set_err(errmsg, "domain XML for '%s': <uuid> '%s' is not a UUID", out->name, s);
        goto out;
    }
    g_clear_pointer(&s, g_free);

    n = child(root, "vcpu");
    if (n != NULL) {
        s = text_of(n);
        if (!parse_u64(s, &vcpus) || vcpus == 0 || vcpus > 65535) {
            set_err(errmsg, "domain XML for '%s': <vcpu> must be an integer from 1, not '%s'",
                    out->name, s);
            goto out;
        }
    }
    out->vcpus = (unsigned)vcpus;

    n = child(root, "memory");
    if (n == NULL) {
        set_err(errmsg, "domain XML for '%s' has no <memory>", out->name);
        goto out;
    }
    rc = parse_memory(n, &out->memory_mib, errmsg);
    if (rc != 0) {
        g_autofree char *m = errmsg ? g_steal_pointer(errmsg) : NULL;

        set_err(errmsg, "domain XML for '%s': %s", out->name, m ? m : "bad <memory>");
        goto out;
    }
    rc = 0;
out:
    if (rc != 0) {
        drv_dom_def_clear(out);
    }
    xmlFreeDoc(doc);
    xmlFreeParserCtxt(ctxt);
    return rc;
}
