-- Idempotency keys belong to a caller and a tool, and remember the arguments they were first
-- used with: the same key with other arguments is refused, and another caller's key is theirs.
alter table idempotency_keys drop constraint idempotency_key_format;
alter table idempotency_keys add constraint idempotency_key_format
    check (length(key) between 1 and 600);
comment on constraint idempotency_key_format on idempotency_keys is
    'an idempotency key is 1 to 200 characters (stored with its caller and tool)';
alter table idempotency_keys add column fingerprint text;
comment on column idempotency_keys.fingerprint is
    'a digest of the arguments the key was first used with (null: keys of internal callers)';

-- A decision is an intent to act: until the thread that waited has taken it (or, for a client's
-- request, the held call has run) it is unsettled, and the leading process settles it.
alter table approvals add column settled_at timestamptz;
update approvals set settled_at = coalesce(executed_at, decided_at) where status <> 'PENDING';
create index approvals_unsettled on approvals (decided_at)
    where settled_at is null and status in ('APPROVED', 'EDITED', 'REJECTED');
