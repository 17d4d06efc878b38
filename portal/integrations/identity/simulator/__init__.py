"""The identity-verification simulator: Tencent Cloud faceid's wire protocol, answered from the
registry simulator's roster (ID authority) and this app's carrier records (the carriers)."""
