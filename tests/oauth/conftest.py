"""In-process clients on a loopback host name: Authlib serves OAuth over plain HTTP only on
loopback (RFC 8252), as under ``make run``."""

import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django_otp.plugins.otp_totp.models import TOTPDevice

from tests.e2e.conftest import person  # noqa: F401 - a person signed up and enrolled
from tests.support.appserver import AppServer, server_env
from tests.support.factories import UserFactory

from .flow import HOST


@pytest.fixture
def stepped_up_client(stepped_up_client):
    stepped_up_client.defaults.update(HOST)
    return stepped_up_client


@pytest.fixture
def logged_in_client(logged_in_client):
    logged_in_client.defaults.update(HOST)
    return logged_in_client


@pytest.fixture
def api_client(api_client):
    def make(token):
        client = api_client(token)
        client.defaults.update(HOST)
        return client

    return make


@pytest.fixture(scope="package")
def tls(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1: the CIMD host's, trusted by the server."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    folder = tmp_path_factory.mktemp("tls")
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    (folder / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "key.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return folder


@pytest.fixture(scope="package")
def app(django_db_setup, django_db_blocker, redis_server, tmp_path_factory, tls):
    with django_db_blocker.unblock():
        env = server_env(
            redis_server.url,
            DATABASE_CONN_MAX_AGE_SECONDS=0,
            OAUTH_CIMD_ALLOW_LOOPBACK=1,
            OAUTH_CIMD_CA_BUNDLE=tls / "cert.pem",
        )
    server = AppServer(env=env, log=tmp_path_factory.mktemp("oauth") / "gunicorn.log", workers=2)
    yield server
    server.stop()


@pytest.fixture
def owner():
    user = UserFactory()
    totp_device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    return user, totp_device


@pytest.fixture
def cimd_host(tls):
    """An HTTPS server on loopback serving a Client ID Metadata Document."""
    documents = {}  # path -> body, or (status, headers) for an answer without one

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            documents.setdefault("fetches", []).append(self.path)
            body = documents.get(self.path)
            if isinstance(body, tuple):
                self.send_response(body[0])
                for name, value in body[1].items():
                    self.send_header(name, value)
                self.end_headers()
                return
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body or b"{}")

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls / "cert.pem", tls / "key.pem")
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    url = f"https://127.0.0.1:{httpd.server_address[1]}"
    yield url, documents
    httpd.shutdown()
