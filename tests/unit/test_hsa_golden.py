"""Known-answer tests of SM3 and SM2 as the medical-insurance platform adapter uses them, so the
signature cannot drift into a private dialect: the digests published in GB/T 32905 (SM3) and the
SM2 signature example over the recommended curve (GM/T 0003.5 / GB/T 32918.5, ID 1234567812345678,
message "message digest")."""

import pytest

from portal.integrations.hsa import sm

D = "3945208F7B2144B13F36E38AC6D39F95889393692860B51A42FB81EF4DF7C5B8"
PUBLIC = ("09F9DF311E5421A150DD7D161E4BC5C672179FAD1833FC076BB08FF356F35020"
          "CCEA490CE26775A52DC6EA718CC1AA600AED05FBF35E084A6632F6072DA9AD13")
K = "59276E27D506861A16680F3AD9C02DCCEF3CC1FA3CDBE4CE6D54B80DEAC1BC21"
R = "F5A03B0648D2C4630EEAC513E1BB81A15944DA3827D5B74143AC7EACEEE720B3"
S = "B1B6AA29DF212FD8763182BC0D421CA1BB9038FD1F7F42D4840B69C485BBC1AA"


@pytest.mark.parametrize(("message", "digest"), [
    (b"abc", "66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0"),
    (b"abcd" * 16, "debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732"),
])
def test_sm3_digest_of_the_standards_examples(message, digest):
    assert sm.sm3_hex(message) == digest


def test_sm2_public_key_and_signature_of_the_standards_example():
    assert sm.public_key_of(D) == PUBLIC.lower()
    assert sm.sign(b"message digest", D, k=K) == (R + S).lower()


def test_sm2_verifies_the_standards_signature_and_nothing_else():
    assert sm.verify(b"message digest", R + S, PUBLIC)
    assert sm.verify(b"message digest", R + S, "04" + PUBLIC)
    assert not sm.verify(b"message digesT", R + S, PUBLIC)
    assert not sm.verify(b"message digest", R + S[:-1] + "B", PUBLIC)
    assert not sm.verify(b"message digest", R + S, sm.public_key_of(sm.new_private_key()))
    assert not sm.verify(b"message digest", "00" * 64, PUBLIC)
    assert not sm.verify(b"message digest", "not hex", PUBLIC)


def test_a_fresh_signature_verifies():
    key = sm.new_private_key()
    assert sm.verify("中文".encode(), sm.sign("中文".encode(), key), sm.public_key_of(key))


def test_signatures_agree_with_the_gmssl_reference_both_ways():
    """The arithmetic is fastecdsa's and the digest OpenSSL's: gmssl's pure-Python SM2 (the reference
    the platform's own SDKs agree with) verifies ours, and ours verifies gmssl's."""
    import secrets

    from gmssl import sm2

    for _ in range(3):
        key = sm.new_private_key()
        public = sm.public_key_of(key)
        reference = sm2.CryptSM2(private_key=key, public_key="")
        reference.public_key = public
        message = secrets.token_bytes(700)
        assert reference.verify_with_sm3(sm.sign(message, key), message)
        theirs = reference.sign_with_sm3(message)
        assert sm.verify(message, theirs, public) and not sm.verify(message + b"!", theirs, public)


def test_a_public_key_off_the_curve_verifies_nothing():
    off_curve = PUBLIC[:-1] + ("4" if PUBLIC[-1] != "4" else "5")
    assert not sm.verify(b"message digest", R + S, off_curve)
