-- The SIP edge of a trunk and of a call (issue 14):
-- trunks.tls_ca_pem: PEM certificates trusted for the trunk's TLS server on top of the default CAs.
-- trunks.codecs: the codecs its calls offer, in order (null: the worker's default).
alter table trunks add column tls_ca_pem text;
alter table trunks add column codecs jsonb;
-- A call's own digest credentials for its trunk (the password encrypted like trunk passwords).
alter table calls add column sip_auth_username text;
alter table calls add column sip_auth_password_enc text;
-- A call placed with its trunk's default_caller_id has no phone number row.
alter table calls alter column phone_number_id drop not null;
