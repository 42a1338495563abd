-- SRTP with SDES keys (issue 16): whether a trunk's calls encrypt their media (RFC 3711, RFC 4568).
alter table trunks add column media_encryption text not null default 'disabled'
  check (media_encryption in ('disabled', 'optional', 'required'));
