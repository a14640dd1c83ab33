"""`keyquarry client` says which date made a server's certificate untrusted: expired or
not yet valid (openssl cannot make such certificates; Python's cryptography can)."""
import datetime
import ipaddress
import subprocess

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from conftest import BINARY, Server


def certificate(directory, name, not_before, not_after):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return str(cert_path), str(key_path)


def test_an_expired_or_future_certificate_is_named_as_such(tmp_path):
    now = datetime.datetime.now(datetime.timezone.utc)
    cases = {
        "expired": (now - datetime.timedelta(days=10), now - datetime.timedelta(days=1), "expired at"),
        "future": (now + datetime.timedelta(days=1), now + datetime.timedelta(days=10), "is not valid before"),
    }
    for name, (not_before, not_after, words) in cases.items():
        cert, key = certificate(tmp_path, name, not_before, not_after)
        server = Server(args=("--ssl-certfile", cert, "--ssl-keyfile", key))
        try:
            result = subprocess.run(
                [BINARY, "client", "--address", server.grpc, "--ca-certfile", cert, "exists", "k"],
                capture_output=True, text=True, timeout=30)
            assert result.returncode == 1
            assert f"TLS failed: the server's certificate {words}" in result.stderr, result.stderr
        finally:
            assert server.stop() == 0
