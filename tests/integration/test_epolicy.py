"""The e-policy PDF a resident and an auditor can trust: read back as text, every fact of the
policy is there (its own period, plan, each responsibility's deductible, ratios and limit, the
insurers and the lead, the service number, the terms version, the verification code), its fonts are
embedded, and it carries a PAdES signature by the insurer's certificate that breaks when the file is
changed. Receipts are read back the same way."""

from __future__ import annotations

from io import BytesIO

import pytest
from django.conf import settings
from pypdf import PdfReader

from enrollment import epolicy
from enrollment.identity import mask_name
from enrollment.models import Policy
from portal.integrations import signing
from portal.integrations.signing import conf
from tests.factories import make_id, sold_policy

pytestmark = pytest.mark.django_db
UYGHUR = make_id("62060219800101001")


def text_of(data: bytes) -> str:
    return "".join(page.extract_text() for page in PdfReader(BytesIO(data)).pages).replace("\n", "")


def fonts_of(data: bytes) -> dict[str, bool]:
    """Each font the pages use → whether the PDF embeds it."""
    out = {}
    for page in PdfReader(BytesIO(data)).pages:
        for font in page["/Resources"]["/Font"].values():
            font = font.get_object()
            descriptor = font.get("/FontDescriptor")
            if descriptor is None and "/DescendantFonts" in font:
                descriptor = font["/DescendantFonts"][0].get_object().get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor is not None else {}
            out[str(font["/BaseFont"])] = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
    return out


def dev_root():
    from pyhanko.keys import load_cert_from_pemder

    return load_cert_from_pemder(str(conf.signing().chain_files[0]))


@pytest.fixture
def policy(products):
    return sold_policy("wuwei-2025", "买买提·艾力", UYGHUR, number="EP1")


def test_the_e_policy_prints_the_policys_own_terms_insurers_service_number_and_code(policy):
    text = text_of(epolicy.render_pdf(policy))
    assert "买买提·艾力" in text and UYGHUR not in text and "620602********0014" in text
    assert "2025年07月01日零时至2026年06月30日二十四时" in text and "基础版" in text
    for responsibility in ("医保目录内住院医疗费用", "医保目录外住院医疗费用", "重离子治疗费用"):
        assert responsibility in text
    assert "50万元" in text and "500000.00" not in text  # each limit
    assert "住院费用免赔额 12,000元" in text and "无免赔额" in text  # the shared deductible; heavy-ion has none
    assert "2万元（含）以内部分30%" in text and "2万元至5万元（含）部分40%" in text and "5万元以上部分50%" in text
    assert "既往症赔付比例 20%" in text
    assert "共保公司甲（示例）50%主承保" in text and "共保公司乙（示例）30%共保" in text
    assert "主承保公司共保公司甲（示例）" in text
    assert "服务热线0935-0000000（示例）" in text and "条款版本2025-05-27" in text
    assert f"验证码{epolicy.verification_code(policy.number)}" in text and "/verify/" in text


def test_the_e_policy_embeds_every_font_it_uses(policy):
    fonts = fonts_of(epolicy.render_pdf(policy))
    assert fonts and all(fonts.values()), fonts  # no Helvetica or STSong left to the reader
    assert all("NotoSansCJKsc" in name for name in fonts)


def test_a_name_character_outside_the_font_falls_back_rather_than_vanishing(products):
    rare = sold_policy("wuwei-2025", "王䶮", make_id("62060219800101002"), number="EP2")
    fonts = fonts_of(epolicy.render_pdf(rare))
    assert fonts["/STSong-Light"] is False and any(fonts.values())  # the reader's CID font, for 䶮 only
    assert "王" in text_of(epolicy.render_pdf(rare))


def test_the_e_policy_is_signed_by_the_insurers_certificate_and_the_signature_breaks_on_change(policy):
    data = epolicy.render_pdf(policy)
    [signature] = signing.verify_pdf(data, [dev_root()])
    assert signature.intact and signature.valid and signature.trusted and signature.covers_whole_file
    assert signature.signer == "开发用电子保单签名证书（承保公司）" and policy.number in signature.reason
    assert b"/ETSI.CAdES.detached" in data  # PAdES
    # One changed byte inside the signed range: the signature no longer holds.
    at = data.index(b"/Title")
    tampered = data[:at] + b"/Titlf" + data[at + 6:]
    [broken] = signing.verify_pdf(tampered, [dev_root()])
    assert not broken.intact
    # Another certificate's root does not vouch for it.
    from portal.integrations.signing import dev

    other = dev.ensure(settings.EPOLICY_SIGNING_DEV_DIR / "other")
    from pyhanko.keys import load_cert_from_pemder

    [untrusted] = signing.verify_pdf(data, [load_cert_from_pemder(str(other.ca))])
    assert untrusted.intact and not untrusted.trusted


def test_the_verification_code_is_the_policys_own_and_keyed(policy, settings):
    code = epolicy.verification_code(policy.number)
    assert epolicy.policy_for_code(policy.number, code) == policy
    assert epolicy.policy_for_code(policy.number.lower(), code.lower().replace("-", " ")) == policy
    assert epolicy.policy_for_code(policy.number, "AAAA-AAAA") is None
    assert epolicy.policy_for_code("PNOSUCH", epolicy.verification_code("PNOSUCH")) is None
    settings.EPOLICY_CODE_KEY = "another key, another code for the same number......"
    assert epolicy.verification_code(policy.number) != code


def test_production_refuses_to_start_without_the_insurers_certificate(settings, tmp_path):
    settings.PRODUCTION = True
    settings.EPOLICY_SIGNING_CERT_FILE = settings.EPOLICY_SIGNING_KEY_FILE = ""
    settings.EPOLICY_CODE_KEY = ""
    errors = conf.production_errors()
    assert any("EPOLICY_SIGNING_CERT_FILE" in e for e in errors) and any("EPOLICY_CODE_KEY" in e for e in errors)
    from portal.integrations import production_errors

    assert any("EPOLICY_SIGNING_CERT_FILE" in message for _, message in production_errors())
    # The development certificate is not the insurer's.
    from portal.integrations.signing import dev

    files = dev.ensure(tmp_path)
    settings.EPOLICY_SIGNING_CERT_FILE, settings.EPOLICY_SIGNING_KEY_FILE = str(files.cert), str(files.key)
    settings.EPOLICY_CODE_KEY = "k" * 40
    assert conf.production_errors() == [
        "EPOLICY_SIGNING_CERT_FILE is a development or self-signed certificate, not the insurer's"]
    # A key that is not the certificate's.
    other = dev.ensure(tmp_path / "other")
    settings.EPOLICY_SIGNING_KEY_FILE = str(other.key)
    assert conf.production_errors() == ["EPOLICY_SIGNING_KEY_FILE is not the key of EPOLICY_SIGNING_CERT_FILE"]


def test_the_verify_page_shows_only_non_personal_facts(client, policy):
    code = epolicy.verification_code(policy.number)
    page = client.get("/verify/", {"number": policy.number, "code": code}).content.decode()
    assert 'data-verified="invalid"' in page and "已到期" in page  # today, past its cover
    assert f"<dd>{mask_name('买买提·艾力')}</dd>" in page
    assert "买买提·艾力" not in page and "620602" not in page and "0014" not in page
    assert "2025年7月1日零时至2026年6月30日二十四时" in page and "基础版" in page
    wrong = client.get("/verify/", {"number": policy.number, "code": "AAAA-AAAA"}).content.decode()
    assert 'data-code="not_found"' in wrong and "2025年7月1日" not in wrong
    unknown = client.get("/verify/", {"number": "PNOSUCH", "code": code}).content.decode()
    assert 'data-code="not_found"' in unknown


def test_the_verify_page_says_valid_for_a_policy_in_force(client, policy):
    import time_machine

    with time_machine.travel("2025-09-01 10:00 +08:00", tick=False):
        page = client.get("/verify/", {"number": policy.number,
                                       "code": epolicy.verification_code(policy.number)}).content.decode()
    assert 'data-verified="valid"' in page and "保单真实有效" in page
    Policy.objects.filter(pk=policy.pk).update(status=Policy.CANCELLED)
    page = client.get("/verify/", {"number": policy.number,
                                   "code": epolicy.verification_code(policy.number)}).content.decode()
    assert 'data-verified="invalid"' in page and "已退保" in page


def test_wrong_codes_are_capped_per_address(client, policy):
    for _ in range(30):
        client.get("/verify/", {"number": policy.number, "code": "AAAA-AAAA"})
    page = client.get("/verify/", {"number": policy.number, "code": epolicy.verification_code(policy.number)})
    assert 'data-code="too_many"' in page.content.decode()


def test_the_e_policy_says_which_of_the_plans_own_ratios_apply_to_this_insured(products):
    policy = sold_policy("weihai-2025", "王建国", make_id("37100219800101001"), number="EP3")
    Policy.objects.filter(pk=policy.pk).update(consecutive_years=2, medical_assistance=True)
    policy.refresh_from_db()
    text = text_of(epolicy.render_pdf(policy))
    assert "60%" in text  # the specific drugs' flat ratio
    assert "连续参保每年赔付比例提高2%" in text and "医疗救助对象各档赔付比例提高5%" in text
    assert "本保单被保险人：此前连续参保2年、医疗救助对象" in text
    assert "服务热线0631-0000000（示例）" in text
