"""The enrollment models, one module per aggregate:

- ``persons``: Person (encrypted ID number, blind index)
- ``products``: Program, CoInsurer, ProductVersion, Plan, PriceBand, DeductibleGroup, RatioBand,
  Responsibility (frozen by triggers once published)
- ``accounts``: Resident, FamilyMember, SmsCode, ConsentText, Consent
- ``orders``: Order, Policy, Payment, Refund, PaymentNotification, RenewalAuthorization
- ``organizations``: Organization, OrganizationMember, OrganizationInvitation, Campaign, BeneficiaryList, BeneficiaryRow
- ``fund``: CharityFund, FundEntry
- ``identity``: VerificationAttempt, IdentityAppeal
"""

from enrollment.models.accounts import (
    CLOSE_RELATIONS,
    Consent,
    ConsentText,
    FamilyMember,
    Relation,
    Resident,
    SmsCode,
)
from enrollment.models.base import MONEY, RATIO
from enrollment.models.counter import CashierShift, CounterEnrollment, ServicePoint
from enrollment.models.fund import CharityFund, FundEntry
from enrollment.models.identity import IdentityAppeal, VerificationAttempt
from enrollment.models.orders import (
    Channel,
    Order,
    Payment,
    PaymentMethod,
    PaymentNotification,
    Policy,
    Refund,
    RenewalAuthorization,
    RenewalRefusal,
)
from enrollment.models.organizations import (
    BeneficiaryList,
    BeneficiaryRow,
    Campaign,
    CampaignKind,
    HardshipStatus,
    Organization,
    OrganizationInvitation,
    OrganizationMember,
    OrganizationPayroll,
    TargetRule,
)
from enrollment.models.persons import Person, PersonQuerySet
from enrollment.models.products import (
    CoInsurer,
    CoveredField,
    DeductibleGroup,
    Plan,
    PriceBand,
    ProductVersion,
    Program,
    RatioBand,
    Responsibility,
    VisitType,
)

__all__ = [
    "CLOSE_RELATIONS", "MONEY", "RATIO", "BeneficiaryList", "BeneficiaryRow", "Campaign", "CampaignKind", "Channel",
    "CashierShift", "CharityFund", "CoInsurer", "Consent", "ConsentText", "CounterEnrollment", "CoveredField", "DeductibleGroup", "FamilyMember", "HardshipStatus",
    "FundEntry", "IdentityAppeal", "Order", "Organization", "OrganizationInvitation", "OrganizationMember",
    "OrganizationPayroll", "Payment", "PaymentMethod", "PaymentNotification",
    "Person", "PersonQuerySet", "Plan", "Policy", "PriceBand", "ProductVersion", "Program", "RatioBand", "Refund", "Relation",
    "RenewalAuthorization", "RenewalRefusal", "Resident", "Responsibility", "ServicePoint", "SmsCode", "TargetRule", "VerificationAttempt", "VisitType",
]
