"""A throwaway certificate authority made with the openssl command line.

It signs the certificate of pebble's own HTTPS listener (and anything else a
test needs, such as a fallback certificate for an https vhost). Clients that
talk to pebble (the module under test, urllib here) trust ca.cert_path.
"""
import os
import secrets
import subprocess


class CA:
    def __init__(self, directory, openssl="openssl", name="mod_acme throwaway test CA"):
        self.directory = directory
        self.openssl = openssl
        self.name = name
        self.cert_path = os.path.join(directory, "ca.pem")
        self.key_path = os.path.join(directory, "ca.key")

    def _run(self, *args):
        proc = subprocess.run([self.openssl, *args], capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"openssl {args[0]} failed ({proc.returncode}): "
                               f"{proc.stderr.strip()}")
        return proc.stdout

    def create(self, days=30):
        """Makes the CA key and self-signed certificate; returns self."""
        os.makedirs(self.directory, mode=0o755, exist_ok=True)
        self._run("req", "-x509", "-new", "-newkey", "ec", "-pkeyopt",
                  "ec_paramgen_curve:P-256", "-nodes", "-keyout", self.key_path,
                  "-out", self.cert_path, "-days", str(days), "-subj", f"/CN={self.name}",
                  "-addext", "basicConstraints=critical,CA:TRUE",
                  "-addext", "keyUsage=critical,keyCertSign,cRLSign",
                  "-addext", "subjectKeyIdentifier=hash")
        os.chmod(self.key_path, 0o600)
        return self

    def issue(self, name, sans, days=30):
        """Issues a TLS server certificate for sans (e.g. ["DNS:localhost",
        "IP:127.0.0.1"]); returns (cert_path, key_path) in the CA directory."""
        base = os.path.join(self.directory, name.replace("*", "_wildcard"))
        key, csr, cert, ext = (base + s for s in (".key", ".csr", ".pem", ".ext"))
        self._run("req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                  "-nodes", "-keyout", key, "-out", csr, "-subj", f"/CN={name}")
        with open(ext, "w") as f:
            f.write("basicConstraints=critical,CA:FALSE\n"
                    "keyUsage=critical,digitalSignature\n"
                    "extendedKeyUsage=serverAuth\n"
                    "subjectKeyIdentifier=hash\n"
                    "authorityKeyIdentifier=keyid:always\n"
                    f"subjectAltName={','.join(sans)}\n")
        self._run("x509", "-req", "-in", csr, "-CA", self.cert_path, "-CAkey", self.key_path,
                  "-set_serial", "0x" + secrets.token_hex(16), "-days", str(days),
                  "-extfile", ext, "-out", cert)
        os.chmod(key, 0o600)
        return cert, key

    def pem(self):
        with open(self.cert_path) as f:
            return f.read()
