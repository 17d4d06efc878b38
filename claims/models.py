"""Claims data (settlements, policy years, claims) arrives with the claims pipeline issue."""
