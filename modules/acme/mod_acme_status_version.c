/* The module's version for the status output. Its own file: config.h and
 * httpd's ap_config_auto.h both define PACKAGE_VERSION. */
#include "config.h"

/* declared in mod_acme_status_shm.h, which pulls in httpd */
const char *acme_status_version(void);

const char *acme_status_version(void)
{
    return PACKAGE_VERSION;
}
