"""The store's layout as the tests see it on disk: mod_md's (the store is
shared with mod_md), see modules/acme/core/acme_layout.h."""

LIVE = "domains"    # the live sets' directory

_CURVES = {"P-256": "secp256r1", "P-384": "secp384r1"}


def _suffix(spec):
    if spec.lower().startswith("rsa"):
        return ""
    return "." + _CURVES.get(spec, spec.lower())


def privkey(spec):
    """The key file of a key spec ("P-256" -> "privkey.secp256r1.pem",
    "rsa2048" -> "privkey.pem")."""
    return f"privkey{_suffix(spec)}.pem"


def pubcert(spec):
    """The chain file of a key spec ("P-256" -> "pubcert.secp256r1.pem")."""
    return f"pubcert{_suffix(spec)}.pem"
