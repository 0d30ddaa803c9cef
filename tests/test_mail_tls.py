"""Mail to the operators crosses relays: STARTTLS and implicit TLS against a real local SMTP
server (aiosmtpd) with a certificate from a test CA made here; an untrusted certificate or a
server without TLS never gets the alert in clear, and the alert stays queued."""

from __future__ import annotations

import datetime
import ipaddress
import ssl

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from leaksentry import jobs
from leaksentry.config import load_config
from leaksentry.localservers import MailCatcher
from leaksentry.storage import open_store

from conftest import write_config


def _name(text: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])


def _certificate(subject, issuer, public_key, signing_key, ca: bool, sans=None):
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
    )
    if ca:
        usage = dict(key_cert_sign=True, crl_sign=True, digital_signature=False)
    else:
        usage = dict(key_cert_sign=False, crl_sign=False, digital_signature=True)
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()),
            critical=False,
        )
    builder = builder.add_extension(
        x509.KeyUsage(
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            encipher_only=False,
            decipher_only=False,
            **usage,
        ),
        critical=True,
    )
    return builder.sign(signing_key, hashes.SHA256())


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """A test CA (its PEM file) and a server context with a certificate for 127.0.0.1."""
    folder = tmp_path_factory.mktemp("pki")
    ca_key, server_key = (
        ec.generate_private_key(ec.SECP256R1()),
        ec.generate_private_key(ec.SECP256R1()),
    )
    ca = _certificate(
        _name("leaksentry test CA"), _name("leaksentry test CA"), ca_key.public_key(), ca_key, True
    )
    sans = [x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]
    server = _certificate(
        _name("127.0.0.1"), ca.subject, server_key.public_key(), ca_key, False, sans
    )
    (folder / "ca.pem").write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    (folder / "server.pem").write_bytes(server.public_bytes(serialization.Encoding.PEM))
    (folder / "server.key").write_bytes(
        server_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "server.pem", folder / "server.key")
    return folder / "ca.pem", context


def queue_one_alert_mail(tmp_path, port: int, security: str, ca_file=None):
    """A configuration for the relay and one queued alert mail in its outbox."""
    config_path = write_config(tmp_path, smtp_port=port)
    text = config_path.read_text().replace(
        "[smtp]\n",
        f'[smtp]\nsecurity = "{security}"\n' + (f'ca_file = "{ca_file}"\n' if ca_file else ""),
    )
    config_path.write_text(text)
    config = load_config(config_path)
    store = open_store(config.database)
    store.queue_message(
        {
            "brief_id": "T-DOCK",
            "alert_id": None,
            "kind": "alert",
            "recipients": '["duty@example.org"]',
            "subject": "[leaksentry] AMBER KESTREL: exposure",
            "body_text": "public evidence",
            "body_html": "<p>public evidence</p>",
            "message_id": "<tls-test@leaksentry.local>",
        }
    )
    return config, store


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_alert_mail_goes_over_tls_to_a_relay_signed_by_the_configured_ca(tmp_path, pki, security):
    ca_file, server_context = pki
    tls = {"starttls": server_context} if security == "starttls" else {}
    tls |= {"implicit_tls": server_context} if security == "ssl" else {}
    with MailCatcher(**tls) as relay:
        config, store = queue_one_alert_mail(tmp_path, relay.port, security, ca_file)
        with store:
            report = jobs.send_queued(config, store)
            assert report.counts["sent"] == 1, report.errors
            assert [row["state"] for row in store.message_rows()] == ["sent"]
    (message,) = relay.messages
    assert message["Message-ID"] == "<tls-test@leaksentry.local>"


@pytest.mark.parametrize("security", ["starttls", "ssl"])
def test_an_untrusted_certificate_sends_nothing_and_the_mail_stays_queued(tmp_path, pki, security):
    _, server_context = pki
    tls = {"starttls": server_context} if security == "starttls" else {}
    tls |= {"implicit_tls": server_context} if security == "ssl" else {}
    with MailCatcher(**tls) as relay:
        config, store = queue_one_alert_mail(tmp_path, relay.port, security)  # system CAs only
        with store:
            report = jobs.send_queued(config, store)
            assert report.counts["sent"] == 0
            assert "certificate verify failed" in " ".join(report.errors)
            assert [row["state"] for row in store.message_rows()] == ["queued"]
    assert relay.messages == []


def test_a_relay_that_demands_starttls_gets_nothing_in_clear(tmp_path, pki):
    """security = "none" against a relay that requires STARTTLS: refused, kept, never dropped."""
    _, server_context = pki
    with MailCatcher(starttls=server_context) as relay:
        config, store = queue_one_alert_mail(tmp_path, relay.port, "none")
        with store:
            report = jobs.send_queued(config, store)
            assert report.counts["sent"] == 0 and report.errors
            (row,) = store.message_rows()
            assert row["state"] in ("queued", "refused") and "STARTTLS" in row["last_error"]
    assert relay.messages == []


def test_a_missing_ca_file_is_a_configuration_error(tmp_path):
    from leaksentry.errors import LeaksentryError

    config_path = write_config(tmp_path)
    config_path.write_text(
        config_path.read_text().replace("[smtp]\n", '[smtp]\nca_file = "no-such-ca.pem"\n')
    )
    with pytest.raises(LeaksentryError, match=r"\[smtp\] ca_file .*no-such-ca.pem not found"):
        load_config(config_path)
