# Fifteen of the catalog's config.json rules (catalog/controls.json), written
# in Rego for the audit benchmark's conftest side. Each deny message starts
# with the catalog rule id, so benches/agree.py can compare conftest's
# verdict with `secure-mattermost audit --format json` rule by rule.
#
# Like audit, a setting the file leaves out takes the pinned release's
# default: run.sh passes catalog/mattermost-defaults.json as
# data.mattermost_defaults (--data). A section given as something other than
# an object hides every default below it (audit's merge does the same).
package main

import rego.v1

# The value a config.json gives the server for section.key.
setting(section, key) := v if {
	is_object(input[section])
	v := input[section][key]
} else := v if {
	is_object(input[section])
	not key in object.keys(input[section])
	v := data.mattermost_defaults[section][key]
} else := v if {
	not section in object.keys(input)
	v := data.mattermost_defaults[section][key]
}

is_true(section, key) if setting(section, key) == true

is_false(section, key) if setting(section, key) == false

between(section, key, low, high) if {
	v := setting(section, key)
	is_number(v)
	v >= low
	v <= high
}

at_least(section, key, low) if {
	v := setting(section, key)
	is_number(v)
	v >= low
}

# Catalog `matches`: the whole string matches the pattern.
full_match(section, key, pattern) if {
	v := setting(section, key)
	is_string(v)
	regex.match(concat("", ["^(?:", pattern, ")$"]), v)
}

deny contains "email-sign-up-disabled: EmailSettings.EnableSignUpWithEmail is not false" if {
	not is_false("EmailSettings", "EnableSignUpWithEmail")
}

deny contains "open-signup-disabled: TeamSettings.EnableOpenServer is not false" if {
	not is_false("TeamSettings", "EnableOpenServer")
}

deny contains "password-length: PasswordSettings.MinimumLength is below 15" if {
	not at_least("PasswordSettings", "MinimumLength", 15)
}

deny contains "login-lockout: ServiceSettings.MaximumLoginAttempts is not within 1..3" if {
	not between("ServiceSettings", "MaximumLoginAttempts", 1, 3)
}

deny contains "ldap-login-lockout: LdapSettings.MaximumLoginAttempts is not within 1..3 with LDAP on" if {
	is_true("LdapSettings", "Enable")
	not between("LdapSettings", "MaximumLoginAttempts", 1, 3)
}

deny contains "session-length-web: ServiceSettings.SessionLengthWebInHours is not within 1..12" if {
	not between("ServiceSettings", "SessionLengthWebInHours", 1, 12)
}

deny contains "guest-accounts-disabled: GuestAccountsSettings.Enable is not false" if {
	not is_false("GuestAccountsSettings", "Enable")
}

deny contains "personal-access-tokens-off: ServiceSettings.EnableUserAccessTokens is not false" if {
	not is_false("ServiceSettings", "EnableUserAccessTokens")
}

deny contains "developer-features-off: ServiceSettings.EnableTesting or EnableDeveloper is not false" if {
	not developer_features_off
}

developer_features_off if {
	is_false("ServiceSettings", "EnableTesting")
	is_false("ServiceSettings", "EnableDeveloper")
}

deny contains "site-url-https: ServiceSettings.SiteURL is not an https origin" if {
	not full_match("ServiceSettings", "SiteURL", "https://[^/]+/?")
}

deny contains "hsts: ServiceSettings.TLSStrictTransport is not true" if {
	not is_true("ServiceSettings", "TLSStrictTransport")
}

deny contains "rate-limiting: RateLimitSettings.Enable or VaryByRemoteAddr is not true" if {
	not rate_limited
}

rate_limited if {
	is_true("RateLimitSettings", "Enable")
	is_true("RateLimitSettings", "VaryByRemoteAddr")
}

deny contains "s3-tls: FileSettings.AmazonS3SSL is not true with the amazons3 driver" if {
	setting("FileSettings", "DriverName") == "amazons3"
	not is_true("FileSettings", "AmazonS3SSL")
}

deny contains "sql-trace-off: SqlSettings.Trace is not false" if {
	not is_false("SqlSettings", "Trace")
}

deny contains "plugin-signatures: PluginSettings.RequirePluginSignature is not true" if {
	not is_true("PluginSettings", "RequirePluginSignature")
}
