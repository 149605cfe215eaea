"""Certificates for the TLS tests, made by the `openssl` command: a CA, and
certificates it signs (EC P-256 keys, 30 days). Every certificate is written
as <name>.key / <name>.pem, a PEM key store <name>-store.pem (key, certificate,
CA: Kafka's ssl.keystore.type=PEM) and a PKCS12 key store <name>.p12 whose
password is "<name>-pass". Shared by test_tls.py and test_secure_cluster.py."""
import os
import subprocess


def sh(*args, cwd):
    subprocess.run(args, cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(d, name):
    sh("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout",
       f"{name}.key", "-out", f"{name}.pem", "-days", "30", "-subj", f"/CN={name}", cwd=d)


def make_cert(d, name, subject, ca, san=None):
    sh("openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-keyout", f"{name}.key",
       "-out", f"{name}.csr", "-subj", subject, cwd=d)
    ext = os.path.join(d, f"{name}.ext")
    with open(ext, "w") as f:
        f.write(f"subjectAltName={san}\n" if san else "basicConstraints=CA:FALSE\n")
    sh("openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key", "-CAcreateserial",
       "-out", f"{name}.pem", "-days", "30", "-extfile", ext, cwd=d)
    # PEM key store form (key + chain in one file) and PKCS12.
    with open(os.path.join(d, f"{name}-store.pem"), "w") as f:
        for part in (f"{name}.key", f"{name}.pem", f"{ca}.pem"):
            with open(os.path.join(d, part)) as src:
                f.write(src.read())
    sh("openssl", "pkcs12", "-export", "-in", f"{name}.pem", "-inkey", f"{name}.key", "-certfile", f"{ca}.pem", "-out",
       f"{name}.p12", "-passout", f"pass:{name}-pass", cwd=d)
