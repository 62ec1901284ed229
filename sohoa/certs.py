"""A development PKI for digitised copies: a CA and one agency certificate, for tests and trials.

Real copies are signed with the agency's own certificate from a licensed CA (for state agencies,
the Government Cipher Committee's CA); a province drops its PKCS#12 in place of the one made
here (docs/copies.md). Nothing made here is trusted by anyone but ourselves.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

CA_YEARS = 10
AGENCY_YEARS = 3
# Clocks of desk machines drift; a certificate valid only from "now" fails on a machine a minute behind.
BACKDATE = timedelta(hours=1)


@dataclass(frozen=True)
class DevPki:
    ca_pem: Path
    ca_key: Path
    agency_p12: Path
    agency_name: str


# X.509 caps a common name at 64 characters; agency names can be longer (the organisation name
# keeps it whole).
CN_MAX = 64


def _name(common_name: str, organisation: str) -> x509.Name:
    if len(common_name) > CN_MAX:
        common_name = common_name[:CN_MAX - 1] + "…"
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "VN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _new_key() -> rsa.RSAPrivateKey:
    # RSA 2048: what Vietnamese agency CAs issue today, and what every PAdES validator accepts.
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def make_ca(common_name: str, now: datetime) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = _new_key()
    name = _name(common_name, "sohoa development PKI")
    ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE).not_valid_after(now + timedelta(days=365 * CA_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                     crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(ski, critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_agency_cert(agency_name: str, ca_key: rsa.RSAPrivateKey, ca_cert: x509.Certificate,
                     now: datetime) -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = _new_key()
    ca_ski = ca_cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(agency_name, agency_name)).issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - BACKDATE).not_valid_after(now + timedelta(days=365 * AGENCY_YEARS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        # nonRepudiation (content_commitment) is what PAdES validators, pyHanko's included, ask of
        # a signer's certificate by default.
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False, key_cert_sign=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    return key, cert


def _write(path: Path, data: bytes, secret: bool) -> None:
    # The mode is given at creation so a private key is never readable by others, not even briefly.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    if secret:
        os.chmod(path, 0o600)  # an existing file keeps its old mode through O_TRUNC


def init_dev_pki(out_dir: Path, agency_name: str, password: bytes, overwrite: bool = False) -> DevPki:
    """Write `ca.pem`, `ca-key.pem` and `agency.p12` (key, certificate and CA chain) to `out_dir`.
    An empty password leaves the PKCS#12 unencrypted (development only). Refuses to replace an
    existing `agency.p12` unless `overwrite`: copies already issued would no longer match it."""
    pki = DevPki(out_dir / "ca.pem", out_dir / "ca-key.pem", out_dir / "agency.p12", agency_name)
    if pki.agency_p12.exists() and not overwrite:
        raise FileExistsError(f"{pki.agency_p12} exists; not replacing an agency key")
    out_dir.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    ca_key, ca_cert = make_ca("sohoa development CA", now)
    key, cert = make_agency_cert(agency_name, ca_key, ca_cert, now)
    encryption = (serialization.BestAvailableEncryption(password) if password
                  else serialization.NoEncryption())
    _write(pki.ca_pem, ca_cert.public_bytes(serialization.Encoding.PEM), secret=False)
    _write(pki.ca_key, ca_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption()), secret=True)
    _write(pki.agency_p12, pkcs12.serialize_key_and_certificates(
        b"agency", key, cert, [ca_cert], encryption), secret=True)
    return pki
